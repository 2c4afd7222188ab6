//! The SMPL 24-joint kinematic tree and the COCO-17 keypoint layout (names, parents, indices).
//!
//! These are the conventions of `shared/DESIGN.md`: every body model, file and avatar in the crate
//! uses exactly these names and this order.

/// Number of SMPL joints (the root `pelvis` plus 23 body joints).
pub const NUM_JOINTS: usize = 24;

/// Number of body joints whose rotations make up `body_pose` (all joints but the root).
pub const NUM_BODY_JOINTS: usize = NUM_JOINTS - 1;

/// Number of shape coefficients (`betas`).
pub const NUM_BETAS: usize = 10;

pub use crate::keypoints::{KEYPOINT_NAMES, LIMB_KEYPOINTS, NUM_KEYPOINTS};

/// SMPL joint names, in SMPL's order.
pub const JOINT_NAMES: [&str; NUM_JOINTS] = [
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
];

/// Parent of every SMPL joint (`None` for the root), in SMPL's order. Parents precede children.
pub const PARENTS: [Option<usize>; NUM_JOINTS] = [
    None,
    Some(0),
    Some(0),
    Some(0),
    Some(1),
    Some(2),
    Some(3),
    Some(4),
    Some(5),
    Some(6),
    Some(7),
    Some(8),
    Some(9),
    Some(9),
    Some(9),
    Some(12),
    Some(13),
    Some(14),
    Some(16),
    Some(17),
    Some(18),
    Some(19),
    Some(20),
    Some(21),
];

/// The SMPL joint that sits at each limb keypoint (same order as [`LIMB_KEYPOINTS`]).
pub const LIMB_KEYPOINT_JOINTS: [usize; 12] = [16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8];

/// Index of a SMPL joint by name.
pub fn joint_index(name: &str) -> Option<usize> {
    JOINT_NAMES.iter().position(|n| *n == name)
}

/// Index of a COCO-17 keypoint by name.
pub fn keypoint_index(name: &str) -> Option<usize> {
    KEYPOINT_NAMES.iter().position(|n| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_precede_children_and_match_design() {
        let expected = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21];
        for (i, p) in PARENTS.iter().enumerate() {
            assert_eq!(p.map_or(-1, |p| p as i32), expected[i]);
            if let Some(p) = p {
                assert!(*p < i);
            }
        }
    }

    #[test]
    fn limb_keypoints_sit_on_the_matching_joints() {
        for (k, j) in LIMB_KEYPOINTS.iter().zip(LIMB_KEYPOINT_JOINTS) {
            let kp = KEYPOINT_NAMES[*k];
            let joint = JOINT_NAMES[j];
            let side = kp.split('_').next().unwrap();
            assert!(joint.starts_with(side), "{kp} vs {joint}");
        }
        assert_eq!(joint_index("head"), Some(15));
        assert_eq!(keypoint_index("right_ankle"), Some(16));
    }
}
