//! Stage 1: train the intra-view module (IRV) on its own — every view's estimate against its
//! confident keypoints, against the pseudo-labels, and against the other views of its frame.

use candle_core::{Result, Tensor};

use super::labelled::LabelBatch;
use super::losses::{
    canonical_keypoints, code_agreement, keypoint_agreement, reprojection, smpl_agreement, to_camera, translation_code,
    view_agreement, weighted_squared_distance,
};
use crate::body::{BodyTensors, NUM_BODY_JOINTS};
use crate::net::input::EncodedBatch;
use crate::net::irv::Irv;
use crate::net::params::{Decoded, PARAM_DIM, decode};

/// Weights of the training losses (the reprojection term has weight 1), shared by both stages.
#[derive(Clone, Debug, PartialEq)]
pub struct LossWeights {
    /// Robust scale of the reprojection term, a fraction of the person's size. Default: 0.05.
    pub robust_scale: f64,
    /// Canonical keypoints against the pseudo-labels' (mean distance, metres). Default: 10.
    pub keypoints: f64,
    /// Joint rotations against the pseudo-labels'. Default: 0.1.
    pub smpl: f64,
    /// Shape agreement, relative to the rotation term. Default: 0.1.
    pub betas: f64,
    /// Camera rotation against the pseudo-labels'. Default: 5.
    pub camera: f64,
    /// Camera translation code against the pseudo-labels'. Default: 10.
    pub translation: f64,
    /// Agreement of the views' bodies within a frame (stage 1 only). Default: 0.05.
    pub views: f64,
    /// The IRV's confidence against how close the view's body came to the pseudo-label (stage 1
    /// only; screening reads the confidence). Default: 1.
    pub confidence: f64,
    /// The IEV's bone corrections against the pseudo-label's (summed squared metres; stage 2, with
    /// bones only). Default: 100.
    pub bones: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            robust_scale: 0.05,
            keypoints: 10.0,
            smpl: 0.1,
            betas: 0.1,
            camera: 5.0,
            translation: 10.0,
            views: 0.05,
            confidence: 1.0,
            bones: 100.0,
        }
    }
}

/// The loss terms of one batch, unweighted (the total is weighted).
#[derive(Clone, Debug)]
pub struct LossTerms {
    /// The weighted sum, to differentiate.
    pub total: Tensor,
    /// Reprojection term.
    pub reprojection: f32,
    /// Pseudo-label keypoint term (metres).
    pub keypoints: f32,
    /// Pseudo-label rotation and shape term.
    pub smpl: f32,
    /// Pseudo-label camera rotation term.
    pub camera: f32,
    /// Pseudo-label camera translation term.
    pub translation: f32,
    /// View agreement term (0 in stage 2).
    pub views: f32,
    /// Confidence term (0 in stage 2).
    pub confidence: f32,
    /// Bone corrections term (0 in stage 1 and without bones).
    pub bones: f32,
}

/// Keypoint error (metres) at which the confidence target is `1/e`.
pub const CONFIDENCE_SCALE: f64 = 0.05;

/// A frame's tensor `[B, ...]` repeated for each of its `v` views: `[B * v, ...]`.
fn per_view(t: &Tensor, v: usize) -> Result<Tensor> {
    let dims = t.dims();
    let mut expanded = vec![dims[0], v];
    expanded.extend_from_slice(&dims[1..]);
    let mut flat = vec![dims[0] * v];
    flat.extend_from_slice(&dims[1..]);
    t.unsqueeze(1)?.broadcast_as(expanded)?.reshape(flat)
}

/// Every view's weight against its frame's label `[B * V]`: the label's trust, 0 for missing views.
fn view_trust(labels: &LabelBatch, batch: &EncodedBatch) -> Result<Tensor> {
    let n = batch.mask.elem_count();
    per_view(&labels.trust, batch.mask.dim(1)?)?.mul(&batch.mask.reshape(n)?)
}

/// Per-view losses of `N = B * V` decoded views against the frames' labels; `params`
/// `[N, PARAM_DIM]` are each view's raw parameters (camera and body) and `bones` `[N, 24, 3]`, when
/// given, its body's bone corrections.
/// Returns the terms (the total without the stage-1 terms), the decoded parameters and every
/// view's mean keypoint distance to its label `[N]` (detached).
pub(super) fn view_losses(
    body: &BodyTensors,
    batch: &EncodedBatch,
    labels: &LabelBatch,
    params: &Tensor,
    bones: Option<&Tensor>,
    w: &LossWeights,
) -> Result<(LossTerms, Decoded, Tensor)> {
    let (b, v, _) = batch.inputs.dims3()?;
    let n = b * v;
    let (centres, sizes) = (batch.centres.reshape((n, 2))?, batch.sizes.reshape(n)?);
    let decoded = decode(params, &centres, &sizes)?;
    let canonical = canonical_keypoints(body, &decoded.body_pose, &decoded.betas, bones)?;
    let camera = to_camera(&canonical, &decoded.rotation, &decoded.translation)?;
    let (observed, confidence) = batch.observed()?;
    let reproj = reprojection(&camera, &observed, &confidence, &sizes, w.robust_scale)?;
    // Every present view against its frame's label, weighted by the label's trust.
    let trust = view_trust(labels, batch)?;
    let label_pose = per_view(&labels.body_pose, v)?;
    let label_betas = per_view(&labels.betas, v)?;
    let label_keypoints = per_view(&labels.keypoints, v)?;
    let smpl = smpl_agreement(&decoded.body_pose, &decoded.betas, &label_pose, &label_betas, &trust, w.betas)?;
    let keypoints = keypoint_agreement(&canonical, &label_keypoints, &trust)?;
    let label_rotation = labels.camera_rotations.reshape((n, 3, 3))?;
    let cam = weighted_squared_distance(&decoded.rotation, &label_rotation, &trust)?;
    let label_code = translation_code(&label_rotation, &labels.camera_translations.reshape((n, 3))?, &centres, &sizes)?;
    let translation = code_agreement(&params.narrow(1, 6, 3)?, &label_code, &sizes, &trust)?;
    let total = (&reproj
        + (&keypoints * w.keypoints)?
        + (&smpl * w.smpl)?
        + (&cam * w.camera)?
        + (&translation * w.translation)?)?;
    let terms = LossTerms {
        total,
        reprojection: reproj.to_scalar()?,
        keypoints: keypoints.to_scalar()?,
        smpl: smpl.to_scalar()?,
        camera: cam.to_scalar()?,
        translation: translation.to_scalar()?,
        views: 0.0,
        confidence: 0.0,
        bones: 0.0,
    };
    let distance = (canonical.detach() - label_keypoints)?.sqr()?.sum(2)?.sqrt()?.mean(1)?;
    Ok((terms, decoded, distance))
}

/// The stage-1 loss of `irv` on a batch.
pub fn stage1_loss(
    irv: &Irv,
    body: &BodyTensors,
    batch: &EncodedBatch,
    labels: &LabelBatch,
    w: &LossWeights,
) -> Result<LossTerms> {
    let (b, v, d) = batch.inputs.dims3()?;
    let n = b * v;
    let out = irv.forward(&batch.inputs.reshape((n, d))?)?;
    let params = out.params.reshape((n, PARAM_DIM))?;
    let (mut terms, decoded, distance) = view_losses(body, batch, labels, &params, None, w)?;
    let views = view_agreement(&decoded.body_pose.reshape((b, v, NUM_BODY_JOINTS, 3, 3))?, &batch.mask)?;
    let target = (distance / -CONFIDENCE_SCALE)?.exp()?;
    let trust = view_trust(labels, batch)?;
    let confidence = weighted_squared_distance(&out.confidence.unsqueeze(1)?, &target.unsqueeze(1)?, &trust)?;
    terms.total = ((terms.total + (&views * w.views)?)? + (&confidence * w.confidence)?)?;
    terms.views = views.to_scalar()?;
    terms.confidence = confidence.to_scalar()?;
    Ok(terms)
}
