//! Bone corrections: a subject's proportions beyond what the betas can make. A correction moves a
//! joint's rest offset from its parent (a vector in the parent's rest frame, metres), so the joint
//! and everything below it follow. The body refinement estimates them per subject, training data
//! varies them ([`crate::data::synth`]), the batched forward pass takes them
//! ([`super::BodyTensors::forward_with_bones`]).

use nalgebra::Vector3;

use super::kinematics::JointTransform;
use super::model::BodyModel;
use super::skeleton::{NUM_JOINTS, NUM_KEYPOINTS, PARENTS};

/// The bones (named by their child joint, SMPL indices) a subject's correction may move: the hips,
/// knees, ankles, shoulders, elbows and wrists (the limb keypoints sit at these joints) and the
/// head (which carries the face's keypoints).
pub const ADAPTED_BONES: [usize; 13] = [1, 2, 4, 5, 7, 8, 15, 16, 17, 18, 19, 20, 21];

/// Per keypoint and joint, how much of the keypoint the joint carries (the keypoint regressor's
/// weights times the skin weights; each keypoint's row sums to 1).
pub fn keypoint_joint_weights(model: &BodyModel) -> [[f64; NUM_JOINTS]; NUM_KEYPOINTS] {
    let mut weights = [[0.0; NUM_JOINTS]; NUM_KEYPOINTS];
    for (k, row) in model.keypoint_regressor.rows.iter().enumerate().take(NUM_KEYPOINTS) {
        for &(v, r) in row {
            for (j, w) in weights[k].iter_mut().enumerate() {
                *w += f64::from(r) * f64::from(model.skin_weights[(v as usize, j)]);
            }
        }
    }
    weights
}

/// How far each joint of a posed body moves when the bone corrections `bones` are applied (world
/// frame; `transforms` are the posed joints' world transforms, at least 24).
pub fn bone_shifts(transforms: &[JointTransform], bones: &[Vector3<f32>; NUM_JOINTS]) -> [Vector3<f32>; NUM_JOINTS] {
    let mut shift = [Vector3::<f32>::zeros(); NUM_JOINTS];
    for j in 1..NUM_JOINTS.min(transforms.len()) {
        let p = PARENTS[j].unwrap_or(0);
        shift[j] = shift[p] + transforms[p].rotation * bones[j];
    }
    shift
}

/// Moves a posed body by bone corrections `bones` (per joint, in the parent's rest frame): every
/// joint by the corrections of the bones above it (and its own) turned by their parents' world
/// rotations, every keypoint by its joints' moves weighted by `weights`
/// ([`keypoint_joint_weights`]). The rotations do not change.
pub fn apply_bones(
    transforms: &mut [JointTransform],
    joints: &mut [Vector3<f32>],
    keypoints: &mut [Vector3<f32>],
    bones: &[Vector3<f32>; NUM_JOINTS],
    weights: &[[f64; NUM_JOINTS]; NUM_KEYPOINTS],
) {
    if transforms.len() < NUM_JOINTS || joints.len() < NUM_JOINTS || keypoints.len() < NUM_KEYPOINTS {
        return;
    }
    let shift = bone_shifts(transforms, bones);
    for j in 0..NUM_JOINTS {
        transforms[j].translation += shift[j];
        joints[j] += shift[j];
    }
    for (k, keypoint) in keypoints.iter_mut().enumerate().take(NUM_KEYPOINTS) {
        *keypoint += (0..NUM_JOINTS).map(|j| shift[j] * weights[k][j] as f32).sum::<Vector3<f32>>();
    }
}
