//! A body pose as Euler angles per SMPL joint (the decomposition of [`crate::body::limits`]), with
//! setters in anatomical terms (hip flexion, elbow flexion, arm elevation...) that hide the axis signs
//! and the left/right mirroring.
//!
//! Every setter *adds* to the current angles, so a motion can layer a base pose, a style and idle
//! variation. Joint 0 holds the pelvis tilt relative to the heading (the heading itself is separate).

use nalgebra::Vector3;

use crate::body::NUM_JOINTS;

/// SMPL joint indices used by the motions.
pub mod joint {
    /// pelvis
    pub const PELVIS: usize = 0;
    /// left_hip, right_hip
    pub const HIP: [usize; 2] = [1, 2];
    /// spine1, spine2, spine3
    pub const SPINE: [usize; 3] = [3, 6, 9];
    /// left_knee, right_knee
    pub const KNEE: [usize; 2] = [4, 5];
    /// left_ankle, right_ankle
    pub const ANKLE: [usize; 2] = [7, 8];
    /// left_foot, right_foot (the toes)
    pub const FOOT: [usize; 2] = [10, 11];
    /// neck
    pub const NECK: usize = 12;
    /// left_collar, right_collar
    pub const COLLAR: [usize; 2] = [13, 14];
    /// head
    pub const HEAD: usize = 15;
    /// left_shoulder, right_shoulder
    pub const SHOULDER: [usize; 2] = [16, 17];
    /// left_elbow, right_elbow
    pub const ELBOW: [usize; 2] = [18, 19];
    /// left_wrist, right_wrist
    pub const WRIST: [usize; 2] = [20, 21];
}

/// The body's left or right side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The body's left (+x in the body frame).
    Left,
    /// The body's right (-x in the body frame).
    Right,
}

impl Side {
    /// Both sides, left first.
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    /// 0 for left, 1 for right: the index into the per-side joint arrays.
    pub fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }

    /// +1 for left, -1 for right: mirrors rotations about y and z.
    pub fn sign(self) -> f32 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// Euler angles `[x, y, z]` (radians) of every SMPL joint; all angles given to the setters are in
/// degrees.
#[derive(Clone, Debug, PartialEq)]
pub struct Pose {
    /// Per joint `[x, y, z]`, radians (`R = Rx(x)·Rz(z)·Ry(y)`); joint 0 is the pelvis tilt.
    pub euler: [Vector3<f32>; NUM_JOINTS],
}

impl Default for Pose {
    /// The T-pose (all zero).
    fn default() -> Self {
        Self { euler: [Vector3::zeros(); NUM_JOINTS] }
    }
}

fn rad(deg: f32) -> f32 {
    deg.to_radians()
}

impl Pose {
    /// Adds raw Euler angles (degrees) to joint `j`.
    pub fn add(&mut self, j: usize, x: f32, y: f32, z: f32) {
        if let Some(e) = self.euler.get_mut(j) {
            *e += Vector3::new(rad(x), rad(y), rad(z));
        }
    }

    /// Hip: flexion (thigh forward), abduction (thigh outward), external rotation (knee outward).
    pub fn hip(&mut self, side: Side, flexion: f32, abduction: f32, external: f32) {
        let s = side.sign();
        self.add(joint::HIP[side.index()], -flexion, s * external, s * abduction);
    }

    /// Knee flexion (shank back).
    pub fn knee(&mut self, side: Side, flexion: f32) {
        self.add(joint::KNEE[side.index()], flexion, 0.0, 0.0);
    }

    /// Ankle dorsiflexion (toes up; negative = plantarflexion, toes down).
    pub fn ankle(&mut self, side: Side, dorsiflexion: f32) {
        self.add(joint::ANKLE[side.index()], -dorsiflexion, 0.0, 0.0);
    }

    /// Toe extension (toes bent up relative to the foot).
    pub fn toes(&mut self, side: Side, extension: f32) {
        self.add(joint::FOOT[side.index()], -extension, 0.0, 0.0);
    }

    /// A flat-footed leg in the sagittal plane: the shank leans forward by `shank` degrees (knee ahead
    /// of the ankle) and the thigh by `thigh` degrees (knee ahead of the hip). Sets knee flexion
    /// `shank + thigh`, ankle dorsiflexion `shank` and adds `thigh` of hip flexion.
    pub fn crouch(&mut self, side: Side, shank: f32, thigh: f32) {
        self.hip(side, thigh, 0.0, 0.0);
        self.knee(side, shank + thigh);
        self.ankle(side, shank);
    }

    /// Tilts the pelvis forward by `pitch` degrees (negative: back) while the thighs keep their
    /// direction (the hips flex by the same amount).
    pub fn pelvis_pitch(&mut self, pitch: f32) {
        self.add(joint::PELVIS, pitch, 0.0, 0.0);
        for side in Side::BOTH {
            self.hip(side, pitch, 0.0, 0.0);
        }
    }

    /// Tilts the pelvis: `pitch` forward, `roll` toward the body's left, `twist` toward the left,
    /// degrees, without compensating the legs.
    pub fn pelvis(&mut self, pitch: f32, roll: f32, twist: f32) {
        self.add(joint::PELVIS, pitch, twist, -roll);
    }

    /// The spine, spread over its three joints: `flexion` forward, `lateral` bend toward the left,
    /// `twist` of the shoulders toward the left, degrees in total.
    pub fn spine(&mut self, flexion: f32, lateral: f32, twist: f32) {
        for (j, w) in joint::SPINE.into_iter().zip([0.4, 0.3, 0.3]) {
            self.add(j, w * flexion, w * twist, -w * lateral);
        }
    }

    /// Neck and head together (60% neck, 40% head): `flexion` (chin down), `tilt` toward the left,
    /// `turn` toward the left, degrees.
    pub fn head(&mut self, flexion: f32, tilt: f32, turn: f32) {
        for (j, w) in [(joint::NECK, 0.6), (joint::HEAD, 0.4)] {
            self.add(j, w * flexion, w * turn, -w * tilt);
        }
    }

    /// Collar bone: `elevation` (shrug up) and `protraction` (forward).
    pub fn collar(&mut self, side: Side, elevation: f32, protraction: f32) {
        let s = side.sign();
        self.add(joint::COLLAR[side.index()], 0.0, -s * protraction, s * elevation);
    }

    /// Shoulder: `flexion` swings a hanging arm forward (negative: back), `elevation` raises the arm
    /// in the frontal plane from the T-pose (about -80 hangs it down), `horizontal` swings it forward
    /// in the horizontal plane. Degrees.
    pub fn shoulder(&mut self, side: Side, flexion: f32, elevation: f32, horizontal: f32) {
        let s = side.sign();
        self.add(joint::SHOULDER[side.index()], -flexion, -s * horizontal, s * elevation);
    }

    /// Elbow flexion, degrees.
    pub fn elbow(&mut self, side: Side, flexion: f32) {
        let s = side.sign();
        self.add(joint::ELBOW[side.index()], 0.0, -s * flexion, 0.0);
    }

    /// Wrist flexion (palm side, with the palm down in the T-pose) and deviation, degrees.
    pub fn wrist(&mut self, side: Side, flexion: f32, deviation: f32) {
        let s = side.sign();
        self.add(joint::WRIST[side.index()], 0.0, s * deviation, -s * flexion);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{BodyModel, BodyParams, joint_index, limits::euler_to_axis_angle};

    fn posed(pose: &Pose) -> Vec<Vector3<f32>> {
        let model = BodyModel::open_body().unwrap();
        let mut params = BodyParams::default();
        for j in 0..NUM_JOINTS {
            params.set_local_rotation(j, euler_to_axis_angle(&pose.euler[j]));
        }
        model.pose(&params, false).unwrap().joints
    }

    #[test]
    fn anatomical_setters_move_limbs_the_named_way() {
        let j = |n: &str| joint_index(n).unwrap();
        let mut p = Pose::default();
        for side in Side::BOTH {
            p.hip(side, 30.0, 0.0, 0.0);
            p.knee(side, 60.0);
            p.shoulder(side, 0.0, -80.0, 0.0);
            p.elbow(side, 90.0);
        }
        p.spine(20.0, 0.0, 0.0);
        let joints = posed(&p);
        for (hip, knee, ankle) in [("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")]
        {
            // Thigh forward, shank back relative to it.
            assert!(joints[j(knee)].z > joints[j(hip)].z + 0.1);
            assert!(joints[j(ankle)].z < joints[j(knee)].z - 0.1);
        }
        for (side, shoulder, elbow, wrist) in
            [(1.0, "left_shoulder", "left_elbow", "left_wrist"), (-1.0, "right_shoulder", "right_elbow", "right_wrist")]
        {
            // Arm hanging down at its side, forearm forward.
            assert!(joints[j(elbow)].y < joints[j(shoulder)].y - 0.2);
            assert!(side * (joints[j(elbow)].x - joints[j(shoulder)].x) > 0.0);
            assert!(joints[j(wrist)].z > joints[j(elbow)].z + 0.15);
        }
        // Spine flexion bends the upper body forward.
        assert!(joints[j("neck")].z > 0.1);
        // Arm elevation raises the arm; flexion of a hanging arm swings it forward.
        let mut p = Pose::default();
        p.shoulder(Side::Left, 0.0, 60.0, 0.0);
        p.shoulder(Side::Right, 90.0, -85.0, 0.0);
        let joints = posed(&p);
        assert!(joints[j("left_elbow")].y > joints[j("left_shoulder")].y + 0.15);
        assert!(joints[j("right_elbow")].z > joints[j("right_shoulder")].z + 0.2);
    }
}
