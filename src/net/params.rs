//! The parameter vector the network refines, its layout and its decoding into rotations and a
//! translation: per view the body-to-camera rotation (6D) and a translation code, shared the body
//! pose (23 x 6D) and shape (10).

use candle_core::{D, Device, Result, Tensor};

use super::body_refinement::ADAPTED_BONES;
use crate::body::{NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS};
use crate::geometry::rotation_6d_to_matrix_tensor;

/// Camera part: 6D rotation and a 3-number translation code.
pub const CAMERA_DIM: usize = 9;
/// Body part: 23 x 6D joint rotations and the betas.
pub const BODY_DIM: usize = NUM_BODY_JOINTS * 6 + NUM_BETAS;
/// The whole vector: camera then body.
pub const PARAM_DIM: usize = CAMERA_DIM + BODY_DIM;

/// The IEV's bone corrections: three numbers (metres, parent's rest frame) per bone of
/// [`ADAPTED_BONES`].
pub const BONES_DIM: usize = 3 * ADAPTED_BONES.len();

/// Bone corrections `[N, BONES_DIM]` as every joint's `[N, 24, 3]` (zero for the bones that are not
/// adapted), as [`crate::body::BodyTensors::forward_with_bones`] takes them.
pub fn expand_bones(bones: &Tensor) -> Result<Tensor> {
    let n = bones.dim(0)?;
    let padded = Tensor::cat(&[bones, &Tensor::zeros((n, 1), bones.dtype(), bones.device())?], 1)?;
    let mut index = vec![BONES_DIM as u32; NUM_JOINTS * 3];
    for (i, &b) in ADAPTED_BONES.iter().enumerate() {
        for axis in 0..3 {
            index[3 * b + axis] = (3 * i + axis) as u32;
        }
    }
    let index = Tensor::from_vec(index, NUM_JOINTS * 3, bones.device())?;
    padded.index_select(&index, 1)?.reshape((n, NUM_JOINTS, 3))
}

/// The person's size in metres that the translation code assumes (a body's keypoints span about
/// this much): depth = `BODY_SIZE / size in the image`, times `exp` of the code's third number.
pub const BODY_SIZE: f64 = 1.7;

/// The canonical point the keypoints' centre is taken to show (the middle of the torso), metres.
pub const CANONICAL_CENTRE: [f64; 3] = [0.0, 1.0, 0.0];

/// The starting vector: a camera facing the body from the front (image up = body up), zero
/// translation code, the T-pose and the mean shape. `[n, PARAM_DIM]`.
pub fn initial_params(n: usize, device: &Device) -> Result<Tensor> {
    let mut p = vec![0f32; PARAM_DIM];
    p[..6].copy_from_slice(&[1.0, 0.0, 0.0, 0.0, -1.0, 0.0]);
    for j in 0..NUM_BODY_JOINTS {
        p[CAMERA_DIM + 6 * j..CAMERA_DIM + 6 * j + 6].copy_from_slice(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }
    Tensor::from_vec(p, (1, PARAM_DIM), device)?.repeat((n, 1))
}

/// Decoded parameters of `N` rows.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// `[N, 3, 3]` body-to-camera rotation.
    pub rotation: Tensor,
    /// `[N, 3]` body-to-camera translation (the canonical origin in the camera frame).
    pub translation: Tensor,
    /// `[N, 23, 3, 3]` joint rotations.
    pub body_pose: Tensor,
    /// `[N, 10]` shape.
    pub betas: Tensor,
}

/// Decodes `[N, PARAM_DIM]` parameters of views whose person sits at `centres` `[N, 2]` with size
/// `sizes` `[N]` (normalised image units).
pub fn decode(params: &Tensor, centres: &Tensor, sizes: &Tensor) -> Result<Decoded> {
    let (rotation, translation) = decode_cameras(&params.narrow(1, 0, CAMERA_DIM)?, centres, sizes)?;
    let (body_pose, betas) = decode_body(&params.narrow(1, CAMERA_DIM, BODY_DIM)?)?;
    Ok(Decoded { rotation, translation, body_pose, betas })
}

/// The camera part `[N, CAMERA_DIM]` as body-to-camera rotations `[N, 3, 3]` and translations
/// `[N, 3]`, for views whose person sits at `centres` `[N, 2]` with size `sizes` `[N]`.
pub fn decode_cameras(cameras: &Tensor, centres: &Tensor, sizes: &Tensor) -> Result<(Tensor, Tensor)> {
    let rotation = rotation_6d_to_matrix_tensor(&cameras.narrow(1, 0, 6)?)?;
    let code = cameras.narrow(1, 6, 3)?;
    let depth = (sizes.recip()? * BODY_SIZE)?.unsqueeze(1)?.mul(&code.narrow(1, 2, 1)?.exp()?)?; // [N,1]
    let xy = (centres + code.narrow(1, 0, 2)?)?.broadcast_mul(&depth)?;
    let centre_cam = Tensor::cat(&[&xy, &depth], 1)?; // where the canonical centre lands
    let canonical = Tensor::new(&CANONICAL_CENTRE.map(|x| x as f32), cameras.device())?.reshape((1, 3, 1))?;
    let rotated = rotation.broadcast_matmul(&canonical)?.squeeze(D::Minus1)?;
    let translation = (centre_cam - rotated)?;
    Ok((rotation, translation))
}

/// The body part `[N, BODY_DIM]` as joint rotations `[N, 23, 3, 3]` and shapes `[N, 10]`.
pub fn decode_body(body: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = body.dim(0)?;
    let body_pose =
        rotation_6d_to_matrix_tensor(&body.narrow(1, 0, NUM_BODY_JOINTS * 6)?.reshape((n, NUM_BODY_JOINTS, 6))?)?;
    let betas = body.narrow(1, NUM_BODY_JOINTS * 6, NUM_BETAS)?;
    Ok((body_pose, betas))
}
