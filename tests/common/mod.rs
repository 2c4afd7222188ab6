//! What several rendered tests share: the shipped avatar at rest filmed by three capture cameras.

use bevy::prelude::*;
use cmanet::prelude::*;

/// Camera places around the performer: (angle about the vertical from +z, distance, height), m.
pub type Layout = [(f32, f32, f32); 3];

/// The avatar's scene at rest, turned by `yaw` about the vertical, filmed from `places`.
pub fn film_the_rest_pose(yaw: f32, places: Layout) -> impl Fn(Commands, Res<AssetServer>, ResMut<Assets<Image>>) {
    move |mut commands, assets, mut images| {
        let avatar = assets.load(GltfAssetLabel::Scene(0).from_asset(AVATAR_PATH));
        commands.spawn((WorldAssetRoot(avatar), Transform::from_rotation(Quat::from_rotation_y(yaw))));
        for (i, (angle, distance, height)) in places.into_iter().enumerate() {
            let eye = Vec3::new(distance * angle.sin(), height, distance * angle.cos());
            commands.spawn((
                Camera3d::default(),
                Camera {
                    order: -1 - i as isize,
                    clear_color: ClearColorConfig::Custom(Color::srgb(0.8, 0.82, 0.86)),
                    ..default()
                },
                bevy::camera::RenderTarget::Image(capture_target(&mut images, 320, 320).into()),
                Transform::from_translation(eye).looking_at(Vec3::new(0.0, 0.9, 0.0), Vec3::Y),
                CaptureView::default(),
            ));
        }
        commands.spawn((
            DirectionalLight { illuminance: 8000.0, ..default() },
            Transform::from_xyz(3.0, 6.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
        ));
        commands.insert_resource(GlobalAmbientLight { brightness: 600.0, ..default() });
    }
}
