//! One pose as VMC carries it: the model root and every bone's local position and rotation, in
//! Unity's axes ([`super::axes`]), from [`BodyParams`] and back.
//!
//! Out: the root stays at the origin; the hips' local position is the pelvis in the world (rest
//! pelvis plus `transl`), every other bone's is its rest offset from its parent for the body's
//! shape; rotations are SMPL's local rotations, whose rest (all identity, arms out) is the T-pose
//! a normalised VRM humanoid also rests in. Back: rotations are read as they came, the pelvis is
//! placed through the root, and the shape is the least-squares fit of the body model's bone
//! offsets to the received ones (exact for what we send; the closest shape for other skeletons).

use nalgebra::{DMatrix, DVector, UnitQuaternion, Vector3};

use super::axes::{from_unity_position, from_unity_rotation, to_unity_position, to_unity_rotation};
use super::bones::{VMC_BONE_NAMES, VmcBones};
use crate::body::{BodyParams, NUM_BETAS, NUM_JOINTS, PARENTS, RestJoints};

/// The largest |beta| a received skeleton's shape is given (a skeleton far from ours gets the
/// nearest plausible body, not an extreme one).
pub const MAX_RECEIVED_BETA: f64 = 5.0;

/// A position and a rotation, Unity's axes (as on the wire).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VmcTransform {
    /// Position, metres.
    pub position: Vector3<f32>,
    /// Rotation.
    pub rotation: UnitQuaternion<f32>,
}

impl Default for VmcTransform {
    fn default() -> Self {
        Self { position: Vector3::zeros(), rotation: UnitQuaternion::identity() }
    }
}

/// One bone of a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VmcBone {
    /// The SMPL joint it plays (its name is [`VMC_BONE_NAMES`]`[joint]`).
    pub joint: usize,
    /// Its local transform (relative to its parent bone; the hips relative to the root).
    pub local: VmcTransform,
}

/// One frame of the stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmcFrame {
    /// Seconds (`/VMC/Ext/T`): the capture time of the pose.
    pub time: f32,
    /// The model root in the receiver's world (`/VMC/Ext/Root/Pos`).
    pub root: VmcTransform,
    /// The bones (`/VMC/Ext/Bone/Pos`), SMPL order.
    pub bones: Vec<VmcBone>,
}

/// What a frame made from a pose carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSettings {
    /// Which bones. Default: [`VmcBones::All`].
    pub bones: VmcBones,
    /// Send the hips where the pose puts them; false stands them at the origin at the body's
    /// rest height above its toes (for apps that place the avatar themselves). Default: true.
    pub root_motion: bool,
}

impl Default for FrameSettings {
    fn default() -> Self {
        Self { bones: VmcBones::All, root_motion: true }
    }
}

impl VmcFrame {
    /// The frame of `params` at `time` seconds; `rest` is the body model's rest skeleton.
    pub fn from_params(params: &BodyParams, rest: &RestJoints, time: f32, settings: &FrameSettings) -> Self {
        let betas = params.betas.map(f64::from);
        let joints: [Vector3<f32>; NUM_JOINTS] = std::array::from_fn(|j| rest.joint(j, &betas).cast());
        let bones = (0..NUM_JOINTS)
            .filter(|&j| settings.bones.includes(j))
            .map(|j| {
                let position = match PARENTS[j] {
                    Some(p) => joints[j] - joints[p],
                    None if settings.root_motion => joints[0] + params.transl,
                    None => Vector3::new(0.0, joints[0].y - joints[10].y.min(joints[11].y), 0.0),
                };
                let rotation = UnitQuaternion::from_scaled_axis(params.local_rotation(j));
                VmcBone {
                    joint: j,
                    local: VmcTransform {
                        position: to_unity_position(&position),
                        rotation: to_unity_rotation(&rotation),
                    },
                }
            })
            .collect();
        Self { time, root: VmcTransform::default(), bones }
    }

    /// The pose the frame shows, in our axes. Joints the frame lacks keep their rest rotation;
    /// with `fit_shape` the shape is fitted to the received bone offsets (see the module), else
    /// it is the mean shape.
    pub fn to_params(&self, rest: &RestJoints, fit_shape: bool) -> BodyParams {
        let mut params = BodyParams::default();
        let root_rotation = from_unity_rotation(&self.root.rotation);
        let root_position = from_unity_position(&self.root.position);
        let mut pelvis = root_position;
        for bone in &self.bones {
            let local = from_unity_rotation(&bone.local.rotation);
            if bone.joint == 0 {
                params.global_orient = (root_rotation * local).scaled_axis();
                pelvis = root_position + root_rotation * from_unity_position(&bone.local.position);
            } else if bone.joint < NUM_JOINTS {
                params.set_local_rotation(bone.joint, local.scaled_axis());
            }
        }
        if fit_shape {
            params.betas = self.fitted_betas(rest).map(|b| b as f32);
        }
        let betas = params.betas.map(f64::from);
        params.transl = pelvis - rest.joint(0, &betas).cast();
        params
    }

    /// The betas whose rest bone offsets are nearest the received ones (ridge least squares,
    /// clamped to [`MAX_RECEIVED_BETA`]); zero when no offsets came.
    fn fitted_betas(&self, rest: &RestJoints) -> [f64; NUM_BETAS] {
        let offsets: Vec<(usize, usize, Vector3<f64>)> = self
            .bones
            .iter()
            .filter(|b| b.joint < NUM_JOINTS && VMC_BONE_NAMES[b.joint].is_some())
            .filter_map(|b| Some((b.joint, PARENTS[b.joint]?, from_unity_position(&b.local.position).cast())))
            .collect();
        if offsets.is_empty() {
            return [0.0; NUM_BETAS];
        }
        let mut a = DMatrix::<f64>::zeros(3 * offsets.len() + NUM_BETAS, NUM_BETAS);
        let mut b = DVector::<f64>::zeros(3 * offsets.len() + NUM_BETAS);
        for (row, (j, p, offset)) in offsets.iter().enumerate() {
            let mean = rest.joints[*j] - rest.joints[*p];
            for axis in 0..3 {
                for k in 0..NUM_BETAS {
                    a[(3 * row + axis, k)] = rest.dirs[*j][k][axis] - rest.dirs[*p][k][axis];
                }
                b[3 * row + axis] = offset[axis] - mean[axis];
            }
        }
        // A light ridge keeps the system solvable when few bones came.
        let ridge = 1e-6;
        for k in 0..NUM_BETAS {
            a[(3 * offsets.len() + k, k)] = ridge;
        }
        let solved = a.svd(true, true).solve(&b, 1e-12).unwrap_or_else(|_| DVector::zeros(NUM_BETAS));
        std::array::from_fn(|k| {
            let v = solved[k];
            if v.is_finite() { v.clamp(-MAX_RECEIVED_BETA, MAX_RECEIVED_BETA) } else { 0.0 }
        })
    }
}
