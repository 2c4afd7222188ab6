//! The SMPL parameters of one body: global orientation, 23 joint rotations, shape and translation.

use nalgebra::{Matrix3, Vector3};

use super::skeleton::{NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS};
use crate::geometry::axis_angle_to_matrix;

/// SMPL parameters of one body, axis-angle rotations as in SMPL's files.
///
/// `Default` is the mean body in the T-pose at the origin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BodyParams {
    /// Rotation of the root (pelvis), axis-angle. Default: zero.
    pub global_orient: Vector3<f32>,
    /// Local rotations of the 23 body joints (SMPL order without the pelvis), axis-angle.
    /// Default: zero (T-pose).
    pub body_pose: [Vector3<f32>; NUM_BODY_JOINTS],
    /// Shape coefficients. Default: zero (the mean body).
    pub betas: [f32; NUM_BETAS],
    /// Translation added to every joint and vertex, metres. Default: zero.
    pub transl: Vector3<f32>,
}

impl BodyParams {
    /// The local rotation of SMPL joint `joint` (0 = pelvis, using `global_orient`).
    pub fn local_rotation(&self, joint: usize) -> Vector3<f32> {
        if joint == 0 { self.global_orient } else { self.body_pose[joint - 1] }
    }

    /// Sets the local rotation of SMPL joint `joint` (0 = pelvis sets `global_orient`).
    pub fn set_local_rotation(&mut self, joint: usize, axis_angle: Vector3<f32>) {
        if joint == 0 {
            self.global_orient = axis_angle;
        } else {
            self.body_pose[joint - 1] = axis_angle;
        }
    }

    /// The 24 local rotation matrices.
    pub fn local_matrices(&self) -> [Matrix3<f32>; NUM_JOINTS] {
        std::array::from_fn(|j| axis_angle_to_matrix(&self.local_rotation(j)))
    }

    /// The pose `w` of the way from `self` to `other` (0 gives `self`, 1 `other`): rotations on
    /// the shortest arc, translation and shape linearly.
    pub fn interpolate(&self, other: &Self, w: f32) -> Self {
        use crate::geometry::{axis_angle_to_quaternion, quaternion_to_axis_angle};
        let mut out = self.clone();
        for j in 0..NUM_JOINTS {
            let (a, b) =
                (axis_angle_to_quaternion(&self.local_rotation(j)), axis_angle_to_quaternion(&other.local_rotation(j)));
            let b = if a.coords.dot(&b.coords) < 0.0 {
                nalgebra::UnitQuaternion::new_unchecked(-b.into_inner())
            } else {
                b
            };
            let q = a.try_slerp(&b, w, 1e-9).unwrap_or(if w < 0.5 { a } else { b });
            out.set_local_rotation(j, quaternion_to_axis_angle(&q));
        }
        out.transl = self.transl.lerp(&other.transl, w);
        out.betas = std::array::from_fn(|k| self.betas[k] + w * (other.betas[k] - self.betas[k]));
        out
    }

    /// Whether every number is finite.
    pub fn is_finite(&self) -> bool {
        self.global_orient
            .iter()
            .chain(self.body_pose.iter().flatten())
            .chain(self.transl.iter())
            .all(|x| x.is_finite())
            && self.betas.iter().all(|x| x.is_finite())
    }
}
