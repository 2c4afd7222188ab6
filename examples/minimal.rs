//! The few lines of the plugin chapter, runnable: two cameras rendering to images film a person
//! (here the open avatar standing in its rest pose, where a real setup films a real person), and a
//! second avatar follows what they see.
//!
//! ```text
//! cargo run --release --example minimal
//! cargo run --release --example minimal -- --headless --frames 60 --screenshot minimal.png --report minimal.json
//! ```

#[path = "common/mod.rs"]
mod common;

use bevy::camera::RenderTarget;
use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use clap::Parser;
use cmanet::plugin::{AvatarBones, CaptureView, CmanetAvatar, CmanetPlugin};

fn main() -> AppExit {
    let mut app = common::app(common::ExampleArgs::parse(), "cmanet: minimal");
    app.add_plugins(CmanetPlugin::default()).add_systems(Startup, setup).add_systems(Update, hide_from_cameras);
    app.run()
}

fn setup(
    mut commands: Commands,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mut run: ResMut<common::Run>,
) {
    let body = GltfAssetLabel::Scene(0).from_asset(cmanet::plugin::AVATAR_PATH);
    // Someone to film.
    commands.spawn(WorldAssetRoot(assets.load(body.clone())));
    // Two views: cameras rendering to images, marked as capture views.
    for eye in [Vec3::new(-2.0, 1.5, 3.0), Vec3::new(2.5, 1.2, 2.5)] {
        let image = cmanet::plugin::capture_target(&mut images, 320, 320);
        commands.spawn((
            Camera3d::default(),
            Camera { order: -1, ..default() },
            RenderTarget::Image(image.into()),
            Transform::from_translation(eye).looking_at(Vec3::new(0.0, 0.9, 0.0), Vec3::Y),
            CaptureView::default(),
        ));
    }
    // The avatar to drive, 1.5 m to the right.
    commands.spawn((WorldAssetRoot(assets.load(body)), CmanetAvatar::default(), Transform::from_xyz(1.5, 0.0, 0.0)));

    // Light, and a view of both.
    commands.spawn((DirectionalLight::default(), Transform::from_xyz(2.0, 4.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y)));
    let mut main = commands.spawn((
        Camera3d::default(),
        RenderLayers::from_layers(&[0, 1]),
        Transform::from_xyz(0.75, 1.6, 4.5).looking_at(Vec3::new(0.75, 0.9, 0.0), Vec3::Y),
    ));
    common::main_view(&mut main, &mut run, &mut images);
}

/// The driven avatar lives on render layer 1, which only the main view sees: the capture cameras
/// film the person alone.
fn hide_from_cameras(mut commands: Commands, avatars: Query<Entity, Added<AvatarBones>>, children: Query<&Children>) {
    for avatar in &avatars {
        for part in children.iter_descendants(avatar) {
            commands.entity(part).insert(RenderLayers::layer(1));
        }
    }
}
