//! IEV, the inter-view module: a transformer over one token per view and one body token, without
//! positional encodings (so the order of the views does not matter) and with missing views masked
//! out of the attention. Each step re-embeds the current estimates and predicts corrections to every
//! view's camera and to the shared body; the steps share their weights.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::Config;
use super::input::VIEW_INPUT_DIM;
use super::linear::{Linear, linear, zero_linear};
use super::ops::{LayerNorm, layer_norm, softmax_last_dim};
use super::params::{BODY_DIM, BONES_DIM, CAMERA_DIM};
use super::triangulation::TRIANGULATION_DIM;

/// Length of a view's reprojection feedback: the 17 keypoints' residuals (x, y) in units of the
/// person's size.
pub const FEEDBACK_DIM: usize = 2 * crate::body::NUM_KEYPOINTS;

/// What one IEV step sees of how its current estimate meets the views' keypoints (each part only
/// when the config asks for it; none carries a gradient).
#[derive(Clone, Debug, Default)]
pub struct StepEvidence {
    /// Every view's reprojection residuals `[B, V, FEEDBACK_DIM]` (with [`Config::feedback`]).
    pub feedback: Option<Tensor>,
    /// The triangulation evidence `[B, TRIANGULATION_DIM]` (with [`Config::triangulation`],
    /// [`super::triangulation`]).
    pub triangulation: Option<Tensor>,
}

/// The evidence of the current estimate: given the cameras `[B, V, CAMERA_DIM]`, the shared body
/// `[B, BODY_DIM]` and the bone corrections `[B, BONES_DIM]` (when estimated).
pub type Evidence<'a> = dyn Fn(&Tensor, &Tensor, Option<&Tensor>) -> Result<StepEvidence> + 'a;
use crate::compute::matmul::Activation;

/// A pre-norm transformer encoder layer with masked multi-head self-attention.
#[derive(Clone, Debug)]
struct EncoderLayer {
    norm1: LayerNorm,
    qkv: Linear,
    out: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
}

impl EncoderLayer {
    fn new(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let d = cfg.token_dim;
        Ok(Self {
            norm1: layer_norm(d, 1e-5, vb.pp("norm1"))?,
            qkv: linear(d, 3 * d, vb.pp("qkv"))?,
            out: linear(d, d, vb.pp("out"))?,
            norm2: layer_norm(d, 1e-5, vb.pp("norm2"))?,
            fc1: linear(d, 2 * d, vb.pp("fc1"))?,
            fc2: linear(2 * d, d, vb.pp("fc2"))?,
            heads: cfg.heads,
        })
    }

    /// `x` `[B, T, D]`, `bias` `[B, 1, 1, T]` (0 for present tokens, a large negative for missing).
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let hd = d / self.heads;
        let qkv = self.qkv.forward(&self.norm1.forward(x)?)?.reshape((b, t, 3, self.heads, hd))?;
        let split = |i: usize| -> Result<Tensor> { qkv.narrow(2, i, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous() };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?); // [B,H,T,hd]
        let scores = (q.matmul(&k.transpose(2, 3)?.contiguous()?)? / (hd as f64).sqrt())?.broadcast_add(bias)?;
        let attention = softmax_last_dim(&scores)?;
        let mixed = attention.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = self.out.forward_fused(&mixed, Some(x), Activation::None)?;
        let hidden = gelu(&self.fc1.forward(&self.norm2.forward(&x)?)?)?;
        self.fc2.forward_fused(&hidden, Some(&x), Activation::None)
    }
}

/// GELU, tanh approximation (what candle's `Tensor::gelu` computes), written as
/// `x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))` (the same function: `(1 + tanh z) / 2 =
/// sigmoid(2z)`), about five times faster on candle's CPU kernels for the IEV's small tensors.
fn gelu(x: &Tensor) -> Result<Tensor> {
    let scale = 2.0 * (2.0 / std::f64::consts::PI).sqrt();
    let inner = ((x.sqr()?.mul(x)? * 0.044715)? + x)?;
    x * candle_nn::ops::sigmoid(&(inner * scale)?)?
}

/// The inter-view module.
#[derive(Clone, Debug)]
pub struct Iev {
    view_embed: Linear,
    body_embed: Linear,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    camera_head: Linear,
    body_head: Linear,
    bones_head: Option<Linear>,
    triangulation_embed: Option<Linear>,
    pool: Linear,
    iterations: usize,
    feedback: bool,
}

impl Iev {
    /// Builds the module under `vb` (names `view_embed`, `body_embed`, `layer{i}.*`, `norm`,
    /// `camera_head`, `body_head`, `pool`, `bones_head` when the config has bones and
    /// `triangulation_embed` when it has triangulation).
    pub fn new(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let d = cfg.token_dim;
        let body_input = BODY_DIM + if cfg.bones { BONES_DIM } else { 0 };
        let view_input =
            cfg.feature_dim + CAMERA_DIM + BODY_DIM + VIEW_INPUT_DIM + if cfg.feedback { FEEDBACK_DIM } else { 0 };
        Ok(Self {
            view_embed: linear(view_input, d, vb.pp("view_embed"))?,
            body_embed: linear(body_input, d, vb.pp("body_embed"))?,
            layers: (0..cfg.iev_layers)
                .map(|i| EncoderLayer::new(vb.pp(format!("layer{i}")), cfg))
                .collect::<Result<_>>()?,
            norm: layer_norm(d, 1e-5, vb.pp("norm"))?,
            camera_head: zero_linear(d, CAMERA_DIM, vb.pp("camera_head"))?,
            body_head: zero_linear(d, BODY_DIM, vb.pp("body_head"))?,
            bones_head: if cfg.bones { Some(zero_linear(d, BONES_DIM, vb.pp("bones_head"))?) } else { None },
            triangulation_embed: if cfg.triangulation {
                Some(zero_linear(TRIANGULATION_DIM, d, vb.pp("triangulation_embed"))?)
            } else {
                None
            },
            pool: zero_linear(d, 1, vb.pp("pool"))?,
            iterations: cfg.iev_iterations,
            feedback: cfg.feedback,
        })
    }

    /// Refines `cameras` `[B, V, CAMERA_DIM]` and `body` `[B, BODY_DIM]` from the views' encoded
    /// inputs `[B, V, VIEW_INPUT_DIM]`, IRV features `[B, V, F]` and IRV bodies
    /// `[B, V, BODY_DIM]`; `mask` `[B, V]` is 1 for present views.
    ///
    /// Every step fuses the shared body from the views' bodies by attention pooling — weights
    /// `softmax(ln(view_weights) + pool(token))` over the present views, `view_weights` `[B, V]`
    /// being the screening's scores — and adds a correction from the body token. A fresh IEV
    /// (`pool` and the heads at zero) returns the score-weighted mean of the views' bodies and the
    /// cameras unchanged. With a bones head, the body token also carries the bone corrections
    /// `[B, BONES_DIM]` (starting at zero) and every step corrects them. With feedback, every
    /// step's view tokens also carry the reprojection residuals of the current estimate, and
    /// with triangulation its body token the triangulation evidence (whose embedding starts at
    /// zero), both from `evidence`. Returns the refined cameras, body and bone
    /// corrections.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        inputs: &Tensor,
        features: &Tensor,
        view_bodies: &Tensor,
        view_weights: &Tensor,
        mask: &Tensor,
        cameras: &Tensor,
        body: &Tensor,
        evidence: &Evidence,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let (b, v, _) = inputs.dims3()?;
        // The body token is always present.
        let keep = Tensor::cat(&[&Tensor::ones((b, 1), mask.dtype(), mask.device())?, mask], 1)?;
        let bias = ((keep - 1.0)? * 1e9)?.reshape((b, 1, 1, v + 1))?;
        let prior = ((view_weights + 1e-6)?.log()? + ((mask - 1.0)? * 1e9)?)?; // [B,V]
        let (mut cameras, mut body) = (cameras.clone(), body.clone());
        let mut bones = match self.bones_head {
            Some(_) => Some(Tensor::zeros((b, BONES_DIM), body.dtype(), body.device())?),
            None => None,
        };
        for _ in 0..self.iterations {
            let seen = if self.feedback || self.triangulation_embed.is_some() {
                evidence(&cameras, &body, bones.as_ref())?
            } else {
                StepEvidence::default()
            };
            let missing = |what: &str| candle_core::Error::Msg(format!("the IEV's evidence lacks its {what}"));
            let mut view_input = vec![features.clone(), cameras.clone(), view_bodies.clone(), inputs.clone()];
            if self.feedback {
                view_input.push(seen.feedback.ok_or_else(|| missing("feedback"))?.detach());
            }
            let view_tokens = self.view_embed.forward(&Tensor::cat(&view_input, D::Minus1)?)?;
            let body_input = match &bones {
                Some(bones) => Tensor::cat(&[&body, bones], D::Minus1)?,
                None => body.clone(),
            };
            let mut body_token = self.body_embed.forward(&body_input)?;
            if let Some(embed) = &self.triangulation_embed {
                let triangulation = seen.triangulation.as_ref().ok_or_else(|| missing("triangulation"))?.detach();
                body_token = embed.forward_fused(&triangulation, Some(&body_token), Activation::None)?;
            }
            let body_token = body_token.unsqueeze(1)?;
            let mut x = Tensor::cat(&[&body_token, &view_tokens], 1)?;
            for layer in &self.layers {
                x = layer.forward(&x, &bias)?;
            }
            let x = self.norm.forward(&x)?;
            let views = x.narrow(1, 1, v)?;
            let logits = (self.pool.forward(&views)?.squeeze(2)? + &prior)?;
            let weights = softmax_last_dim(&logits)?.unsqueeze(1)?; // [B,1,V]
            let pooled = weights.matmul(view_bodies)?.squeeze(1)?;
            let body_state = x.narrow(1, 0, 1)?.squeeze(1)?;
            body = (pooled + self.body_head.forward(&body_state)?)?;
            if let (Some(head), Some(current)) = (&self.bones_head, bones.as_ref()) {
                bones = Some(head.forward_fused(&body_state, Some(current), Activation::None)?);
            }
            cameras = self.camera_head.forward_fused(&views, Some(&cameras), Activation::None)?;
        }
        Ok((cameras, body, bones))
    }
}
