//! The IEV's layer norm and softmax, with their gradients when training. candle-nn 0.11's
//! `LayerNorm` (on contiguous input) and `ops::softmax_last_dim` run fused kernels that record no
//! backward pass (`apply_op*_no_bwd`): a training step silently gets no gradient through them, so
//! everything below the IEV's final norm and its pooling softmax stayed at its initialisation
//! (measured: a stage-2 step changed only the output heads). Here the fused kernels run only when
//! nothing tracks a gradient (inference); otherwise the same functions are composed of candle's
//! differentiable operations.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

/// A layer norm over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

/// A layer norm of `size` features under `vb` (`weight` starting at 1, `bias` at 0).
pub fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> Result<LayerNorm> {
    Ok(LayerNorm {
        weight: vb.get_with_hints(size, "weight", Init::Const(1.0))?,
        bias: vb.get_with_hints(size, "bias", Init::Const(0.0))?,
        eps,
    })
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !(x.track_op() || self.weight.track_op() || self.bias.track_op()) {
            return candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps as f32);
        }
        let size = x.dim(D::Minus1)? as f64;
        let centred = x.broadcast_sub(&(x.sum_keepdim(D::Minus1)? / size)?)?;
        let variance = (centred.sqr()?.sum_keepdim(D::Minus1)? / size)?;
        let normed = centred.broadcast_div(&(variance + self.eps)?.sqrt()?)?;
        normed.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// Softmax over the last axis.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if x.track_op() { candle_nn::ops::softmax(x, D::Minus1) } else { candle_nn::ops::softmax_last_dim(x) }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};
    use candle_nn::VarMap;

    use super::*;

    #[test]
    fn the_tracked_and_the_fused_paths_agree_and_the_tracked_one_has_a_gradient() {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let norm = layer_norm(8, 1e-5, VarBuilder::from_varmap(&varmap, DType::F32, &device)).unwrap();
        let values: Vec<f32> = (0..24).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let fixed = Tensor::from_vec(values.clone(), (3, 8), &device).unwrap();
        let var = Var::from_tensor(&fixed).unwrap();
        // The norm's own weights are variables here, so both calls take the tracked path; the
        // fused one is what a loaded (untracked) norm runs.
        let fused = candle_nn::ops::layer_norm(
            &fixed,
            &Tensor::ones(8, DType::F32, &device).unwrap(),
            &Tensor::zeros(8, DType::F32, &device).unwrap(),
            1e-5,
        )
        .unwrap();
        let tracked = norm.forward(var.as_tensor()).unwrap();
        let gap = (fused - &tracked).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(gap < 1e-5, "layer norm paths differ by {gap}");
        let weights = Tensor::from_vec((0..24).map(|i| i as f32).collect::<Vec<_>>(), (3, 8), &device).unwrap();
        let grads = (tracked * &weights).unwrap().sum_all().unwrap().backward().unwrap();
        let g = grads.get(var.as_tensor()).expect("a gradient through the norm");
        assert!(g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 1e-3);

        let soft = softmax_last_dim(var.as_tensor()).unwrap();
        let gap = (candle_nn::ops::softmax_last_dim(&fixed).unwrap() - &soft)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(gap < 1e-6, "softmax paths differ by {gap}");
        let grads = (soft * &weights).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(var.as_tensor()).is_some(), "a gradient through the softmax");
    }
}
