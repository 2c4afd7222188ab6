//! The training losses, on candle tensors (all differentiable):
//! - [`reprojection`]: confidence-weighted, robust 2D reprojection error against the detector's
//!   confident keypoints only, in units of the person's size;
//! - [`smpl_agreement`]: agreement of predicted body rotations and shape with pseudo-labels
//!   (multi-view SMPLify fits), weighted by how far each label can be trusted;
//! - [`view_agreement`]: the views of one frame should describe the same body.

use candle_core::{D, DType, Result, Tensor};

use crate::net::params::{BODY_SIZE, CANONICAL_CENTRE};
use crate::net::projection::project;
pub use crate::net::projection::{camera_keypoints, canonical_keypoints, to_camera};

/// Keypoints below this confidence do not enter the reprojection loss.
pub const CONFIDENT: f32 = 0.5;

/// Agreement of canonical keypoints `[N, 17, 3]` with the labels' `[N, 17, 3]`: the mean
/// Euclidean distance in metres (what PA-MPJPE measures, before alignment), weighted by `trust`
/// `[N]`.
pub fn keypoint_agreement(keypoints: &Tensor, label: &Tensor, trust: &Tensor) -> Result<Tensor> {
    let distance = ((keypoints - label)?.sqr()?.sum(D::Minus1)? + 1e-8)?.sqrt()?.mean(1)?;
    weighted_mean(&distance, trust)
}

/// The translation code (see [`crate::net::params::decode`]) that reproduces a label's
/// body-to-camera `rotation` `[N, 3, 3]` and `translation` `[N, 3]` for views whose person sits at
/// `centres` `[N, 2]` with size `sizes` `[N]`: `[N, 3]`, finite whenever the label's canonical
/// centre lies in front of the camera (clamped otherwise).
pub fn translation_code(rotation: &Tensor, translation: &Tensor, centres: &Tensor, sizes: &Tensor) -> Result<Tensor> {
    let canonical = Tensor::new(&CANONICAL_CENTRE.map(|x| x as f32), rotation.device())?.reshape((1, 3, 1))?;
    let centre_cam = (rotation.broadcast_matmul(&canonical)?.squeeze(D::Minus1)? + translation)?;
    let depth = centre_cam.narrow(1, 2, 1)?.maximum(1e-2)?;
    let xy = (centre_cam.narrow(1, 0, 2)?.broadcast_div(&depth)? - centres)?;
    let log_depth = depth.broadcast_mul(&(sizes / BODY_SIZE)?.unsqueeze(1)?)?.log()?;
    Tensor::cat(&[&xy, &log_depth], 1)
}

/// Beyond this (in units of the person's size, or of log depth) a translation-code error counts
/// linearly, not squared, so a wild label cannot dominate a batch.
pub const CODE_HUBER: f64 = 0.2;

/// Agreement of predicted translation codes `[N, 3]` with the labels' `[N, 3]`: Huber distance
/// (quadratic below [`CODE_HUBER`]) with the image offset in units of the person's size, weighted
/// by `weight` `[N]`.
pub fn code_agreement(code: &Tensor, label: &Tensor, sizes: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let scale = Tensor::cat(&[&sizes.unsqueeze(1)?, &sizes.unsqueeze(1)?, &sizes.ones_like()?.unsqueeze(1)?], 1)?;
    let error = (code - label)?.broadcast_div(&scale)?.abs()?;
    let quadratic = error.minimum(CODE_HUBER)?;
    let linear = (&error - &quadratic)?;
    // 0.5 q^2 + delta * (|e| - q): the Huber function.
    let huber = ((quadratic.sqr()? * 0.5)? + (linear * CODE_HUBER)?)?;
    weighted_mean(&huber.sum(1)?, weight)
}

/// Mean robust reprojection loss over `N` views: `camera` `[N, 17, 3]` keypoints in each camera,
/// `observed` `[N, 17, 2]` normalised image coordinates, `confidence` `[N, 17]`, `sizes` `[N]`
/// (person size, normalised units). Geman–McClure with scale `robust_scale` (a fraction of the
/// person's size; the loss is divided by its square, so it reads as a squared error in those units
/// below the scale and saturates at 1 above it), keypoints below [`CONFIDENT`] ignored, each view
/// normalised by its total confidence.
pub fn reprojection(
    camera: &Tensor,
    observed: &Tensor,
    confidence: &Tensor,
    sizes: &Tensor,
    robust_scale: f64,
) -> Result<Tensor> {
    let r2 = (project(camera)? - observed)?.sqr()?.sum(D::Minus1)?.broadcast_div(&sizes.sqr()?.unsqueeze(1)?)?;
    let s2 = robust_scale * robust_scale;
    let robust = ((&r2 * s2)? / (r2 + s2)?)?;
    let weight = (confidence.ge(CONFIDENT)?.to_dtype(DType::F32)? * confidence)?;
    let per_view = ((robust * &weight)?.sum(1)? / (weight.sum(1)? + 1e-6)?)?;
    per_view.mean_all()? / s2
}

/// Weighted agreement with pseudo-labels: squared Frobenius distance of the joint rotations
/// `[N, 23, 3, 3]` plus `betas_weight` times the squared distance of the shapes `[N, 10]`, each
/// sample weighted by `trust` `[N]` (0 ignores a label), averaged.
pub fn smpl_agreement(
    body_pose: &Tensor,
    betas: &Tensor,
    label_pose: &Tensor,
    label_betas: &Tensor,
    trust: &Tensor,
    betas_weight: f64,
) -> Result<Tensor> {
    let rotations = (body_pose - label_pose)?.sqr()?.flatten_from(1)?.sum(1)?;
    let shapes = ((betas - label_betas)?.sqr()?.sum(1)? * betas_weight)?;
    weighted_mean(&(rotations + shapes)?, trust)
}

/// Weighted mean over samples of the squared distance between `a` and `b` (`[N, ...]`), weights
/// `[N]` (0 ignores a sample).
pub fn weighted_squared_distance(a: &Tensor, b: &Tensor, weight: &Tensor) -> Result<Tensor> {
    weighted_mean(&(a - b)?.sqr()?.flatten_from(1)?.sum(1)?, weight)
}

fn weighted_mean(per_sample: &Tensor, weight: &Tensor) -> Result<Tensor> {
    (per_sample * weight)?.sum_all()? / (weight.sum_all()?.to_scalar::<f32>()? as f64).max(1e-6)
}

/// Disagreement of the views' bodies within each frame: `body_pose` `[B, V, 23, 3, 3]`, `mask`
/// `[B, V]` (1 = present); the squared distance of every present view's rotations to the frame's
/// mean, averaged over present views.
pub fn view_agreement(body_pose: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, v) = mask.dims2()?;
    let m = mask.reshape((b, v, 1, 1, 1))?;
    let count = (mask.sum_keepdim(1)? + 1e-6)?.reshape((b, 1, 1, 1, 1))?;
    let mean = body_pose.broadcast_mul(&m)?.sum_keepdim(1)?.broadcast_div(&count)?;
    let spread = body_pose.broadcast_sub(&mean)?.sqr()?.broadcast_mul(&m)?.flatten_from(2)?.sum(2)?; // [B,V]
    spread.sum_all()? / (mask.sum_all()?.to_scalar::<f32>()? as f64).max(1e-6)
}
