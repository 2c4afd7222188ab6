//! Stage 1: train the intra-view module (IRV) on its own — every view's estimate against its
//! confident keypoints, against the pseudo-labels, and against the other views of its frame.

use candle_core::{Result, Tensor};

use super::labelled::LabelBatch;
use super::losses::{camera_keypoints, reprojection, smpl_agreement, view_agreement, weighted_squared_distance};
use crate::body::{BodyTensors, NUM_BODY_JOINTS};
use crate::net::input::EncodedBatch;
use crate::net::irv::Irv;
use crate::net::params::{PARAM_DIM, decode};

/// Weights of the stage-1 losses (the reprojection term has weight 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Stage1Weights {
    /// Robust scale of the reprojection term, a fraction of the person's size. Default: 0.05.
    pub robust_scale: f64,
    /// Body agreement with the pseudo-labels. Default: 0.1.
    pub smpl: f64,
    /// Shape agreement, relative to the body term. Default: 0.1.
    pub betas: f64,
    /// Camera rotation agreement with the pseudo-labels. Default: 0.1.
    pub camera: f64,
    /// Agreement of the views' bodies within a frame. Default: 0.05.
    pub views: f64,
}

impl Default for Stage1Weights {
    fn default() -> Self {
        Self { robust_scale: 0.05, smpl: 0.1, betas: 0.1, camera: 0.1, views: 0.05 }
    }
}

/// Stage 1's loss terms for one batch.
#[derive(Clone, Debug)]
pub struct Stage1Loss {
    /// The weighted sum, to differentiate.
    pub total: Tensor,
    /// Reprojection term.
    pub reprojection: f32,
    /// Pseudo-label body term.
    pub smpl: f32,
    /// Pseudo-label camera term.
    pub camera: f32,
    /// View agreement term.
    pub views: f32,
}

/// The stage-1 loss of `irv` on a batch.
pub fn stage1_loss(
    irv: &Irv,
    body: &BodyTensors,
    batch: &EncodedBatch,
    labels: &LabelBatch,
    w: &Stage1Weights,
) -> Result<Stage1Loss> {
    let (b, v, d) = batch.inputs.dims3()?;
    let n = b * v;
    let out = irv.forward(&batch.inputs.reshape((n, d))?)?;
    let decoded =
        decode(&out.params.reshape((n, PARAM_DIM))?, &batch.centres.reshape((n, 2))?, &batch.sizes.reshape(n)?)?;
    let camera = camera_keypoints(body, &decoded.rotation, &decoded.translation, &decoded.body_pose, &decoded.betas)?;
    let (observed, confidence) = batch.observed()?;
    let reproj = reprojection(&camera, &observed, &confidence, &batch.sizes.reshape(n)?, w.robust_scale)?;
    // Every present view against its frame's label, weighted by the label's trust.
    let mask = batch.mask.reshape(n)?;
    let trust = labels.trust.unsqueeze(1)?.broadcast_as((b, v))?.reshape(n)?.mul(&mask)?;
    let label_pose = labels.body_pose.unsqueeze(1)?.broadcast_as((b, v, NUM_BODY_JOINTS, 3, 3))?.reshape((
        n,
        NUM_BODY_JOINTS,
        3,
        3,
    ))?;
    let label_betas = labels.betas.unsqueeze(1)?.broadcast_as((b, v, labels.betas.dim(1)?))?.reshape((n, ()))?;
    let smpl = smpl_agreement(&decoded.body_pose, &decoded.betas, &label_pose, &label_betas, &trust, w.betas)?;
    let cam = weighted_squared_distance(&decoded.rotation, &labels.camera_rotations.reshape((n, 3, 3))?, &trust)?;
    let views = view_agreement(&decoded.body_pose.reshape((b, v, NUM_BODY_JOINTS, 3, 3))?, &batch.mask)?;
    let total = (((&reproj + (&smpl * w.smpl)?)? + (&cam * w.camera)?)? + (&views * w.views)?)?;
    Ok(Stage1Loss {
        total,
        reprojection: reproj.to_scalar()?,
        smpl: smpl.to_scalar()?,
        camera: cam.to_scalar()?,
        views: views.to_scalar()?,
    })
}
