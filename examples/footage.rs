//! Real footage: the shipped Pose2Sim sample (four calibrated cameras, 100 frames at 60 fps) played
//! as four image sequences; `CmanetPlugin` detects the person in each, estimates the pose and the
//! cameras, and drives the avatar in the calibrated world. The estimated cameras (orange) are drawn
//! against the calibrated ones (grey), and their rotation error is measured.
//!
//! ```text
//! cargo run --release --example footage
//! cargo run --release --example footage -- --headless --frames 200 --screenshot footage.png --report footage.json
//! ```

#[path = "common/mod.rs"]
mod common;

use bevy::prelude::*;
use clap::Parser;
use cmanet::data::Mv2d;
use cmanet::data::calibration::read_calibration_toml;
use cmanet::data::sync::time_offsets;
use cmanet::detect::{RgbImage, frame_files};
use cmanet::eval::metrics::{median, relative_rotation_errors};
use cmanet::geometry::Extrinsics;
use cmanet::plugin::{
    CaptureView, CmanetAvatar, CmanetPlugin, CmanetSettings, CmanetSystems, ImageSequence, PoseEstimated, ViewStatus,
    camera_transform,
};
use common::{ExampleArgs, Run};
use serde_json::json;

#[derive(Parser, Clone, Debug)]
#[command(about = "The shipped real sample (four calibrated cameras) drives the avatar through CmanetPlugin")]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
    /// Playback rate, frames per second (the footage was filmed at 60).
    #[arg(long, default_value_t = 60.0)]
    fps: f64,
    /// Leave the detector's left/right labels as they are (no live repair).
    #[arg(long)]
    keep_left_right: bool,
    /// Shift the cameras' images by the time offsets `cmanet detect --sync` measured between them
    /// (cam03's image i + 4 shows the instant the others' image i shows); without it they play as
    /// recorded.
    #[arg(long)]
    sync: bool,
}

/// Every camera's time offset in frames (`data::sync::time_offsets` of the shipped synchronised
/// detections), in calibration order.
#[derive(Resource, Default)]
struct TimeOffsets(Vec<i64>);

/// The calibrated cameras, by view entity.
#[derive(Resource, Default)]
struct Calibrated(Vec<(Entity, Extrinsics)>);

/// Every estimate's relative camera rotation errors, degrees: all pairs of views, and per view the
/// pairs it is in, with the number of estimates in which every pair it is in was off by more than
/// 90° (the view's camera alone turned away from the others).
#[derive(Resource, Default)]
struct CameraErrors {
    pairs: Vec<f64>,
    by_view: std::collections::BTreeMap<String, (Vec<f64>, u64)>,
}

fn main() {
    let args = Args::parse();
    let mut app = common::app(args.common.clone(), "cmanet: real footage");
    let settings = CmanetSettings { repair_left_right: !args.keep_left_right, ..default() };
    app.add_plugins(CmanetPlugin { settings, ..default() })
        .insert_resource(PlaybackRate(args.fps))
        .insert_resource(TimeOffsets(if args.sync { sample_time_offsets() } else { Vec::new() }))
        .init_resource::<Calibrated>()
        .init_resource::<CameraErrors>()
        .add_systems(Startup, setup)
        .add_systems(Update, measure.after(CmanetSystems::Inference));
    app.run();
}

#[derive(Resource)]
struct PlaybackRate(f64);

/// The time offsets stored with the sample's synchronised detections (none if unreadable).
fn sample_time_offsets() -> Vec<i64> {
    let path = cmanet::assets::pose2sim_sample().join("detections_synced.safetensors");
    match Mv2d::read(&path) {
        Ok(data) => time_offsets(&data).unwrap_or_default(),
        Err(e) => {
            warn!("no time offsets: {e}");
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn setup(
    mut commands: Commands,
    rate: Res<PlaybackRate>,
    offsets: Res<TimeOffsets>,
    mut run: ResMut<Run>,
    mut calibrated: ResMut<Calibrated>,
    mut images: ResMut<Assets<Image>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    assets: Res<AssetServer>,
    mut exit: MessageWriter<AppExit>,
) {
    let dir = cmanet::assets::pose2sim_sample();
    let cameras = match read_calibration_toml(&dir.join("calibration.toml")) {
        Ok(c) => c,
        Err(e) => {
            error!("the sample's calibration: {e}");
            exit.write(AppExit::error());
            return;
        }
    };
    let mut centre = Vec3::ZERO;
    for (i, camera) in cameras.iter().enumerate() {
        let frames = frame_files(&dir.join(format!("cam{:02}", i + 1))).unwrap_or_default();
        let Some(size) = frames.first().and_then(|f| RgbImage::open(f).ok()).map(|im| (im.width(), im.height())) else {
            error!("no frames for {}", camera.name);
            continue;
        };
        let intrinsics = camera.intrinsics_for(size.0 as f64, size.1 as f64);
        // The calibration's world is +y up, metres: the camera's place is its Bevy transform.
        let transform = camera_transform(&camera.extrinsics);
        centre += transform.translation / cameras.len() as f32;
        let entity = commands
            .spawn((
                Name::new(camera.name.clone()),
                transform,
                CaptureView::default(),
                ImageSequence::new(frames, rate.0, intrinsics)
                    .with_time_offset(offsets.0.get(i).map_or(0.0, |&k| k as f64 / rate.0)),
            ))
            .id();
        calibrated.0.push((entity, camera.extrinsics));
    }
    let floor = Vec3::new(centre.x, 0.0, centre.z);
    commands.spawn((
        WorldAssetRoot(assets.load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"))),
        CmanetAvatar::default(),
    ));
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(10.0, 10.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.55, 0.57, 0.6))),
        Transform::from_translation(floor),
    ));
    commands.spawn((
        DirectionalLight { illuminance: 8000.0, ..default() },
        Transform::from_xyz(3.0, 6.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight { brightness: 600.0, ..default() });
    let mut main = commands.spawn((
        Camera3d::default(),
        Msaa::Off,
        Camera { clear_color: ClearColorConfig::Custom(Color::srgb(0.93, 0.94, 0.96)), ..default() },
        Transform::from_translation(floor + Vec3::new(4.5, 3.2, 5.5)).looking_at(floor + Vec3::Y * 0.9, Vec3::Y),
    ));
    common::main_view(&mut main, &mut run, &mut images);
}

/// Compares every estimate's cameras with the calibration.
fn measure(
    mut estimates: MessageReader<PoseEstimated>,
    statuses: Query<(&Name, &ViewStatus), Changed<ViewStatus>>,
    names: Query<&Name>,
    calibrated: Res<Calibrated>,
    mut errors: ResMut<CameraErrors>,
    mut run: ResMut<Run>,
) {
    // Frames whose left and right labels the plugin repaired, per view.
    for (name, _) in statuses.iter().filter(|(_, s)| s.mirrored) {
        let counts = run.extra.entry("left_right_repairs").or_insert_with(|| json!({}));
        if let Some(counts) = counts.as_object_mut() {
            let n = counts.get(name.as_str()).and_then(|v| v.as_u64()).unwrap_or(0);
            counts.insert(name.to_string(), json!(n + 1));
        }
    }
    for estimate in estimates.read() {
        let views: Vec<(String, Extrinsics, Extrinsics)> = estimate
            .views
            .iter()
            .filter_map(|v| {
                let truth = calibrated.0.iter().find(|(e, _)| *e == v.entity)?.1;
                Some((
                    names.get(v.entity).map_or_else(|_| format!("{}", v.entity), |n| n.to_string()),
                    v.camera?,
                    truth,
                ))
            })
            .collect();
        let (estimated, truth): (Vec<Extrinsics>, Vec<Extrinsics>) = views.iter().map(|(_, e, t)| (*e, *t)).unzip();
        errors.pairs.extend(relative_rotation_errors(&estimated, &truth));
        for (i, (name, _, _)) in views.iter().enumerate() {
            let mine: Vec<f64> = (0..views.len())
                .filter(|&j| j != i)
                .flat_map(|j| relative_rotation_errors(&[estimated[i], estimated[j]], &[truth[i], truth[j]]))
                .collect();
            let entry = errors.by_view.entry(name.clone()).or_default();
            entry.1 += u64::from(!mine.is_empty() && mine.iter().all(|&e| e > 90.0));
            entry.0.extend(mine);
        }
        let pairs = &errors.pairs;
        run.extra.insert("camera_rot_err_deg".into(), json!(median(pairs)));
        run.extra.insert("camera_rot_err_mean_deg".into(), json!(pairs.iter().sum::<f64>() / pairs.len() as f64));
        let by_view: serde_json::Map<String, serde_json::Value> = errors
            .by_view
            .iter()
            .map(|(name, (e, turned))| (name.clone(), json!({ "median_deg": median(e), "turned_away": turned })))
            .collect();
        run.extra.insert("camera_rot_err_by_view".into(), json!(by_view));
    }
}
