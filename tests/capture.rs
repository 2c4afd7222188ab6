//! Reading capture cameras back from the GPU, rendered headless with Mesa's software Vulkan
//! (`.ci/run` installs it): every frame is read back while estimation is on, in order and stamped
//! with the frame it shows, and nothing is read back while it is off.

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use cmanet::prelude::*;

/// The frames of the `CapturedFrame`s seen, in arrival order.
#[derive(Resource, Default)]
struct Arrived(Vec<u32>);

fn app(enabled: bool) -> (App, Entity) {
    let mut app = headless_render_app(AssetPlugin::default());
    app.add_plugins(CmanetPlugin { settings: CmanetSettings { enabled, ..default() }, ..default() })
        .init_resource::<Arrived>()
        .add_systems(Last, |frames: Query<Ref<CapturedFrame>>, mut arrived: ResMut<Arrived>| {
            arrived.0.extend(frames.iter().filter(|f| f.is_changed()).map(|f| f.frame))
        });
    let target = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        capture_target(&mut images, 64, 64)
    };
    let camera = app
        .world_mut()
        .spawn((
            Camera3d::default(),
            bevy::camera::RenderTarget::Image(target.into()),
            Transform::from_xyz(0.0, 1.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
            CaptureView::default(),
        ))
        .id();
    app.finish();
    app.cleanup();
    (app, camera)
}

#[test]
fn every_frame_is_read_back_in_order_while_estimation_is_on_and_none_while_it_is_off() {
    // Off: twenty frames, nothing read back.
    let (mut off, camera) = app(false);
    for _ in 0..20 {
        off.update();
    }
    assert!(off.world().resource::<Arrived>().0.is_empty(), "read back while estimation was off");
    assert!(off.world().get::<CapturedFrame>(camera).is_none());
    // On: after the first few frames, one image a frame, each stamped with a later frame than the
    // one before (no frame shown twice, none out of order), and at most a few frames behind.
    let (mut on, _) = app(true);
    for _ in 0..30 {
        on.update();
    }
    let arrived = &on.world().resource::<Arrived>().0;
    let now = on.world().resource::<FrameCount>().0;
    assert!(arrived.len() >= 20, "only {} images in 30 frames: {arrived:?}", arrived.len());
    assert!(arrived.windows(2).all(|w| w[0] < w[1]), "out of order: {arrived:?}");
    assert!(arrived.last().is_some_and(|&f| now - f <= 5), "the newest image is of frame {arrived:?}, now {now}");
}
