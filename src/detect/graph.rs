//! The BlazePose networks as a small graph interpreter: the op list that `tools/convert_blazepose.py`
//! stores as JSON in each model file's metadata (the TFLite graph with DEQUANTIZE and DENSIFY folded
//! away), compiled once at load time into ops with their weights in kernel layout, then run on NHWC
//! `f32` buffers that are freed after their last use.
//!
//! The graph JSON and the weight layout are documented in the script (`GRAPH_DOC`); its
//! `numpy_forward` is the specification this interpreter follows op for op.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use serde_json::Value;

use super::DetectError;
use super::kernels::{self, Window};
use crate::compute::matmul::{self, Activation, PackedWeights};
use crate::compute::sparse::{self, SparseWeights};

/// The format tag of a converted BlazePose model file.
pub const MODEL_FORMAT: &str = "cmanet-blazepose-1";

#[derive(Deserialize)]
struct GraphJson {
    inputs: Vec<IoJson>,
    outputs: Vec<IoJson>,
    tensors: HashMap<String, TensorJson>,
    ops: Vec<OpJson>,
}

#[derive(Deserialize)]
struct IoJson {
    tensor: usize,
    name: String,
}

#[derive(Deserialize)]
struct TensorJson {
    shape: Vec<i64>,
}

#[derive(Deserialize)]
struct OpJson {
    op: String,
    inputs: Vec<Option<InputJson>>,
    outputs: Vec<usize>,
    options: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct InputJson {
    tensor: Option<usize>,
    param: Option<String>,
    value: Option<Vec<i64>>,
}

/// A compiled op.
#[derive(Debug)]
pub(crate) enum Kind {
    /// `residual`: the input index of a fused ADD's other operand (added before the activation).
    Conv {
        win: Window,
        cin: usize,
        cout: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        act: Activation,
        residual: bool,
        /// The weights packed for the AVX2 kernel (when the CPU has it).
        packed: Option<PackedWeights>,
        /// A pointwise layer's nonzero weights, where most are zero and the sparse product pays
        /// off on this CPU ([`SparseWeights::pays_off`]).
        sparse: Option<SparseWeights>,
    },
    Depthwise {
        win: Window,
        channels: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        act: Activation,
    },
    Add(Activation),
    Pad([[usize; 2]; 4]),
    MaxPool {
        win: Window,
        channels: usize,
    },
    Resize {
        channels: usize,
    },
    DepthToSpace(usize),
    Reshape,
    Concat(usize),
    Logistic,
}

#[derive(Debug)]
pub(crate) struct Op {
    pub(crate) kind: Kind,
    /// Slots of the activation inputs.
    pub(crate) inputs: Vec<usize>,
    pub(crate) output: usize,
    pub(crate) out_shape: Vec<usize>,
    /// Slots whose last use this op is.
    pub(crate) frees: Vec<usize>,
    pub(crate) name: String,
}

impl Op {
    /// The op's name with its shape, for profiles: `op012_conv_2d 3x3/2 24->48 to 64x64`.
    fn describe(&self) -> String {
        let hw = match self.out_shape.as_slice() {
            [_, h, w, _] => format!(" to {h}x{w}"),
            _ => String::new(),
        };
        let what = match &self.kind {
            Kind::Conv { win, cin, cout, .. } => {
                format!(" {}x{}/{} {cin}->{cout}", win.kernel[0], win.kernel[1], win.stride[0])
            }
            Kind::Depthwise { win, channels, .. } => {
                format!(" {}x{}/{} {channels}", win.kernel[0], win.kernel[1], win.stride[0])
            }
            _ => String::new(),
        };
        format!("{}{what}{hw}", self.name)
    }
}

/// One output of a network run: its TFLite name, shape and values (row-major, NHWC for images).
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The TFLite output name (`Identity`, `Identity_1`, ...).
    pub name: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

impl Output {
    /// The output as a candle tensor on `device`.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor, DetectError> {
        Ok(Tensor::from_slice(&self.data, self.shape.as_slice(), device)?)
    }
}

/// A BlazePose network (detector or landmark model), ready to run.
#[derive(Debug)]
pub struct Network {
    model: String,
    pub(crate) input_slot: usize,
    input_shape: Vec<usize>,
    pub(crate) outputs: Vec<(String, usize)>,
    pub(crate) shapes: Vec<Vec<usize>>,
    pub(crate) ops: Vec<Op>,
    /// Activation buffers kept between runs, so that a run neither maps nor zeroes fresh memory:
    /// one set per run that was going at the same time (two views detected on two threads each
    /// take a set; with one shared set, one of them allocated everything afresh every frame).
    pool: Mutex<Vec<Vec<Vec<f32>>>>,
}

/// An activation: a pooled buffer and the length in use (the buffer keeps its full length, so
/// reusing it never writes it first).
struct Buf {
    data: Vec<f32>,
    len: usize,
}

impl std::ops::Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.data[..self.len]
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.data[..self.len]
    }
}

/// Takes a buffer of `n` values from the pool (best fit; contents unspecified) or allocates one.
fn take(pool: &mut Vec<Vec<f32>>, n: usize) -> Buf {
    let best = pool.iter().enumerate().filter(|(_, v)| v.len() >= n).min_by_key(|(_, v)| v.len()).map(|(i, _)| i);
    let data = match best {
        Some(i) => pool.swap_remove(i),
        None => vec![0.0; n],
    };
    Buf { data, len: n }
}

/// Frees every slot after its last use by an op (never the outputs).
fn assign_frees(ops: &mut [Op], outputs: &[(String, usize)], slots: usize) {
    let mut last = vec![None; slots];
    for (k, op) in ops.iter().enumerate() {
        for &s in &op.inputs {
            last[s] = Some(k);
        }
    }
    for (s, l) in last.iter().enumerate() {
        if let Some(k) = *l
            && !outputs.iter().any(|(_, o)| *o == s)
        {
            ops[k].frees.push(s);
        }
    }
}

/// Rewrites the op list for speed without changing a result beyond float rounding:
/// - a spatial zero PAD whose only reader is a convolution becomes that convolution's padding;
/// - an ADD of a convolution's output (no activation, read only by the ADD) and another tensor
///   becomes the convolution accumulating onto that tensor, with the ADD's activation, run where
///   the ADD was.
fn fuse(ops: &mut Vec<Op>, outputs: &[(String, usize)], shapes: &[Vec<usize>]) {
    let readers = |ops: &[Op], slot: usize| -> usize {
        ops.iter().map(|o| o.inputs.iter().filter(|&&s| s == slot).count()).sum::<usize>()
            + outputs.iter().filter(|(_, s)| *s == slot).count()
    };
    // PAD into convolutions.
    let mut i = 0;
    while i < ops.len() {
        let fusable = match &ops[i].kind {
            Kind::Pad(p) if p[0] == [0, 0] && p[3] == [0, 0] && readers(ops, ops[i].output) == 1 => {
                let (slot, pads, src) = (ops[i].output, *p, ops[i].inputs[0]);
                ops.iter()
                    .position(|o| {
                        o.inputs.first() == Some(&slot) && matches!(o.kind, Kind::Conv { .. } | Kind::Depthwise { .. })
                    })
                    .map(|j| (j, pads, src))
            }
            _ => None,
        };
        if let Some((j, pads, src)) = fusable {
            if let Kind::Conv { win, .. } | Kind::Depthwise { win, .. } = &mut ops[j].kind {
                win.pad = [
                    win.pad[0] + pads[1][0],
                    win.pad[1] + pads[1][1],
                    win.pad[2] + pads[2][0],
                    win.pad[3] + pads[2][1],
                ];
                win.in_hw = [shapes[src][1], shapes[src][2]];
            }
            ops[j].inputs[0] = src;
            ops.remove(i);
            continue;
        }
        i += 1;
    }
    // Residual ADDs into convolutions.
    let mut j = 0;
    while j < ops.len() {
        if let Kind::Add(add_act) = ops[j].kind {
            for (conv_in, other_in) in [(1, 0), (0, 1)] {
                let slot = ops[j].inputs[conv_in];
                let other = ops[j].inputs[other_in];
                let Some(i) = ops.iter().position(|o| o.output == slot) else { continue };
                let ok = matches!(ops[i].kind, Kind::Conv { act: Activation::None, residual: false, .. })
                    && readers(ops, slot) == 1
                    && other != slot;
                if !ok {
                    continue;
                }
                let mut conv = ops.remove(i);
                let j2 = if i < j { j - 1 } else { j };
                if let Kind::Conv { act, residual, .. } = &mut conv.kind {
                    *act = add_act;
                    *residual = true;
                }
                conv.inputs.push(other);
                conv.output = ops[j2].output;
                conv.out_shape = ops[j2].out_shape.clone();
                conv.name = format!("{}+add", conv.name);
                ops[j2] = conv;
                j = j2;
                break;
            }
        }
        j += 1;
    }
}

fn bad(path: &Path, problem: impl Into<String>) -> DetectError {
    DetectError::Model { path: path.into(), problem: problem.into() }
}

fn shape_of(t: &TensorJson) -> Option<Vec<usize>> {
    t.shape.iter().map(|&d| usize::try_from(d).ok()).collect()
}

fn activation(opts: &serde_json::Map<String, Value>) -> Result<Activation, String> {
    match opts.get("fused_activation_function").and_then(Value::as_str).unwrap_or("NONE") {
        "NONE" => Ok(Activation::None),
        "RELU" => Ok(Activation::Relu),
        "RELU6" => Ok(Activation::Relu6),
        other => Err(format!("unsupported fused activation {other}")),
    }
}

fn opt_usize(opts: &serde_json::Map<String, Value>, key: &str, default: usize) -> usize {
    opts.get(key).and_then(Value::as_u64).map_or(default, |v| v as usize)
}

fn pad_of(opts: &serde_json::Map<String, Value>) -> Result<[usize; 4], String> {
    match opts.get("pad") {
        None => Ok([0; 4]),
        Some(v) => {
            let p: Vec<usize> =
                v.as_array().into_iter().flatten().filter_map(Value::as_u64).map(|x| x as usize).collect();
            p.try_into().map_err(|_| "bad pad option".to_string())
        }
    }
}

impl Network {
    /// Loads a converted model file (`assets/models/blazepose_*.safetensors`).
    pub fn load(path: &Path) -> Result<Self, DetectError> {
        let bytes = std::fs::read(path).map_err(|source| DetectError::Io { path: path.into(), source })?;
        Self::from_bytes(&bytes, path)
    }

    /// Builds the network from the bytes of a converted model file; `path` only names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, DetectError> {
        let metadata = crate::tensor_file::safetensors_metadata(bytes).map_err(|e| bad(path, e))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(path, e.to_string()))?;
        if metadata.get("format").map(String::as_str) != Some(MODEL_FORMAT) {
            return Err(bad(path, format!("not a {MODEL_FORMAT} file")));
        }
        crate::tensor_file::check_values(bytes, crate::tensor_file::WEIGHT_LIMIT).map_err(|e| bad(path, e))?;
        let model = metadata.get("model").cloned().unwrap_or_default();
        let graph: GraphJson = serde_json::from_str(metadata.get("graph").ok_or_else(|| bad(path, "no graph"))?)
            .map_err(|e| bad(path, format!("graph: {e}")))?;

        let param = |name: &str| -> Result<(Vec<usize>, Vec<f32>), DetectError> {
            let t = st.tensor(name).map_err(|e| bad(path, format!("{name}: {e}")))?;
            let data = match t.dtype() {
                Dtype::F16 => {
                    t.data().chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
                }
                Dtype::F32 => t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                d => return Err(bad(path, format!("{name}: dtype {d:?}"))),
            };
            Ok((t.shape().to_vec(), data))
        };

        let mut slots: HashMap<usize, usize> = HashMap::new();
        let mut shapes: Vec<Vec<usize>> = Vec::new();
        let slot_of = |id: usize, slots: &mut HashMap<usize, usize>, shapes: &mut Vec<Vec<usize>>| {
            if let Some(&s) = slots.get(&id) {
                return Ok(s);
            }
            let t = graph.tensors.get(&id.to_string()).ok_or_else(|| bad(path, format!("tensor {id} unknown")))?;
            let shape = shape_of(t).ok_or_else(|| bad(path, format!("tensor {id}: bad shape")))?;
            shapes.push(shape);
            slots.insert(id, shapes.len() - 1);
            Ok::<usize, DetectError>(shapes.len() - 1)
        };
        let [input] = graph.inputs.as_slice() else {
            return Err(bad(path, "expected one input"));
        };
        let input_slot = slot_of(input.tensor, &mut slots, &mut shapes)?;

        let mut ops = Vec::new();
        for (index, op) in graph.ops.iter().enumerate() {
            let fail = |p: String| bad(path, format!("op {index} ({}): {p}", op.op));
            let mut acts = Vec::new();
            let mut params = Vec::new();
            let mut values = Vec::new();
            for i in op.inputs.iter().flatten() {
                if let Some(t) = i.tensor {
                    acts.push(
                        slots.get(&t).copied().ok_or_else(|| fail(format!("tensor {t} used before it is made")))?,
                    );
                } else if let Some(p) = &i.param {
                    params.push(param(p)?);
                } else if let Some(v) = &i.value {
                    values.push(v.clone());
                }
            }
            let [out_id] = op.outputs.as_slice() else { return Err(fail("expected one output".into())) };
            let output = slot_of(*out_id, &mut slots, &mut shapes)?;
            let out_shape = shapes[output].clone();
            let in_shape =
                |k: usize| acts.get(k).map(|&s| shapes[s].clone()).ok_or_else(|| fail("missing input".into()));
            let o = &op.options;
            let nhwc = |s: &[usize]| -> Result<[usize; 4], DetectError> {
                <[usize; 4]>::try_from(s).map_err(|_| fail(format!("expected NHWC, got {s:?}")))
            };
            let kind = match op.op.as_str() {
                "CONV_2D" | "DEPTHWISE_CONV_2D" => {
                    let [(ws, w), (bs, b)] = <[_; 2]>::try_from(params).map_err(|_| fail("weight and bias".into()))?;
                    let [_, ih, iw, cin] = nhwc(&in_shape(0)?)?;
                    let [o_, i_, kh, kw] =
                        <[usize; 4]>::try_from(ws.as_slice()).map_err(|_| fail("weight rank".into()))?;
                    if bs != [o_] {
                        return Err(fail("bias shape".into()));
                    }
                    let stride = [opt_usize(o, "stride_h", 1), opt_usize(o, "stride_w", 1)];
                    if opt_usize(o, "dilation_h_factor", 1) != 1 || opt_usize(o, "dilation_w_factor", 1) != 1 {
                        return Err(fail("dilation is not supported".into()));
                    }
                    let pad = pad_of(o).map_err(fail)?;
                    let out_hw =
                        Window::output_size([ih, iw], [kh, kw], stride, pad).ok_or_else(|| fail("window".into()))?;
                    let win = Window { in_hw: [ih, iw], out_hw, kernel: [kh, kw], stride, pad };
                    let act = activation(o).map_err(fail)?;
                    if nhwc(&out_shape)? != [1, out_hw[0], out_hw[1], o_] {
                        return Err(fail("output shape".into()));
                    }
                    if op.op == "CONV_2D" {
                        if i_ != cin {
                            return Err(fail("input channels".into()));
                        }
                        // OIHW -> [(ky * KW + kx) * I + i][o]
                        let mut weights = vec![0.0; kh * kw * cin * o_];
                        for oc in 0..o_ {
                            for ic in 0..cin {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        weights[((ky * kw + kx) * cin + ic) * o_ + oc] =
                                            w[((oc * cin + ic) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                        {
                            let packed =
                                PackedWeights::supported().then(|| PackedWeights::new(&weights, &b, kh * kw * cin, o_));
                            let sparse = (win.is_pointwise() && SparseWeights::supported())
                                .then(|| SparseWeights::new(&weights, &b, cin, o_))
                                .filter(SparseWeights::pays_off);
                            Kind::Conv { win, cin, cout: o_, weights, bias: b, act, residual: false, packed, sparse }
                        }
                    } else {
                        if i_ != 1 || o_ != cin {
                            return Err(fail("only depth multiplier 1 is supported".into()));
                        }
                        // [C,1,KH,KW] -> [(ky * KW + kx)][c]
                        let mut weights = vec![0.0; kh * kw * cin];
                        for c in 0..cin {
                            for t in 0..kh * kw {
                                weights[t * cin + c] = w[c * kh * kw + t];
                            }
                        }
                        Kind::Depthwise { win, channels: cin, weights, bias: b, act }
                    }
                }
                "ADD" => {
                    if acts.len() != 2 || in_shape(0)? != in_shape(1)? || in_shape(0)? != out_shape {
                        return Err(fail("only same-shape ADD of two activations is supported".into()));
                    }
                    Kind::Add(activation(o).map_err(fail)?)
                }
                "PAD" => {
                    let p = values.first().ok_or_else(|| fail("no paddings".into()))?;
                    let p: Vec<usize> = p.iter().map(|&v| usize::try_from(v).unwrap_or(0)).collect();
                    if p.len() != 8 {
                        return Err(fail("paddings".into()));
                    }
                    let pads = [[p[0], p[1]], [p[2], p[3]], [p[4], p[5]], [p[6], p[7]]];
                    let s = nhwc(&in_shape(0)?)?;
                    if (0..4).any(|d| out_shape.get(d) != Some(&(s[d] + pads[d][0] + pads[d][1]))) {
                        return Err(fail("output shape".into()));
                    }
                    Kind::Pad(pads)
                }
                "MAX_POOL_2D" => {
                    let [_, ih, iw, c] = nhwc(&in_shape(0)?)?;
                    let kernel = [opt_usize(o, "filter_height", 1), opt_usize(o, "filter_width", 1)];
                    let stride = [opt_usize(o, "stride_h", 1), opt_usize(o, "stride_w", 1)];
                    let pad = pad_of(o).map_err(fail)?;
                    let out_hw =
                        Window::output_size([ih, iw], kernel, stride, pad).ok_or_else(|| fail("window".into()))?;
                    if nhwc(&out_shape)? != [1, out_hw[0], out_hw[1], c]
                        || activation(o).map_err(fail)? != Activation::None
                    {
                        return Err(fail("output shape or activation".into()));
                    }
                    Kind::MaxPool { win: Window { in_hw: [ih, iw], out_hw, kernel, stride, pad }, channels: c }
                }
                "RESIZE_BILINEAR" => {
                    let align = o.get("align_corners").and_then(Value::as_bool).unwrap_or(false);
                    let half = o.get("half_pixel_centers").and_then(Value::as_bool).unwrap_or(false);
                    if align || !half {
                        return Err(fail("only half-pixel centres are supported".into()));
                    }
                    let [_, _, _, c] = nhwc(&in_shape(0)?)?;
                    Kind::Resize { channels: c }
                }
                "DEPTH_TO_SPACE" => Kind::DepthToSpace(opt_usize(o, "block_size", 1)),
                "RESHAPE" => {
                    let n_in: usize = in_shape(0)?.iter().product();
                    if n_in != out_shape.iter().product::<usize>() {
                        return Err(fail("element count".into()));
                    }
                    Kind::Reshape
                }
                "CONCATENATION" => {
                    let rank = out_shape.len() as i64;
                    let axis = o.get("axis").and_then(Value::as_i64).unwrap_or(0);
                    let axis = if axis < 0 { axis + rank } else { axis };
                    if !(0..rank).contains(&axis) {
                        return Err(fail("axis".into()));
                    }
                    Kind::Concat(axis as usize)
                }
                "LOGISTIC" => Kind::Logistic,
                other => return Err(fail(format!("unsupported op {other}"))),
            };
            ops.push(Op {
                kind,
                inputs: acts,
                output,
                out_shape,
                frees: Vec::new(),
                name: format!("op{index:03}_{}", op.op.to_lowercase()),
            });
        }
        let outputs: Vec<(String, usize)> = graph
            .outputs
            .iter()
            .map(|o| slots.get(&o.tensor).map(|&s| (o.name.clone(), s)).ok_or_else(|| bad(path, "output never made")))
            .collect::<Result<_, _>>()?;
        fuse(&mut ops, &outputs, &shapes);
        assign_frees(&mut ops, &outputs, shapes.len());
        Ok(Self {
            model,
            input_slot,
            input_shape: shapes[input_slot].clone(),
            outputs,
            shapes,
            ops,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// The model's name in its file (`detector`, `landmark_lite`, `landmark_full`).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The input shape, NHWC (`[1, 224, 224, 3]` or `[1, 256, 256, 3]`).
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The network computing only the outputs named in `keep` (in the model's order): every op
    /// that feeds none of them is dropped, so a caller that never reads an output does not pay
    /// for it (the landmark networks' segmentation mask, [`super::PoseDetector`]). The kept
    /// outputs' values are the same. An unknown name is an error naming it.
    pub fn with_outputs(mut self, keep: &[&str]) -> Result<Self, DetectError> {
        if let Some(missing) = keep.iter().find(|k| !self.outputs.iter().any(|(n, _)| n == *k)) {
            return Err(DetectError::Internal(format!("{}: no output named {missing}", self.model)));
        }
        self.outputs.retain(|(n, _)| keep.contains(&n.as_str()));
        // Walk back from the kept outputs: an op is needed when a needed slot is its output.
        let mut needed = vec![false; self.shapes.len()];
        for (_, s) in &self.outputs {
            needed[*s] = true;
        }
        let mut keep_op = vec![false; self.ops.len()];
        for (k, op) in self.ops.iter().enumerate().rev() {
            if needed[op.output] {
                keep_op[k] = true;
                for &s in &op.inputs {
                    needed[s] = true;
                }
            }
        }
        let mut kept = keep_op.into_iter();
        self.ops.retain(|_| kept.next().unwrap_or(false));
        for op in &mut self.ops {
            op.frees.clear();
        }
        assign_frees(&mut self.ops, &self.outputs, self.shapes.len());
        Ok(self)
    }

    /// The outputs' TFLite names, in the model's output order.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Runs the network on one NHWC input (already scaled to the model's range).
    pub fn run(&self, input: &[f32]) -> Result<Vec<Output>, DetectError> {
        self.run_profiled(input, None)
    }

    /// Like [`Network::run`], adding each op's wall time in seconds to `profile[op name]`.
    pub fn run_profiled(
        &self,
        input: &[f32],
        mut profile: Option<&mut HashMap<String, f64>>,
    ) -> Result<Vec<Output>, DetectError> {
        let expected: usize = self.input_shape.iter().product();
        if input.len() != expected {
            return Err(DetectError::InputSize { expected: self.input_shape.clone(), got: input.len() });
        }
        // This run's buffers: a set left by an earlier run (one set per run that was going at the
        // same time, so that concurrent runs never allocate afresh), or a new one.
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
        let mut vals: Vec<Option<Buf>> = (0..self.shapes.len()).map(|_| None).collect();
        let mut x = take(&mut pool, input.len());
        x.copy_from_slice(input);
        vals[self.input_slot] = Some(x);
        for op in &self.ops {
            let start = profile.as_ref().map(|_| std::time::Instant::now());
            let out = self.run_op(op, &mut vals, &mut pool)?;
            vals[op.output] = Some(out);
            for &s in &op.frees {
                if let Some(v) = vals[s].take() {
                    pool.push(v.data);
                }
            }
            if let (Some(p), Some(t)) = (profile.as_deref_mut(), start) {
                *p.entry(op.describe()).or_default() += t.elapsed().as_secs_f64();
            }
        }
        let mut outs = Vec::new();
        for (name, slot) in &self.outputs {
            let buf = vals[*slot].take().ok_or_else(|| DetectError::Internal(format!("output {name} missing")))?;
            outs.push(Output { name: name.clone(), shape: self.shape(*slot), data: buf.to_vec() });
            pool.push(buf.data);
        }
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).push(pool);
        Ok(outs)
    }

    fn shape(&self, slot: usize) -> Vec<usize> {
        self.shapes[slot].clone()
    }

    fn run_op(&self, op: &Op, vals: &mut [Option<Buf>], pool: &mut Vec<Vec<f32>>) -> Result<Buf, DetectError> {
        let get = |k: usize| -> Result<&Buf, DetectError> {
            op.inputs
                .get(k)
                .and_then(|&s| vals[s].as_ref())
                .ok_or_else(|| DetectError::Internal(format!("{}: input {k} missing", op.name)))
        };
        let n_out: usize = op.out_shape.iter().product();
        let shape_in = |k: usize| self.shape(op.inputs[k]);
        let mut out = take(pool, n_out);
        match &op.kind {
            Kind::Conv { win, cin, cout, weights, bias, act, residual, packed, sparse } => {
                let x = get(0)?;
                let res = if *residual { Some(&get(1)?[..]) } else { None };
                if *cout == 1 && res.is_none() && cin % 8 == 0 {
                    // One output channel: a depthwise pass with the kernel's taps, then a sum over
                    // the channels (the weights are already [tap][channel]).
                    let mut per_channel = take(pool, n_out * cin);
                    kernels::depthwise(x, *cin, win, weights, &vec![0.0; *cin], Activation::None, &mut per_channel);
                    for (o, px) in out.iter_mut().zip(per_channel.chunks_exact(*cin)) {
                        *o = bias[0] + px.iter().sum::<f32>();
                    }
                    pool.push(per_channel.data);
                    act.apply(&mut out);
                } else if *cout == 1 && res.is_none() {
                    kernels::conv_single_output(x, *cin, win, weights, bias[0], &mut out);
                    act.apply(&mut out);
                } else {
                    let m = win.out_hw[0] * win.out_hw[1];
                    let pointwise = win.is_pointwise();
                    let k = win.kernel[0] * win.kernel[1] * cin;
                    // (A pad fused into the layer after loading makes it no longer pointwise.)
                    match (sparse.as_ref().filter(|_| pointwise), packed) {
                        (Some(s), _) => {
                            let mut scratch = take(pool, s.scratch_len());
                            sparse::matmul_sparse(m, x, s, res, *act, &mut scratch, &mut out);
                            pool.push(scratch.data);
                        }
                        (None, Some(p)) if pointwise => matmul::matmul_packed(m, x, p, res, *act, &mut out),
                        (None, Some(p)) => {
                            // im2col in blocks of pixels that stay in cache, each multiplied at once.
                            const BLOCK: usize = 96;
                            let mut cols = take(pool, BLOCK * k);
                            for p0 in (0..m).step_by(BLOCK) {
                                let p1 = (p0 + BLOCK).min(m);
                                kernels::im2col_range(x, *cin, win, p0..p1, &mut cols[..(p1 - p0) * k]);
                                let r = res.map(|r| &r[p0 * cout..p1 * cout]);
                                matmul::matmul_packed(
                                    p1 - p0,
                                    &cols[..(p1 - p0) * k],
                                    p,
                                    r,
                                    *act,
                                    &mut out[p0 * cout..p1 * cout],
                                );
                            }
                            pool.push(cols.data);
                        }
                        (None, None) if pointwise => {
                            matmul::matmul_bias(m, k, *cout, x, weights, bias, res, *act, &mut out)
                        }
                        (None, None) => {
                            let mut cols = take(pool, m * k);
                            kernels::im2col(x, *cin, win, &mut cols);
                            matmul::matmul_bias(m, k, *cout, &cols, weights, bias, res, *act, &mut out);
                            pool.push(cols.data);
                        }
                    }
                }
            }
            Kind::Depthwise { win, channels, weights, bias, act } => {
                kernels::depthwise(get(0)?, *channels, win, weights, bias, *act, &mut out);
            }
            Kind::Add(act) => {
                let (a, b) = (get(0)?, get(1)?);
                for ((o, x), y) in out.iter_mut().zip(a.iter()).zip(b.iter()) {
                    *o = x + y;
                }
                act.apply(&mut out);
            }
            Kind::Pad(pads) => {
                let s = shape_in(0);
                kernels::pad4(get(0)?, [s[0], s[1], s[2], s[3]], *pads, &mut out);
            }
            Kind::MaxPool { win, channels } => kernels::max_pool(get(0)?, *channels, win, &mut out),
            Kind::Resize { channels } => {
                let s = shape_in(0);
                kernels::resize_bilinear(
                    get(0)?,
                    [s[1], s[2]],
                    *channels,
                    [op.out_shape[1], op.out_shape[2]],
                    &mut out,
                );
            }
            Kind::DepthToSpace(block) => {
                let s = shape_in(0);
                kernels::depth_to_space(get(0)?, [s[1], s[2]], s[3], *block, &mut out);
            }
            Kind::Reshape => out.copy_from_slice(get(0)?),
            Kind::Concat(axis) => {
                let outer: usize = op.out_shape[..*axis].iter().product();
                let mut pos = 0;
                let inner_out: usize = op.out_shape[*axis..].iter().product();
                for k in 0..op.inputs.len() {
                    let x = get(k)?;
                    let chunk = x.len() / outer.max(1);
                    for r in 0..outer {
                        out[r * inner_out + pos..][..chunk].copy_from_slice(&x[r * chunk..][..chunk]);
                    }
                    pos += chunk;
                }
            }
            Kind::Logistic => {
                for (o, x) in out.iter_mut().zip(get(0)?.iter()) {
                    *o = kernels::sigmoid(*x);
                }
            }
        }
        Ok(out)
    }
}
