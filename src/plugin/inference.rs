//! Inference: the detector and CMANet, loaded and run on `AsyncComputeTaskPool`, never on the
//! frame's thread. Views captured in the same app frame are estimated together; one frame is in
//! flight at a time, and while it runs only the newest complete set of views waits (older ones
//! are dropped), so the estimate is never behind by more than one frame of work. The task that
//! runs takes the waiting set itself as soon as it has finished the last one (its estimate is the
//! next one's prior), so no estimate waits for the app's next frame to start; the app hears of
//! each finished frame at its next update.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task, futures::check_ready};
use nalgebra::{Matrix3, Vector3};

use super::capture::{CaptureView, CapturedFrame, CapturedPixels, camera_extrinsics};
use super::messages::{CmanetWarning, ModelLoaded, PoseEstimated, PoseTiming, ViewEstimate, ViewFailed, warn};
use super::settings::CmanetSettings;
use crate::body::BodyModel;
use crate::compute::{ComputeDevice, available_cores, device_name, parallel_map};
use crate::data::labels::{
    exchange_feet, feet_swapped_against_estimate, labelled, labelled_extra, swapped_against_estimate,
};
use crate::data::{ExtraKeypoints2d, Keypoints2d};
use crate::detect::{LandmarkModel, NobodyReason, Pose, PoseDetector, PoseTracker, RgbImage, nobody_reason};
use crate::geometry::{Extrinsics, Intrinsics};
use crate::net::body_refinement::BodyRefinementSettings;
use crate::net::{Cmanet, Estimate, Learned, MultiViewFrame, NetError, ViewObservation};
use crate::placement::{KnownView, WorldPose, place_body};

/// Which networks the plugin loads.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFiles {
    /// CMANet weights. Default: the shipped `assets/models/cmanet.safetensors`.
    pub weights: PathBuf,
    /// BlazePose landmark network. Default: [`LandmarkModel::Full`] (MediaPipe's default: better
    /// keypoints than lite on real footage and on renders, and steadier when it tracks every frame;
    /// lite takes about two thirds of its time, plugin-docs: performance).
    pub landmark: LandmarkModel,
    /// Whether the landmark network also sees each crop mirrored and the two answers are averaged
    /// where they agree (`PoseDetector::mirror_average`): about twice the landmark work, a few
    /// percent better keypoints on the rendered studio, none measured on the real sample
    /// (plugin-docs, model card). Default: false.
    pub mirror_average: bool,
    /// The candle device CMANet runs on. Default: [`ComputeDevice::Auto`] (a GPU when the crate is
    /// built with `cuda` or `metal` and one answers, else the CPU). The detector always runs on
    /// the CPU.
    pub device: ComputeDevice,
    /// How CMANet's body refinement runs (its priors, steps, robust scales). Default:
    /// [`BodyRefinementSettings::default`], the settings the model card measures.
    pub refinement: BodyRefinementSettings,
}

impl Default for ModelFiles {
    fn default() -> Self {
        Self {
            weights: crate::assets::weights(),
            landmark: LandmarkModel::default(),
            mirror_average: false,
            device: ComputeDevice::Auto,
            refinement: BodyRefinementSettings::default(),
        }
    }
}

/// What the latest estimate saw in one view (on every `CaptureView` entity once it was used).
#[derive(Component, Reflect, Clone, Debug, Default, PartialEq)]
#[reflect(Component, Default)]
pub struct ViewStatus {
    /// The app frame of the capture.
    pub frame: u32,
    /// The detected keypoints in pixels, as estimation used them (after the left/right repair);
    /// `None` when no person was found.
    pub keypoints2d: Option<Keypoints2d>,
    /// The 16 BlazePose keypoints COCO-17 lacks (heels, foot tips, hand points, eye and mouth
    /// corners), labelled as `keypoints2d`; `None` when no person was found.
    pub extra2d: Option<ExtraKeypoints2d>,
    /// Whether the detector's left and right labels were exchanged in this frame, by the live
    /// repair ([`CmanetSettings::repair_left_right`]) or by CMANet's own check
    /// (`Estimate::swapped_views`).
    pub mirrored: bool,
    /// Width and height of the view's image, pixels.
    pub image_size: [u32; 2],
    /// Mean keypoint confidence (0 when nobody was found).
    pub confidence: f32,
    /// Why the view could not be used, if it could not.
    pub error: Option<String>,
    /// The likely reason nobody was found, when the image was usable but showed nobody.
    #[reflect(ignore)]
    pub nobody: Option<NobodyReason>,
    /// A small RGBA copy of the image (at most [`PREVIEW_WIDTH`] wide) for panels.
    pub preview: Option<ViewPreview>,
    /// How many times the person detector has run on this view so far: once at the start and
    /// whenever tracking was lost (the landmark network alone follows a tracked person).
    pub detector_runs: usize,
}

/// Width of [`ViewStatus::preview`] images, pixels.
pub const PREVIEW_WIDTH: u32 = 320;

/// A small RGBA image.
#[derive(Reflect, Clone, Debug, PartialEq)]
#[reflect(opaque)]
pub struct ViewPreview {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGBA bytes, row by row.
    pub rgba: Arc<Vec<u8>>,
}

/// The loaded networks and the body model.
#[derive(Clone)]
struct Networks {
    detector: Arc<PoseDetector>,
    network: Arc<Cmanet>,
    body: Arc<BodyModel>,
    /// The candle device's name (`cpu`, `cuda:0`...).
    device: String,
}

/// One view of a set going to inference.
struct ViewInput {
    entity: Entity,
    pixels: CapturedPixels,
    intrinsics: Option<Intrinsics>,
    world_to_camera: Option<Extrinsics>,
}

/// Views captured in one app frame.
struct FrameSet {
    frame: u32,
    time: f64,
    instant: Instant,
    views: Vec<ViewInput>,
}

/// What the task did with one view.
struct ViewOutcome {
    keypoints2d: Option<Keypoints2d>,
    extra2d: Option<ExtraKeypoints2d>,
    /// Whether `keypoints2d` have left and right exchanged against the detector's (by the live
    /// repair or by CMANet's check).
    mirrored: bool,
    image_size: [u32; 2],
    intrinsics: Option<Intrinsics>,
    error: Option<String>,
    nobody: Option<NobodyReason>,
    preview: Option<ViewPreview>,
    /// The person detector's runs on this view so far (tracked here or on the GPU).
    detector_runs: Option<usize>,
}

/// What the task returns.
struct FrameOutcome {
    set: FrameSet,
    views: Vec<ViewOutcome>,
    /// `None` when fewer than `min_views` views saw the person.
    estimate: Option<Result<Estimate, NetError>>,
    detection: Duration,
    network: Duration,
}

/// The inference state: loading, the frame in flight, the newest waiting set.
#[derive(Resource)]
pub(crate) struct Inference {
    files: ModelFiles,
    loading: Option<Task<Result<Networks, String>>>,
    networks: Option<Networks>,
    trackers: Option<HashMap<Entity, PoseTracker>>,
    /// The task estimating: it returns the trackers once no set waits for it.
    running: Option<Task<HashMap<Entity, PoseTracker>>>,
    /// The newest complete set waiting for the task (the task takes it when it is free).
    pending: Arc<Mutex<Option<FrameSet>>>,
    /// Frames the task has finished, for the app to publish.
    finished: Arc<Mutex<Vec<FrameOutcome>>>,
    last_frame: Option<u32>,
    held: HashMap<Entity, Extrinsics>,
    /// The last estimate: the body refinement's temporal prior, the left/right repair's reference.
    previous: Option<PreviousEstimate>,
    /// Views that have found nobody since a capture time, and whether that was told.
    nobody_since: HashMap<Entity, (f64, bool)>,
}

impl Inference {
    /// The loaded BlazePose networks, once they have loaded.
    #[cfg(feature = "wgpu")]
    pub(crate) fn pose_detector(&self) -> Option<Arc<PoseDetector>> {
        self.networks.as_ref().map(|n| n.detector.clone())
    }

    /// Whether a complete set of views waits for the task (it takes it when its estimate ends).
    pub(crate) fn has_waiting_set(&self) -> bool {
        self.pending.lock().is_ok_and(|p| p.is_some())
    }

    /// Whether a set waits with no task running to take it up (the networks still loading).
    /// While an estimate runs, a newer set replaces the waiting one and the task takes the newest
    /// when it is free, so newer images are still worth reading back.
    pub(crate) fn has_unclaimed_set(&self) -> bool {
        self.running.is_none() && self.has_waiting_set()
    }
}

/// Longest gap between two estimates, seconds, over which what the first learned (its subject's
/// bone corrections and its cameras' rig, [`crate::net::Learned`]) carries over to the second; a
/// longer gap may be another person, or moved cameras.
const SUBJECT_SECONDS: f64 = 10.0;

/// The last estimate, its capture time and the views it was made from (in its cameras' order).
#[derive(Clone)]
struct PreviousEstimate {
    time: f64,
    views: Vec<Entity>,
    estimate: Estimate,
}

impl PreviousEstimate {
    /// `estimate`, made from `set`.
    fn of(set: &FrameSet, estimate: &Estimate) -> Self {
        Self { time: set.time, views: set.views.iter().map(|v| v.entity).collect(), estimate: estimate.clone() }
    }
}

impl Inference {
    pub(crate) fn new(files: ModelFiles) -> Self {
        Self {
            files,
            loading: None,
            networks: None,
            trackers: Some(HashMap::new()),
            running: None,
            pending: Arc::new(Mutex::new(None)),
            finished: Arc::new(Mutex::new(Vec::new())),
            last_frame: None,
            held: HashMap::new(),
            previous: None,
            nobody_since: HashMap::new(),
        }
    }
}

/// The body model the estimates are posed with (for gizmos and retargeting), once loaded.
#[derive(Resource, Clone)]
pub struct CmanetBodyModel(pub Arc<BodyModel>);

/// Starts loading the networks off the main thread.
pub(crate) fn start_loading(mut state: ResMut<Inference>) {
    let files = state.files.clone();
    state.loading = Some(AsyncComputeTaskPool::get().spawn(async move { load(&files) }));
}

fn load(files: &ModelFiles) -> Result<Networks, String> {
    if !files.weights.is_file() {
        return Err(format!(
            "{}: no such file ({}; `cmanet assets install DIR` copies what a game needs)",
            files.weights.display(),
            crate::assets::search_description()
        ));
    }
    let device = files.device.device().map_err(|e| e.to_string())?;
    let mut network = Cmanet::load(&files.weights, &device).map_err(|e| e.to_string())?;
    network.refiner = network.refiner.with_settings(files.refinement.clone());
    // BlazePose's keypoints are explained through its profile; without one the estimates still
    // come, a little less accurate.
    match files.landmark.profile() {
        Ok(profile) => network.set_profile(&profile),
        Err(e) => bevy::log::warn!("BlazePose {} keypoint profile: {e}; estimating without it", files.landmark.name()),
    }
    let mut detector = PoseDetector::load(files.landmark).map_err(|e| e.to_string())?;
    detector.mirror_average = files.mirror_average;
    let body = BodyModel::open_body().map_err(|e| e.to_string())?;
    Ok(Networks {
        detector: Arc::new(detector),
        network: Arc::new(network),
        body: Arc::new(body),
        device: device_name(&device),
    })
}

/// Polls loading and the frame in flight, publishes finished estimates, and starts the newest
/// complete set of views.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_inference(
    mut commands: Commands,
    mut state: ResMut<Inference>,
    settings: Res<CmanetSettings>,
    views: Query<(Entity, &CaptureView, Option<&CapturedFrame>, Option<&GlobalTransform>)>,
    statuses: Query<&ViewStatus>,
    mut writer: MessageWriter<PoseEstimated>,
    frame: Res<FrameCount>,
) {
    // With `wait_for_inference`, the loading and the estimate under way are waited for here.
    let waited = if settings.wait_for_inference { state.loading.take().map(bevy::tasks::block_on) } else { None };
    if let Some(loaded) = waited.or_else(|| state.loading.as_mut().and_then(check_ready)) {
        state.loading = None;
        match loaded {
            Ok(networks) => {
                commands.insert_resource(CmanetBodyModel(networks.body.clone()));
                let device = networks.device.clone();
                state.networks = Some(networks);
                commands.trigger(ModelLoaded { weights: state.files.weights.clone(), device });
            }
            Err(message) => warn(&mut commands, CmanetWarning::ModelFailed { message }),
        }
    }
    let waited = if settings.wait_for_inference { state.running.take().map(bevy::tasks::block_on) } else { None };
    if let Some(trackers) = waited.or_else(|| state.running.as_mut().and_then(check_ready)) {
        state.running = None;
        state.trackers = Some(trackers);
    }
    let finished = std::mem::take(&mut *state.finished.lock().unwrap_or_else(|e| e.into_inner()));
    for outcome in finished {
        publish(&mut commands, &mut state, &settings, outcome, &statuses, &mut writer);
    }
    if settings.enabled
        && let Some(set) = newest_set(&views, state.last_frame, frame.0)
    {
        state.last_frame = Some(set.frame);
        // An older waiting set is dropped: the newest wins.
        *state.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(set);
    }
    if state.running.is_none()
        && let Some(networks) = state.networks.clone()
        && let Some(mut trackers) = state.trackers.take()
    {
        let waiting = state.pending.lock().unwrap_or_else(|e| e.into_inner()).take();
        match waiting {
            Some(set) => {
                let options = FrameOptions {
                    min_views: settings.min_views.max(1),
                    repair: settings.repair_left_right,
                    repair_feet: settings.repair_crossed_feet,
                    feet_and_hands: settings.feet_and_hands,
                };
                let (pending, finished) = (state.pending.clone(), state.finished.clone());
                // With `wait_for_inference` the task estimates this set alone (nothing else is
                // put in the slot while the app waits for it).
                let mut last = state.previous.clone();
                state.running = Some(AsyncComputeTaskPool::get().spawn(async move {
                    let mut set = set;
                    loop {
                        let (previous, learned) = priors(last.as_ref(), &set);
                        let outcome =
                            estimate_frame(&networks, &mut trackers, set, previous.as_ref(), learned.as_ref(), options);
                        if let Some(Ok(estimate)) = &outcome.estimate {
                            last = Some(PreviousEstimate::of(&outcome.set, estimate));
                        }
                        finished.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
                        match pending.lock().unwrap_or_else(|e| e.into_inner()).take() {
                            Some(next) => set = next,
                            None => return trackers,
                        }
                    }
                }));
            }
            None => state.trackers = Some(trackers),
        }
    }
}

/// What a set of views is estimated with, given the last estimate: the previous estimate as the
/// temporal prior while the stream is continuous, and what it learned of the subject (and, when
/// the views are the same ones, of the rig) for longer.
fn priors(last: Option<&PreviousEstimate>, set: &FrameSet) -> (Option<PreviousEstimate>, Option<Learned>) {
    let since = |p: &&PreviousEstimate| set.time - p.time;
    let views: Vec<Entity> = set.views.iter().map(|v| v.entity).collect();
    let learned = last.filter(|p| since(p) > 0.0 && since(p) < SUBJECT_SECONDS).map(|p| {
        let mut learned = p.estimate.learned.clone();
        if p.views != views {
            learned.rig = Default::default();
        }
        learned
    });
    let previous = last.filter(|p| since(p) > 0.0 && since(p) < TEMPORAL_PRIOR_SECONDS).cloned();
    (previous, learned)
}

/// Longest gap between two estimates, seconds, over which the first is the second's temporal
/// prior (`Cmanet::estimate_after`) and the reference of its left/right repair.
const TEMPORAL_PRIOR_SECONDS: f64 = 0.5;

/// App frames to wait for views whose capture of the newest frame has not arrived yet.
const STRAGGLER_FRAMES: u32 = 10;

/// The views captured in the newest app frame later than `after`, sorted by entity, once every
/// view that delivers images has delivered that frame (or after [`STRAGGLER_FRAMES`]).
fn newest_set(
    views: &Query<(Entity, &CaptureView, Option<&CapturedFrame>, Option<&GlobalTransform>)>,
    after: Option<u32>,
    now: u32,
) -> Option<FrameSet> {
    let newest = views.iter().filter_map(|(_, _, c, _)| c.map(|c| c.frame)).max()?;
    if after.is_some_and(|a| newest <= a) {
        return None;
    }
    let complete = views.iter().all(|(_, _, c, _)| c.is_none_or(|c| c.frame >= newest));
    if !complete && now.wrapping_sub(newest) < STRAGGLER_FRAMES {
        return None;
    }
    let mut inputs: Vec<(ViewInput, f64, Instant)> = views
        .iter()
        .filter_map(|(entity, view, captured, transform)| {
            let captured = captured.filter(|c| c.frame == newest)?;
            let world_to_camera = view.place_from_transform.then_some(transform).flatten().map(camera_extrinsics);
            let input = ViewInput {
                entity,
                pixels: captured.pixels.clone(),
                intrinsics: view.intrinsics.or(captured.intrinsics),
                world_to_camera,
            };
            Some((input, captured.time, captured.instant))
        })
        .collect();
    inputs.sort_by_key(|(v, _, _)| v.entity);
    let time = inputs.iter().map(|(_, t, _)| *t).fold(f64::NEG_INFINITY, f64::max);
    let instant = inputs.iter().map(|(_, _, i)| *i).min()?;
    Some(FrameSet { frame: newest, time, instant, views: inputs.into_iter().map(|(v, _, _)| v).collect() })
}

/// What [`estimate_frame`] takes from [`CmanetSettings`].
#[derive(Clone, Copy, Debug)]
struct FrameOptions {
    /// Fewest views with a person for an estimate.
    min_views: usize,
    /// Whether the views' left/right labels are repaired against the previous estimate.
    repair: bool,
    /// Whether crossed feet are repaired too (with `repair`).
    repair_feet: bool,
    /// Whether the network gets the extra keypoints (feet and hands turned to them).
    feet_and_hands: bool,
}

/// Detection in every view, the left/right repair against the previous estimate (with `repair`),
/// then CMANet with the previous estimate as the body refinement's temporal prior and what the
/// stream learned of its subject (runs on the task pool).
fn estimate_frame(
    networks: &Networks,
    trackers: &mut HashMap<Entity, PoseTracker>,
    set: FrameSet,
    previous: Option<&PreviousEstimate>,
    learned: Option<&Learned>,
    options: FrameOptions,
) -> FrameOutcome {
    let FrameOptions { min_views, repair, repair_feet, feet_and_hands } = options;
    let started = Instant::now();
    // Views are independent: detect them on as many threads as the machine has cores.
    let jobs: Vec<(&ViewInput, PoseTracker)> =
        set.views.iter().map(|v| (v, trackers.remove(&v.entity).unwrap_or_default())).collect();
    let detected = parallel_map(jobs, available_cores(), |(view, mut tracker)| {
        let mut outcome = detect_view(&networks.detector, &mut tracker, view);
        outcome.detector_runs = outcome.detector_runs.or(Some(tracker.detector_runs()));
        (outcome, tracker)
    });
    let mut views: Vec<ViewOutcome> = Vec::with_capacity(detected.len());
    for (input, detected) in set.views.iter().zip(detected) {
        match detected {
            Some((outcome, tracker)) => {
                trackers.insert(input.entity, tracker);
                views.push(outcome);
            }
            None => views.push(ViewOutcome {
                keypoints2d: None,
                extra2d: None,
                mirrored: false,
                image_size: [0, 0],
                intrinsics: None,
                error: Some("the detector failed on this image".into()),
                nobody: None,
                preview: None,
                detector_runs: None,
            }),
        }
    }
    let detection = started.elapsed();
    if repair && let Some(previous) = previous {
        repair_left_right(&set, &mut views, previous, repair_feet);
    }
    let frame = MultiViewFrame {
        views: views
            .iter()
            .map(|v| match (v.keypoints2d, v.intrinsics) {
                (Some(keypoints), Some(intrinsics)) => Some(ViewObservation {
                    keypoints: labelled(&keypoints, v.mirrored),
                    intrinsics,
                    extra: v.extra2d.filter(|_| feet_and_hands).map(|e| labelled_extra(&e, v.mirrored)),
                }),
                _ => None,
            })
            .collect(),
    };
    let seen = frame.views.iter().flatten().count();
    let started = Instant::now();
    let estimate =
        (seen >= min_views).then(|| networks.network.estimate_with(&frame, previous.map(|p| &p.estimate), learned));
    // Views whose labels CMANet itself exchanged (after the plugin's own repair, if any): the
    // status and the message show the labels the estimate used, each view relabelled once.
    if let Some(Ok(estimate)) = &estimate {
        for (view, swapped) in views.iter_mut().zip(&estimate.swapped_views) {
            view.mirrored ^= *swapped;
        }
    }
    for view in &mut views {
        if let Some(keypoints) = view.keypoints2d.as_mut() {
            *keypoints = labelled(keypoints, view.mirrored);
        }
        if let Some(extra) = view.extra2d.as_mut() {
            *extra = labelled_extra(extra, view.mirrored);
        }
    }
    FrameOutcome { set, views, estimate, detection, network: started.elapsed() }
}

/// Marks every view whose detector swapped the person's left and right as mirrored, judged
/// against the previous estimate seen from that view (views it did not place are left as they
/// are); the keypoints are relabelled where they are used. Then, with `feet`, the same way,
/// exchanges the feet (ankles, heels, foot tips) of views whose detector crossed the feet alone.
fn repair_left_right(set: &FrameSet, views: &mut [ViewOutcome], previous: &PreviousEstimate, feet: bool) {
    for (input, view) in set.views.iter().zip(views.iter_mut()) {
        let (Some(keypoints), Some(intrinsics)) = (view.keypoints2d.as_ref(), view.intrinsics.as_ref()) else {
            continue;
        };
        let Some(Some(seen)) =
            previous.views.iter().position(|e| *e == input.entity).and_then(|i| previous.estimate.keypoints_cam.get(i))
        else {
            continue;
        };
        view.mirrored = swapped_against_estimate(keypoints, intrinsics, seen) == Some(true);
        if feet
            && feet_swapped_against_estimate(&labelled(keypoints, view.mirrored), intrinsics, seen)
            && let Some(keypoints) = view.keypoints2d.as_mut()
        {
            // Exchanging the feet commutes with the whole view's relabelling applied later.
            exchange_feet(keypoints, view.extra2d.as_mut());
        }
    }
}

fn detect_view(detector: &PoseDetector, tracker: &mut PoseTracker, view: &ViewInput) -> ViewOutcome {
    let failed = |error: String, image_size: [u32; 2], preview: Option<ViewPreview>| ViewOutcome {
        keypoints2d: None,
        extra2d: None,
        mirrored: false,
        image_size,
        intrinsics: view.intrinsics,
        error: Some(error),
        nobody: None,
        preview,
        detector_runs: None,
    };
    // What the detector found, however it ran.
    let found = |pose: Option<&Pose>, image_size, nobody, preview, detector_runs| ViewOutcome {
        keypoints2d: pose.map(Pose::coco17),
        extra2d: pose.map(Pose::extra),
        mirrored: false,
        image_size,
        intrinsics: view.intrinsics,
        error: None,
        nobody,
        preview,
        detector_runs,
    };
    if let CapturedPixels::Detected { image_size, pose, nobody, detector_runs } = &view.pixels {
        // Detected where the pixels are (on the GPU): no image, no preview.
        if view.intrinsics.is_none() {
            return failed("no intrinsics: set CaptureView::intrinsics".into(), *image_size, None);
        }
        let nobody = if pose.is_none() { *nobody } else { None };
        return found(pose.as_deref(), *image_size, nobody, None, Some(*detector_runs));
    }
    let image = match view.pixels.to_rgb() {
        Ok(image) => image,
        Err(e) => {
            tracker.reset();
            return failed(e.to_string(), [0, 0], None);
        }
    };
    let image_size = [image.width(), image.height()];
    let preview = Some(preview(&image));
    if view.intrinsics.is_none() {
        return failed("no intrinsics: set CaptureView::intrinsics".into(), image_size, preview);
    }
    match tracker.track(detector, &image) {
        Ok(pose) => {
            let nobody = pose.is_none().then(|| nobody_reason(&image, tracker.candidate()));
            found(pose.as_ref(), image_size, nobody, preview, None)
        }
        Err(e) => {
            tracker.reset();
            failed(e.to_string(), image_size, preview)
        }
    }
}

/// A nearest-neighbour RGBA copy of `image` at most [`PREVIEW_WIDTH`] wide.
fn preview(image: &RgbImage) -> ViewPreview {
    let (w, h) = (image.width(), image.height());
    let width = w.min(PREVIEW_WIDTH);
    let height = ((h as u64 * width as u64) / w as u64).max(1) as u32;
    let src = image.as_raw();
    let mut rgba = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        let sy = (y as u64 * h as u64 / height as u64) as usize;
        for x in 0..width {
            let sx = (x as u64 * w as u64 / width as u64) as usize;
            let i = (sy * w as usize + sx) * 3;
            rgba.extend_from_slice(&[src[i], src[i + 1], src[i + 2], 255]);
        }
    }
    ViewPreview { width, height, rgba: Arc::new(rgba) }
}

fn mean_confidence(keypoints: &Option<Keypoints2d>) -> f32 {
    keypoints.as_ref().map_or(0.0, crate::placement::mean_confidence)
}

/// Keeps the time since which a view has found nobody, and tells it once
/// ([`CmanetWarning::NoPerson`]) after [`CmanetSettings::no_person_warning_seconds`].
fn tell_nobody(
    commands: &mut Commands,
    state: &mut Inference,
    settings: &CmanetSettings,
    entity: Entity,
    time: f64,
    view: &ViewOutcome,
) {
    let Some(reason) = view.nobody else {
        // Found someone (or failed, which `ViewFailed` tells): the count starts again.
        state.nobody_since.remove(&entity);
        return;
    };
    let (since, told) = state.nobody_since.entry(entity).or_insert((time, false));
    let seconds = time - *since;
    if !*told && seconds >= settings.no_person_warning_seconds {
        *told = true;
        warn(commands, CmanetWarning::NoPerson { view: entity, seconds, reason });
    }
}

/// Hands a finished frame to the app: view statuses, warnings, and the [`PoseEstimated`] message.
fn publish(
    commands: &mut Commands,
    state: &mut Inference,
    settings: &CmanetSettings,
    outcome: FrameOutcome,
    statuses: &Query<&ViewStatus>,
    writer: &mut MessageWriter<PoseEstimated>,
) {
    let FrameOutcome { set, views, estimate, detection, network } = outcome;
    let confidences: Vec<f32> = views.iter().map(|v| mean_confidence(&v.keypoints2d)).collect();
    for ((input, view), confidence) in set.views.iter().zip(&views).zip(&confidences) {
        let previous = statuses.get(input.entity).ok().and_then(|s| s.error.clone());
        if let Some(error) = &view.error
            && previous.as_ref() != Some(error)
        {
            warn(commands, ViewFailed { entity: input.entity, message: error.clone() });
        }
        if let Ok(mut entity) = commands.get_entity(input.entity) {
            entity.try_insert(ViewStatus {
                frame: set.frame,
                keypoints2d: view.keypoints2d,
                extra2d: view.extra2d,
                mirrored: view.mirrored,
                image_size: view.image_size,
                confidence: *confidence,
                error: view.error.clone(),
                nobody: view.nobody,
                preview: view.preview.clone(),
                detector_runs: view.detector_runs.unwrap_or(0),
            });
        }
        tell_nobody(commands, state, settings, input.entity, set.time, view);
    }
    if !settings.hold_rig {
        state.held.clear();
    }
    let estimate = match estimate {
        None | Some(Err(NetError::NoUsableView { .. })) => return,
        Some(Err(e)) => {
            warn(commands, CmanetWarning::EstimationFailed { frame: set.frame, message: e.to_string() });
            return;
        }
        Some(Ok(estimate)) => estimate,
    };
    state.previous = Some(PreviousEstimate::of(&set, &estimate));
    let Some(body) = state.networks.as_ref().map(|n| n.body.clone()) else { return };
    // Every view's known place: its transform, or the place held for it.
    let known: Vec<Option<Extrinsics>> = set
        .views
        .iter()
        .map(|input| input.world_to_camera.or_else(|| state.held.get(&input.entity).copied()))
        .collect();
    let placement: Vec<KnownView> = known
        .iter()
        .zip(&views)
        .zip(&confidences)
        .map(|((known, view), confidence)| KnownView {
            world_to_camera: *known,
            weight: *confidence as f64,
            intrinsics: view.intrinsics,
            keypoints: view.keypoints2d,
        })
        .collect();
    let body_to_world = place_body(&estimate.cameras, &estimate.keypoints, &placement)
        .unwrap_or_else(|| Extrinsics::new(Matrix3::identity(), Vector3::zeros()));
    let pelvis_rest = body.rest_joints(&estimate.betas)[0];
    let world = WorldPose::new(
        body_to_world,
        estimate.body_pose,
        estimate.betas,
        &estimate.joints,
        &estimate.keypoints,
        &estimate.cameras,
        &pelvis_rest,
    );
    let mut view_estimates = Vec::with_capacity(views.len());
    for ((((input, view), camera), camera_in_world), (known, confidence)) in set
        .views
        .iter()
        .zip(&views)
        .zip(&estimate.cameras)
        .zip(world.cameras.iter().copied())
        .zip(known.into_iter().zip(confidences))
    {
        let mut known_camera = known;
        // Holding starts now for a view without a known place: it keeps this estimate's place.
        if settings.hold_rig
            && known_camera.is_none()
            && let Some(placed) = camera_in_world
        {
            state.held.insert(input.entity, placed);
            known_camera = Some(placed);
        }
        view_estimates.push(ViewEstimate {
            entity: input.entity,
            keypoints2d: view.keypoints2d,
            extra2d: view.extra2d,
            image_size: view.image_size,
            confidence,
            intrinsics: view.intrinsics,
            camera: *camera,
            camera_in_world,
            known_camera,
        });
    }
    writer.write(PoseEstimated {
        frame: set.frame,
        time: set.time,
        params: world.params,
        joints: world.joints,
        keypoints_canonical: estimate.keypoints,
        keypoints: world.keypoints,
        views: view_estimates,
        timing: PoseTiming { detection, network, latency: set.instant.elapsed() },
    });
}
