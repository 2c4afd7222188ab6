//! Detection on Bevy's own GPU device ([`CmanetSettings::detect_on_gpu`], feature `wgpu`): the
//! capture cameras' render targets are never read back. In the render world, after the frame is
//! drawn, each view's tracker runs BlazePose ([`GpuPoseDetector`]: the person detector when the
//! person is lost, the landmark network on the tracked crop) on the target texture, and only what
//! it found comes back to the main world, as the view's [`CapturedFrame`] with
//! [`CapturedPixels::Detected`]. Inference then skips detection for that view.
//!
//! The networks are built on the render device once the plugin's CPU networks have loaded (they
//! share its weights, anchors and thresholds). A failure to build them, or a target that is not
//! 8-bit RGBA, turns the setting off with a [`CmanetWarning::GpuDetection`]: the CPU path takes
//! over. The render world waits for the networks' outputs (a few milliseconds on a GPU): the
//! views' detections are part of that frame's render work.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bevy::camera::RenderTarget;
use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssets;
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::GpuImage;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};

use super::capture::{CaptureView, CapturedFrame, CapturedPixels, intrinsics_from_projection};
use super::inference::Inference;
use super::messages::{CmanetWarning, warn};
use super::settings::CmanetSettings;
use crate::detect::gpu::{CropSource, GpuContext, GpuPoseDetector, wgpu};
use crate::detect::{NobodyReason, Pose, PoseDetector, PoseTracker, candidate_reason};

/// What the render world found in one view's frame.
struct Detected {
    entity: Entity,
    frame: u32,
    time: f64,
    instant: Instant,
    image_size: [u32; 2],
    /// The pose, or why the frame could not be detected on the GPU.
    pose: Result<Option<Pose>, String>,
    /// When nobody was found, the likely reason (from the detector's best candidate: the pixels
    /// that would tell a dark or featureless frame stay on the GPU).
    nobody: Option<NobodyReason>,
    detector_runs: usize,
}

/// The main world's end of the render world's detections.
#[derive(Resource)]
pub(crate) struct GpuDetections(Mutex<Receiver<Detected>>);

/// One view to detect in the render world this frame.
struct Job {
    entity: Entity,
    image: AssetId<Image>,
    frame: u32,
    time: f64,
    instant: Instant,
}

/// The render world's detection state.
#[derive(Resource)]
struct GpuTracking {
    sender: Sender<Detected>,
    /// The CPU networks to build the GPU ones from, once they have loaded.
    cpu: Option<Arc<PoseDetector>>,
    detector: Option<GpuPoseDetector>,
    /// Whether the networks could not be built (then nothing more is tried).
    failed: bool,
    trackers: HashMap<Entity, PoseTracker>,
    jobs: Vec<Job>,
}

/// Adds detection on the GPU to an app that renders (nothing without a render app).
pub(crate) fn build(app: &mut App) {
    let (sender, receiver) = channel();
    app.insert_resource(GpuDetections(Mutex::new(receiver)));
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else { return };
    render_app
        .insert_resource(GpuTracking {
            sender,
            cpu: None,
            detector: None,
            failed: false,
            trackers: HashMap::new(),
            jobs: Vec::new(),
        })
        .add_systems(ExtractSchedule, extract_jobs)
        .add_systems(Render, detect_on_gpu.in_set(RenderSystems::Cleanup));
}

/// Takes this frame's capture cameras to the render world while detection on the GPU is on and
/// inference keeps up (a set waiting for the running estimate is not added to).
#[allow(clippy::type_complexity)]
fn extract_jobs(
    mut tracking: ResMut<GpuTracking>,
    settings: Extract<Option<Res<CmanetSettings>>>,
    inference: Extract<Option<Res<Inference>>>,
    views: Extract<Query<(Entity, &RenderTarget), (With<CaptureView>, With<Camera>)>>,
    frame: Extract<Res<FrameCount>>,
    time: Extract<Res<Time>>,
) {
    tracking.jobs.clear();
    let on = settings.as_ref().is_some_and(|s| s.enabled && s.gpu_detection_active());
    if !on || tracking.failed {
        tracking.trackers.clear();
        return;
    }
    if tracking.cpu.is_none() {
        tracking.cpu = inference.as_ref().and_then(|i| i.pose_detector());
    }
    if inference.as_ref().is_some_and(|i| i.has_waiting_set()) {
        return;
    }
    let (now, instant) = (time.elapsed_secs_f64(), Instant::now());
    for (entity, target) in &views {
        if let RenderTarget::Image(image) = target {
            tracking.jobs.push(Job { entity, image: image.handle.id(), frame: frame.0, time: now, instant });
        }
    }
}

/// Detects this frame's jobs on the render device, after the frame's rendering was submitted.
fn detect_on_gpu(
    mut tracking: ResMut<GpuTracking>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    images: Res<RenderAssets<GpuImage>>,
) {
    let tracking = &mut *tracking;
    if tracking.jobs.is_empty() {
        return;
    }
    if tracking.detector.is_none() {
        let Some(cpu) = tracking.cpu.clone() else { return };
        let queue: &wgpu::Queue = &queue.0;
        let context = GpuContext::new(device.wgpu_device().clone(), queue.clone());
        match GpuPoseDetector::new(&context, cpu) {
            Ok(detector) => tracking.detector = Some(detector),
            Err(e) => {
                tracking.failed = true;
                let job = &tracking.jobs[0];
                let _ = tracking.sender.send(Detected {
                    entity: job.entity,
                    frame: job.frame,
                    time: job.time,
                    instant: job.instant,
                    image_size: [0, 0],
                    pose: Err(format!("the networks could not be built on the render device: {e}")),
                    nobody: None,
                    detector_runs: 0,
                });
                return;
            }
        }
    }
    let Some(detector) = tracking.detector.as_ref() else { return };
    for job in tracking.jobs.drain(..) {
        // A target not drawn yet (its image still loading) is skipped.
        let Some(image) = images.get(job.image) else { continue };
        let tracker = tracking.trackers.entry(job.entity).or_default();
        let texture: &wgpu::Texture = &image.texture;
        let pose = if eight_bit_rgba(texture.format()) {
            let source = CropSource::of_texture(texture);
            tracker.track_with(&detector.on(&source)).map_err(|e| {
                tracker.reset();
                e.to_string()
            })
        } else {
            Err(format!("a capture target has format {:?}; use Rgba8UnormSrgb", texture.format()))
        };
        let image_size = [texture.width(), texture.height()];
        let nobody = matches!(pose, Ok(None)).then(|| candidate_reason(image_size, tracker.candidate()));
        let _ = tracking.sender.send(Detected {
            entity: job.entity,
            frame: job.frame,
            time: job.time,
            instant: job.instant,
            image_size,
            pose,
            nobody,
            detector_runs: tracker.detector_runs(),
        });
    }
}

/// Whether the crop shader reads this format (8-bit RGBA or BGRA, linear or sRGB).
fn eight_bit_rgba(format: wgpu::TextureFormat) -> bool {
    use wgpu::TextureFormat as F;
    matches!(format, F::Rgba8Unorm | F::Rgba8UnormSrgb | F::Bgra8Unorm | F::Bgra8UnormSrgb)
}

/// Hands the render world's detections to the views as their [`CapturedFrame`]s; a failure turns
/// detection on the GPU off (the CPU takes over) with a [`CmanetWarning::GpuDetection`].
pub(crate) fn receive_detections(
    mut commands: Commands,
    detections: Res<GpuDetections>,
    mut settings: ResMut<CmanetSettings>,
    views: Query<Option<&Projection>, With<CaptureView>>,
) {
    let received: Vec<Detected> = detections.0.lock().map(|r| r.try_iter().collect()).unwrap_or_default();
    for detected in received {
        let pose = match detected.pose {
            Ok(pose) => pose,
            Err(message) => {
                if settings.detect_on_gpu {
                    settings.detect_on_gpu = false;
                    warn(&mut commands, CmanetWarning::GpuDetection { message });
                }
                continue;
            }
        };
        let Ok(projection) = views.get(detected.entity) else { continue };
        let [width, height] = detected.image_size;
        commands.entity(detected.entity).try_insert(CapturedFrame {
            pixels: CapturedPixels::Detected {
                image_size: detected.image_size,
                pose: pose.map(Arc::new),
                nobody: detected.nobody,
                detector_runs: detected.detector_runs,
            },
            frame: detected.frame,
            time: detected.time,
            instant: detected.instant,
            intrinsics: projection.and_then(|p| intrinsics_from_projection(p, width, height)),
        });
    }
}
