//! `CmanetPlugin` in headless apps (`MinimalPlugins`, manual time, no GPU): estimated poses drive
//! the shipped avatar's bones, an `AnimationPlayer` does not override them, and bad input (a rig
//! missing bones, an empty image, a model that fails to load, a view that finds nobody, an avatar
//! whose scene is missing, a render target without COPY_SRC) leaves the app running with a
//! warning; permuting the views does not change the avatar; a VMC stream from one app drives a
//! second app's avatar like the first, and bad packets or targets are warnings.
#![cfg(feature = "bevy")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::animation::{AnimatedBy, AnimationTargetId, animated_field};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use cmanet::body::{BodyModel, BodyParams, JOINT_NAMES, NUM_JOINTS, joint_index};
use cmanet::compute::ComputeDevice;
use cmanet::data::calibration::read_calibration_toml;
use cmanet::detect::{RgbImage, frame_files};
use cmanet::plugin::{
    AvatarBones, CaptureView, CapturedFrame, CapturedPixels, CmanetAvatar, CmanetPlugin, CmanetPose, CmanetSettings,
    CmanetVmcReceiver, CmanetVmcSender, CmanetWarning, ImageSequence, MissingBones, ModelFiles, ModelLoaded,
    PoseEstimated, ViewFailed, VmcStatus, camera_transform, headless_app,
};
use nalgebra::Vector3;

/// Whatever the plugin warned about, in order.
#[derive(Clone, Debug, PartialEq)]
enum Warning {
    App(CmanetWarning),
    View(ViewFailed),
    Bones(MissingBones),
}

#[derive(Resource, Default)]
struct Seen {
    loaded: bool,
    /// The device `ModelLoaded` named.
    device: String,
    warnings: Vec<Warning>,
    estimates: Vec<PoseEstimated>,
}

fn app_with(models: ModelFiles, settings: CmanetSettings) -> App {
    let mut app = headless_app();
    app.add_plugins(CmanetPlugin { models, settings, ..default() })
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(1.0 / 30.0)))
        .init_resource::<Seen>()
        .add_observer(|m: On<ModelLoaded>, mut seen: ResMut<Seen>| {
            seen.loaded = true;
            seen.device = m.event().device.clone();
        })
        .add_observer(|w: On<CmanetWarning>, mut seen: ResMut<Seen>| {
            seen.warnings.push(Warning::App(w.event().clone()))
        })
        .add_observer(|w: On<ViewFailed>, mut seen: ResMut<Seen>| seen.warnings.push(Warning::View(w.event().clone())))
        .add_observer(|w: On<MissingBones>, mut seen: ResMut<Seen>| {
            seen.warnings.push(Warning::Bones(w.event().clone()))
        })
        .add_systems(Last, |mut m: MessageReader<PoseEstimated>, mut seen: ResMut<Seen>| {
            seen.estimates.extend(m.read().cloned())
        });
    app.finish();
    app.cleanup();
    app
}

fn app() -> App {
    app_with(ModelFiles::default(), CmanetSettings::default())
}

/// Updates until `done` or about 30 s of wall time (async work needs real time).
fn run_until(app: &mut App, what: &str, done: impl Fn(&mut World) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("timed out waiting for {what}");
}

fn spawn_avatar(app: &mut App, avatar: CmanetAvatar) -> Entity {
    let scene = app.world().resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"));
    let root = app.world_mut().spawn((WorldAssetRoot(scene), avatar)).id();
    run_until(app, "the avatar's bones", |w| w.get::<AvatarBones>(root).is_some() && w.resource::<Seen>().loaded);
    root
}

fn joint_positions(app: &App, root: Entity) -> [Vec3; NUM_JOINTS] {
    let bones = app.world().get::<AvatarBones>(root).expect("bones found");
    std::array::from_fn(|j| {
        bones.rig.joints[j].and_then(|e| app.world().get::<GlobalTransform>(e)).map_or(Vec3::NAN, |g| g.translation())
    })
}

/// The local transform of every one of the avatar's 24 bones (each must exist).
fn bone_transforms_of(app: &App, avatar: Entity) -> Vec<Transform> {
    let bones = app.world().get::<AvatarBones>(avatar).expect("bones found");
    bones
        .rig
        .joints
        .iter()
        .map(|e| *app.world().get::<Transform>(e.expect("every bone")).expect("a transform"))
        .collect()
}

/// Every bone of `a` and `b` agrees within `tolerance` (radians of rotation, metres of offset).
fn assert_same_bones(a: &[Transform], b: &[Transform], tolerance: f32) {
    assert_eq!(a.len(), NUM_JOINTS);
    assert_eq!(b.len(), NUM_JOINTS);
    for (j, (x, y)) in a.iter().zip(b).enumerate() {
        let angle = x.rotation.angle_between(y.rotation);
        assert!(angle < tolerance, "{}: {} vs {}", JOINT_NAMES[j], x.rotation, y.rotation);
        let distance = x.translation.distance(y.translation);
        assert!(distance < tolerance, "{}: {} vs {}", JOINT_NAMES[j], x.translation, y.translation);
    }
}

fn test_pose() -> BodyParams {
    let mut params = BodyParams { global_orient: Vector3::new(0.1, 0.8, -0.05), ..Default::default() };
    params.set_local_rotation(joint_index("left_elbow").unwrap(), Vector3::new(0.0, -1.2, 0.3));
    params.set_local_rotation(joint_index("left_shoulder").unwrap(), Vector3::new(0.0, 0.0, 0.8));
    params.set_local_rotation(joint_index("right_hip").unwrap(), Vector3::new(-0.9, 0.0, 0.0));
    params.set_local_rotation(joint_index("spine1").unwrap(), Vector3::new(0.3, 0.2, 0.0));
    params.betas[0] = 1.5;
    params.betas[1] = -0.8;
    params.transl = Vector3::new(0.4, 0.05, -1.0);
    params
}

fn send_pose(app: &mut App, params: &BodyParams, frame: u32) {
    let time = app.world().resource::<Time>().elapsed_secs_f64();
    app.world_mut().write_message(PoseEstimated {
        frame,
        time,
        params: params.clone(),
        joints: [Vector3::zeros(); NUM_JOINTS],
        keypoints_canonical: [[0.0; 3]; 17],
        keypoints: [[0.0; 3]; 17],
        views: Vec::new(),
        timing: Default::default(),
    });
}

#[test]
fn pose_messages_drive_the_avatar_to_the_body_models_joints() {
    let mut app = app();
    let root = spawn_avatar(&mut app, CmanetAvatar::default());
    let params = test_pose();
    send_pose(&mut app, &params, 1);
    app.update();
    let expected = BodyModel::open_body().unwrap().pose(&params, false).unwrap().joints;
    let got = joint_positions(&app, root);
    for j in 0..NUM_JOINTS {
        let e = Vec3::new(expected[j].x, expected[j].y, expected[j].z);
        assert!(got[j].distance(e) < 1e-4, "{}: {} vs {}", JOINT_NAMES[j], got[j], e);
    }
    // Moved from the rest pose for real (the test could fail).
    let rest = BodyModel::open_body().unwrap().rest_joints(&[0.0; 10]);
    assert!(got[20].distance(Vec3::new(rest[20].x, rest[20].y, rest[20].z)) > 0.2);
    assert!(app.world().resource::<Seen>().warnings.is_empty());
}

#[test]
fn smoothing_follows_the_settings_and_the_raw_pose_stays_available() {
    let mut app = app();
    let root = spawn_avatar(&mut app, CmanetAvatar { root_motion: false, shape: false, ..default() });
    let elbow = joint_index("left_elbow").unwrap();
    let mut params = BodyParams::default();
    send_pose(&mut app, &params, 1);
    app.update();
    params.set_local_rotation(elbow, Vector3::new(0.0, 0.0, 1.5));
    send_pose(&mut app, &params, 2);
    app.update();
    let bone = app.world().get::<AvatarBones>(root).unwrap().rig.joints[elbow].unwrap();
    let smoothed = app.world().get::<Transform>(bone).unwrap().rotation.to_scaled_axis().z;
    assert!(smoothed > 0.01 && smoothed < 1.4, "a jump is smoothed, not copied: {smoothed}");
    let pose = app.world().resource::<CmanetPose>();
    assert_eq!(pose.raw.as_ref().unwrap().local_rotation(elbow).z, 1.5);
    app.world_mut().resource_mut::<CmanetSettings>().smoothing = false;
    app.update();
    let raw = app.world().get::<Transform>(bone).unwrap().rotation.to_scaled_axis().z;
    assert!((raw - 1.5).abs() < 1e-5, "{raw}");
}

#[test]
fn an_animation_player_on_the_rig_does_not_override_the_estimated_pose() {
    let mut app = app();
    let root = spawn_avatar(&mut app, CmanetAvatar::default());
    let elbow = joint_index("left_elbow").unwrap();
    let bone = app.world().get::<AvatarBones>(root).unwrap().rig.joints[elbow].unwrap();
    let name = Name::new(JOINT_NAMES[elbow]);
    let target = AnimationTargetId::from_name(&name);
    let clip_rotation = Quat::from_rotation_x(1.0);
    let mut clip = AnimationClip::default();
    clip.add_curve_to_target(
        target,
        AnimatableCurve::new(animated_field!(Transform::rotation), ConstantCurve::new(Interval::UNIT, clip_rotation)),
    );
    let clip = app.world_mut().resource_mut::<Assets<AnimationClip>>().add(clip);
    let (graph, node) = AnimationGraph::from_clip(clip);
    let graph = app.world_mut().resource_mut::<Assets<AnimationGraph>>().add(graph);
    let mut player = AnimationPlayer::default();
    player.play(node).repeat();
    app.world_mut().entity_mut(root).insert((player, AnimationGraphHandle(graph)));
    app.world_mut().entity_mut(bone).insert((target, AnimatedBy(root)));
    // With no estimate yet, the clip drives the bone (so the check below can fail).
    run_until(&mut app, "the clip to play", |w| {
        w.get::<Transform>(bone).unwrap().rotation.angle_between(clip_rotation) < 1e-3
    });
    let mut params = BodyParams::default();
    params.set_local_rotation(elbow, Vector3::new(0.0, 0.0, 1.2));
    send_pose(&mut app, &params, 1);
    for _ in 0..3 {
        app.update();
        let r = app.world().get::<Transform>(bone).unwrap().rotation;
        assert!(r.angle_between(Quat::from_rotation_z(1.2)) < 1e-4, "the clip overrode the pose: {r}");
    }
}

#[test]
fn a_rig_missing_bones_is_reported_once_and_the_rest_is_driven() {
    let mut app = app();
    run_until(&mut app, "the model", |w| w.resource::<Seen>().loaded);
    let root = app
        .world_mut()
        .spawn((Transform::default(), CmanetAvatar { shape: false, root_motion: false, ..default() }))
        .id();
    let pelvis = app.world_mut().spawn((Name::new("pelvis"), Transform::from_xyz(0.0, 1.0, 0.0), ChildOf(root))).id();
    let spine = app.world_mut().spawn((Name::new("spine1"), Transform::from_xyz(0.0, 0.1, 0.0), ChildOf(pelvis))).id();
    let mut params = BodyParams::default();
    params.set_local_rotation(3, Vector3::new(0.5, 0.0, 0.0));
    send_pose(&mut app, &params, 1);
    for _ in 0..5 {
        app.update();
    }
    let warnings = &app.world().resource::<Seen>().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    match &warnings[0] {
        Warning::Bones(MissingBones { entity, joints }) => {
            assert_eq!(*entity, root);
            assert_eq!(joints.len(), NUM_JOINTS - 2);
            assert!(joints.contains(&"left_elbow"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let r = app.world().get::<Transform>(spine).unwrap().rotation;
    assert!(r.angle_between(Quat::from_rotation_x(0.5)) < 1e-5);
}

/// The panel shows the warnings the plugin gives (here: an avatar without any expected bone and a
/// view whose image is empty).
#[test]
fn the_panel_shows_the_latest_warnings() {
    use cmanet::plugin::{CmanetPanelPlugin, PanelState};
    let mut app = headless_app();
    app.add_plugins((CmanetPlugin::default(), CmanetPanelPlugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(1.0 / 30.0)));
    app.finish();
    app.cleanup();
    let root = app.world_mut().spawn((Transform::default(), CmanetAvatar::default())).id();
    app.world_mut().spawn((Name::new("Bone"), Transform::default(), ChildOf(root)));
    let view = app.world_mut().spawn((CaptureView::default(), empty_frame(3))).id();
    run_until(&mut app, "two warnings in the panel", |w| w.resource::<PanelState>().warnings().count() >= 2);
    let shown: Vec<String> = app.world().resource::<PanelState>().warnings().map(String::from).collect();
    assert!(shown.iter().any(|w| w.contains(&format!("avatar {root}")) && w.contains("not driven")), "{shown:?}");
    assert!(shown.iter().any(|w| w.contains(&format!("view {view}"))), "{shown:?}");
}

/// An avatar none of whose bones has an expected name is told as failed, naming what it looked for.
#[test]
fn an_avatar_without_any_expected_bone_is_a_warning_naming_them() {
    let mut app = app();
    let root = app.world_mut().spawn((Transform::default(), CmanetAvatar::default())).id();
    let hips = app.world_mut().spawn((Name::new("Bone"), Transform::default(), ChildOf(root))).id();
    app.world_mut().spawn((Name::new("Bone.001"), Transform::default(), ChildOf(hips)));
    for _ in 0..5 {
        app.update();
    }
    let warnings = &app.world().resource::<Seen>().warnings;
    let told: Vec<_> = warnings
        .iter()
        .filter(|w| matches!(w, Warning::App(CmanetWarning::AvatarFailed { .. }) | Warning::Bones(_)))
        .collect();
    assert_eq!(told.len(), 1, "told once, as failed: {warnings:?}");
    let Warning::App(CmanetWarning::AvatarFailed { avatar, message }) = told[0] else { unreachable!() };
    assert_eq!(*avatar, root);
    assert!(message.contains("pelvis") && message.contains("BoneMap"), "{message}");
}

fn empty_frame(frame: u32) -> CapturedFrame {
    CapturedFrame {
        pixels: CapturedPixels::Rgba8 { width: 0, height: 0, row_bytes: 0, bgra: false, data: Arc::new(Vec::new()) },
        frame,
        time: 0.0,
        instant: Instant::now(),
        intrinsics: None,
    }
}

#[test]
fn a_view_with_an_empty_image_is_a_warning_not_a_crash() {
    let mut app = app();
    run_until(&mut app, "the model", |w| w.resource::<Seen>().loaded);
    let views: Vec<Entity> =
        (0..2).map(|_| app.world_mut().spawn((CaptureView::default(), empty_frame(5))).id()).collect();
    // An observer on one view hears that view's failure only.
    #[derive(Resource, Default)]
    struct OnFirst(Vec<Entity>);
    app.init_resource::<OnFirst>();
    app.world_mut()
        .entity_mut(views[0])
        .observe(|w: On<ViewFailed>, mut heard: ResMut<OnFirst>| heard.0.push(w.event().entity));
    run_until(&mut app, "two view warnings", |w| w.resource::<Seen>().warnings.len() >= 2);
    for _ in 0..10 {
        app.update();
    }
    let seen = app.world().resource::<Seen>();
    assert!(seen.estimates.is_empty());
    for w in &seen.warnings {
        match w {
            Warning::View(ViewFailed { entity, message }) => {
                assert!(views.contains(entity));
                assert!(message.contains("empty"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen.warnings.len(), 2, "reported once per view: {:?}", seen.warnings);
    assert_eq!(app.world().resource::<OnFirst>().0, vec![views[0]]);
}

#[test]
fn a_model_that_fails_to_load_is_a_warning_and_the_app_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("cmanet.safetensors");
    std::fs::write(&weights, b"not a safetensors file").unwrap();
    let mut app = app_with(ModelFiles { weights: weights.clone(), ..default() }, CmanetSettings::default());
    run_until(&mut app, "the failure", |w| !w.resource::<Seen>().warnings.is_empty());
    app.world_mut().spawn((CaptureView::default(), empty_frame(3)));
    app.world_mut().spawn((CaptureView::default(), empty_frame(3)));
    for _ in 0..20 {
        app.update();
    }
    let seen = app.world().resource::<Seen>();
    assert!(!seen.loaded && seen.estimates.is_empty());
    assert_eq!(seen.warnings.len(), 1, "{:?}", seen.warnings);
    match &seen.warnings[0] {
        Warning::App(CmanetWarning::ModelFailed { message }) => {
            assert!(message.contains("cmanet.safetensors"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_device_is_chosen_in_model_files_and_named_when_loaded() {
    let mut app = app_with(ModelFiles { device: ComputeDevice::Cpu, ..default() }, CmanetSettings::default());
    run_until(&mut app, "the model", |w| w.resource::<Seen>().loaded);
    assert_eq!(app.world().resource::<Seen>().device, "cpu");
    if !cfg!(feature = "cuda") {
        // A GPU the build cannot open is a ModelFailed warning naming it, not a panic.
        let mut app = app_with(ModelFiles { device: ComputeDevice::Cuda(0), ..default() }, CmanetSettings::default());
        run_until(&mut app, "the failure", |w| !w.resource::<Seen>().warnings.is_empty());
        let seen = app.world().resource::<Seen>();
        assert!(!seen.loaded);
        match &seen.warnings[0] {
            Warning::App(CmanetWarning::ModelFailed { message }) => {
                assert!(message.contains("cuda:0") && message.contains("`cuda` feature"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn waiting_for_inference_the_first_update_has_the_networks_and_each_set_its_estimate() {
    let mut app = app_with(ModelFiles::default(), CmanetSettings { wait_for_inference: true, ..default() });
    app.update();
    assert!(app.world().resource::<Seen>().loaded, "the networks were not loaded by the first update");
    // A set captured in one update is estimated in the next: the second update waits for it.
    let views: Vec<Entity> = (0..2).map(|_| app.world_mut().spawn(CaptureView::default()).id()).collect();
    let image = image_of(320, 240, |x, y| [(x % 256) as u8, (y % 256) as u8, 90]);
    let intrinsics = cmanet::geometry::Intrinsics::from_vertical_fov(0.8, 320.0, 240.0);
    for view in &views {
        app.world_mut().entity_mut(*view).insert(CapturedFrame {
            pixels: CapturedPixels::Rgb(image.clone()),
            frame: 1,
            time: 1.0 / 30.0,
            instant: Instant::now(),
            intrinsics: Some(intrinsics),
        });
    }
    app.update();
    app.update();
    for view in &views {
        let status = app.world().get::<cmanet::plugin::ViewStatus>(*view);
        assert!(status.is_some_and(|s| s.frame == 1), "view {view} has no status of frame 1 after two updates");
    }
}

/// An RGB image of `width` x `height` from a pixel function.
fn image_of(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Arc<RgbImage> {
    let data = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).flat_map(|(x, y)| pixel(x, y)).collect();
    Arc::new(RgbImage::new(width, height, data).unwrap())
}

/// Gives every view `image` as capture `frame` at `time` seconds and waits until it is estimated.
fn show(app: &mut App, views: &[(Entity, Arc<RgbImage>)], frame: u32, time: f64) {
    let intrinsics = cmanet::geometry::Intrinsics::from_vertical_fov(0.8, 320.0, 240.0);
    for (view, image) in views {
        app.world_mut().entity_mut(*view).insert(CapturedFrame {
            pixels: CapturedPixels::Rgb(image.clone()),
            frame,
            time,
            instant: Instant::now(),
            intrinsics: Some(intrinsics),
        });
    }
    let views: Vec<Entity> = views.iter().map(|(v, _)| *v).collect();
    run_until(app, "the views' detection", |w| {
        views.iter().all(|v| w.get::<cmanet::plugin::ViewStatus>(*v).is_some_and(|s| s.frame == frame))
    });
}

/// The NoPerson warnings so far, by view.
fn no_person_warnings(app: &App) -> Vec<(Entity, cmanet::detect::NobodyReason)> {
    let seen = app.world().resource::<Seen>();
    seen.warnings
        .iter()
        .filter_map(|w| match w {
            Warning::App(CmanetWarning::NoPerson { view, reason, seconds }) => {
                assert!(*seconds >= 1.0 && *seconds < 1.5, "told after {seconds} s");
                Some((*view, *reason))
            }
            _ => None,
        })
        .collect()
}

/// A dark view and a featureless one are each told once, with the reason, once they have found
/// nobody for a second of capture time; a view that finds someone is not; a view that found
/// someone and goes dark again is told again.
#[test]
fn a_view_that_finds_nobody_is_told_why_after_a_second() {
    use cmanet::detect::NobodyReason;
    let mut app = app();
    run_until(&mut app, "the model", |w| w.resource::<Seen>().loaded);
    let dark = image_of(320, 240, |x, y| [((x * 7 + y * 3) % 9) as u8; 3]);
    let grey = image_of(320, 240, |_, _| [120, 124, 118]);
    let views: Vec<Entity> = (0..2).map(|_| app.world_mut().spawn(CaptureView::default()).id()).collect();
    let shown = [(views[0], dark.clone()), (views[1], grey.clone())];
    for (i, frame) in (1..=4).enumerate() {
        show(&mut app, &shown, frame, 0.3 * i as f64);
        assert!(no_person_warnings(&app).is_empty(), "told too early, at {} s", 0.3 * i as f64);
    }
    for frame in 5..=8 {
        show(&mut app, &shown, frame, 1.2 + 0.3 * (frame - 5) as f64);
    }
    let told = no_person_warnings(&app);
    assert_eq!(told.len(), 2, "once per view: {told:?}");
    assert!(told.iter().any(|(v, r)| *v == views[0] && matches!(r, NobodyReason::Dark { .. })), "{told:?}");
    assert!(told.iter().any(|(v, r)| *v == views[1] && matches!(r, NobodyReason::Featureless { .. })), "{told:?}");
    let status = app.world().get::<cmanet::plugin::ViewStatus>(views[0]).unwrap();
    assert!(matches!(status.nobody, Some(NobodyReason::Dark { .. })), "{:?}", status.nobody);
    let dark_reason = told.iter().find(|(v, _)| *v == views[0]).map(|(_, r)| *r).unwrap();
    assert!(
        CmanetWarning::NoPerson { view: views[0], seconds: 1.0, reason: dark_reason }.to_string().contains("too dark")
    );

    // Someone appears in the dark view, then it goes dark again: told again after a second.
    let person = Arc::new(RgbImage::open(&pose2sim_views()[0].0).unwrap());
    show(&mut app, &[(views[0], person), (views[1], grey.clone())], 9, 2.5);
    assert!(app.world().get::<cmanet::plugin::ViewStatus>(views[0]).unwrap().keypoints2d.is_some());
    for frame in 10..=14 {
        show(&mut app, &[(views[0], dark.clone()), (views[1], grey.clone())], frame, 2.8 + 0.3 * (frame - 10) as f64);
    }
    let told = no_person_warnings(&app);
    assert_eq!(told.iter().filter(|(v, _)| *v == views[0]).count(), 2, "{told:?}");
    assert_eq!(told.iter().filter(|(v, _)| *v == views[1]).count(), 1, "{told:?}");
    // With nobody to track, the person detector runs on every frame of the grey view.
    let runs = app.world().get::<cmanet::plugin::ViewStatus>(views[1]).unwrap().detector_runs;
    assert_eq!(runs, 14, "the grey view's detector ran {runs} times in 14 frames");
}

/// An avatar whose scene file does not exist is told by name (and the app runs on).
#[test]
fn an_avatar_whose_scene_is_missing_is_a_warning_naming_the_file() {
    let mut app = app();
    let scene = app.world().resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset("avatar/not_here.glb"));
    let avatar = app.world_mut().spawn((WorldAssetRoot(scene), CmanetAvatar::default())).id();
    run_until(&mut app, "the avatar warning", |w| {
        w.resource::<Seen>().warnings.iter().any(|w| matches!(w, Warning::App(CmanetWarning::AvatarFailed { .. })))
    });
    for _ in 0..10 {
        app.update();
    }
    let failures: Vec<&CmanetWarning> = app
        .world()
        .resource::<Seen>()
        .warnings
        .iter()
        .filter_map(|w| match w {
            Warning::App(a @ CmanetWarning::AvatarFailed { .. }) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1, "told once: {failures:?}");
    let CmanetWarning::AvatarFailed { avatar: entity, message } = failures[0] else { unreachable!() };
    assert_eq!(*entity, avatar);
    assert!(message.contains("avatar/not_here.glb") && message.contains("assets"), "{message}");
}

/// A capture camera whose target image lacks COPY_SRC gets the usage added and one warning, and
/// its read-back starts in a later frame (without the check, wgpu's validation ends the app).
#[test]
fn a_render_target_without_copy_src_is_fixed_and_told() {
    use bevy::camera::RenderTarget;
    use bevy::render::gpu_readback::Readback;
    use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
    let mut app = app();
    if !app.world().contains_resource::<Assets<Image>>() {
        app.init_asset::<Image>();
    }
    let mut image = Image::new_fill(
        Extent3d { width: 64, height: 48, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        default(),
    );
    image.texture_descriptor.usage = TextureUsages::TEXTURE_BINDING | TextureUsages::RENDER_ATTACHMENT;
    let handle = app.world_mut().resource_mut::<Assets<Image>>().add(image);
    let view = app
        .world_mut()
        .spawn((Camera::default(), RenderTarget::Image(handle.clone().into()), CaptureView::default()))
        .id();
    app.update();
    assert!(app.world().get::<Readback>(view).is_none(), "not read back without COPY_SRC");
    let usage = app.world().resource::<Assets<Image>>().get(&handle).unwrap().texture_descriptor.usage;
    assert!(usage.contains(TextureUsages::COPY_SRC | TextureUsages::RENDER_ATTACHMENT), "{usage:?}");
    app.update();
    assert!(app.world().get::<Readback>(view).is_some(), "read back once the usage is there");
    for _ in 0..5 {
        app.update();
    }
    let told: Vec<&Warning> = app
        .world()
        .resource::<Seen>()
        .warnings
        .iter()
        .filter(|w| matches!(w, Warning::App(CmanetWarning::RenderTarget { .. })))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let Warning::App(CmanetWarning::RenderTarget { view: entity, message }) = told[0] else { unreachable!() };
    assert_eq!(*entity, view);
    assert!(message.contains("COPY_SRC"), "{message}");
}

/// A capture camera whose target image is not there is waited for, then told once after a second
/// (it would never be read back), and read back once the image appears.
#[test]
fn a_render_target_that_is_missing_is_told_after_a_second() {
    use bevy::camera::RenderTarget;
    use bevy::render::gpu_readback::Readback;
    let mut app = app();
    if !app.world().contains_resource::<Assets<Image>>() {
        app.init_asset::<Image>();
    }
    // A handle whose image was removed again.
    let handle = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        let handle = cmanet::plugin::capture_target(&mut images, 64, 48);
        images.remove(&handle);
        handle
    };
    let view = app
        .world_mut()
        .spawn((Camera::default(), RenderTarget::Image(handle.clone().into()), CaptureView::default()))
        .id();
    let told = |app: &App| -> Vec<String> {
        app.world()
            .resource::<Seen>()
            .warnings
            .iter()
            .filter_map(|w| match w {
                Warning::App(CmanetWarning::RenderTarget { view: v, message }) if *v == view => Some(message.clone()),
                _ => None,
            })
            .collect()
    };
    // 20 frames at 30 a second: not yet a second.
    for _ in 0..20 {
        app.update();
    }
    assert!(told(&app).is_empty(), "told too early: {:?}", told(&app));
    for _ in 0..40 {
        app.update();
    }
    let messages = told(&app);
    assert_eq!(messages.len(), 1, "told once: {messages:?}");
    assert!(messages[0].contains("Assets<Image>") && messages[0].contains("capture_target"), "{}", messages[0]);
    assert!(app.world().get::<Readback>(view).is_none());
    // The image appears: the view is read back.
    let target = cmanet::plugin::capture_target(&mut app.world_mut().resource_mut::<Assets<Image>>(), 64, 48);
    app.world_mut().entity_mut(view).insert(RenderTarget::Image(target.into()));
    app.update();
    app.update();
    assert!(app.world().get::<Readback>(view).is_some(), "read back once the image is there");
}

/// A test performer on the embedded avatar plays its motion by `Time`: its bones follow
/// `Performance::at` and move from one second to the next.
#[test]
fn a_test_performer_plays_its_motion_on_the_embedded_avatar() {
    use cmanet::plugin::{AVATAR_PATH, Performance, TestPerformer};
    let mut app = app();
    let scene = app.world().resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset(AVATAR_PATH));
    let performer = app.world_mut().spawn((WorldAssetRoot(scene), TestPerformer::default())).id();
    // Its bones, found by the same rule as an avatar's (a second, driven avatar is not needed).
    run_until(&mut app, "the performance", |w| w.get::<Performance>(performer).is_some());
    let rig = {
        let world = app.world_mut();
        let mut state = world.query::<(&Name, Entity)>();
        let names: Vec<(String, Entity)> = state.iter(world).map(|(n, e)| (n.to_string(), e)).collect();
        let find = |n: &str| names.iter().find(|(m, _)| m == n).map(|(_, e)| *e).expect("bone");
        [find("pelvis"), find("left_knee")]
    };
    let knee_rotation = |app: &App| app.world().get::<Transform>(rig[1]).unwrap().rotation;
    let pelvis = |app: &App| app.world().get::<Transform>(rig[0]).unwrap().translation;
    let mut seen = Vec::new();
    for _ in 0..30 {
        app.update();
        seen.push((pelvis(&app), knee_rotation(&app)));
    }
    let performance = app.world().get::<Performance>(performer).unwrap().clone();
    let elapsed = app.world().resource::<Time>().elapsed_secs_f64() - performance.started;
    let expected = performance.at(elapsed);
    let knee = joint_index("left_knee").unwrap();
    let want = cmanet::plugin::axis_angle_to_quat(&expected.local_rotation(knee));
    assert!(knee_rotation(&app).angle_between(want) < 1e-4, "{} vs {want}", knee_rotation(&app));
    let moved = seen.first().unwrap().0.distance(seen.last().unwrap().0);
    assert!(moved > 0.1, "the performer walked {moved} m in a second");
    // The walk goes round the entity inside its capture volume, never off into the distance.
    let volume = TestPerformer::default().volume.unwrap();
    for step in 0..48 {
        let pelvis = performance.pelvis_at(step as f64 * 0.25);
        assert!(pelvis.xz().length() <= volume, "at {} s the pelvis is at {pelvis}", step as f64 * 0.25);
    }
}

/// The shipped real sample's first frame from its four calibrated cameras: image file, intrinsics
/// and the camera's place as a Bevy transform (+y up).
fn pose2sim_views() -> Vec<(std::path::PathBuf, cmanet::geometry::Intrinsics, Transform)> {
    let dir = cmanet::assets::pose2sim_sample();
    let cameras = read_calibration_toml(&dir.join("calibration.toml")).unwrap();
    cameras
        .iter()
        .enumerate()
        .map(|(i, camera)| {
            let file = frame_files(&dir.join(format!("cam{:02}", i + 1))).unwrap().remove(0);
            let image = RgbImage::open(&file).unwrap();
            let intrinsics = camera.intrinsics_for(image.width() as f64, image.height() as f64);
            (file, intrinsics, camera_transform(&camera.extrinsics)) // the sample is already +y up
        })
        .collect()
}

/// Runs the real sample's first frame through the plugin with the views spawned in `order`;
/// returns the avatar's local bone transforms and the estimate.
fn estimate_in_order(order: &[usize], landmark: cmanet::detect::LandmarkModel) -> (Vec<Transform>, PoseEstimated) {
    let models = ModelFiles { landmark, ..default() };
    let mut app = app_with(models, CmanetSettings { smoothing: false, ..default() });
    let root = spawn_avatar(&mut app, CmanetAvatar::default());
    let views = pose2sim_views();
    for &i in order {
        let (file, intrinsics, transform) = views[i].clone();
        app.world_mut().spawn((
            CaptureView::default(),
            transform,
            GlobalTransform::from(transform),
            CapturedFrame {
                pixels: CapturedPixels::File(file),
                frame: 7,
                time: 0.0,
                instant: Instant::now(),
                intrinsics: Some(intrinsics),
            },
        ));
    }
    run_until(&mut app, "an estimate", |w| !w.resource::<Seen>().estimates.is_empty());
    app.update();
    let transforms = bone_transforms_of(&app, root);
    let estimate = app.world().resource::<Seen>().estimates[0].clone();
    (transforms, estimate)
}

/// A set that waits while an estimate runs is taken up by the estimating task as soon as it is
/// free, not at the app's next update: after a pause without updates, one update hears of both.
#[test]
fn a_waiting_set_is_estimated_without_waiting_for_the_next_update() {
    let mut app = app_with(ModelFiles::default(), CmanetSettings { smoothing: false, ..default() });
    run_until(&mut app, "the networks", |w| w.resource::<Seen>().loaded);
    let views: Vec<Entity> = pose2sim_views()
        .into_iter()
        .map(|(file, intrinsics, transform)| {
            let frame = CapturedFrame {
                pixels: CapturedPixels::File(file),
                frame: 1,
                time: 0.0,
                instant: Instant::now(),
                intrinsics: Some(intrinsics),
            };
            app.world_mut().spawn((CaptureView::default(), transform, GlobalTransform::from(transform), frame)).id()
        })
        .collect();
    app.update(); // the first set starts
    for view in &views {
        let mut entity = app.world_mut().entity_mut(*view);
        let mut frame = entity.get::<CapturedFrame>().unwrap().clone();
        (frame.frame, frame.time, frame.instant) = (2, 1.0 / 60.0, Instant::now());
        entity.insert(frame);
    }
    app.update(); // the second set waits (or starts, if the first was already done)
    std::thread::sleep(Duration::from_secs(3));
    app.update();
    for view in &views {
        let status = app.world().get::<cmanet::plugin::ViewStatus>(*view);
        assert!(status.is_some_and(|s| s.frame == 2), "view {view}: {:?}", status.map(|s| s.frame));
    }
    assert_eq!(app.world().resource::<Seen>().estimates.len(), 2);
}

#[test]
fn permuting_the_views_does_not_change_the_avatar() {
    use cmanet::detect::LandmarkModel;
    // BlazePose full's hand landmarks once turned the left wrist in one order and not in the
    // other (the wrists' prior was flat around its start: an arccosine clamped at 1).
    let (a, _) = estimate_in_order(&[0, 1, 2, 3], LandmarkModel::Full);
    let (b, _) = estimate_in_order(&[2, 0, 3, 1], LandmarkModel::Full);
    assert_same_bones(&a, &b, 1e-3);
    let (a, estimate) = estimate_in_order(&[0, 1, 2, 3], LandmarkModel::Lite);
    let (b, _) = estimate_in_order(&[2, 0, 3, 1], LandmarkModel::Lite);
    assert_eq!(estimate.views.len(), 4);
    assert!(estimate.views.iter().filter(|v| v.keypoints2d.is_some()).count() >= 2);
    assert!(estimate.timing.network > Duration::ZERO && estimate.timing.detection > Duration::ZERO);
    // The person stands upright in the calibrated world: the pelvis-to-neck direction is mostly +y.
    let up = (estimate.joints[12] - estimate.joints[0]).normalize();
    assert!(up.y > 0.8, "the body is not upright in the world: {up:?}");
    assert_same_bones(&a, &b, 1e-3);
}

#[test]
fn image_sequences_play_at_their_frame_rate() {
    let views = pose2sim_views();
    let dir = cmanet::assets::pose2sim_sample().join("cam01");
    let frames = frame_files(&dir).unwrap();
    let mut sequence = ImageSequence::new(frames.clone(), 10.0, views[0].1);
    assert_eq!(sequence.frame_at(0.0), Some(0));
    assert_eq!(sequence.frame_at(0.25), Some(2));
    assert_eq!(sequence.frame_at(10.55), Some(5), "loops after 100 frames");
    sequence.looping = false;
    assert_eq!(sequence.frame_at(10.55), Some(99), "holds the last frame");
    assert_eq!(sequence.frame_at(f64::NAN), None);
    sequence.looping = true;
    sequence.time_offset = 0.4;
    assert_eq!(sequence.frame_at(0.25), Some(6), "a camera started 4 frames earlier is 4 frames ahead");
    sequence.time_offset = -0.4;
    assert_eq!(sequence.frame_at(0.25), Some(0), "and one started later waits at its first frame");
    assert_eq!(ImageSequence::new(Vec::new(), 10.0, views[0].1).frame_at(1.0), None);
    // In an app (1/30 s per update), the view shows frame floor(t * fps).
    let mut app = app();
    let view =
        app.world_mut().spawn((CaptureView::default(), ImageSequence::new(frames.clone(), 10.0, views[0].1))).id();
    for _ in 0..10 {
        app.update();
    }
    let t = app.world().resource::<Time>().elapsed_secs_f64();
    let captured = app.world().get::<CapturedFrame>(view).unwrap();
    let CapturedPixels::File(path) = &captured.pixels else { panic!("a sequence captures files") };
    let shown = frames.iter().position(|f| f == path).unwrap();
    assert!((shown as f64 - (t - 1.0 / 30.0) * 10.0).abs() <= 1.0, "frame {shown} at {t} s");
    assert!(captured.intrinsics.is_some());
}

/// The real sample's frames `first` then `second` through views whose places are unknown;
/// returns the two estimates.
fn two_frames_without_known_places(hold_rig: bool, first: usize, second: usize) -> (PoseEstimated, PoseEstimated) {
    let mut app = app_with(ModelFiles::default(), CmanetSettings { smoothing: false, hold_rig, ..default() });
    run_until(&mut app, "the model", |w| w.resource::<Seen>().loaded);
    let dir = cmanet::assets::pose2sim_sample();
    let views: Vec<(Entity, Vec<std::path::PathBuf>, cmanet::geometry::Intrinsics)> = pose2sim_views()
        .into_iter()
        .enumerate()
        .map(|(i, (_, intrinsics, _))| {
            let entity = app.world_mut().spawn(CaptureView { place_from_transform: false, ..default() }).id();
            (entity, frame_files(&dir.join(format!("cam{:02}", i + 1))).unwrap(), intrinsics)
        })
        .collect();
    let mut estimates = Vec::new();
    for (n, index) in [first, second].into_iter().enumerate() {
        for (entity, files, intrinsics) in &views {
            app.world_mut().entity_mut(*entity).insert(CapturedFrame {
                pixels: CapturedPixels::File(files[index].clone()),
                frame: 100 + n as u32,
                time: n as f64,
                instant: Instant::now(),
                intrinsics: Some(*intrinsics),
            });
        }
        run_until(&mut app, "an estimate", |w| w.resource::<Seen>().estimates.len() > n);
        estimates.push(app.world().resource::<Seen>().estimates[n].clone());
    }
    (estimates[0].clone(), estimates[1].clone())
}

#[test]
fn without_known_places_the_body_stays_put_until_the_rig_is_held() {
    // Frames 0 and 60 of the sample: the person has moved in between.
    let (a, b) = two_frames_without_known_places(false, 0, 60);
    for e in [&a, &b] {
        assert_eq!(e.params.global_orient, Vector3::zeros(), "no known place: canonical orientation");
        assert!(e.views.iter().all(|v| v.known_camera.is_none()));
    }
    let (a, b) = two_frames_without_known_places(true, 0, 60);
    assert_eq!(a.params.global_orient, Vector3::zeros(), "the first estimate defines the held rig");
    assert!(b.views.iter().filter(|v| v.known_camera.is_some()).count() >= 2, "the rig is held");
    let turned = b.params.global_orient.norm();
    let moved = (b.joints[0] - a.joints[0]).norm();
    assert!(turned > 0.01 || moved > 0.05, "the body moves relative to the held cameras ({turned} rad, {moved} m)");
    assert!(b.params.is_finite());
}

/// A receiving app (estimation off) listening on a free loopback port, with an avatar.
fn vmc_receiver_app() -> (App, Entity, u16) {
    let mut app = app_with(ModelFiles::default(), CmanetSettings { enabled: false, ..default() });
    app.insert_resource(CmanetVmcReceiver { enabled: true, listen: "127.0.0.1:0".into(), ..default() });
    let avatar = spawn_avatar(&mut app, CmanetAvatar::default());
    run_until(&mut app, "the receiver to listen", |w| w.resource::<VmcStatus>().listening_on.is_some());
    let port = app.world().resource::<VmcStatus>().listening_on.map(|a| a.port()).unwrap();
    (app, avatar, port)
}

#[test]
fn a_vmc_stream_drives_a_second_avatar_like_the_first() {
    let (mut receiving, received_avatar, port) = vmc_receiver_app();
    let mut sending = app();
    sending.insert_resource(CmanetVmcSender { enabled: true, target: format!("127.0.0.1:{port}"), ..default() });
    let sent_avatar = spawn_avatar(&mut sending, CmanetAvatar::default());
    let params = test_pose();
    send_pose(&mut sending, &params, 1);
    run_until(&mut sending, "a bundle sent", |w| w.resource::<VmcStatus>().sent > 0);
    run_until(&mut receiving, "a frame received", |w| w.resource::<VmcStatus>().received > 0);

    let (a, b) = (bone_transforms_of(&sending, sent_avatar), bone_transforms_of(&receiving, received_avatar));
    assert_same_bones(&a, &b, 1e-4);
    // And the pose is the sent one, not the rest pose both could share.
    let elbow = joint_index("left_elbow").unwrap();
    assert!(b[elbow].rotation.angle_between(Quat::IDENTITY) > 1.0);
    assert!(sending.world().resource::<Seen>().warnings.is_empty());
    assert!(receiving.world().resource::<Seen>().warnings.is_empty());

    // A new estimate is a new bundle; the same pose is not sent twice.
    let sent = sending.world().resource::<VmcStatus>().sent;
    for _ in 0..5 {
        sending.update();
    }
    assert_eq!(sending.world().resource::<VmcStatus>().sent, sent);
}

#[test]
fn bad_vmc_packets_and_targets_are_warnings_and_the_stream_goes_on() {
    let (mut receiving, avatar, port) = vmc_receiver_app();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(b"not an OSC packet", ("127.0.0.1", port)).unwrap();
    let wrong = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/VMC/Ext/Bone/Pos".into(),
        args: vec![rosc::OscType::String("Head".into()), rosc::OscType::Int(7)],
    }))
    .unwrap();
    socket.send_to(&wrong, ("127.0.0.1", port)).unwrap();
    run_until(&mut receiving, "two malformed packets", |w| w.resource::<VmcStatus>().malformed == 2);
    let warnings = receiving.world().resource::<Seen>().warnings.clone();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| matches!(w, Warning::App(CmanetWarning::Streaming { .. }))));
    assert!(format!("{warnings:?}").contains("/VMC/Ext/Bone/Pos"), "the warning names the problem");

    // The stream goes on: a good frame after the bad ones drives the avatar.
    let rest = cmanet::body::RestJoints::new(&BodyModel::open_body().unwrap());
    let frame = cmanet::stream::VmcFrame::from_params(&test_pose(), &rest, 0.0, &Default::default());
    cmanet::stream::VmcSender::new(&format!("127.0.0.1:{port}")).unwrap().send(&frame).unwrap();
    run_until(&mut receiving, "the good frame", |w| w.resource::<VmcStatus>().received == 1);
    let elbow = joint_index("left_elbow").unwrap();
    assert!(bone_transforms_of(&receiving, avatar)[elbow].rotation.angle_between(Quat::IDENTITY) > 1.0);

    // A target that is no address, then a port that is taken: warnings naming them, once each.
    receiving.insert_resource(CmanetVmcSender { enabled: true, target: "no port here".into(), ..default() });
    run_until(&mut receiving, "the bad target's warning", |w| {
        w.resource::<Seen>().warnings.iter().any(|w| format!("{w:?}").contains("no port here"))
    });
    let taken = format!("127.0.0.1:{port}");
    receiving.insert_resource(CmanetVmcReceiver { enabled: true, listen: taken.clone(), ..default() });
    receiving.update(); // the old socket closes, the new one binds the same port: fine
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let busy = other.local_addr().unwrap().to_string();
    receiving.insert_resource(CmanetVmcReceiver { enabled: true, listen: busy.clone(), ..default() });
    run_until(&mut receiving, "the busy port's warning", |w| {
        w.resource::<Seen>().warnings.iter().any(|w| format!("{w:?}").contains(&busy))
    });
    let before = receiving.world().resource::<Seen>().warnings.len();
    for _ in 0..10 {
        receiving.update();
    }
    assert_eq!(receiving.world().resource::<Seen>().warnings.len(), before, "each problem is told once");
}

/// Which frame of `tests/fixtures/video/counted.mp4` an image shows (its white square's left edge
/// is at x = 2 i; tools/video_fixtures.py).
#[cfg(feature = "video")]
fn fixture_frame(image: &RgbImage) -> usize {
    let (w, data) = (image.width() as usize, image.as_raw());
    (0..w).find(|&x| data[(12 * w + x) * 3 + 1] > 128).expect("a square in the frame").div_ceil(2)
}

/// Which frame of the fixture `view` shows now (its `CapturedFrame`).
#[cfg(feature = "video")]
fn fixture_frame_shown(app: &App, view: Entity) -> usize {
    let captured = app.world().get::<CapturedFrame>(view).expect("a frame each update");
    let CapturedPixels::Rgb(image) = &captured.pixels else { panic!("a video captures decoded pixels") };
    fixture_frame(image)
}

#[cfg(feature = "video")]
#[test]
fn video_files_play_at_their_timestamps_and_a_missing_one_is_a_warning() {
    use cmanet::plugin::VideoFile;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video/counted.mp4");
    let mut app = app();
    // 30 fps video, 30 updates a second: one new frame an update, each the one due; it loops.
    let view = app.world_mut().spawn((CaptureView::default(), VideoFile::new(&path))).id();
    let missing = app.world_mut().spawn((CaptureView::default(), VideoFile::new("no/such/clip.mp4"))).id();
    let mut shown = Vec::new();
    for _ in 0..40 {
        app.update();
        let t = app.world().resource::<Time>().elapsed_secs_f64();
        let video = app.world().get::<VideoFile>(view).unwrap();
        let started = video.started().unwrap();
        let due = (((t - started) * 30.0 + 1e-6).floor() as usize) % 24;
        assert_eq!((fixture_frame_shown(&app, view), video.frame_at(t)), (due, Some(due)), "at {t} s");
        assert_eq!(video.shown().unwrap().index, due);
        let captured = app.world().get::<CapturedFrame>(view).unwrap();
        assert!(captured.intrinsics.is_some_and(|k| (k.cx - 32.0).abs() < 1e-9));
        shown.push(due);
    }
    assert!(shown.windows(2).any(|w| w[1] < w[0]), "it looped: {shown:?}");
    let seen = app.world().resource::<Seen>();
    let warnings: Vec<&Warning> = seen.warnings.iter().collect();
    assert_eq!(warnings.len(), 1, "reported once: {warnings:?}");
    match warnings[0] {
        Warning::View(ViewFailed { entity, message }) => {
            assert_eq!(*entity, missing);
            assert!(message.contains("clip.mp4"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A webcam view fed by a fake device through the same code as a real one after the device read:
/// frames arrive, an unplugged camera is one warning naming it, reopening a busy camera is not
/// reported again, and frames flow once it is back.
#[test]
fn a_webcam_that_is_unplugged_is_one_warning_and_comes_back() {
    use cmanet::detect::{FakeCamera, FrameSource, WebcamError};
    use cmanet::plugin::Webcam;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let opened = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&opened);
    let open = move || -> Result<Box<dyn FrameSource>, WebcamError> {
        match counter.fetch_add(1, Ordering::SeqCst) {
            // Busy on the first try after the unplug; fine after that.
            1 => Err(WebcamError::Unavailable { device: "desk cam".into(), message: "Device or resource busy".into() }),
            n => {
                let shade = 40 * (n as u8 + 1);
                let frames = vec![RgbImage::new(64, 48, vec![shade; 64 * 48 * 3]).unwrap()];
                let mut camera = FakeCamera::new("desk cam", frames, 200.0);
                camera.unplug_after = (n == 0).then_some(3);
                Ok(Box::new(camera))
            }
        }
    };
    let mut app = app();
    let mut webcam = Webcam::from_source("desk cam", open);
    webcam.reconnect_seconds = 0.1;
    let view = app.world_mut().spawn((CaptureView::default(), webcam)).id();
    let shade_shown = |app: &mut App| -> Option<u8> {
        let captured = app.world().get::<CapturedFrame>(view)?;
        let CapturedPixels::Rgb(image) = &captured.pixels else { panic!("a webcam captures decoded pixels") };
        Some(image.as_raw()[0])
    };
    run_until(&mut app, "the first frames", |w| w.get::<CapturedFrame>(view).is_some());
    assert_eq!(shade_shown(&mut app), Some(40));
    run_until(&mut app, "the warning", |w| !w.resource::<Seen>().warnings.is_empty());
    run_until(&mut app, "the camera back", |w| {
        w.get::<CapturedFrame>(view)
            .is_some_and(|c| matches!(&c.pixels, CapturedPixels::Rgb(image) if image.as_raw()[0] == 120))
    });
    assert!(opened.load(Ordering::SeqCst) >= 3);
    let webcam = app.world().get::<Webcam>(view).unwrap();
    assert!(webcam.is_streaming() && webcam.frames_received() >= 2);
    let captured = app.world().get::<CapturedFrame>(view).unwrap();
    assert!(captured.intrinsics.is_some_and(|k| (k.cx - 32.0).abs() < 1e-9));
    let warnings = &app.world().resource::<Seen>().warnings;
    assert_eq!(warnings.len(), 1, "one outage, one warning: {warnings:?}");
    match &warnings[0] {
        Warning::View(ViewFailed { entity, message }) => {
            assert_eq!(*entity, view);
            assert!(message.contains("desk cam") && message.contains("unplugged"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A video's time offset changed while it plays (as the panel does): forward skips ahead, back
/// starts decoding again at the frame now due.
#[cfg(feature = "video")]
#[test]
fn a_videos_time_offset_can_change_while_it_plays() {
    use cmanet::plugin::VideoFile;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video/counted.mp4");
    let mut app = app();
    let view = app.world_mut().spawn((CaptureView::default(), VideoFile::new(&path))).id();
    let shown = |app: &App| fixture_frame_shown(app, view);
    for _ in 0..6 {
        app.update();
    }
    let mut before = shown(&app);
    for (offset, step) in [(10.0 / 30.0, 10i64), (2.0 / 30.0, -8), (0.0, -2)] {
        app.world_mut().get_mut::<VideoFile>(view).unwrap().time_offset = offset;
        app.update();
        let now = shown(&app);
        assert_eq!(now as i64, before as i64 + 1 + step, "offset {offset}: frame {now} after {before}");
        let t = app.world().resource::<Time>().elapsed_secs_f64();
        assert_eq!(app.world().get::<VideoFile>(view).unwrap().frame_at(t), Some(now));
        for _ in 0..2 {
            app.update();
        }
        before = shown(&app);
        assert_eq!(before, now + 2, "plays on from there");
    }
}

/// The real sample's four MP4s played with their calibrated cameras: `SyncRecordings` measures
/// that cam03 started 4 frames (at 60 fps) before the others, as `cmanet detect --sync` does
/// offline, and sets the views' time offsets.
#[cfg(feature = "video")]
#[test]
fn recorded_views_are_synchronised_from_what_they_show() {
    use cmanet::plugin::{SyncRecordings, VideoFile};
    let dir = cmanet::assets::pose2sim_sample();
    let mut app = app();
    app.insert_resource(SyncRecordings::new(100, 10));
    let views: Vec<Entity> = pose2sim_views()
        .into_iter()
        .enumerate()
        .map(|(i, (_, intrinsics, transform))| {
            let video = VideoFile::new(dir.join(format!("cam{:02}.mp4", i + 1))).with_intrinsics(intrinsics);
            app.world_mut().spawn((CaptureView::default(), transform, video)).id()
        })
        .collect();
    let start = Instant::now();
    while app.world().resource::<SyncRecordings>().pending() && start.elapsed() < Duration::from_secs(120) {
        app.update();
        std::thread::sleep(Duration::from_millis(20));
    }
    let sync = app.world().resource::<SyncRecordings>();
    assert!(sync.failure().is_none(), "{:?}", sync.failure());
    let (measured, method) = sync.measured().expect("measured");
    assert_eq!(method, cmanet::data::sync::SyncMethod::Calibrated);
    // Offsets are relative to whichever view is measured first: compare them camera by camera.
    let offset_of = |view: Entity| measured.iter().find(|(e, _)| *e == view).map(|(_, s)| *s).unwrap();
    let frames: Vec<i64> =
        views.iter().map(|&v| ((offset_of(v) - offset_of(views[0])) * 60.0).round() as i64).collect();
    assert_eq!(frames, [0, 0, 4, 0], "{measured:?}");
    for (entity, seconds) in &measured {
        assert_eq!(app.world().get::<VideoFile>(*entity).unwrap().time_offset, *seconds);
    }
}
