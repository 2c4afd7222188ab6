//! Forward kinematics and linear blend skinning on the CPU (nalgebra, f32), one body at a time.
//!
//! The math is SMPL's: shape the template, regress the rest joints, chain the local rotations down
//! the tree, add pose-corrective offsets when the model has them, and skin each vertex with the
//! weighted joint transforms. [`crate::body::batched`] does the same on candle tensors.

use nalgebra::{Matrix3, Vector3};

use super::error::{BodyError, Result};
use super::model::{BodyModel, SparseRows};
use super::params::BodyParams;
use super::skeleton::{NUM_JOINTS, PARENTS};

/// A rigid transform of one joint: `x -> rotation * x + translation`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointTransform {
    /// Rotation.
    pub rotation: Matrix3<f32>,
    /// Translation, metres.
    pub translation: Vector3<f32>,
}

impl JointTransform {
    /// Applies the transform to a point.
    pub fn apply(&self, p: &Vector3<f32>) -> Vector3<f32> {
        self.rotation * p + self.translation
    }
}

/// A posed body: joints, keypoints and (on request) the skinned mesh.
#[derive(Clone, Debug)]
pub struct PosedBody {
    /// The 24 SMPL joints, metres, world frame (translation included).
    pub joints: Vec<Vector3<f32>>,
    /// Global transform of every joint (rest joint position to posed frame, translation included):
    /// the joint's world rotation and its world position.
    pub joint_transforms: Vec<JointTransform>,
    /// The COCO-17 keypoints regressed from the skinned mesh.
    pub keypoints: Vec<Vector3<f32>>,
    /// The 16 extra BlazePose keypoints (`cmanet::keypoints::EXTRA_NAMES`) regressed from the
    /// skinned mesh; empty when the model has no extra regressor.
    pub extra_keypoints: Vec<Vector3<f32>>,
    /// Every skinned vertex, when asked for.
    pub vertices: Option<Vec<Vector3<f32>>>,
}

impl BodyModel {
    /// Forward kinematics: the world rotation and position of every joint for `params`.
    pub fn forward_kinematics(&self, params: &BodyParams) -> Result<Vec<JointTransform>> {
        check_finite(params)?;
        let rest = self.rest_joints(&params.betas);
        Ok(chain(&rest, &params.local_matrices(), &params.transl))
    }

    /// Poses the body: joints, keypoints and, if `with_vertices`, the whole skinned mesh.
    pub fn pose(&self, params: &BodyParams, with_vertices: bool) -> Result<PosedBody> {
        check_finite(params)?;
        // Shape the mesh once: the rest joints and the skinned vertices both start from it.
        let shaped = self.shaped_vertices(&params.betas);
        let rest = self.joint_regressor.apply(&shaped);
        let locals = params.local_matrices();
        let joint_transforms = chain(&rest, &locals, &params.transl);
        let skinning: Vec<JointTransform> = joint_transforms
            .iter()
            .zip(&rest)
            .map(|(g, j)| JointTransform { rotation: g.rotation, translation: g.translation - g.rotation * j })
            .collect();
        let pose_feature: Option<Vec<f32>> = self.posedirs.as_ref().map(|_| pose_feature(&locals));
        let skin_vertex = |v: usize| -> Vector3<f32> {
            let mut p = shaped[v];
            if let (Some(dirs), Some(feature)) = (&self.posedirs, &pose_feature) {
                for axis in 0..3 {
                    let row = dirs.row(3 * v + axis);
                    p[axis] += row.iter().zip(feature).map(|(a, b)| a * b).sum::<f32>();
                }
            }
            let mut out = Vector3::zeros();
            for (k, transform) in skinning.iter().enumerate() {
                let w = self.skin_weights[(v, k)];
                if w != 0.0 {
                    out += transform.apply(&p) * w;
                }
            }
            out
        };
        let vertices = with_vertices.then(|| (0..self.num_vertices()).map(skin_vertex).collect::<Vec<_>>());
        let regress = |regressor: &SparseRows| match &vertices {
            Some(all) => regressor.apply(all),
            None => {
                let mut sparse = vec![Vector3::zeros(); self.num_vertices()];
                for v in regressor.used_columns() {
                    sparse[v as usize] = skin_vertex(v as usize);
                }
                regressor.apply(&sparse)
            }
        };
        let keypoints = regress(&self.keypoint_regressor);
        let extra_keypoints = self.extra_regressor.as_ref().map(regress).unwrap_or_default();
        Ok(PosedBody {
            joints: joint_transforms.iter().map(|t| t.translation).collect(),
            joint_transforms,
            keypoints,
            extra_keypoints,
            vertices,
        })
    }
}

fn check_finite(params: &BodyParams) -> Result<()> {
    if params.is_finite() { Ok(()) } else { Err(BodyError::BadInput("body parameters hold non-finite values".into())) }
}

/// Chains local rotations down the SMPL tree from rest joint positions.
///
/// Returns each joint's world rotation and world position (`transl` added).
pub fn chain(rest: &[Vector3<f32>], locals: &[Matrix3<f32>; NUM_JOINTS], transl: &Vector3<f32>) -> Vec<JointTransform> {
    let (rotations, positions) = forward_chain(rest, None, locals, rest[0] + transl);
    rotations.iter().zip(positions).map(|(r, t)| JointTransform { rotation: *r, translation: t }).collect()
}

/// The crate's forward kinematics on the CPU, in any float type: every joint's world rotation and
/// position from the rest joints `rest`, the local rotations `locals` (the root's first) and the
/// root's position `root`; `bones`, if given, lengthen each bone by a correction in its parent's
/// rest frame (CMANet's per-subject bone corrections; the root's is not used). [`chain`] (the
/// body model's posing) and CMANet's body refinement both run on it; the batched, differentiable
/// kinematics on candle tensors is [`super::BodyTensors`].
pub fn forward_chain<T: nalgebra::RealField + Copy>(
    rest: &[Vector3<T>],
    bones: Option<&[Vector3<T>; NUM_JOINTS]>,
    locals: &[Matrix3<T>; NUM_JOINTS],
    root: Vector3<T>,
) -> ([Matrix3<T>; NUM_JOINTS], [Vector3<T>; NUM_JOINTS]) {
    let mut rotations = [Matrix3::identity(); NUM_JOINTS];
    let mut positions = [Vector3::zeros(); NUM_JOINTS];
    rotations[0] = locals[0];
    positions[0] = root;
    for j in 1..NUM_JOINTS {
        let p = PARENTS[j].unwrap_or(0);
        let offset = match bones {
            Some(bones) => rest[j] - rest[p] + bones[j],
            None => rest[j] - rest[p],
        };
        rotations[j] = rotations[p] * locals[j];
        positions[j] = rotations[p] * offset + positions[p];
    }
    (rotations, positions)
}

/// SMPL's pose-corrective feature: the flattened `R_j - I` of the 23 body joints (207 numbers).
pub fn pose_feature(locals: &[Matrix3<f32>; NUM_JOINTS]) -> Vec<f32> {
    locals[1..]
        .iter()
        .flat_map(|r| {
            let d = r - Matrix3::identity();
            // Row-major, as SMPL flattens its rotation matrices.
            (0..3).flat_map(move |i| (0..3).map(move |k| d[(i, k)]))
        })
        .collect()
}
