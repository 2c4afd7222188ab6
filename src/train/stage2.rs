//! Stage 2: train the inter-view module (IEV) with the IRV frozen — the refined shared body and
//! every view's refined camera against all views' keypoints and the pseudo-labels.

use candle_core::{Result, Tensor};

use super::labelled::LabelBatch;
use super::losses::{camera_keypoints, reprojection, smpl_agreement, weighted_squared_distance};
use crate::body::{BodyTensors, NUM_BODY_JOINTS};
use crate::net::Forward;
use crate::net::params::{PARAM_DIM, decode};

/// Weights of the stage-2 losses (the reprojection term has weight 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Stage2Weights {
    /// Robust scale of the reprojection term, a fraction of the person's size. Default: 0.05.
    pub robust_scale: f64,
    /// Body agreement with the pseudo-labels. Default: 0.05.
    pub smpl: f64,
    /// Shape agreement, relative to the body term. Default: 0.1.
    pub betas: f64,
    /// Camera rotation agreement with the pseudo-labels. Default: 0.05.
    pub camera: f64,
}

impl Default for Stage2Weights {
    fn default() -> Self {
        Self { robust_scale: 0.05, smpl: 0.05, betas: 0.1, camera: 0.05 }
    }
}

/// Stage 2's loss terms for one batch.
#[derive(Clone, Debug)]
pub struct Stage2Loss {
    /// The weighted sum, to differentiate.
    pub total: Tensor,
    /// Reprojection term (shared body through every view's camera).
    pub reprojection: f32,
    /// Pseudo-label body term.
    pub smpl: f32,
    /// Pseudo-label camera term.
    pub camera: f32,
}

/// The stage-2 loss of a forward pass of the whole network.
pub fn stage2_loss(fwd: &Forward, body: &BodyTensors, labels: &LabelBatch, w: &Stage2Weights) -> Result<Stage2Loss> {
    let batch = &fwd.batch;
    let (b, v, _) = batch.inputs.dims3()?;
    let n = b * v;
    let shared = fwd.body.unsqueeze(1)?.broadcast_as((b, v, fwd.body.dim(1)?))?;
    let params = Tensor::cat(&[&fwd.cameras, &shared], 2)?.reshape((n, PARAM_DIM))?;
    let decoded = decode(&params, &batch.centres.reshape((n, 2))?, &batch.sizes.reshape(n)?)?;
    let camera = camera_keypoints(body, &decoded.rotation, &decoded.translation, &decoded.body_pose, &decoded.betas)?;
    let (observed, confidence) = batch.observed()?;
    let reproj = reprojection(&camera, &observed, &confidence, &batch.sizes.reshape(n)?, w.robust_scale)?;
    // The shared body once per frame against its label; every present view's camera against its label.
    let frame_pose = decoded.body_pose.reshape((b, v, NUM_BODY_JOINTS, 3, 3))?.narrow(1, 0, 1)?.squeeze(1)?;
    let frame_betas = decoded.betas.reshape((b, v, ()))?.narrow(1, 0, 1)?.squeeze(1)?;
    let smpl = smpl_agreement(&frame_pose, &frame_betas, &labels.body_pose, &labels.betas, &labels.trust, w.betas)?;
    let trust = labels.trust.unsqueeze(1)?.broadcast_as((b, v))?.reshape(n)?.mul(&batch.mask.reshape(n)?)?;
    let cam = weighted_squared_distance(&decoded.rotation, &labels.camera_rotations.reshape((n, 3, 3))?, &trust)?;
    let total = ((&reproj + (&smpl * w.smpl)?)? + (&cam * w.camera)?)?;
    Ok(Stage2Loss { total, reprojection: reproj.to_scalar()?, smpl: smpl.to_scalar()?, camera: cam.to_scalar()? })
}
