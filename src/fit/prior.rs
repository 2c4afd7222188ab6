//! Priors on the body pose for fitting: joint limits from the one table in
//! [`crate::body::limits`], and per-joint stiffness (how strongly a rotation is pulled back towards
//! the T-pose).
//!
//! The limits table is written in Euler angles; the fit bounds the axis-angle components by the same
//! ranges (widened by [`LIMIT_MARGIN_DEG`]), which is exact for a rotation about one axis and a close
//! proxy otherwise, and is cheap and smooth on tensors.

use crate::body::NUM_BODY_JOINTS;
use crate::body::limits::JOINT_LIMITS_DEG;

/// How much wider than the anatomical table the fit's bounds are, degrees.
pub const LIMIT_MARGIN_DEG: f32 = 5.0;

/// The lower and upper bounds of the body joints' axis-angle components, flattened `[23 * 3]`
/// (x, y, z per joint, SMPL order without the pelvis), radians.
pub fn limit_bounds() -> ([f32; NUM_BODY_JOINTS * 3], [f32; NUM_BODY_JOINTS * 3]) {
    let bound = |i: usize, side: usize, sign: f32| {
        (JOINT_LIMITS_DEG[i / 3 + 1][i % 3][side] + sign * LIMIT_MARGIN_DEG).to_radians()
    };
    (std::array::from_fn(|i| bound(i, 0, -1.0)), std::array::from_fn(|i| bound(i, 1, 1.0)))
}

/// Pose-prior stiffness per joint and axis, flattened `[23 * 3]`: 1 for joints the keypoints
/// constrain, more for the spine's twist, and a lot for the joints no COCO keypoint sees (feet,
/// hands, wrists' own rotation), which should stay near rest.
pub fn stiffness() -> [f32; NUM_BODY_JOINTS * 3] {
    std::array::from_fn(|i| crate::body::limits::pose_stiffness_axis(i / 3 + 1, i % 3) as f32)
}
