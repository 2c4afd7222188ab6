//! Real footage: the shipped Pose2Sim sample (four calibrated cameras, 100 frames at 60 fps) played
//! from its four MP4 files (`VideoFile`, decoded live; `--images` plays the JPEG folders instead);
//! `CmanetPlugin` detects the person in each, estimates the pose and the
//! cameras, and drives the avatar in the calibrated world. The estimated cameras (orange) are drawn
//! against the calibrated ones (grey), and their rotation error is measured; so are the feet: the
//! skate of the avatar's planted feet, a foot counting as planted when the calibrated triangulation
//! of its heel and foot tip says so (`feet_track` in the report, plotted by `tools/plot_feet.py`).
//!
//! ```text
//! cargo run --release --example footage
//! cargo run --release --example footage -- --headless --frames 200 --screenshot footage.png --report footage.json
//! ```

#[path = "common/mod.rs"]
mod common;

use bevy::prelude::*;
use clap::Parser;
use cmanet::body::FootContacts;
use cmanet::data::calibration::read_calibration_toml;
use cmanet::detect::{RgbImage, VideoReader, frame_files};
use cmanet::eval::metrics::{median, relative_rotation_errors};
use cmanet::geometry::{Extrinsics, TriangulationSettings, projection_matrix, triangulate_points};
use cmanet::ground::{ContactTracker, FloorEstimator, FootSample};
use cmanet::keypoints::EXTRA_FEET;
use cmanet::plugin::{
    CaptureView, CmanetAvatar, CmanetBodyModel, CmanetPlugin, CmanetPose, CmanetSettings, CmanetSystems, ImageSequence,
    PoseEstimated, SyncRecordings, VideoFile, ViewStatus, camera_transform,
};
use common::feet::FeetMeter;
use common::{ExampleArgs, Run};
use serde_json::json;

#[derive(Parser, Clone, Debug)]
#[command(about = "The shipped real sample (four calibrated cameras) drives the avatar through CmanetPlugin")]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
    /// Play the JPEG folders instead of the MP4 files.
    #[arg(long)]
    images: bool,
    /// How long an app frame may wait for a video frame that is due but not decoded yet, seconds
    /// (`VideoFile::max_wait`; 0 never waits and lets the views fall out of step).
    #[arg(long, default_value_t = 0.1)]
    max_wait: f64,
    /// Playback rate of the JPEG folders (`--images`), frames per second (the footage was filmed
    /// at 60; the videos play at their own timestamps).
    #[arg(long, default_value_t = 60.0)]
    fps: f64,
    /// Leave the detector's left/right labels as they are (no live repair).
    #[arg(long)]
    keep_left_right: bool,
    /// Measure the cameras' time offsets from their first 100 frames when playing starts
    /// (`SyncRecordings`, calibrated: cam03 starts 4 frames before the others) and play them
    /// shifted by them; without it they play as recorded.
    #[arg(long)]
    sync: bool,
    /// Show the pose as estimated, not stood on the floor with its planted feet held.
    #[arg(long)]
    no_ground: bool,
    /// Stand on the floor but do not hold planted feet with the legs' IK.
    #[arg(long)]
    no_hold_feet: bool,
}

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

fn main() -> AppExit {
    let args = Args::parse();
    // A bad `--refine` is refused before any window or device opens.
    let refinement = args.common.refinement().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let mut app = common::app(args.common.clone(), "cmanet: real footage");
    let settings = CmanetSettings {
        repair_left_right: !args.keep_left_right,
        ground_feet: !args.no_ground,
        hold_planted_feet: !args.no_hold_feet,
        ..default()
    };
    let mut plugin = CmanetPlugin { settings, ..default() };
    plugin.models.landmark = args.common.landmark_model();
    plugin.models.mirror_average = args.common.mirror_average;
    plugin.models.refinement = refinement;
    app.add_plugins(plugin)
        .insert_resource(Playback { fps: args.fps, images: args.images, max_wait: args.max_wait })
        .init_resource::<DecodeTimes>()
        .init_resource::<Calibrated>()
        .init_resource::<CameraErrors>()
        .init_resource::<FeetReference>()
        .add_systems(Startup, setup);
    if args.sync {
        app.insert_resource(SyncRecordings::new(100, 10));
    }
    app.add_systems(
        Update,
        (
            measure.after(CmanetSystems::Inference),
            measure_feet.after(CmanetSystems::Filter),
            measure_decoding.after(CmanetSystems::Capture),
        ),
    );
    app.run()
}

/// How the sample plays: the JPEG folders at `fps`, or the MP4 files.
#[derive(Resource)]
struct Playback {
    fps: f64,
    images: bool,
    max_wait: f64,
}

/// The decoding time of every video frame shown, milliseconds.
#[derive(Resource, Default)]
struct DecodeTimes {
    millis: Vec<f64>,
    /// Frames each video had shown when last looked at.
    shown: std::collections::HashMap<Entity, u64>,
    /// Each view's frame shown behind the frame due, frames, every app frame.
    behind: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn setup(
    mut commands: Commands,
    playback: Res<Playback>,
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
        let name = format!("cam{:02}", i + 1);
        // The calibration's world is +y up, metres: the camera's place is its Bevy transform.
        let transform = camera_transform(&camera.extrinsics);
        centre += transform.translation / cameras.len() as f32;
        let mut view = commands.spawn((Name::new(camera.name.clone()), transform, CaptureView::default()));
        if playback.images {
            let frames = frame_files(&dir.join(&name)).unwrap_or_default();
            let Some(size) = frames.first().and_then(|f| RgbImage::open(f).ok()).map(|im| (im.width(), im.height()))
            else {
                error!("no frames for {}", camera.name);
                view.despawn();
                continue;
            };
            let intrinsics = camera.intrinsics_for(size.0 as f64, size.1 as f64);
            view.insert(ImageSequence::new(frames, playback.fps, intrinsics));
        } else {
            let path = dir.join(format!("{name}.mp4"));
            let reader = match VideoReader::open(&path) {
                Ok(reader) => reader,
                Err(e) => {
                    error!("{e}");
                    view.despawn();
                    continue;
                }
            };
            // The frames' size (the coded size of these files has no cropping).
            let [w, h] = reader.size();
            let mut video = VideoFile::new(path).with_intrinsics(camera.intrinsics_for(w as f64, h as f64));
            video.max_wait = playback.max_wait;
            view.insert(video);
        }
        let entity = view.id();
        calibrated.0.push((entity, camera.extrinsics));
    }
    let floor = Vec3::new(centre.x, 0.0, centre.z);
    commands.spawn((
        WorldAssetRoot(assets.load(GltfAssetLabel::Scene(0).from_asset(cmanet::plugin::AVATAR_PATH))),
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

/// The feet as the calibrated cameras see them, and the avatar's against them.
#[derive(Resource)]
struct FeetReference {
    floor: FloorEstimator,
    contacts: ContactTracker,
    /// The time, reference states and clip frame of the last estimate measured.
    last: Option<(f64, [bool; 2], usize)>,
    /// The avatar's feet.
    shown: FeetMeter,
    /// The triangulated feet themselves (how still the reference is while planted).
    triangulated: FeetMeter,
}

impl Default for FeetReference {
    fn default() -> Self {
        Self {
            floor: FloorEstimator::new(600, 10),
            contacts: ContactTracker::default(),
            last: None,
            shown: FeetMeter::default(),
            triangulated: FeetMeter::default(),
        }
    }
}

/// Both feet (left, right) triangulated with the calibrated cameras from every view's heel and
/// foot tip: each foot's centre (midpoint of heel and tip) and its lower point's height.
fn triangulated_feet(estimate: &PoseEstimated, calibrated: &Calibrated) -> Option<[FootSample; 2]> {
    let mut projections = Vec::new();
    let (mut keypoints, mut extras) = (Vec::new(), Vec::new());
    for view in &estimate.views {
        let truth = calibrated.0.iter().find(|(e, _)| *e == view.entity)?.1;
        let (Some(intrinsics), Some(k), Some(x)) = (view.intrinsics, view.keypoints2d, view.extra2d) else { continue };
        projections.push(projection_matrix(&intrinsics, &truth));
        keypoints.push(k);
        extras.push(x);
    }
    let points = triangulate_points(&projections, &keypoints, &extras, &TriangulationSettings::default());
    let mut feet = [FootSample { centre: Default::default(), lowest: 0.0 }; 2];
    for (side, (heel, tip)) in EXTRA_FEET.iter().enumerate() {
        let (heel, tip) = (points[*heel].as_ref()?.point.cast::<f32>(), points[*tip].as_ref()?.point.cast::<f32>());
        feet[side] = FootSample { centre: (heel + tip) * 0.5, lowest: heel.y.min(tip.y) };
    }
    Some(feet)
}

/// At every estimate: which foot the calibrated triangulation says is planted, and how far the
/// avatar's planted feet (the pose it shows) and the triangulated ones slide.
#[allow(clippy::too_many_arguments)] // a Bevy system's parameters
fn measure_feet(
    mut estimates: MessageReader<PoseEstimated>,
    pose: Res<CmanetPose>,
    settings: Res<CmanetSettings>,
    body: Option<Res<CmanetBodyModel>>,
    calibrated: Res<Calibrated>,
    sequences: Query<&ImageSequence>,
    videos: Query<&VideoFile>,
    mut reference: ResMut<FeetReference>,
    mut run: ResMut<Run>,
) {
    let Some(estimate) = estimates.read().last() else { return };
    // The clip frame the estimate saw (the first sequence's; the clip loops).
    let from_images =
        || sequences.iter().next().and_then(|s| s.frame_at(estimate.time - s.started().unwrap_or(estimate.time)));
    let Some(clip_frame) = videos.iter().next().and_then(|v| v.frame_at(estimate.time)).or_else(from_images) else {
        return;
    };
    let (Some(body), Some(params)) = (body, pose.current(&settings)) else { return };
    let (Some(feet), Ok(transforms)) = (triangulated_feet(estimate, &calibrated), body.0.forward_kinematics(params))
    else {
        reference.shown.break_off();
        reference.triangulated.break_off();
        return;
    };
    let shown = FootSample::both(&FootContacts::new(&body.0, &params.betas), &transforms);
    for foot in &feet {
        reference.floor.observe(foot.lowest);
    }
    let Some(floor) = reference.floor.floor() else { return };
    let planted = reference.contacts.update(estimate.time, &feet, floor);
    // Across the clip's loop the feet jump: not compared.
    let (since, held) = match reference.last {
        Some((t, before, frame)) if frame <= clip_frame => {
            (Some(estimate.time - t), [0, 1].map(|s| before[s] && planted[s]))
        }
        _ => (None, [false; 2]),
    };
    reference.last = Some((estimate.time, planted, clip_frame));
    // No floor penetration here: the clip's floor is known to neither (the triangulated heel and
    // foot-tip landmarks sit above the sole).
    reference.shown.add(shown, None, since, held);
    reference.triangulated.add(feet, None, since, held);
    reference.shown.report("", &mut run.extra);
    reference.triangulated.report("triangulated_", &mut run.extra);
    let xz = |f: &FootSample| [f.centre.x, f.centre.z];
    let track = run.extra.entry("feet_track").or_insert_with(|| json!([]));
    if let Some(track) = track.as_array_mut() {
        track.push(json!({
            "time": estimate.time,
            "clip_frame": clip_frame,
            "planted": planted,
            "shown": [xz(&shown[0]), xz(&shown[1])],
            "triangulated": [xz(&feet[0]), xz(&feet[1])],
        }));
    }
}

/// Every video frame shown: how long its decoding took (`decode_ms_p50` in the report).
fn measure_decoding(
    videos: Query<(Entity, &VideoFile)>,
    time: Res<Time>,
    mut times: ResMut<DecodeTimes>,
    mut run: ResMut<Run>,
) {
    let mut changed = false;
    for (entity, video) in &videos {
        if let (Some(due), Some(shown)) = (video.frame_at(time.elapsed_secs_f64()), video.shown()) {
            times.behind.push(due as f64 - shown.index as f64);
        }
        let shown = video.frames_shown();
        if times.shown.insert(entity, shown) != Some(shown)
            && let Some(frame) = video.shown()
        {
            times.millis.push(frame.decode_seconds * 1e3);
            changed = true;
        }
    }
    if changed {
        run.extra.insert("decode_ms_p50".into(), json!(common::quantile(&times.millis, 0.5)));
        run.extra.insert("decoded_frames_shown".into(), json!(times.millis.len()));
        run.extra.insert("video_frames_behind_p50".into(), json!(common::quantile(&times.behind, 0.5)));
        run.extra.insert("video_frames_behind_p95".into(), json!(common::quantile(&times.behind, 0.95)));
    }
}
