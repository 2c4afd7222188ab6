//! The network's linear layer: `act(x Wᵀ + b + residual)`. In training (weights that are candle
//! variables) and wherever gradients flow, it is `candle_nn::Linear` followed by candle's add and
//! activation; at inference on loaded weights it runs, bias, residual and activation fused, on the
//! packed AVX2/FMA kernel of [`crate::compute::matmul`], 3-4 times faster than candle's matmul on
//! the few rows (views, tokens) of one frame. Both paths compute the same function; a test holds
//! them together.

use std::sync::Arc;

use candle_core::{DType, Module, Result, Storage, Tensor};
use candle_nn::VarBuilder;

use crate::compute::matmul::{Activation, PackedWeights, matmul_packed};

/// A linear layer with an optional fused residual and activation (see the module's header).
#[derive(Clone, Debug)]
pub struct Linear {
    inner: candle_nn::Linear,
    packed: Option<Arc<PackedWeights>>,
}

impl Linear {
    /// The layer `x Wᵀ + b` of `weight` `[out, in]` and `bias` `[out]`. Weights that are not
    /// candle variables (loaded, not trained) on the CPU are also packed for the fast kernel when
    /// the CPU has AVX2 and FMA.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let packed = if packable(&weight) && bias.as_ref().is_none_or(packable) && PackedWeights::supported() {
            let (n, k) = weight.dims2()?;
            let w: Vec<f32> = weight.t()?.flatten_all()?.to_vec1()?; // [in][out]
            let b: Vec<f32> = match &bias {
                Some(b) => b.to_vec1()?,
                None => vec![0.0; n],
            };
            Some(Arc::new(PackedWeights::new(&w, &b, k, n)))
        } else {
            None
        };
        Ok(Self { inner: candle_nn::Linear::new(weight, bias), packed })
    }

    /// The weight, `[out, in]`.
    pub fn weight(&self) -> &Tensor {
        self.inner.weight()
    }

    /// Whether this layer runs on the packed kernel when no gradient is tracked.
    pub fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// `act(x Wᵀ + b + residual)` for `x` `[.., in]`; `residual`, if any, has the output's shape.
    pub fn forward_fused(&self, x: &Tensor, residual: Option<&Tensor>, act: Activation) -> Result<Tensor> {
        if let Some(packed) = &self.packed
            && untracked_cpu_f32(x)
            && residual.is_none_or(untracked_cpu_f32)
        {
            return run_packed(packed, x, residual, act);
        }
        let y = self.inner.forward(x)?;
        let y = match residual {
            Some(r) => (y + r)?,
            None => y,
        };
        match act {
            Activation::None => Ok(y),
            Activation::Relu => y.relu(),
            Activation::Relu6 => y.clamp(0f32, 6f32),
        }
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_fused(x, None, Activation::None)
    }
}

/// A linear layer of `input` to `output` features under `vb` (`weight`, `bias`), initialised as
/// `candle_nn::linear` does.
pub fn linear(input: usize, output: usize, vb: VarBuilder) -> Result<Linear> {
    let l = candle_nn::linear(input, output, vb)?;
    Linear::new(l.weight().clone(), l.bias().cloned())
}

/// A linear layer that starts at zero (weights and bias), so a fresh module leaves its input
/// estimate exactly as it is and training only learns corrections; loaded weights replace it.
pub fn zero_linear(input: usize, output: usize, vb: VarBuilder) -> Result<Linear> {
    let weight = vb.get_with_hints((output, input), "weight", candle_nn::Init::Const(0.0))?;
    let bias = vb.get_with_hints(output, "bias", candle_nn::Init::Const(0.0))?;
    Linear::new(weight, Some(bias))
}

fn packable(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && !t.is_variable()
}

fn untracked_cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && !t.track_op()
}

/// Calls `f` with `t`'s values in row-major order: borrowed from its storage when contiguous,
/// copied otherwise.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            return Ok(f(&cpu.as_slice::<f32>()?[start..end]));
        }
    }
    Ok(f(&t.flatten_all()?.to_vec1::<f32>()?))
}

fn run_packed(packed: &PackedWeights, x: &Tensor, residual: Option<&Tensor>, act: Activation) -> Result<Tensor> {
    let (k, n) = (packed.inputs(), packed.outputs());
    let mut dims = x.dims().to_vec();
    match dims.last_mut() {
        Some(last) if *last == k => *last = n,
        _ => return Err(candle_core::Error::Msg(format!("linear layer of {k} inputs got shape {:?}", x.dims()))),
    }
    let m = x.elem_count() / k.max(1);
    if let Some(r) = residual
        && r.dims() != dims.as_slice()
    {
        return Err(candle_core::Error::Msg(format!("residual {:?} for a linear output {dims:?}", r.dims())));
    }
    let mut out = vec![0f32; m * n];
    with_values(x, |xs| match residual {
        Some(r) => with_values(r, |rs| matmul_packed(m, xs, packed, Some(rs), act, &mut out)),
        None => {
            matmul_packed(m, xs, packed, None, act, &mut out);
            Ok(())
        }
    })??;
    Tensor::from_vec(out, dims, x.device())
}
