//! The SMPL joints as Unity `HumanBodyBones`, the names VMC's `/VMC/Ext/Bone/Pos` carries.

use crate::body::NUM_JOINTS;

/// The Unity `HumanBodyBones` name of every SMPL joint (SMPL order, `crate::body::JOINT_NAMES`);
/// `None` for SMPL's hand tips (`left_hand`, `right_hand`), which no humanoid bone plays.
pub const VMC_BONE_NAMES: [Option<&str>; NUM_JOINTS] = [
    Some("Hips"),
    Some("LeftUpperLeg"),
    Some("RightUpperLeg"),
    Some("Spine"),
    Some("LeftLowerLeg"),
    Some("RightLowerLeg"),
    Some("Chest"),
    Some("LeftFoot"),
    Some("RightFoot"),
    Some("UpperChest"),
    Some("LeftToes"),
    Some("RightToes"),
    Some("Neck"),
    Some("LeftShoulder"),
    Some("RightShoulder"),
    Some("Head"),
    Some("LeftUpperArm"),
    Some("RightUpperArm"),
    Some("LeftLowerArm"),
    Some("RightLowerArm"),
    Some("LeftHand"),
    Some("RightHand"),
    None,
    None,
];

/// The SMPL joint a `HumanBodyBones` name plays, if any.
pub fn joint_of_bone(name: &str) -> Option<usize> {
    VMC_BONE_NAMES.iter().position(|n| *n == Some(name))
}

/// Which bones are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VmcBones {
    /// Every joint that has a humanoid bone: 22. Default.
    #[default]
    All,
    /// The hips (rotation, and position with root motion), spine, neck, head, shoulders, arms and
    /// hands: for a seated performer or an app that animates the legs itself.
    UpperBody,
}

impl VmcBones {
    /// Whether SMPL joint `joint` is sent.
    pub fn includes(self, joint: usize) -> bool {
        const LEGS: [usize; 8] = [1, 2, 4, 5, 7, 8, 10, 11];
        VMC_BONE_NAMES.get(joint).is_some_and(Option::is_some)
            && match self {
                VmcBones::All => true,
                VmcBones::UpperBody => !LEGS.contains(&joint),
            }
    }
}
