//! Screening: pick, in every frame, the view whose own estimate is most reliable — by the IRV's
//! confidence, the view's keypoint confidence and how well the view's own body and camera reproject
//! onto its keypoints — and start the canonical parameters from that view's body and every view's
//! camera.

use candle_core::{D, Result, Tensor};

use super::input::EncodedBatch;
use super::params::{BODY_DIM, CAMERA_DIM, PARAM_DIM, decode};
use super::projection::{camera_keypoints, project};
use crate::body::{BodyTensors, NUM_KEYPOINTS};

/// Reprojection error (in units of the person's size) at which a view's score halves.
pub const REPROJECTION_SCALE: f64 = 0.1;

/// The screening's result for `B` frames.
#[derive(Clone, Debug)]
pub struct Screened {
    /// `[B, V]` every view's score (0 for missing views).
    pub scores: Tensor,
    /// `[B]` the chosen view of every frame.
    pub chosen: Vec<usize>,
    /// `[B, V, CAMERA_DIM]` every view's camera, the starting cameras.
    pub cameras: Tensor,
    /// `[B, BODY_DIM]` the chosen view's body, the starting body.
    pub body: Tensor,
}

/// Mean confidence-weighted reprojection error of each view's own estimate, `[B, V]`, in units of
/// the person's size.
pub fn self_reprojection_error(body: &BodyTensors, batch: &EncodedBatch, params: &Tensor) -> Result<Tensor> {
    let (b, v, _) = batch.inputs.dims3()?;
    let flat = params.reshape((b * v, PARAM_DIM))?;
    let decoded = decode(&flat, &batch.centres.reshape((b * v, 2))?, &batch.sizes.reshape(b * v)?)?;
    let cam = camera_keypoints(body, &decoded.rotation, &decoded.translation, &decoded.body_pose, &decoded.betas)?;
    let projected = project(&cam)?;
    let (observed, confidence) = batch.observed()?;
    let sizes = batch.sizes.reshape((b * v, 1, 1))?;
    let distance = (projected - observed)?.sqr()?.sum(D::Minus1)?.sqrt()?.broadcast_div(&sizes.squeeze(2)?)?;
    let weighted = (distance * &confidence)?.sum(1)?;
    let total = (confidence.sum(1)? + 1e-6)?;
    (weighted / total)?.reshape((b, v))
}

/// Scores every view and starts the canonical parameters from the best one.
pub fn screen(body: &BodyTensors, batch: &EncodedBatch, params: &Tensor, confidence: &Tensor) -> Result<Screened> {
    let (b, v, _) = batch.inputs.dims3()?;
    let kp_conf = batch.inputs.narrow(2, 0, NUM_KEYPOINTS * 3)?.reshape((b, v, NUM_KEYPOINTS, 3))?.narrow(3, 2, 1)?;
    let kp_conf = kp_conf.squeeze(3)?.mean(D::Minus1)?; // [B,V]
    let error = self_reprojection_error(body, batch, params)?;
    let scores = ((confidence * kp_conf)? / ((error / REPROJECTION_SCALE)? + 1.0)?)?.mul(&batch.mask)?;
    let rows: Vec<Vec<f32>> = scores.to_vec2()?;
    let chosen: Vec<usize> = rows
        .iter()
        .zip(&batch.present)
        .map(|(row, present)| (0..v).filter(|&i| present[i]).max_by(|&a, &c| row[a].total_cmp(&row[c])).unwrap_or(0))
        .collect();
    start_from(params, scores, chosen)
}

/// No screening: every frame starts from its first present view (all present views score 1).
pub fn first_view(batch: &EncodedBatch, params: &Tensor) -> Result<Screened> {
    let chosen = batch.present.iter().map(|present| present.iter().position(|&p| p).unwrap_or(0)).collect();
    start_from(params, batch.mask.clone(), chosen)
}

/// The start: every view's camera and the `chosen` view's body.
fn start_from(params: &Tensor, scores: Tensor, chosen: Vec<usize>) -> Result<Screened> {
    let b = params.dim(0)?;
    let index = Tensor::from_vec(chosen.iter().map(|&i| i as u32).collect::<Vec<_>>(), b, params.device())?;
    let bodies = params.narrow(2, CAMERA_DIM, BODY_DIM)?; // [B,V,BODY]
    let index = index.reshape((b, 1, 1))?.broadcast_as((b, 1, BODY_DIM))?.contiguous()?;
    let body_start = bodies.contiguous()?.gather(&index, 1)?.squeeze(1)?;
    Ok(Screened { scores, chosen, cameras: params.narrow(2, 0, CAMERA_DIM)?, body: body_start })
}
