//! A second crate's view of `cmanet`, with nothing but `cmanet::prelude` and no assets of its own:
//! 1. a headless Bevy app (`headless_app`) adds `CmanetPlugin`, runs frames until the networks are
//!    loaded (from the shipped assets, found from outside the crate), feeds two views an empty image
//!    and checks that each is reported as a `ViewFailed` on its own entity;
//! 2. a headless app that renders (`headless_render_app`, Mesa's software Vulkan works) films a
//!    `TestPerformer` on the embedded avatar (`AVATAR_PATH`) with three cameras rendering into
//!    `capture_target` images, and waits for a `PoseEstimated` that saw the performer in every
//!    view and stands it where it is.
//!
//! Exits non-zero when anything is missing.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use cmanet::prelude::*;

#[derive(Resource, Default)]
struct Heard {
    loaded: bool,
    failed_views: Vec<Entity>,
    warnings: Vec<String>,
}

fn main() -> ExitCode {
    if let Err(problem) = empty_views() {
        eprintln!("consumer: {problem}");
        return ExitCode::FAILURE;
    }
    match three_rendered_views() {
        Ok(summary) => {
            println!("consumer (bevy, rendered): {summary}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("consumer: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn empty_views() -> Result<(), String> {
    let mut app = headless_app();
    app.add_plugins(CmanetPlugin::default())
        .init_resource::<Heard>()
        .add_observer(|_: On<ModelLoaded>, mut heard: ResMut<Heard>| heard.loaded = true)
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_observer(|w: On<ViewFailed>, mut heard: ResMut<Heard>| heard.failed_views.push(w.event().entity));
    app.finish();
    app.cleanup();
    let started = Instant::now();
    while !app.world().resource::<Heard>().loaded {
        app.update();
        if let Some(warning) = app.world().resource::<Heard>().warnings.first() {
            return Err(warning.clone());
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the networks did not load within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let empty = |frame| CapturedFrame {
        pixels: CapturedPixels::Rgba8 { width: 0, height: 0, row_bytes: 0, bgra: false, data: Arc::new(Vec::new()) },
        frame,
        time: 0.0,
        instant: Instant::now(),
        intrinsics: None,
    };
    let views: Vec<Entity> = (0..2).map(|_| app.world_mut().spawn((CaptureView::default(), empty(1))).id()).collect();
    for _ in 0..200 {
        app.update();
        if app.world().resource::<Heard>().failed_views.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut failed, mut views) = (app.world().resource::<Heard>().failed_views.clone(), views);
    failed.sort();
    views.sort();
    if failed != views {
        return Err(format!("expected a ViewFailed on each of {views:?}, heard {failed:?}"));
    }
    println!("consumer (bevy): plugin loaded from {}, both empty views reported", cmanet::assets::dir().display());
    Ok(())
}

/// What the rendering app heard.
#[derive(Resource, Default)]
struct Estimates {
    poses: Vec<PoseEstimated>,
    warnings: Vec<String>,
}

/// Where the cameras look: about the performer's pelvis (a test performer starts above its
/// entity's origin).
const PERFORMER_AT: Vec3 = Vec3::new(0.0, 0.9, 0.0);

fn three_rendered_views() -> Result<String, String> {
    let mut app = headless_render_app(AssetPlugin::default());
    app.add_plugins(CmanetPlugin::default())
        .init_resource::<Estimates>()
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Estimates>| heard.warnings.push(w.event().to_string()))
        .add_observer(|w: On<ViewFailed>, mut heard: ResMut<Estimates>| heard.warnings.push(w.event().to_string()))
        .add_systems(Startup, film_a_performer)
        .add_systems(Last, |mut m: MessageReader<PoseEstimated>, mut heard: ResMut<Estimates>| {
            heard.poses.extend(m.read().cloned())
        });
    app.finish();
    app.cleanup();
    let started = Instant::now();
    let mut frames = 0u32;
    loop {
        app.update();
        frames += 1;
        let heard = app.world().resource::<Estimates>();
        // The one warning expected: the third view's image lacked COPY_SRC.
        let (told, others): (Vec<&String>, Vec<&String>) = heard.warnings.iter().partition(|w| w.contains("COPY_SRC"));
        if let Some(warning) = others.first() {
            return Err((*warning).clone());
        }
        let told = told.len();
        if told > 1 {
            return Err(format!("the missing COPY_SRC was told {told} times"));
        }
        let estimates = heard.poses.len();
        if let Some(pose) = heard.poses.iter().find(|p| p.views.iter().all(|v| v.keypoints2d.is_some())).cloned() {
            let pelvis = Vec3::new(pose.joints[0].x, pose.joints[0].y, pose.joints[0].z);
            let mut performances = app.world_mut().query::<&Performance>();
            let Some(performance) = performances.iter(app.world()).next() else {
                return Err("an estimate before the performance started".into());
            };
            // The performer stands at the origin; the truth is its pelvis at the capture instant.
            let truth = performance.pelvis_at(pose.time - performance.started);
            if told != 1 {
                return Err("an estimate, but the missing COPY_SRC was never told".into());
            }
            if pose.views.len() != 3 || pelvis.distance(truth) > 0.15 {
                return Err(format!(
                    "an estimate of {} views with the pelvis at {pelvis}, the performer's at {truth}",
                    pose.views.len()
                ));
            }
            return Ok(format!(
                "{} estimates in {frames} frames ({:.0} s); the first seen by all 3 views puts the pelvis at \
                 ({:.2}, {:.2}, {:.2}) m, {:.0} mm from the performer's; the view without COPY_SRC was \
                 fixed and told once",
                estimates,
                started.elapsed().as_secs_f64(),
                pelvis.x,
                pelvis.y,
                pelvis.z,
                pelvis.distance(truth) * 1000.0
            ));
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("no estimate seen by all three views in 600 s ({} estimates)", heard.poses.len()));
        }
    }
}

/// A render target as the Bevy examples make one: it can be rendered to and shown, not read back.
fn image_without_copy_src(images: &mut Assets<Image>) -> Handle<Image> {
    use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
    let mut image = Image::new_fill(
        Extent3d { width: 320, height: 320, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        bevy::asset::RenderAssetUsages::default(),
    );
    image.texture_descriptor.usage = TextureUsages::TEXTURE_BINDING | TextureUsages::RENDER_ATTACHMENT;
    images.add(image)
}

/// The performer on the embedded avatar, three cameras rendering into images around it, light.
fn film_a_performer(mut commands: Commands, assets: Res<AssetServer>, mut images: ResMut<Assets<Image>>) {
    let avatar = assets.load(GltfAssetLabel::Scene(0).from_asset(AVATAR_PATH));
    commands.spawn((WorldAssetRoot(avatar), TestPerformer::new(MotionKind::Wave)));
    for i in 0..3 {
        let angle = std::f32::consts::TAU * i as f32 / 3.0 + 0.3;
        let eye = Vec3::new(3.2 * angle.sin(), 1.2 + 0.3 * i as f32, 3.2 * angle.cos());
        // The third view's image is made by hand without COPY_SRC, as a user might: the plugin
        // adds the usage and says so once, instead of wgpu's validation ending the app.
        let target = if i == 2 { image_without_copy_src(&mut images) } else { capture_target(&mut images, 320, 320) };
        commands.spawn((
            Camera3d::default(),
            Camera { order: -1 - i, clear_color: ClearColorConfig::Custom(Color::srgb(0.8, 0.82, 0.86)), ..default() },
            bevy::camera::RenderTarget::Image(target.into()),
            Transform::from_translation(eye).looking_at(PERFORMER_AT, Vec3::Y),
            CaptureView::default(),
        ));
    }
    commands.spawn((
        DirectionalLight { illuminance: 8000.0, ..default() },
        Transform::from_xyz(3.0, 6.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight { brightness: 600.0, ..default() });
}
