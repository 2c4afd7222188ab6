//! Capture: where the views' pixels come from. A [`CaptureView`] on a camera that renders to an
//! image is read back from the GPU every frame (`Readback`, left on); a [`CaptureView`] with an
//! [`ImageSequence`] plays a folder of frames at its frame rate, read on the CPU. Either way the
//! newest pixels land in the view's [`CapturedFrame`] (tests and custom sources may insert it
//! themselves), which inference picks up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};

use super::messages::{CmanetWarning, ViewFailed, warn};
use crate::detect::{DetectError, NobodyReason, Pose, RgbImage, frame_files};
use crate::geometry::{Extrinsics, Intrinsics};
use nalgebra::{Quaternion, UnitQuaternion, Vector3};

/// Marks a camera (rendering to an image) or an image source as one of the capture's views.
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component)]
pub struct CaptureView {
    /// The view's intrinsics in pixels. Default: `None`, taken from the camera's perspective
    /// projection and its target's size, or from the [`ImageSequence`].
    #[reflect(ignore)]
    pub intrinsics: Option<Intrinsics>,
    /// Whether this entity's `GlobalTransform` is the camera's true place in the world (Bevy
    /// camera axes, looking down -z). The network estimates every camera relative to the body
    /// either way; known places only put the body in the world. Default: true.
    pub place_from_transform: bool,
}

impl Default for CaptureView {
    fn default() -> Self {
        Self { intrinsics: None, place_from_transform: true }
    }
}

/// A view's newest pixels, with when they were captured.
#[derive(Component, Reflect, Clone, Debug)]
#[reflect(Component, from_reflect = false)]
pub struct CapturedFrame {
    /// The pixels.
    #[reflect(ignore)]
    pub pixels: CapturedPixels,
    /// The app frame (`FrameCount`) of the capture: views with the same number are estimated
    /// together.
    pub frame: u32,
    /// `Time::elapsed_secs_f64` at the capture (the filter's clock).
    pub time: f64,
    /// Wall clock at the capture (for latency).
    #[reflect(ignore)]
    pub instant: Instant,
    /// The intrinsics the source knows, if any ([`CaptureView::intrinsics`] wins).
    #[reflect(ignore)]
    pub intrinsics: Option<Intrinsics>,
}

/// Pixels of a captured frame, converted to RGB off the main thread.
#[derive(Clone, Debug)]
pub enum CapturedPixels {
    /// A GPU read-back: 8-bit RGBA (or BGRA) rows of `row_bytes` bytes each (padded).
    Rgba8 {
        /// Width, pixels.
        width: u32,
        /// Height, pixels.
        height: u32,
        /// Bytes per row in `data` (at least `4 * width`).
        row_bytes: usize,
        /// Whether the channels are in BGRA order.
        bgra: bool,
        /// The bytes.
        data: Arc<Vec<u8>>,
    },
    /// An RGB image already in memory.
    Rgb(Arc<RgbImage>),
    /// An image file (PNG or JPEG), decoded when it is used.
    File(PathBuf),
    /// A frame whose pixels stayed where they were made: the detector already ran on it (BlazePose
    /// on the GPU, [`super::CmanetSettings::detect_on_gpu`], or an app's own detector), and this
    /// is what it found.
    Detected {
        /// Width and height of the frame, pixels.
        image_size: [u32; 2],
        /// The person found, if anyone.
        pose: Option<Arc<Pose>>,
        /// When nobody was found, the likely reason.
        nobody: Option<NobodyReason>,
        /// How many times the person detector has run on this view so far.
        detector_runs: usize,
    },
}

impl CapturedPixels {
    /// The pixels as an RGB image (shared, not copied, when they already are one); an error names
    /// what is wrong (empty, truncated, unreadable).
    pub fn to_rgb(&self) -> Result<Arc<RgbImage>, DetectError> {
        match self {
            Self::Rgb(image) => Ok(image.clone()),
            Self::File(path) => RgbImage::open(path).map(Arc::new),
            Self::Detected { .. } => Err(DetectError::NoPixels),
            Self::Rgba8 { width, height, row_bytes, bgra, data } => {
                let (w, h) = (*width as usize, *height as usize);
                if w == 0 || h == 0 {
                    return Err(DetectError::EmptyImage);
                }
                let expected = row_bytes * (h - 1) + 4 * w;
                if *row_bytes < 4 * w || data.len() < expected {
                    return Err(DetectError::BufferSize { got: data.len(), expected: expected.max(4 * w * h) });
                }
                // Fixed-size pixels into a buffer of the final size (no growth, no per-pixel
                // length checks).
                let mut rgb = vec![0u8; w * h * 3];
                for (out, row) in rgb.chunks_exact_mut(3 * w).zip(data.chunks(*row_bytes)) {
                    for (o, px) in out.chunks_exact_mut(3).zip(row[..4 * w].chunks_exact(4)) {
                        if *bgra {
                            (o[0], o[1], o[2]) = (px[2], px[1], px[0]);
                        } else {
                            (o[0], o[1], o[2]) = (px[0], px[1], px[2]);
                        }
                    }
                }
                RgbImage::new(*width, *height, rgb).map(Arc::new)
            }
        }
    }
}

/// A folder of numbered frames played as a view at `fps` (put it next to a [`CaptureView`]).
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component, from_reflect = false)]
pub struct ImageSequence {
    /// The frames, in order.
    pub frames: Vec<PathBuf>,
    /// Frames per second.
    pub fps: f64,
    /// Whether to start again after the last frame (otherwise it holds the last one). Default: true.
    pub looping: bool,
    /// The camera's intrinsics for these images.
    #[reflect(ignore)]
    pub intrinsics: Intrinsics,
    /// Seconds added to the play time of this sequence, for cameras that were not started
    /// together: a camera whose image `i + k` shows the instant the other cameras' image `i` shows
    /// takes `k / fps` (`cmanet detect --sync` measures `k`; `data::sync::time_offsets` reads it
    /// back from a file). Default: 0.
    pub time_offset: f64,
    started: Option<f64>,
    shown: Option<usize>,
}

impl ImageSequence {
    /// The PNG / JPEG frames of `dir` (sorted by name) played at `fps`.
    pub fn from_folder(dir: &Path, fps: f64, intrinsics: Intrinsics) -> Result<Self, DetectError> {
        Ok(Self::new(frame_files(dir)?, fps, intrinsics))
    }

    /// These frames played at `fps`.
    pub fn new(frames: Vec<PathBuf>, fps: f64, intrinsics: Intrinsics) -> Self {
        Self { frames, fps, looping: true, intrinsics, time_offset: 0.0, started: None, shown: None }
    }

    /// The sequence shifted by `seconds` ([`ImageSequence::time_offset`]).
    pub fn with_time_offset(mut self, seconds: f64) -> Self {
        self.time_offset = seconds;
        self
    }

    /// When the sequence started playing (`Time::elapsed_secs_f64`), once it has.
    pub fn started(&self) -> Option<f64> {
        self.started
    }

    /// The frame to show `elapsed` seconds after the start (shifted by
    /// [`ImageSequence::time_offset`]); `None` when there is none.
    pub fn frame_at(&self, elapsed: f64) -> Option<usize> {
        let t = elapsed + self.time_offset;
        if self.frames.is_empty() || self.fps.is_nan() || self.fps <= 0.0 || !t.is_finite() {
            return None;
        }
        let i = (t.max(0.0) * self.fps).floor() as usize;
        Some(if self.looping { i % self.frames.len() } else { i.min(self.frames.len() - 1) })
    }
}

/// A capture camera's stream of read-backs: while `Readback` is on, every frame's image is read
/// back, and the read-backs come back in the order they were asked for (Bevy delivers them in
/// submission order), so the front of `pending` is the frame the next one shows.
#[derive(Component, Clone, Debug, Default)]
pub(crate) struct ReadbackStream {
    /// The frames read back and not yet delivered, oldest first: (app frame, `Time` elapsed, wall
    /// clock).
    pending: std::collections::VecDeque<(u32, f64, Instant)>,
}

/// A capture camera whose read-back stream was stopped (it stalled): it starts again from this
/// app frame on, once every read-back still under way has come back (and been ignored).
#[derive(Component, Clone, Copy, Debug)]
pub(crate) struct ReadbackPaused {
    until: u32,
}

/// A capture camera whose target image is not in `Assets<Image>`: since when (`Time` elapsed,
/// seconds), and whether that has been told.
#[derive(Component, Clone, Copy, Debug)]
pub(crate) struct TargetMissing {
    since: f64,
    told: bool,
}

/// Seconds a capture camera's target image may be missing (still loading, say) before it is told
/// as a [`CmanetWarning::RenderTarget`].
pub const TARGET_MISSING_WARNING_SECONDS: f64 = 1.0;

/// App frames after which a read-back that never came back counts as lost: the stream stops and,
/// as long again later, starts afresh.
const READBACK_TIMEOUT_FRAMES: u32 = 30;

/// The most images a view has on their way to inference: read-backs under way plus a set waiting
/// that no estimating task will take up (the networks still loading; while an estimate runs, a
/// newer image replaces the waiting one). A read-back takes about three frames to come back, so
/// three keep a new image arriving every frame, and frames nothing could use are not read back
/// (each costs a copy on the main thread).
const MAX_IMAGES_AHEAD: usize = 3;

/// Reads back the capture cameras that render to an image, all in the same frames: every frame
/// while inference keeps up ([`MAX_IMAGES_AHEAD`]) and estimation is on. Each image lands in the view's
/// [`CapturedFrame`] a few frames later, stamped with the frame it shows, so the views read back
/// in one frame make a set. (Until 2026-12-07 the views were read back in rounds, the next asked
/// for when the last had come back: one set every third frame at most.)
#[allow(clippy::type_complexity)]
pub(crate) fn request_readbacks(
    mut commands: Commands,
    mut cameras: Query<
        (
            Entity,
            &RenderTarget,
            Option<&mut ReadbackStream>,
            Option<&ReadbackPaused>,
            Has<Readback>,
            Option<&TargetMissing>,
        ),
        (With<CaptureView>, With<Camera>),
    >,
    mut images: Option<ResMut<Assets<Image>>>,
    inference: Option<Res<super::inference::Inference>>,
    settings: Option<Res<super::settings::CmanetSettings>>,
    frame: Res<FrameCount>,
    time: Res<Time>,
) {
    let waiting = usize::from(inference.is_some_and(|i| i.has_unclaimed_set()));
    let under_way = cameras.iter().filter_map(|(_, _, s, ..)| s.map(|s| s.pending.len())).max().unwrap_or(0);
    // Nothing is read back while estimation is off (`CmanetSettings::enabled`), nor while the
    // views are detected on the GPU (`CmanetSettings::detect_on_gpu`).
    let enabled = settings.is_none_or(|s| s.enabled && !s.gpu_detection_active());
    let read = enabled && under_way + waiting < MAX_IMAGES_AHEAD;
    let stamp = (frame.0, time.elapsed_secs_f64(), Instant::now());
    for (entity, target, stream, paused, reading, missing) in &mut cameras {
        let RenderTarget::Image(image) = target else { continue };
        // A target image that is not there is waited for (it may be loading), and told once it has
        // been missing for a second: nothing would be estimated from this view.
        if let Some(images) = images.as_ref() {
            let now = time.elapsed_secs_f64();
            match (images.get(&image.handle).is_some(), missing) {
                (true, Some(_)) => {
                    commands.entity(entity).try_remove::<TargetMissing>();
                }
                (true, None) => {}
                (false, None) => {
                    commands.entity(entity).try_insert(TargetMissing { since: now, told: false });
                    continue;
                }
                (false, Some(m)) => {
                    if !m.told && now - m.since >= TARGET_MISSING_WARNING_SECONDS {
                        commands.entity(entity).try_insert(TargetMissing { told: true, ..*m });
                        let message = format!(
                            "its render target image ({:?}) has not been in Assets<Image> for {:.1} s: nothing is read \
                             back from this view (create it with `capture_target`, and keep its handle)",
                            image.handle.id(),
                            now - m.since
                        );
                        warn(&mut commands, CmanetWarning::RenderTarget { view: entity, message });
                    }
                    continue;
                }
            }
        }
        match (stream, paused) {
            (Some(mut stream), _) => {
                if stream.pending.front().is_some_and(|p| frame.0.wrapping_sub(p.0) >= READBACK_TIMEOUT_FRAMES) {
                    // The oldest read-back is lost: stop, and start again once the others are in.
                    commands
                        .entity(entity)
                        .try_remove::<(Readback, ReadbackStream)>()
                        .try_insert(ReadbackPaused { until: frame.0.wrapping_add(READBACK_TIMEOUT_FRAMES) });
                } else if read {
                    // `Readback` on during this frame's extraction: this frame is read back.
                    stream.pending.push_back(stamp);
                    if !reading {
                        commands.entity(entity).try_insert(Readback::texture(image.handle.clone()));
                    }
                } else if reading {
                    commands.entity(entity).try_remove::<Readback>();
                }
            }
            (None, Some(paused)) if frame.0.wrapping_sub(paused.until) > u32::MAX / 2 => {}
            (None, _) => {
                if !read
                    || images.as_mut().is_some_and(|images| !readable(&mut commands, entity, images, &image.handle))
                {
                    continue;
                }
                commands
                    .entity(entity)
                    .try_remove::<ReadbackPaused>()
                    .try_insert((Readback::texture(image.handle.clone()), ReadbackStream { pending: [stamp].into() }));
            }
        }
    }
}

/// Whether a capture camera's target image can be read back now. A target without
/// `TextureUsages::COPY_SRC` would fail wgpu's validation (which ends the app): the usage is added,
/// which rebuilds the texture, and told once ([`CmanetWarning::RenderTarget`]); the read-back
/// starts in a later frame. `images` is only changed (and so marked changed) when a usage is added.
fn readable(
    commands: &mut Commands,
    entity: Entity,
    images: &mut ResMut<Assets<Image>>,
    handle: &Handle<Image>,
) -> bool {
    let Some(image) = images.get(handle) else { return false };
    if image.texture_descriptor.usage.contains(TextureUsages::COPY_SRC) {
        return true;
    }
    if let Some(mut image) = images.get_mut(handle) {
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        // An image whose pixels went to the GPU alone is not uploaded again without pixels (Bevy
        // refuses it as already extracted): blank ones do, and a render target is drawn over.
        if image.data.is_none() && !image.asset_usage.contains(RenderAssetUsages::MAIN_WORLD) {
            let bytes = image.texture_descriptor.format.block_copy_size(None).unwrap_or(4) as usize;
            let size = image.texture_descriptor.size;
            image.data = Some(vec![0; bytes * (size.width * size.height * size.depth_or_array_layers) as usize]);
        }
    }
    let message = "its render target lacked TextureUsages::COPY_SRC, which reading it back needs; the plugin \
                   added it (create the image with COPY_SRC to spare the texture's rebuild)";
    warn(commands, CmanetWarning::RenderTarget { view: entity, message: message.into() });
    false
}

/// A new image for a capture camera to render into (`RenderTarget::Image(handle.into())`):
/// `width` x `height`, 8-bit sRGB RGBA, with the usages rendering and reading back need
/// (`RENDER_ATTACHMENT`, `COPY_SRC`, `TEXTURE_BINDING` to show it in a UI).
pub fn capture_target(images: &mut Assets<Image>, width: u32, height: u32) -> Handle<Image> {
    let mut image = Image::new_uninit(
        Extent3d { width, height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.texture_descriptor.usage |=
        TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    images.add(image)
}

/// Stops the read-back of cameras that are no longer capture views.
pub(crate) fn stop_readbacks(mut commands: Commands, mut removed: RemovedComponents<CaptureView>) {
    for entity in removed.read() {
        if let Ok(mut e) = commands.get_entity(entity) {
            e.try_remove::<(Readback, ReadbackStream, ReadbackPaused)>();
        }
    }
}

/// The intrinsics of a Bevy perspective camera rendering `width` x `height` pixels.
pub fn intrinsics_from_projection(projection: &Projection, width: u32, height: u32) -> Option<Intrinsics> {
    match projection {
        Projection::Perspective(p) if p.fov > 0.0 && width > 0 && height > 0 => {
            Some(Intrinsics::from_vertical_fov(p.fov as f64, width as f64, height as f64))
        }
        _ => None,
    }
}

/// The OpenCV extrinsics (world to camera) of a Bevy camera placed at `transform` (looking down
/// -z, +y up; scale ignored).
pub fn camera_extrinsics(transform: &GlobalTransform) -> Extrinsics {
    let (_, r, p) = transform.to_scale_rotation_translation();
    let q = UnitQuaternion::from_quaternion(Quaternion::new(r.w as f64, r.x as f64, r.y as f64, r.z as f64));
    Extrinsics::from_bevy_camera(&q, &Vector3::new(p.x as f64, p.y as f64, p.z as f64))
}

/// The Bevy transform of a camera with OpenCV extrinsics `extrinsics` (world to camera): the
/// inverse of [`camera_extrinsics`].
pub fn camera_transform(extrinsics: &Extrinsics) -> Transform {
    let (q, p) = extrinsics.to_bevy_camera();
    Transform::from_xyz(p.x as f32, p.y as f32, p.z as f32)
        .with_rotation(Quat::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32))
}

/// Stores a finished read-back as the view's [`CapturedFrame`], stamped with the frame it shows
/// (the oldest of its stream's frames under way; a read-back with none, from a stream that was
/// stopped, is dropped). The event's bytes are moved into the frame: an observer of the same
/// `ReadbackComplete` that runs later sees them empty.
#[allow(clippy::type_complexity)]
pub(crate) fn on_readback(
    mut readback: On<ReadbackComplete>,
    mut views: Query<(&RenderTarget, Option<&Projection>, Option<&mut ReadbackStream>), With<CaptureView>>,
    images: Res<Assets<Image>>,
    mut commands: Commands,
) {
    let entity = readback.entity;
    let Ok((RenderTarget::Image(target), projection, Some(mut stream))) = views.get_mut(entity) else { return };
    let Some((frame, time, instant)) = stream.pending.pop_front() else { return };
    let Some(image) = images.get(&target.handle) else { return };
    let (width, height) = (image.width(), image.height());
    let bgra = match image.texture_descriptor.format {
        TextureFormat::Rgba8Unorm | TextureFormat::Rgba8UnormSrgb => false,
        TextureFormat::Bgra8Unorm | TextureFormat::Bgra8UnormSrgb => true,
        other => {
            warn(
                &mut commands,
                ViewFailed { entity, message: format!("its target has format {other:?}; use Rgba8UnormSrgb") },
            );
            commands.entity(entity).try_remove::<CaptureView>();
            return;
        }
    };
    // The bytes are taken, not copied (a copy of every view every frame on the main thread).
    let data = std::mem::take(&mut readback.event_mut().data);
    let row_bytes = if height > 0 { data.len() / height as usize } else { 0 };
    commands.entity(entity).try_insert(CapturedFrame {
        pixels: CapturedPixels::Rgba8 { width, height, row_bytes, bgra, data: Arc::new(data) },
        frame,
        time,
        instant,
        intrinsics: projection.and_then(|p| intrinsics_from_projection(p, width, height)),
    });
}

/// Shows the current frame of every [`ImageSequence`].
pub(crate) fn play_sequences(
    mut commands: Commands,
    mut sequences: Query<(Entity, &mut ImageSequence), With<CaptureView>>,
    frame: Res<FrameCount>,
    time: Res<Time>,
) {
    let now = time.elapsed_secs_f64();
    for (entity, mut sequence) in &mut sequences {
        let started = *sequence.started.get_or_insert(now);
        let Some(i) = sequence.frame_at(now - started) else { continue };
        if sequence.shown == Some(i) {
            continue;
        }
        sequence.shown = Some(i);
        commands.entity(entity).try_insert(CapturedFrame {
            pixels: CapturedPixels::File(sequence.frames[i].clone()),
            frame: frame.0,
            time: now,
            instant: Instant::now(),
            intrinsics: Some(sequence.intrinsics),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_backs_become_rgb_in_either_channel_order_with_padded_rows() {
        // 16 x 16 pixels, rows padded to 72 bytes; pixel (x, y) has channels (x, y, 200, 255).
        let (n, row_bytes) = (16usize, 72usize);
        let mut data = vec![0u8; row_bytes * n];
        for y in 0..n {
            for x in 0..n {
                data[y * row_bytes + x * 4..][..4].copy_from_slice(&[x as u8, y as u8, 200, 255]);
            }
        }
        let pixels =
            |bgra| CapturedPixels::Rgba8 { width: 16, height: 16, row_bytes, bgra, data: Arc::new(data.clone()) };
        let rgb = pixels(false).to_rgb().unwrap_or_else(|e| panic!("{e}"));
        let bgr = pixels(true).to_rgb().unwrap_or_else(|e| panic!("{e}"));
        for (x, y) in [(0, 0), (15, 0), (3, 7), (15, 15)] {
            let i = (y * n + x) * 3;
            assert_eq!(rgb.as_raw()[i..i + 3], [x as u8, y as u8, 200], "({x}, {y})");
            assert_eq!(bgr.as_raw()[i..i + 3], [200, y as u8, x as u8], "({x}, {y})");
        }
        // A buffer cut short is refused, naming the sizes.
        let short =
            CapturedPixels::Rgba8 { width: 16, height: 16, row_bytes, bgra: false, data: Arc::new(vec![0; 100]) };
        assert!(matches!(short.to_rgb(), Err(DetectError::BufferSize { got: 100, .. })));
        // An image already in memory is shared, not copied.
        let image = Arc::new(RgbImage::new(16, 16, vec![7; 16 * 16 * 3]).unwrap_or_else(|e| panic!("{e}")));
        let shared = CapturedPixels::Rgb(image.clone()).to_rgb().unwrap_or_else(|e| panic!("{e}"));
        assert!(Arc::ptr_eq(&image, &shared));
    }
}
