//! The landmark crop on the GPU: [`crate::detect::image`]'s affine warp (`crop.wgsl`) reading a
//! texture that holds the camera's frame, writing the network's input buffer.

use wgpu::util::DeviceExt;

use super::{GpuContext, buffer, compute_pipelines, entry};
use crate::detect::image::{Border, Warp};

/// A frame on the GPU to crop from: a view of a 2D texture with 8-bit colour (RGBA or BGRA, linear
/// or sRGB).
#[derive(Clone, Debug)]
pub struct CropSource {
    /// The texture's view (the texture needs `TEXTURE_BINDING` usage).
    pub view: wgpu::TextureView,
    /// Width and height in pixels.
    pub size: [u32; 2],
    /// Whether the texture's format is sRGB (reads decode it; the crop wants the stored bytes, as
    /// a read-back gives them).
    pub srgb: bool,
}

impl CropSource {
    /// The whole of `texture` as a source.
    pub fn of_texture(texture: &wgpu::Texture) -> Self {
        Self {
            view: texture.create_view(&wgpu::TextureViewDescriptor::default()),
            size: [texture.width(), texture.height()],
            srgb: texture.format().is_srgb(),
        }
    }
}

/// The crop pipeline.
#[derive(Debug)]
pub struct GpuCrop {
    device: wgpu::Device,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl GpuCrop {
    /// Compiles the crop shader on `context`'s device.
    pub fn new(context: &GpuContext) -> Self {
        let device = &context.device;
        let texture = wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        };
        let (layout, mut pipelines) = compute_pipelines(
            device,
            "cmanet crop",
            include_str!("crop.wgsl"),
            &[
                entry(0, buffer(wgpu::BufferBindingType::Uniform)),
                entry(1, texture),
                entry(2, buffer(wgpu::BufferBindingType::Storage { read_only: false })),
            ],
            &["warp"],
        );
        let pipeline = pipelines.remove(0);
        Self { device: device.clone(), layout, pipeline }
    }

    /// Encodes the crop of `source` by `warp` into `out` (`size x size x 3` values, NHWC).
    pub(crate) fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        source: &CropSource,
        size: usize,
        warp: &Warp,
        out: &wgpu::Buffer,
    ) {
        let floats =
            [warp.origin[0], warp.origin[1], warp.du[0], warp.du[1], warp.dv[0], warp.dv[1], warp.scale, warp.offset];
        let words = [size as u32, (warp.border == Border::Replicate) as u32, source.srgb as u32, 0];
        let contents: Vec<u8> =
            floats.iter().flat_map(|v| v.to_le_bytes()).chain(words.iter().flat_map(|v| v.to_le_bytes())).collect();
        let uniform = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("cmanet crop parameters"),
            contents: &contents,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("cmanet crop"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&source.view) },
                wgpu::BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
            ],
        });
        let mut pass = encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("cmanet crop"), timestamp_writes: None });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let groups = (size as u32).div_ceil(8);
        pass.dispatch_workgroups(groups, groups, 1);
    }

    /// Crops `source` on the GPU and reads the result back: `size x size x 3` values, NHWC, the
    /// output pixel centre `(u + 0.5, v + 0.5)` at image point `origin + (u + 0.5) du + (v + 0.5) dv`,
    /// each byte `b` as `b * scale + offset`, black outside the image or the nearest edge pixel
    /// (`replicate`). The GPU twin of the CPU's crop, for checks.
    #[allow(clippy::too_many_arguments)]
    pub fn crop(
        &self,
        context: &GpuContext,
        source: &CropSource,
        size: usize,
        origin: [f32; 2],
        du: [f32; 2],
        dv: [f32; 2],
        replicate: bool,
        scale: f32,
        offset: f32,
    ) -> Result<Vec<f32>, super::GpuError> {
        let n = (size * size * 3 * 4) as u64;
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cmanet crop"),
            size: n,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cmanet crop read-back"),
            size: n,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("cmanet crop") });
        let border = if replicate { Border::Replicate } else { Border::Zero };
        self.encode(&mut encoder, source, size, &Warp { origin, du, dv, border, scale, offset }, &out);
        encoder.copy_buffer_to_buffer(&out, 0, &staging, 0, n);
        let submission = context.queue.submit([encoder.finish()]);
        super::read_back(&self.device, submission, &staging)
    }
}
