//! The network's parameters as keypoints: decoded bodies posed in the canonical frame, seen
//! through decoded cameras and projected into the image. Screening, the output of an estimate and
//! training's losses all go through these.

use candle_core::{DType, Result, Tensor};

use crate::body::{BatchedBody, BodyError, BodyTensors};

/// Bodies `body_pose` `[N, 23, 3, 3]`, `betas` `[N, 10]` and, when given, bone corrections
/// `bones` `[N, 24, 3]` posed in the canonical frame (root unrotated, no translation): their
/// joints and keypoints.
pub fn pose_canonical(
    body: &BodyTensors,
    body_pose: &Tensor,
    betas: &Tensor,
    bones: Option<&Tensor>,
) -> std::result::Result<BatchedBody, BodyError> {
    let n = body_pose.dim(0)?;
    let eye = Tensor::eye(3, DType::F32, body_pose.device())?.reshape((1, 1, 3, 3))?.repeat((n, 1, 1, 1))?;
    let rotations = Tensor::cat(&[&eye, body_pose], 1)?;
    let zeros = Tensor::zeros((n, 3), DType::F32, body_pose.device())?;
    body.forward_with_bones(&rotations, betas, bones, &zeros, false)
}

/// The canonical-frame keypoints `[N, 17, 3]` of bodies `body_pose` `[N, 23, 3, 3]`, `betas`
/// `[N, 10]` and bone corrections `bones` `[N, 24, 3]` (when given).
pub fn canonical_keypoints(
    body: &BodyTensors,
    body_pose: &Tensor,
    betas: &Tensor,
    bones: Option<&Tensor>,
) -> Result<Tensor> {
    Ok(pose_canonical(body, body_pose, betas, bones).map_err(candle_core::Error::wrap)?.keypoints)
}

/// Canonical keypoints `[N, 17, 3]` seen through body-to-camera `rotation` `[N, 3, 3]` and
/// `translation` `[N, 3]`.
pub fn to_camera(keypoints: &Tensor, rotation: &Tensor, translation: &Tensor) -> Result<Tensor> {
    rotation
        .matmul(&keypoints.transpose(1, 2)?.contiguous()?)?
        .transpose(1, 2)?
        .broadcast_add(&translation.unsqueeze(1)?)
}

/// The camera-frame keypoints `[N, 17, 3]` of bodies `body_pose` `[N, 23, 3, 3]`, `betas`
/// `[N, 10]` seen through body-to-camera `rotation` `[N, 3, 3]` and `translation` `[N, 3]`.
pub fn camera_keypoints(
    body: &BodyTensors,
    rotation: &Tensor,
    translation: &Tensor,
    body_pose: &Tensor,
    betas: &Tensor,
) -> Result<Tensor> {
    to_camera(&canonical_keypoints(body, body_pose, betas, None)?, rotation, translation)
}

/// Camera-frame points `[N, K, 3]` in normalised image coordinates `[N, K, 2]` (depth clamped to
/// at least 1 cm, so a point behind the camera projects far off instead of dividing by zero).
pub fn project(camera: &Tensor) -> Result<Tensor> {
    let z = camera.narrow(2, 2, 1)?.maximum(1e-2)?;
    camera.narrow(2, 0, 2)?.broadcast_div(&z)
}
