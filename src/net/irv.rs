//! IRV, the intra-view module: one network applied to every view on its own. From the view's
//! encoded keypoints it estimates, by iterative error feedback (Kanazawa et al. 2018), the view's
//! camera, a body pose and shape, a feature vector for the inter-view module and a confidence.
//! The correction layer starts at zero, so an untrained IRV returns the starting estimate.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::Config;
use super::input::VIEW_INPUT_DIM;
use super::linear::{Linear, linear, zero_linear};
use super::params::{PARAM_DIM, initial_params};
use crate::compute::matmul::Activation;

/// One residual block: `h + W2 relu(W1 h)`.
#[derive(Clone, Debug)]
struct ResidualBlock {
    first: Linear,
    second: Linear,
}

impl ResidualBlock {
    fn new(vb: VarBuilder, width: usize) -> Result<Self> {
        Ok(Self { first: linear(width, width, vb.pp("fc1"))?, second: linear(width, width, vb.pp("fc2"))? })
    }

    fn forward(&self, h: &Tensor) -> Result<Tensor> {
        let inner = self.first.forward_fused(h, None, Activation::Relu)?;
        self.second.forward_fused(&inner, Some(h), Activation::None)
    }
}

/// What IRV says about each of `N` views.
#[derive(Clone, Debug)]
pub struct IrvOutput {
    /// `[N, PARAM_DIM]` the view's parameters (camera and body).
    pub params: Tensor,
    /// `[N, feature_dim]` the view's feature for the IEV.
    pub feature: Tensor,
    /// `[N]` how much the view trusts its own estimate, in (0, 1).
    pub confidence: Tensor,
}

/// The intra-view module.
#[derive(Clone, Debug)]
pub struct Irv {
    input: Linear,
    blocks: Vec<ResidualBlock>,
    delta: Linear,
    feature: Linear,
    confidence: Linear,
    iterations: usize,
}

impl Irv {
    /// Builds the module under `vb` (names `input`, `block{i}.fc{1,2}`, `delta`, `feature`,
    /// `confidence`).
    pub fn new(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        Ok(Self {
            input: linear(VIEW_INPUT_DIM + PARAM_DIM, cfg.hidden, vb.pp("input"))?,
            blocks: (0..cfg.irv_blocks)
                .map(|i| ResidualBlock::new(vb.pp(format!("block{i}")), cfg.hidden))
                .collect::<Result<_>>()?,
            delta: zero_linear(cfg.hidden, PARAM_DIM, vb.pp("delta"))?,
            feature: linear(cfg.hidden, cfg.feature_dim, vb.pp("feature"))?,
            confidence: linear(cfg.hidden, 1, vb.pp("confidence"))?,
            iterations: cfg.irv_iterations,
        })
    }

    /// Runs on `[N, VIEW_INPUT_DIM]` encoded views.
    pub fn forward(&self, inputs: &Tensor) -> Result<IrvOutput> {
        let n = inputs.dim(0)?;
        let mut params = initial_params(n, inputs.device())?;
        let mut hidden = None;
        for _ in 0..self.iterations {
            let mut h =
                self.input.forward_fused(&Tensor::cat(&[inputs, &params], D::Minus1)?, None, Activation::Relu)?;
            for block in &self.blocks {
                h = block.forward(&h)?;
            }
            let h = h.relu()?;
            params = self.delta.forward_fused(&h, Some(&params), Activation::None)?;
            hidden = Some(h);
        }
        let h = hidden.ok_or_else(|| candle_core::Error::Msg("IRV needs at least one iteration".into()))?;
        Ok(IrvOutput {
            params,
            feature: self.feature.forward(&h)?,
            confidence: candle_nn::ops::sigmoid(&self.confidence.forward(&h)?.squeeze(1)?)?,
        })
    }
}
