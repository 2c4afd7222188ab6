//! A compiled [`Network`] on a wgpu device: its weights in storage buffers, its activations in
//! buffers shared by slots whose lives do not overlap, one bind group and one dispatch per op
//! (per input for a concatenation), all built once; a run uploads the input (or lets the caller
//! encode what writes it), dispatches every op in one compute pass and reads the outputs back.

use std::sync::Mutex;

use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError, buffer, compute_pipelines, entry};
use crate::compute::matmul::Activation;
use crate::detect::graph::{Kind, Network, Op, Output};
use crate::detect::kernels::Window;

/// Values per workgroup of `network.wgsl` (its `WORKGROUP`).
const WORKGROUP: u32 = 64;
/// The most workgroups in one dimension of a dispatch (WebGPU's minimum limit).
const MAX_GROUPS: u32 = 65535;

/// One dispatch: the entry point, its bind group and its size in values.
#[derive(Debug)]
struct Dispatch {
    pipeline: usize,
    bind_group: wgpu::BindGroup,
    values: u32,
}

/// The entry points of `network.wgsl`, in the order of `GpuNetwork::pipelines`.
const ENTRY_POINTS: [&str; 9] =
    ["conv", "depthwise", "max_pool", "add", "pad", "resize", "depth_to_space", "copy_into", "logistic"];

/// A BlazePose network on the GPU: the same ops as the [`Network`] it was built from.
#[derive(Debug)]
pub struct GpuNetwork {
    context: GpuContext,
    pipelines: Vec<wgpu::ComputePipeline>,
    dispatches: Vec<Dispatch>,
    input: wgpu::Buffer,
    input_len: usize,
    /// The outputs: name, shape, buffer, and byte offset in `staging`.
    outputs: Vec<(String, Vec<usize>, wgpu::Buffer, u64)>,
    /// The outputs, one after the other, read back.
    staging: wgpu::Buffer,
    /// Runs share the buffers, so they take turns.
    running: Mutex<()>,
}

fn act_code(act: Activation) -> u32 {
    match act {
        Activation::None => 0,
        Activation::Relu => 1,
        Activation::Relu6 => 2,
    }
}

fn window_params(win: &Window, cin: usize, cout: usize, act: u32, residual: bool) -> Vec<u32> {
    [
        win.in_hw[0],
        win.in_hw[1],
        cin,
        win.out_hw[0],
        win.out_hw[1],
        cout,
        win.kernel[0],
        win.kernel[1],
        win.stride[0],
        win.stride[1],
        win.pad[0],
        win.pad[2],
    ]
    .iter()
    .map(|&v| v as u32)
    .chain([act, residual as u32])
    .collect()
}

fn bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl GpuNetwork {
    /// Builds `network` on `context`'s device: compiles the shaders, uploads the weights and lays
    /// out the activations.
    pub fn new(context: &GpuContext, network: &Network) -> Result<Self, GpuError> {
        let device = &context.device;
        let too_big = |what: &str, n: usize| -> Result<(), GpuError> {
            let limit = device.limits().max_storage_buffer_binding_size;
            if (n * 4) as u64 > limit {
                return Err(GpuError::Limits(format!("{what}: {} bytes, the device binds at most {limit}", n * 4)));
            }
            Ok(())
        };
        let storage = |binding, read_only| entry(binding, buffer(wgpu::BufferBindingType::Storage { read_only }));
        let (layout, pipelines) = compute_pipelines(
            device,
            "cmanet blazepose network",
            include_str!("network.wgsl"),
            &[
                entry(0, buffer(wgpu::BufferBindingType::Uniform)),
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, true),
                storage(5, false),
            ],
            &ENTRY_POINTS,
        );

        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let weights = |label: &str, values: &[f32]| -> Result<wgpu::Buffer, GpuError> {
            too_big(label, values.len())?;
            Ok(device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes(if values.is_empty() { &[0.0] } else { values }),
                usage: wgpu::BufferUsages::STORAGE,
            }))
        };
        // Bound where an entry point reads nothing.
        let unused = weights("unused", &[0.0])?;

        // Activation buffers: each slot takes the smallest free buffer that holds it (or a new
        // one) when its op runs; slots go back to the free list after their last reader.
        let values = |slot: usize| network.shapes[slot].iter().product::<usize>().max(1);
        let mut activations = Activations { device, usage, buffers: Vec::new(), free: Vec::new() };
        let mut slot_buffer: Vec<Option<usize>> = vec![None; network.shapes.len()];
        let assign = |slot: usize, activations: &mut Activations, slot_buffer: &mut [Option<usize>]| {
            let n = values(slot);
            too_big("an activation", n)?;
            let b = activations.take(n);
            slot_buffer[slot] = Some(b);
            Ok::<usize, GpuError>(b)
        };
        let input_buffer = assign(network.input_slot, &mut activations, &mut slot_buffer)?;
        let mut plan: Vec<Planned> = Vec::new();
        for op in &network.ops {
            let input = |k: usize, slot_buffer: &[Option<usize>]| -> Result<usize, GpuError> {
                op.inputs.get(k).and_then(|&s| slot_buffer[s]).ok_or_else(|| {
                    GpuError::Detect(crate::detect::DetectError::Internal(format!("{}: input {k} missing", op.name)))
                })
            };
            let x0 = input(0, &slot_buffer)?;
            let n_out = values(op.output);
            let out = assign(op.output, &mut activations, &mut slot_buffer)?;
            let mut steps = op_steps(op, network, n_out)?;
            for step in &mut steps {
                let second = match step.second_input {
                    Some(k) => Some(input(k, &slot_buffer)?),
                    None => None,
                };
                let first = match step.first_input {
                    0 => x0,
                    k => input(k, &slot_buffer)?,
                };
                let params = std::mem::take(&mut step.params);
                let w =
                    step.weights.take().map(|(w, b)| Ok::<_, GpuError>((weights(&op.name, w)?, weights(&op.name, b)?)));
                plan.push(Planned {
                    pipeline: step.pipeline,
                    params,
                    inputs: [Some(first), second],
                    weights: w.transpose()?,
                    output: out,
                });
            }
            for &s in &op.frees {
                if let Some(b) = slot_buffer[s]
                    && network.outputs.iter().all(|(_, o)| slot_buffer[*o] != Some(b))
                {
                    activations.give_back(b);
                }
            }
        }
        let dispatches = plan
            .into_iter()
            .map(|Planned { pipeline, params, inputs: [x0, x1], weights: w, output: out }| {
                let mut words = params;
                words.resize(32, 0);
                let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("cmanet op parameters"),
                    contents: &words.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
                let buffer = |b: Option<usize>| b.map_or(&unused, |b| &activations.buffers[b].1);
                let (wb, bb) = match &w {
                    Some((w, b)) => (w, b),
                    None => (&unused, &unused),
                };
                fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
                    wgpu::BindGroupEntry { binding, resource: buffer.as_entire_binding() }
                }
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("cmanet op"),
                    layout: &layout,
                    entries: &[
                        entry(0, &uniform),
                        entry(1, buffer(x0)),
                        entry(2, buffer(x1)),
                        entry(3, wb),
                        entry(4, bb),
                        entry(5, &activations.buffers[out].1),
                    ],
                });
                Dispatch { pipeline, bind_group, values: words[0] }
            })
            .collect();
        let mut offset = 0u64;
        let outputs = network
            .outputs
            .iter()
            .map(|(name, slot)| {
                let shape = network.shapes[*slot].clone();
                let b = slot_buffer[*slot].ok_or_else(|| {
                    GpuError::Detect(crate::detect::DetectError::Internal(format!("output {name} never made")))
                })?;
                let at = offset;
                offset += (values(*slot) * 4) as u64;
                // An output's buffer is never shared (outputs are never freed), so it is kept.
                Ok((name.clone(), shape, activations.buffers[b].1.clone(), at))
            })
            .collect::<Result<Vec<_>, GpuError>>()?;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cmanet outputs read-back"),
            size: offset.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            context: context.clone(),
            pipelines,
            dispatches,
            input: activations.buffers[input_buffer].1.clone(),
            input_len: values(network.input_slot),
            outputs,
            staging,
            running: Mutex::new(()),
        })
    }

    /// The buffer holding the network's input (NHWC `f32`), for a pass that writes it on the GPU.
    pub fn input_buffer(&self) -> &wgpu::Buffer {
        &self.input
    }

    /// Runs the network on `input` (NHWC, already scaled as [`Network::run`] takes it).
    pub fn run(&self, input: &[f32]) -> Result<Vec<Output>, GpuError> {
        if input.len() != self.input_len {
            return Err(GpuError::InputSize { expected: self.input_len, got: input.len() });
        }
        self.run_with(|_| self.context.queue.write_buffer(&self.input, 0, &bytes(input)))
    }

    /// Runs the network on what `write_input` encodes into [`GpuNetwork::input_buffer`] (a crop
    /// from a texture), and reads the outputs back.
    pub fn run_with(&self, write_input: impl FnOnce(&mut wgpu::CommandEncoder)) -> Result<Vec<Output>, GpuError> {
        let _turn = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let device = &self.context.device;
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("cmanet network") });
        write_input(&mut encoder);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("cmanet network"),
                timestamp_writes: None,
            });
            for d in &self.dispatches {
                pass.set_pipeline(&self.pipelines[d.pipeline]);
                pass.set_bind_group(0, &d.bind_group, &[]);
                let groups = d.values.div_ceil(WORKGROUP).max(1);
                let x = groups.min(MAX_GROUPS);
                pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
            }
        }
        for (_, shape, buffer, at) in &self.outputs {
            encoder.copy_buffer_to_buffer(buffer, 0, &self.staging, *at, (shape.iter().product::<usize>() * 4) as u64);
        }
        let submission = self.context.queue.submit([encoder.finish()]);
        let values = super::read_back(device, submission, &self.staging)?;
        let outs = self
            .outputs
            .iter()
            .map(|(name, shape, _, at)| {
                let start = (*at / 4) as usize;
                let data = values[start..start + shape.iter().product::<usize>()].to_vec();
                Output { name: name.clone(), shape: shape.clone(), data }
            })
            .collect();
        Ok(outs)
    }
}

/// The activation buffers as they are laid out: each slot takes the smallest free buffer that
/// holds it (or a new one) when its op runs, and gives it back after its last reader.
struct Activations<'a> {
    device: &'a wgpu::Device,
    usage: wgpu::BufferUsages,
    /// Each buffer with its size in values.
    buffers: Vec<(usize, wgpu::Buffer)>,
    free: Vec<usize>,
}

impl Activations<'_> {
    /// A buffer of at least `n` values.
    fn take(&mut self, n: usize) -> usize {
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| self.buffers[**b].0 >= n)
            .min_by_key(|(_, b)| self.buffers[**b].0)
            .map(|(i, _)| i);
        match best {
            Some(i) => self.free.swap_remove(i),
            None => {
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("cmanet activation"),
                    size: (n * 4) as u64,
                    usage: self.usage,
                    mapped_at_creation: false,
                });
                self.buffers.push((n, buffer));
                self.buffers.len() - 1
            }
        }
    }

    /// Buffer `b` is free again.
    fn give_back(&mut self, b: usize) {
        if !self.free.contains(&b) {
            self.free.push(b);
        }
    }
}

/// One dispatch with its buffers (indices into the activations), before its bind group.
struct Planned {
    pipeline: usize,
    params: Vec<u32>,
    inputs: [Option<usize>; 2],
    weights: Option<(wgpu::Buffer, wgpu::Buffer)>,
    output: usize,
}

/// One dispatch of an op before its buffers are known.
struct Step<'a> {
    pipeline: usize,
    params: Vec<u32>,
    /// The op input read as `x0` (0: the first).
    first_input: usize,
    /// The op input read as `x1`, if any.
    second_input: Option<usize>,
    weights: Option<(&'a [f32], &'a [f32])>,
}

/// The dispatches of `op` (more than one for a concatenation).
fn op_steps<'a>(op: &'a Op, network: &Network, n_out: usize) -> Result<Vec<Step<'a>>, GpuError> {
    let n = n_out as u32;
    let step = |pipeline: usize, rest: Vec<u32>| Step {
        pipeline,
        params: std::iter::once(n).chain(rest).collect(),
        first_input: 0,
        second_input: None,
        weights: None,
    };
    Ok(match &op.kind {
        Kind::Conv { win, cin, cout, weights, bias, act, residual, .. } => Step {
            second_input: residual.then_some(1),
            weights: Some((weights, bias)),
            ..step(0, window_params(win, *cin, *cout, act_code(*act), *residual))
        }
        .into_vec(),
        Kind::Depthwise { win, channels, weights, bias, act } => Step {
            weights: Some((weights, bias)),
            ..step(1, window_params(win, *channels, *channels, act_code(*act), false))
        }
        .into_vec(),
        Kind::MaxPool { win, channels } => step(2, window_params(win, *channels, *channels, 0, false)).into_vec(),
        Kind::Add(act) => {
            let mut params = vec![0; 13];
            params[12] = act_code(*act);
            Step { second_input: Some(1), ..step(3, params) }.into_vec()
        }
        Kind::Pad(pads) => {
            let s = &network.shapes[op.inputs[0]];
            let mut params: Vec<u32> = s.iter().map(|&v| v as u32).collect();
            params.extend(op.out_shape.iter().map(|&v| v as u32));
            params.extend(pads.iter().map(|p| p[0] as u32));
            if params.len() != 12 {
                return Err(GpuError::Limits(format!("{}: PAD needs 4D shapes", op.name)));
            }
            step(4, params).into_vec()
        }
        Kind::Resize { channels } => {
            let s = &network.shapes[op.inputs[0]];
            step(5, vec![s[1] as u32, s[2] as u32, *channels as u32, op.out_shape[1] as u32, op.out_shape[2] as u32])
                .into_vec()
        }
        Kind::DepthToSpace(block) => {
            let s = &network.shapes[op.inputs[0]];
            step(6, vec![s[1] as u32, s[2] as u32, s[3] as u32, *block as u32]).into_vec()
        }
        Kind::Reshape => step(7, vec![1, n, n, 0]).into_vec(),
        Kind::Concat(axis) => {
            let outer: usize = op.out_shape[..*axis].iter().product::<usize>().max(1);
            let inner_out: usize = op.out_shape[*axis..].iter().product();
            let mut pos = 0;
            let mut steps = Vec::new();
            for (k, &slot) in op.inputs.iter().enumerate() {
                let len: usize = network.shapes[slot].iter().product();
                let chunk = len / outer;
                steps.push(Step {
                    params: vec![len as u32, outer as u32, chunk as u32, inner_out as u32, pos as u32],
                    first_input: k,
                    ..step(7, Vec::new())
                });
                pos += chunk;
            }
            steps
        }
        Kind::Logistic => step(8, Vec::new()).into_vec(),
    })
}

impl<'a> Step<'a> {
    fn into_vec(self) -> Vec<Step<'a>> {
        vec![self]
    }
}
