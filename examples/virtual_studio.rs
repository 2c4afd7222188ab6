//! The virtual studio: a performer (the open avatar playing a motion from the synthetic motion
//! library) filmed by four Bevy cameras rendering to textures; `CmanetPlugin` reads those
//! textures, estimates the pose and the cameras, and drives a second avatar standing beside the
//! performer. The accuracy against the performer's true joints and the true cameras is measured
//! live (shown in a window, and in the report).
//!
//! ```text
//! cargo run --release --example virtual_studio
//! cargo run --release --example virtual_studio -- --headless --frames 240 --screenshot studio.png --report studio.json
//! ```
//!
//! `--detections FILE` also writes every estimated frame's detections, with the true cameras, 3D
//! keypoints and SMPL parameters, as a `cmanet-mv2d` file: the measurements `cmanet profile` turns
//! into BlazePose's keypoint profile (`tools/detector_profile.sh`, which films other motions from
//! random rigs, `--rig-seed`).

#[path = "common/mod.rs"]
mod common;

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::world_serialization::WorldInstanceReady;
use clap::Parser;
use cmanet::body::{BodyModel, FootContacts, JOINT_NAMES, NUM_BETAS};
use cmanet::data::synth::MotionKind;
use cmanet::data::synth::animate::{AnimatedFrame, animate};
use cmanet::data::synth::motion::{MotionContext, sample};
use cmanet::data::synth::random::Rng;
use cmanet::data::{ExtraKeypoints2d, Keypoints2d, Keypoints3d, Mv2d};
use cmanet::eval::metrics::{
    FEET_AND_HANDS, KeypointSet, joint_orientation_errors, median, mpjpe, pa_mpjpe, pa_rotation,
    relative_rotation_errors,
};
use cmanet::geometry::{Extrinsics, Intrinsics};
use cmanet::ground::{ContactSettings, ContactTracker, FootSample, GroundSettings, ground_sequence};
use cmanet::plugin::{
    AvatarRig, CaptureView, CmanetAvatar, CmanetPlugin, CmanetPose, CmanetSettings, CmanetSystems, PoseEstimated,
    camera_extrinsics,
};
use common::feet::FeetMeter;
use common::{ExampleArgs, Run};
use nalgebra::{Matrix3, Vector3};
use serde_json::json;

#[derive(Parser, Clone, Debug, Resource)]
#[command(about = "A performer filmed by four virtual cameras drives a second avatar through CmanetPlugin")]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
    /// The performer's motion (walk, run, squat, jump, lunge, kick, reach, wave, pick_up, turn,
    /// sit_to_stand, dance).
    #[arg(long, default_value = "dance")]
    motion: String,
    /// Seed of the motion.
    #[arg(long, default_value_t = 3)]
    seed: u64,
    /// Radius of the capture volume, metres: a walk or a run goes round a circle inside it, in view
    /// of the cameras (0: its free path, which leaves the cameras' ring after a few seconds).
    #[arg(long, default_value_t = 1.4)]
    volume: f32,
    /// Number of capture cameras.
    #[arg(long, default_value_t = 4)]
    views: usize,
    /// Width and height of every capture camera's image, pixels.
    #[arg(long, default_value_t = 320)]
    size: u32,
    /// Place the capture cameras at random (azimuth, height 0.5-2.6 m, distance 2.8-4.2 m) from
    /// this seed instead of on the studio's ring.
    #[arg(long)]
    rig_seed: Option<u64>,
    /// Write every estimated frame's detections with the truth here (`cmanet-mv2d`).
    #[arg(long)]
    detections: Option<std::path::PathBuf>,
    /// Leave the feet and hands as the network has them (`CmanetSettings::feet_and_hands` off):
    /// the report's before.
    #[arg(long)]
    no_feet_and_hands: bool,
    /// Show the pose as estimated, not stood on the floor with its planted feet held
    /// (`CmanetSettings::ground_feet` off): the report's before.
    #[arg(long)]
    no_ground: bool,
    /// Tell the plugin where the studio's floor is (y = 0) instead of letting it find the floor
    /// from where the feet rest.
    #[arg(long)]
    known_floor: bool,
    /// Stand on the floor but do not hold planted feet with the legs' IK (the before of the IK).
    #[arg(long)]
    no_hold_feet: bool,
    /// Leave a walking or running performer's feet as the motion generator moves them: the stance
    /// foot then slides (by default the performer's legs hold each foot where it landed).
    #[arg(long)]
    sliding_feet: bool,
    /// Do not repair crossed feet (`CmanetSettings::repair_crossed_feet` off): its before.
    #[arg(long)]
    no_feet_repair: bool,
    /// Detect the capture cameras' frames on the render device instead of reading them back
    /// (`CmanetSettings::detect_on_gpu`; build with `--features wgpu`, without it the plugin
    /// warns and detects on the CPU).
    #[arg(long)]
    detect_on_gpu: bool,
}

/// The performer's motion, one frame per app frame.
#[derive(Resource)]
struct Performance {
    frames: Vec<AnimatedFrame>,
    pelvis_rest: Vec3,
}

impl Performance {
    fn at(&self, frame: u32) -> &AnimatedFrame {
        &self.frames[frame as usize % self.frames.len()]
    }
}

#[derive(Component)]
struct Performer;

#[derive(Component)]
struct PerformerRig(AvatarRig);

/// Errors of every estimate against the truth.
#[derive(Resource, Default)]
struct Accuracy {
    mpjpe_mm: Vec<f64>,
    pa_mpjpe_mm: Vec<f64>,
    camera_deg: Vec<f64>,
    /// `[feet, hands]` world orientation errors as placed, degrees.
    extremity_deg: [Vec<f64>; 2],
    /// The same after the rotation of the PA alignment.
    extremity_pa_deg: [Vec<f64>; 2],
    /// The pelvis's (the avatar's root's) world orientation error, degrees, estimate by estimate.
    pelvis_deg: Vec<f64>,
}

/// Every estimated frame's detections with the truth (`--detections`): per frame, per capture
/// camera (in the order first seen), the keypoints; the cameras themselves.
#[derive(Resource, Default)]
struct Detections {
    frames: Vec<(u32, Vec<Keypoints2d>, Vec<ExtraKeypoints2d>)>,
    cameras: Vec<RecordedCamera>,
}

/// A capture camera as `--detections` records it: its entity, its intrinsics and image size once
/// it delivered an image, and its true extrinsics.
type RecordedCamera = (Entity, Option<(Intrinsics, [u32; 2])>, Extrinsics);

fn main() -> AppExit {
    let args = Args::parse();
    // A bad `--refine` is refused before any window or device opens.
    let refinement = args.common.refinement().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let Some(kind) = MotionKind::from_name(&args.motion) else {
        eprintln!("unknown motion {}", args.motion);
        std::process::exit(2);
    };
    let model = match BodyModel::open_body() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("the body model: {e}");
            std::process::exit(1);
        }
    };
    let betas = [0.0; NUM_BETAS];
    let rest = model.rest_joints(&betas);
    let duration = 12.0;
    let context = MotionContext { duration, leg_length: rest[1].y, volume: (args.volume > 0.0).then_some(args.volume) };
    let motion = sample(kind, &mut Rng::new(args.seed), &context);
    let frames = match animate(&model, &betas, motion.as_ref(), (duration * 30.0) as usize, 30.0) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("the motion: {e}");
            std::process::exit(1);
        }
    };
    // Walks and runs only: the motions on the spot keep their planted feet in place already.
    let frames = if args.sliding_feet || !kind.travels() {
        frames
    } else {
        match planted_feet(&model, frames) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("the performer's feet: {e}");
                std::process::exit(1);
            }
        }
    };
    // Where the performer's feet are planted (the truth of foot skate), by the same rule the
    // estimate is judged by, on the studio's floor (y = 0).
    let soles = FootContacts::new(&model, &betas);
    let mut tracker = ContactTracker::default();
    let feet: Vec<[FootSample; 2]> = frames.iter().map(|f| FootSample::both(&soles, &f.joint_transforms)).collect();
    let planted = feet.iter().enumerate().map(|(i, f)| tracker.update(i as f64 / 30.0, f, 0.0)).collect();
    let feet_truth = FeetTruth { planted, feet, model: model.clone() };
    let mut app = common::app(args.common.clone(), "cmanet virtual studio");
    // How much of the motion the skate is measured over: the share of frames the truth plants each
    // foot by the contact rule (a quarter on the studio's walks: the rule wants the foot low and
    // still, so the heel strike and the push-off of each stance do not count).
    let planted = &feet_truth.planted;
    let share = |side: usize| planted.iter().filter(|p| p[side]).count() as f64 / planted.len().max(1) as f64;
    app.world_mut().resource_mut::<Run>().extra.insert("truth_planted_share".into(), json!([share(0), share(1)]));
    if app.world().resource::<Run>().args.headless {
        // The performer moves one frame of its 30 fps motion per app frame: headless, the app's
        // clock does too, so what the plugin judges by time (the smoothing, the left/right repair's
        // reference, foot contacts) sees the motion at its own speed, however slowly the software
        // renderer runs.
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_secs_f64(
            1.0 / 30.0,
        )));
    }
    let mut plugin = CmanetPlugin::default();
    plugin.models.landmark = args.common.landmark_model();
    plugin.models.mirror_average = args.common.mirror_average;
    plugin.models.refinement = refinement;
    let settings = CmanetSettings {
        feet_and_hands: !args.no_feet_and_hands,
        ground_feet: !args.no_ground,
        floor_height: args.known_floor.then_some(0.0),
        hold_planted_feet: !args.no_hold_feet,
        repair_crossed_feet: !args.no_feet_repair,
        detect_on_gpu: args.detect_on_gpu,
        // Headless runs are measurements: estimating from the first frame on, not from whichever
        // frame the networks happen to be loaded by, makes them repeatable.
        wait_for_inference: args.common.headless,
        ..default()
    };
    app.add_plugins(plugin)
        .insert_resource(settings)
        .insert_resource(Performance { frames, pelvis_rest: Vec3::new(rest[0].x, rest[0].y, rest[0].z) })
        .insert_resource(args)
        .insert_resource(feet_truth)
        .init_resource::<FeetAccuracy>()
        .init_resource::<Accuracy>()
        .init_resource::<Detections>()
        .add_systems(Startup, setup)
        .add_observer(find_performer_rig)
        .add_systems(PostUpdate, perform.before(CmanetSystems::Retarget))
        .add_systems(Update, measure.after(CmanetSystems::Inference))
        .add_systems(Update, measure_feet.after(CmanetSystems::Filter))
        .add_systems(Last, write_detections);
    if !app.world().resource::<Run>().args.headless {
        app.add_systems(bevy_egui::EguiPrimaryContextPass, accuracy_window);
    }
    app.run()
}

fn setup(
    mut commands: Commands,
    args: Res<Args>,
    mut run: ResMut<Run>,
    mut images: ResMut<Assets<Image>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    assets: Res<AssetServer>,
) {
    let avatar = GltfAssetLabel::Scene(0).from_asset(cmanet::plugin::AVATAR_PATH);
    commands.spawn((WorldAssetRoot(assets.load(avatar.clone())), Performer));
    commands.spawn((WorldAssetRoot(assets.load(avatar)), CmanetAvatar::default(), Transform::from_xyz(1.8, 0.0, 0.0)));
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(12.0, 12.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.55, 0.57, 0.6))),
    ));
    commands.spawn((
        DirectionalLight { illuminance: 8000.0, ..default() },
        Transform::from_xyz(3.0, 6.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight { brightness: 600.0, ..default() });
    // The capture cameras: a ring around the performer at different heights, or a random rig.
    let mut rig = args.rig_seed.map(Rng::new);
    for i in 0..args.views {
        let mut angle = std::f32::consts::TAU * i as f32 / args.views as f32 + 0.4;
        let (mut height, mut distance) = (1.3 + 0.35 * (i % 3) as f32, 3.6);
        if let Some(rng) = rig.as_mut() {
            angle += rng.symmetric(0.6);
            height = rng.range(0.5, 2.6);
            distance = rng.range(2.8, 4.2);
        }
        let eye = Vec3::new(distance * angle.sin(), height, distance * angle.cos());
        let target = cmanet::plugin::capture_target(&mut images, args.size, args.size);
        commands.spawn((
            Camera3d::default(),
            Camera {
                order: -1 - i as isize,
                clear_color: ClearColorConfig::Custom(Color::srgb(0.8, 0.82, 0.86)),
                ..default()
            },
            Msaa::Off,
            bevy::camera::RenderTarget::Image(target.into()),
            Projection::Perspective(PerspectiveProjection { fov: 0.9, ..default() }),
            Transform::from_translation(eye).looking_at(Vec3::new(0.0, 0.95, 0.0), Vec3::Y),
            CaptureView::default(),
        ));
    }
    let mut main = commands.spawn((
        Camera3d::default(),
        Msaa::Off,
        RenderLayers::from_layers(&[0, ESTIMATE_LAYER]),
        Camera { clear_color: ClearColorConfig::Custom(Color::srgb(0.93, 0.94, 0.96)), ..default() },
        Transform::from_xyz(0.9, 2.2, 5.4).looking_at(Vec3::new(0.9, 0.9, 0.0), Vec3::Y),
    ));
    common::main_view(&mut main, &mut run, &mut images);
}

/// The render layer of the estimated avatar: the main view sees it, the capture cameras do not
/// (they film only the performer).
const ESTIMATE_LAYER: usize = 1;

fn find_performer_rig(
    ready: On<WorldInstanceReady>,
    performers: Query<(), With<Performer>>,
    avatars: Query<(), With<CmanetAvatar>>,
    children: Query<&Children>,
    names: Query<&Name>,
    mut commands: Commands,
) {
    if performers.contains(ready.entity) {
        let rig = AvatarRig::find(ready.entity, &JOINT_NAMES, &children, &names);
        commands.entity(ready.entity).insert(PerformerRig(rig));
    }
    if avatars.contains(ready.entity) {
        for part in children.iter_descendants(ready.entity) {
            commands.entity(part).insert(RenderLayers::layer(ESTIMATE_LAYER));
        }
    }
}

/// Poses the performer for this frame (keyed by the frame number, so the truth of a capture is
/// known exactly).
fn perform(
    performers: Query<&PerformerRig>,
    performance: Res<Performance>,
    frame: Res<bevy::diagnostic::FrameCount>,
    mut transforms: Query<&mut Transform>,
) {
    for rig in &performers {
        rig.0.apply(&performance.at(frame.0).params, Some(performance.pelvis_rest), &mut transforms);
    }
}

fn to_keypoints(points: &[Vector3<f32>]) -> Keypoints3d {
    std::array::from_fn(|k| [points[k].x, points[k].y, points[k].z])
}

fn seen_by(camera: &Extrinsics, keypoints: &Keypoints3d) -> Keypoints3d {
    keypoints.map(|k| {
        let p = camera.to_camera(&Vector3::new(k[0] as f64, k[1] as f64, k[2] as f64));
        [p.x as f32, p.y as f32, p.z as f32]
    })
}

/// The performer with its feet planted. The generator's gait moves the legs in time with the
/// pelvis, not from the ground, so a stance foot slides (up to 0.6 m/s on a tight curve) where a
/// person's would stand: the library's grounding (`cmanet::ground`, the same the plugin runs on
/// estimates) holds each foot where it landed, with lenient contacts (a foot plants below 0.6 m/s,
/// within 3 cm of the floor) and a long hold (30 cm), its legs turned by the two-bone IK; every
/// frame is posed anew from the held parameters.
fn planted_feet(model: &BodyModel, frames: Vec<AnimatedFrame>) -> Result<Vec<AnimatedFrame>, String> {
    let settings = GroundSettings {
        contacts: ContactSettings { speed_on: 0.6, speed_off: 1.2, ..default() },
        floor_height: Some(0.0),
        release_seconds: 0.1,
        max_hold: 0.3,
        ..default()
    };
    let params: Vec<_> = frames.iter().map(|f| f.params.clone()).collect();
    let seconds: Vec<f64> = (0..frames.len()).map(|i| i as f64 / 30.0).collect();
    let grounded = ground_sequence(model, &params, &seconds, settings).ok_or("no frame could be posed")?;
    frames
        .into_iter()
        .zip(grounded)
        .map(|(frame, held)| {
            let posed = model.pose(&held.params, false).map_err(|e| e.to_string())?;
            Ok(AnimatedFrame {
                params: held.params,
                joints: posed.joints,
                joint_transforms: posed.joint_transforms,
                keypoints: posed.keypoints,
                extra_keypoints: posed.extra_keypoints,
                lift: frame.lift,
            })
        })
        .collect()
}

/// Which of the performer's feet are planted in every frame of the motion, and the body model.
#[derive(Resource)]
struct FeetTruth {
    planted: Vec<[bool; 2]>,
    /// The performer's feet in every frame.
    feet: Vec<[FootSample; 2]>,
    model: BodyModel,
}

/// The avatar's feet against the truth (`common::feet`), with the estimate and capture frame of
/// the last estimate measured.
#[derive(Resource, Default)]
struct FeetAccuracy {
    last: Option<(u64, u32)>,
    meter: FeetMeter,
    /// The performer's feet measured the same way.
    truth: FeetMeter,
}

/// Measures the feet of the pose the avatar shows ([`CmanetPose::current`]) at every new estimate.
fn measure_feet(
    pose: Res<CmanetPose>,
    settings: Res<CmanetSettings>,
    truth: Res<FeetTruth>,
    mut accuracy: ResMut<FeetAccuracy>,
    mut run: ResMut<Run>,
) {
    if accuracy.last.is_some_and(|(n, _)| n == pose.estimates) {
        return;
    }
    let Some(params) = pose.current(&settings) else { return };
    let Ok(transforms) = truth.model.forward_kinematics(params) else { return };
    let now = FootSample::both(&FootContacts::new(&truth.model, &params.betas), &transforms);
    // The truth's planted feet over every frame between the two captures (frame-keyed, 30 fps).
    let planted = |f: u32| truth.planted[f as usize % truth.planted.len()];
    let (since, held) = match accuracy.last {
        Some((_, frame)) if (1..30).contains(&pose.frame.wrapping_sub(frame)) => (
            Some(f64::from(pose.frame - frame) / 30.0),
            [0, 1].map(|side| (frame..=pose.frame).all(|f| planted(f)[side])),
        ),
        _ => (None, [false; 2]),
    };
    accuracy.meter.add(now, Some(0.0), since, held);
    // The performer's own feet over the same samples: what a perfect estimate would score (the
    // procedural gait's planted feet are not perfectly still).
    accuracy.truth.add(truth.feet[pose.frame as usize % truth.feet.len()], None, since, held);
    accuracy.last = Some((pose.estimates, pose.frame));
    accuracy.meter.report("", &mut run.extra);
    accuracy.truth.report("truth_", &mut run.extra);
}

/// Measures every estimate against the performer's truth in its capture frame.
fn measure(
    mut estimates: MessageReader<PoseEstimated>,
    performance: Res<Performance>,
    cameras: Query<&GlobalTransform, With<CaptureView>>,
    mut accuracy: ResMut<Accuracy>,
    mut detections: ResMut<Detections>,
    mut run: ResMut<Run>,
) {
    for estimate in estimates.read() {
        record_detections(estimate, &cameras, &mut detections);
        let truth = to_keypoints(&performance.at(estimate.frame).keypoints);
        let mut estimated = Vec::new();
        let mut true_cameras = Vec::new();
        let mut errors = Vec::new();
        for view in &estimate.views {
            let (Some(camera), Ok(transform)) = (view.camera, cameras.get(view.entity)) else { continue };
            let true_camera = camera_extrinsics(transform);
            errors.push(mpjpe(
                &seen_by(&camera, &estimate.keypoints_canonical),
                &seen_by(&true_camera, &truth),
                KeypointSet::All,
            ));
            estimated.push(camera);
            true_cameras.push(true_camera);
        }
        if errors.is_empty() {
            continue;
        }
        accuracy.mpjpe_mm.push(errors.iter().sum::<f64>() / errors.len() as f64 * 1000.0);
        accuracy.pa_mpjpe_mm.push(pa_mpjpe(&estimate.keypoints_canonical, &truth, KeypointSet::All) * 1000.0);
        accuracy.camera_deg.extend(relative_rotation_errors(&estimated, &true_cameras));
        let performed = performance.at(estimate.frame);
        let alignment = pa_rotation(&estimate.keypoints, &to_keypoints(&performed.keypoints));
        for (i, joints) in FEET_AND_HANDS.iter().enumerate() {
            let world = joint_orientation_errors(&estimate.params, &performed.params, joints, &Matrix3::identity());
            accuracy.extremity_deg[i].extend(world);
            let aligned = joint_orientation_errors(&estimate.params, &performed.params, joints, &alignment);
            accuracy.extremity_pa_deg[i].extend(aligned);
        }
        accuracy.pelvis_deg.extend(joint_orientation_errors(
            &estimate.params,
            &performed.params,
            &[0],
            &Matrix3::identity(),
        ));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        run.extra.insert("mpjpe_mm".into(), json!(mean(&accuracy.mpjpe_mm)));
        run.extra.insert("pelvis_rot_err_deg".into(), json!(median(&accuracy.pelvis_deg)));
        run.extra.insert("pelvis_rot_err_deg_mean".into(), json!(mean(&accuracy.pelvis_deg)));
        run.extra.insert("pelvis_rot_err_deg_per_estimate".into(), json!(accuracy.pelvis_deg));
        run.extra.insert("pa_mpjpe_mm".into(), json!(mean(&accuracy.pa_mpjpe_mm)));
        run.extra.insert("camera_rot_err_deg".into(), json!(median(&accuracy.camera_deg)));
        run.extra.insert("foot_rot_err_deg".into(), json!(median(&accuracy.extremity_deg[0])));
        run.extra.insert("hand_rot_err_deg".into(), json!(median(&accuracy.extremity_deg[1])));
        run.extra.insert("foot_rot_err_pa_deg".into(), json!(median(&accuracy.extremity_pa_deg[0])));
        run.extra.insert("hand_rot_err_pa_deg".into(), json!(median(&accuracy.extremity_pa_deg[1])));
    }
}

fn accuracy_window(mut contexts: bevy_egui::EguiContexts, accuracy: Res<Accuracy>) -> Result {
    use bevy_egui::egui;
    let ctx = contexts.ctx_mut()?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
    egui::Window::new("accuracy against the performer").default_pos([12.0, 12.0]).show(ctx, |ui| {
        ui.label(format!("estimates: {}", accuracy.mpjpe_mm.len()));
        ui.label(format!("MPJPE {:.0} mm (now {:.0})", mean(&accuracy.mpjpe_mm), last(&accuracy.mpjpe_mm)));
        ui.label(format!("PA-MPJPE {:.0} mm (now {:.0})", mean(&accuracy.pa_mpjpe_mm), last(&accuracy.pa_mpjpe_mm)));
        ui.label(format!("camera rotation error {:.1} deg (median)", median(&accuracy.camera_deg)));
    });
    Ok(())
}

/// Keeps an estimate's detections for `--detections`: every capture camera's keypoints (zeros where
/// nothing was found) in the order the cameras were first seen.
fn record_detections(
    estimate: &PoseEstimated,
    cameras: &Query<&GlobalTransform, With<CaptureView>>,
    detections: &mut Detections,
) {
    for view in &estimate.views {
        let Ok(transform) = cameras.get(view.entity) else { continue };
        let at = match detections.cameras.iter().position(|(e, _, _)| *e == view.entity) {
            Some(at) => at,
            None => {
                detections.cameras.push((view.entity, None, camera_extrinsics(transform)));
                detections.cameras.len() - 1
            }
        };
        if let Some(intrinsics) = view.intrinsics {
            detections.cameras[at].1 = Some((intrinsics, view.image_size));
        }
    }
    let view_of = |entity: &Entity| estimate.views.iter().find(|v| v.entity == *entity);
    let keypoints = detections
        .cameras
        .iter()
        .map(|(e, _, _)| view_of(e).and_then(|v| v.keypoints2d).unwrap_or([[0.0; 3]; 17]))
        .collect();
    let extra = detections
        .cameras
        .iter()
        .map(|(e, _, _)| view_of(e).and_then(|v| v.extra2d).unwrap_or([[0.0; 3]; 16]))
        .collect();
    detections.frames.push((estimate.frame, keypoints, extra));
}

/// Writes the recorded detections with the truth at the end of a run (`--detections`).
fn write_detections(
    args: Res<Args>,
    run: Res<Run>,
    performance: Res<Performance>,
    detections: Res<Detections>,
    mut written: Local<bool>,
) {
    let Some(path) = &args.detections else { return };
    // `Run::frames` reaches the limit in this schedule, and the app may exit right after.
    if *written || run.limit().is_none_or(|limit| run.frames + 1 < limit) {
        return;
    }
    *written = true;
    let views = detections.cameras.len();
    let Some(sizes) = detections.cameras.iter().map(|(_, k, _)| *k).collect::<Option<Vec<_>>>() else {
        error!("--detections: a camera never delivered an image; nothing written");
        return;
    };
    let frames: Vec<_> = detections.frames.iter().filter(|(_, k, _)| k.len() == views).collect();
    let data = Mv2d {
        fps: 30.0,
        image_size: sizes.iter().map(|(_, s)| [s[0] as f32, s[1] as f32]).collect(),
        intrinsics: sizes.iter().map(|(k, _)| *k).collect(),
        keypoints2d: frames.iter().map(|(_, k, _)| k.clone()).collect(),
        extra2d: Some(frames.iter().map(|(_, _, e)| e.clone()).collect()),
        extrinsics: Some(detections.cameras.iter().map(|(_, _, e)| *e).collect()),
        extra3d: Some(
            frames
                .iter()
                .map(|(f, _, _)| std::array::from_fn(|e| performance.at(*f).extra_keypoints[e].into()))
                .collect(),
        ),
        joints3d: Some(frames.iter().map(|(f, _, _)| to_keypoints(&performance.at(*f).keypoints)).collect()),
        params: Some(frames.iter().map(|(f, _, _)| performance.at(*f).params.clone()).collect()),
        frame_time: None,
        metadata: [
            ("generator".to_string(), "virtual_studio".to_string()),
            (
                "detector".to_string(),
                format!("BlazePose {} (cmanet port), rendered open avatar", args.common.landmark_model().name()),
            ),
        ]
        .into_iter()
        .collect(),
    };
    match data.write(path) {
        Ok(()) => info!("wrote {} frames of detections to {}", frames.len(), path.display()),
        Err(e) => error!("--detections: {e}"),
    }
}
