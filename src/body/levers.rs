//! The body's rest joints and keypoint levers as linear functions of the shape: the one place they
//! are computed from a [`BodyModel`]. Linear blend skinning makes keypoint `k` the sum over joints
//! `j` of `G_j [a_kj; w_kj]`, with `G_j` joint `j`'s world transform, `w_kj = Σ_v R_kv s_vj` and
//! `a_kj = Σ_v R_kv s_vj (v − J_j)` over the vertices `v` the keypoint regressor `R` touches (skin
//! weights `s`, rest joints `J`). The batched forward kinematics of training and `fit`
//! ([`super::BodyTensors`]) and CMANet's body refinement both read these.

use nalgebra::Vector3;

use super::model::{BodyModel, SparseRows};
use super::skeleton::{NUM_BETAS, NUM_JOINTS, NUM_KEYPOINTS};
use crate::keypoints::NUM_EXTRA_KEYPOINTS;

/// The rest joints `J(β) = J_0 + Σ_b β_b D_b` (joint regressor applied to the shaped template).
#[derive(Clone, Debug, PartialEq)]
pub struct RestJoints {
    /// The mean body's rest joints (metres, body frame).
    pub joints: [Vector3<f64>; NUM_JOINTS],
    /// How each rest joint moves per unit of each beta.
    pub dirs: [[Vector3<f64>; NUM_BETAS]; NUM_JOINTS],
}

impl RestJoints {
    /// Regresses the rest joints of `model` and their shape directions.
    pub fn new(model: &BodyModel) -> Self {
        let mut joints = [Vector3::zeros(); NUM_JOINTS];
        let mut dirs = [[Vector3::zeros(); NUM_BETAS]; NUM_JOINTS];
        for (j, row) in model.joint_regressor.rows.iter().enumerate().take(NUM_JOINTS) {
            for &(v, r) in row {
                let (v, r) = (v as usize, r as f64);
                joints[j] += model.v_template[v].cast::<f64>() * r;
                for (beta, d) in dirs[j].iter_mut().enumerate() {
                    *d += shape_dir(model, v, beta) * r;
                }
            }
        }
        Self { joints, dirs }
    }

    /// Rest joint `joint` of the body shaped by `betas`.
    pub fn joint(&self, joint: usize, betas: &[f64; NUM_BETAS]) -> Vector3<f64> {
        self.joints[joint] + self.dirs[joint].iter().zip(betas).map(|(d, b)| d * *b).sum::<Vector3<f64>>()
    }

    /// Every rest joint of the body shaped by `betas`.
    pub fn all(&self, betas: &[f64; NUM_BETAS]) -> [Vector3<f64>; NUM_JOINTS] {
        std::array::from_fn(|j| self.joint(j, betas))
    }
}

/// One keypoint's lever on one joint (see the module's documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct KeypointLever {
    /// The joint (SMPL index).
    pub joint: usize,
    /// `a_kj` of the mean body.
    pub point: Vector3<f64>,
    /// `w_kj`.
    pub weight: f64,
    /// How `a_kj` moves per unit of each beta.
    pub point_dirs: [Vector3<f64>; NUM_BETAS],
    /// How `a_kj` moves per unit of each pose-corrective feature (empty for models without pose
    /// correctives, like the open body).
    pub pose_dirs: Vec<Vector3<f64>>,
}

impl KeypointLever {
    /// `a_kj` of the body shaped by `betas`.
    pub fn shaped_point(&self, betas: &[f64; NUM_BETAS]) -> Vector3<f64> {
        self.point + self.point_dirs.iter().zip(betas).map(|(d, b)| d * *b).sum::<Vector3<f64>>()
    }
}

/// Every keypoint's levers, on the joints whose skin weights reach its vertices (in the order the
/// joints are first met).
pub fn keypoint_levers(model: &BodyModel, rest: &RestJoints) -> Vec<Vec<KeypointLever>> {
    levers_of(model, rest, &model.keypoint_regressor, NUM_KEYPOINTS)
}

/// The extra keypoints' levers (as [`keypoint_levers`]), when the model has an extra regressor.
pub fn extra_levers(model: &BodyModel, rest: &RestJoints) -> Option<Vec<Vec<KeypointLever>>> {
    model.extra_regressor.as_ref().map(|r| levers_of(model, rest, r, NUM_EXTRA_KEYPOINTS))
}

/// The levers of the first `count` rows of `regressor`.
fn levers_of(model: &BodyModel, rest: &RestJoints, regressor: &SparseRows, count: usize) -> Vec<Vec<KeypointLever>> {
    let features = model.posedirs.as_ref().map_or(0, |p| p.ncols());
    let mut levers: Vec<Vec<KeypointLever>> = vec![Vec::new(); count];
    for (k, row) in regressor.rows.iter().enumerate().take(count) {
        for &(v, r) in row {
            let v = v as usize;
            for j in 0..NUM_JOINTS {
                let w = r as f64 * model.skin_weights[(v, j)] as f64;
                if w == 0.0 {
                    continue;
                }
                let at = match levers[k].iter().position(|l| l.joint == j) {
                    Some(at) => at,
                    None => {
                        levers[k].push(KeypointLever {
                            joint: j,
                            point: Vector3::zeros(),
                            weight: 0.0,
                            point_dirs: [Vector3::zeros(); NUM_BETAS],
                            pose_dirs: vec![Vector3::zeros(); features],
                        });
                        levers[k].len() - 1
                    }
                };
                let lever = &mut levers[k][at];
                lever.point += (model.v_template[v].cast::<f64>() - rest.joints[j]) * w;
                lever.weight += w;
                for (beta, d) in lever.point_dirs.iter_mut().enumerate() {
                    *d += (shape_dir(model, v, beta) - rest.dirs[j][beta]) * w;
                }
                if let Some(posedirs) = &model.posedirs {
                    for (f, d) in lever.pose_dirs.iter_mut().enumerate() {
                        *d += Vector3::from_fn(|axis, _| posedirs[(3 * v + axis, f)] as f64) * w;
                    }
                }
            }
        }
    }
    levers
}

/// Vertex `v`'s shape direction for `beta`.
fn shape_dir(model: &BodyModel, v: usize, beta: usize) -> Vector3<f64> {
    Vector3::from_fn(|axis, _| model.shapedirs[(3 * v + axis, beta)] as f64)
}
