//! Detection on Bevy's own GPU device (`CmanetSettings::detect_on_gpu`, feature `wgpu`), rendered
//! headless with Mesa's software Vulkan (`.ci/run` installs it): three capture cameras film the
//! avatar at rest; their targets are never read back, the frames arrive detected, the plugin
//! estimates, and each view's keypoints are the ones the CPU path finds in the same scene.
#![cfg(all(feature = "wgpu", feature = "bevy"))]

use bevy::prelude::*;
use bevy::render::gpu_readback::Readback;
use cmanet::prelude::*;

mod common;
use common::film_the_rest_pose;

/// What the app heard.
#[derive(Resource, Default)]
struct Heard {
    poses: Vec<PoseEstimated>,
    warnings: Vec<String>,
    /// Frames in which a capture camera had a read-back.
    read_backs: usize,
    /// Captured frames that came with pixels rather than detected.
    with_pixels: usize,
}

/// Keeps the estimates every view took part in, and counts read-backs and frames with pixels.
#[allow(clippy::type_complexity)]
fn listen(
    mut m: MessageReader<PoseEstimated>,
    cameras: Query<(Has<Readback>, Option<Ref<CapturedFrame>>), With<CaptureView>>,
    mut heard: ResMut<Heard>,
) {
    heard.poses.extend(m.read().filter(|p| p.views.iter().all(|v| v.keypoints2d.is_some())).cloned());
    for (reading, frame) in &cameras {
        heard.read_backs += usize::from(reading);
        let pixels = frame.filter(|f| f.is_changed()).map(|f| f.pixels.clone());
        heard.with_pixels += usize::from(pixels.is_some_and(|p| !matches!(p, CapturedPixels::Detected { .. })));
    }
}

/// The first `count` estimates that every view took part in, with `detect_on_gpu` as given.
fn estimates(detect_on_gpu: bool, count: usize) -> (Vec<PoseEstimated>, Heard) {
    let mut app = headless_render_app(AssetPlugin::default());
    let settings = CmanetSettings { detect_on_gpu, wait_for_inference: true, ..default() };
    app.add_plugins(CmanetPlugin { settings, ..default() })
        .init_resource::<Heard>()
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_observer(|w: On<ViewFailed>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_systems(Startup, film_the_rest_pose(0.0, [(0.4, 3.0, 1.4), (2.5, 3.0, 1.4), (4.4, 3.0, 1.4)]))
        .add_systems(Last, listen);
    app.finish();
    app.cleanup();
    for _ in 0..600 {
        app.update();
        if app.world().resource::<Heard>().poses.len() >= count {
            break;
        }
    }
    let heard = app.world_mut().remove_resource::<Heard>().unwrap_or_default();
    assert!(
        heard.poses.len() >= count,
        "only {} estimates seen by all three views: {:?}",
        heard.poses.len(),
        heard.warnings
    );
    (heard.poses[..count].to_vec(), heard)
}

#[test]
fn capture_cameras_detected_on_the_gpu_are_never_read_back_and_agree_with_the_cpu() {
    let (on_gpu, heard) = estimates(true, 4);
    assert!(heard.warnings.is_empty(), "{:?}", heard.warnings);
    assert_eq!((heard.read_backs, heard.with_pixels), (0, 0), "frames were read back");
    let (on_cpu, heard) = estimates(false, 4);
    assert!(heard.read_backs > 0 && heard.with_pixels > 0);
    // The scene stands still: after a few frames both trackers hold the same crops, so the
    // keypoints agree to a small fraction of a pixel (the networks' own agreement is tests/gpu.rs).
    let (a, b) = (&on_gpu[3], &on_cpu[3]);
    for (view, (x, y)) in a.views.iter().zip(&b.views).enumerate() {
        let (Some(x), Some(y)) = (x.keypoints2d, y.keypoints2d) else { panic!("view {view} found nobody") };
        let d = x.iter().zip(&y).map(|(p, q)| (p[0] - q[0]).abs().max((p[1] - q[1]).abs())).fold(0.0f32, f32::max);
        println!("view {view}: the GPU's keypoints {d:.3} px from the CPU's at most");
        assert!(d <= 1.0, "view {view}: {d} px");
    }
}

#[test]
fn a_target_the_gpu_cannot_crop_turns_detection_on_the_gpu_off_with_a_warning() {
    // A build with the feature, but a capture target whose format the crop cannot read: the
    // plugin warns and detects on the CPU.
    let mut app = headless_render_app(AssetPlugin::default());
    app.add_plugins(CmanetPlugin { settings: CmanetSettings { detect_on_gpu: true, ..default() }, ..default() })
        .init_resource::<Heard>()
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()));
    let target = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let mut image =
            Image::new_target_texture(64, 64, bevy::render::render_resource::TextureFormat::Rgba16Float, None);
        image.texture_descriptor.usage |= bevy::render::render_resource::TextureUsages::COPY_SRC;
        images.add(image)
    };
    app.world_mut().spawn((
        Camera3d::default(),
        bevy::camera::RenderTarget::Image(target.into()),
        Transform::from_xyz(0.0, 1.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
        CaptureView::default(),
    ));
    app.finish();
    app.cleanup();
    for _ in 0..300 {
        app.update();
        if !app.world().resource::<CmanetSettings>().detect_on_gpu {
            break;
        }
    }
    assert!(!app.world().resource::<CmanetSettings>().detect_on_gpu, "still on after 300 frames");
    let warnings = &app.world().resource::<Heard>().warnings;
    assert!(warnings.iter().any(|w| w.contains("GPU") && w.contains("Rgba16Float")), "{warnings:?}");
}
