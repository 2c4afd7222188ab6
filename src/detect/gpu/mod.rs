//! The BlazePose networks on a wgpu device (feature `wgpu`): the interpreter's ops
//! ([`super::graph`]) as WGSL compute shaders (`network.wgsl`), and the landmark crop read straight
//! from a texture (`crop.wgsl`), so that a camera rendered on the GPU gives its keypoints without
//! its frame leaving the GPU. The device is any wgpu device: Bevy's `RenderDevice` in the plugin,
//! or one of its own ([`GpuContext::headless`]) for tests and tools.
//!
//! The shaders compute one output value per invocation with the CPU kernels' arithmetic; sums run
//! in another order, so outputs agree with [`Network::run`] to float rounding (`tests/gpu.rs`
//! checks them on Mesa's software Vulkan). They are written to be correct and simple, not tuned for
//! any GPU.

mod crop;
mod network;

pub use crop::{CropSource, GpuCrop};
pub use network::GpuNetwork;
/// The wgpu these types take, re-exported so that callers name the same version.
pub use wgpu;

use std::sync::Arc;

use super::graph::Output;
use super::image::Warp;
use super::pose::{CROP_SIZE, DETECTOR_SIZE, detector_warp, landmark_warp, landmark_warp_mirrored};
use super::{DetectError, Detection, Pose, PoseDetector, PoseFinder, RgbImage, Roi};

/// What can go wrong on the GPU path.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No GPU adapter answered (for a device of our own).
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    /// The adapter refused a device.
    #[error("the GPU refused a device: {0}")]
    Device(String),
    /// A network input of the wrong size.
    #[error("network input has {got} values, expected {expected}")]
    InputSize {
        /// Values expected.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// The network does not fit the device's limits.
    #[error("{0}")]
    Limits(String),
    /// Reading results back failed (a lost device, a failed submission).
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    /// Decoding the network's outputs failed.
    #[error(transparent)]
    Detect(#[from] DetectError),
}

/// A wgpu device and its queue, shared by the networks that run on it.
#[derive(Clone, Debug)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
}

impl GpuContext {
    /// A context on an existing device (Bevy's `RenderDevice::wgpu_device()` and its queue).
    pub fn new(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        Self { device, queue }
    }

    /// A device of our own on the first adapter that answers (any backend the build has; on Linux
    /// without a GPU, Mesa's software Vulkan, lavapipe), with default limits.
    pub fn headless() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        }))
        .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("cmanet"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(Self { device, queue })
    }

    /// `image` as a new texture of `format` (8-bit RGBA, linear or sRGB: the bytes are stored as
    /// they are, alpha opaque) that [`CropSource::of_texture`] can read: for frames that start on
    /// the CPU, tests and benchmarks.
    pub fn upload(&self, image: &RgbImage, format: wgpu::TextureFormat) -> wgpu::Texture {
        let size = wgpu::Extent3d { width: image.width(), height: image.height(), depth_or_array_layers: 1 };
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("cmanet frame"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let rgba: Vec<u8> = image.as_raw().chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
        let layout =
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(4 * image.width()), rows_per_image: None };
        self.queue.write_texture(texture.as_image_copy(), &rgba, layout, size);
        texture
    }

    /// The adapter's name as the device reports it, for logs.
    pub fn describe(&self) -> String {
        format!("{:?}", self.device.adapter_info().name)
    }
}

/// A binding of a compute shader's bind group layout.
fn entry(binding: u32, ty: wgpu::BindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry { binding, visibility: wgpu::ShaderStages::COMPUTE, ty, count: None }
}

/// A whole-buffer binding type.
fn buffer(ty: wgpu::BufferBindingType) -> wgpu::BindingType {
    wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None }
}

/// Compiles the WGSL `source` and makes one compute pipeline per entry point of `entry_points`,
/// all over one bind group layout of `entries` (group 0), which is returned with them.
fn compute_pipelines(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
    entry_points: &[&str],
) -> (wgpu::BindGroupLayout, Vec<wgpu::ComputePipeline>) {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipelines = entry_points
        .iter()
        .map(|entry| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        })
        .collect();
    (layout, pipelines)
}

/// Waits for `submission` and returns the `f32` values of `staging` (a `MAP_READ` buffer it
/// copies into).
fn read_back(
    device: &wgpu::Device,
    submission: wgpu::SubmissionIndex,
    staging: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    device
        .poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: None })
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    receiver.recv().map_err(|e| GpuError::Readback(e.to_string()))?.map_err(|e| GpuError::Readback(e.to_string()))?;
    let values = {
        let view = staging.slice(..).get_mapped_range();
        view.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    staging.unmap();
    Ok(values)
}

/// Runs a future that completes without an executor's help (wgpu's native futures are ready
/// once polled, as the device is polled in between).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
    fn noop(_: *const ()) {}
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions do nothing with the null data pointer.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// BlazePose on the GPU, fed by crops of a texture: the person detector and the landmark network
/// of a [`PoseDetector`] (whose anchors, thresholds and decoding it shares), each network's input
/// cropped from the texture on the GPU, only the networks' outputs read back.
#[derive(Debug)]
pub struct GpuPoseDetector {
    cpu: Arc<PoseDetector>,
    crop: GpuCrop,
    detector: GpuNetwork,
    landmark: GpuNetwork,
}

impl GpuPoseDetector {
    /// The networks of `detector` on `context`'s device.
    pub fn new(context: &GpuContext, detector: Arc<PoseDetector>) -> Result<Self, GpuError> {
        Ok(Self {
            crop: GpuCrop::new(context),
            detector: GpuNetwork::new(context, detector.detector_network())?,
            landmark: GpuNetwork::new(context, detector.landmark_network())?,
            cpu: detector,
        })
    }

    /// The landmark network's raw outputs for the crop of `roi` in `source` (as
    /// [`super::Network::run`] gives them for [`PoseDetector::crop`]).
    pub fn landmark_outputs(&self, source: &CropSource, roi: &Roi) -> Result<Vec<Output>, GpuError> {
        self.outputs_of_crop(source, &landmark_warp(roi))
    }

    /// The landmark network's raw outputs for the crop `warp` cuts from `source`.
    fn outputs_of_crop(&self, source: &CropSource, warp: &Warp) -> Result<Vec<Output>, GpuError> {
        self.landmark
            .run_with(|encoder| self.crop.encode(encoder, source, CROP_SIZE, warp, self.landmark.input_buffer()))
    }

    /// Landmarks of the person in `roi`, or `None` when the pose flag is below the detector's
    /// `min_pose_score`, with its `mirror_average` (as [`PoseDetector::landmarks_in`]).
    pub fn landmarks_in(&self, source: &CropSource, roi: &Roi) -> Result<Option<Pose>, GpuError> {
        if !roi.is_usable() {
            return Ok(None);
        }
        let outs = self.landmark_outputs(source, roi)?;
        if !self.cpu.mirror_average {
            return Ok(self.cpu.pose_in_outputs(&outs, roi, source.size)?);
        }
        let mirrored = self.outputs_of_crop(source, &landmark_warp_mirrored(roi))?;
        Ok(self.cpu.pose_in_mirrored_outputs(&outs, &mirrored, roi, source.size)?)
    }

    /// Every person the detector finds in `source`, best first (as [`PoseDetector::detect_people`]).
    pub fn detect_people(&self, source: &CropSource) -> Result<Vec<Detection>, GpuError> {
        let (warp, origin, side) = detector_warp(source.size);
        let outs = self.detector.run_with(|encoder| {
            self.crop.encode(encoder, source, DETECTOR_SIZE, &warp, self.detector.input_buffer())
        })?;
        Ok(self.cpu.people_in_outputs(&outs, origin, side)?)
    }

    /// This detector on one frame, for [`super::PoseTracker::track_with`].
    pub fn on<'a>(&'a self, source: &'a CropSource) -> OnTexture<'a> {
        OnTexture { detector: self, source }
    }
}

/// A [`GpuPoseDetector`] on one frame: what a [`super::PoseTracker`] tracks through.
#[derive(Debug)]
pub struct OnTexture<'a> {
    detector: &'a GpuPoseDetector,
    source: &'a CropSource,
}

impl PoseFinder for OnTexture<'_> {
    type Error = GpuError;
    fn people(&self) -> Result<Vec<Detection>, GpuError> {
        self.detector.detect_people(self.source)
    }
    fn landmarks_in(&self, roi: &Roi) -> Result<Option<Pose>, GpuError> {
        self.detector.landmarks_in(self.source, roi)
    }
}
