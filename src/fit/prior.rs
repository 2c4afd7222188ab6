//! Priors on the body pose for fitting: per-joint, per-axis bounds on the axis-angle components
//! (joint limits) and stiffness (how strongly a rotation is pulled back towards the T-pose).
//!
//! The bounds are on axis-angle components about the body-frame axes (x: the body's left, y: up,
//! z: forward), which for one dominant axis is the joint angle itself: knees flex about +x, hips
//! about -x, the left elbow about -y and the right about +y, the left arm lowers about -z.

use crate::body::NUM_BODY_JOINTS;

/// `(low, high)` bounds, radians, of the x, y, z components of each body joint's axis-angle, in
/// SMPL order without the pelvis.
const BOUNDS: [[(f32, f32); 3]; NUM_BODY_JOINTS] = [
    [(-2.3, 0.6), (-0.8, 0.8), (-0.6, 1.2)], // left_hip
    [(-2.3, 0.6), (-0.8, 0.8), (-1.2, 0.6)], // right_hip
    [(-0.5, 1.0), (-0.6, 0.6), (-0.5, 0.5)], // spine1
    [(-0.1, 2.7), (-0.3, 0.3), (-0.3, 0.3)], // left_knee
    [(-0.1, 2.7), (-0.3, 0.3), (-0.3, 0.3)], // right_knee
    [(-0.5, 0.8), (-0.6, 0.6), (-0.5, 0.5)], // spine2
    [(-0.9, 0.9), (-0.5, 0.5), (-0.5, 0.5)], // left_ankle
    [(-0.9, 0.9), (-0.5, 0.5), (-0.5, 0.5)], // right_ankle
    [(-0.5, 0.8), (-0.6, 0.6), (-0.5, 0.5)], // spine3
    [(-0.5, 0.5), (-0.3, 0.3), (-0.3, 0.3)], // left_foot
    [(-0.5, 0.5), (-0.3, 0.3), (-0.3, 0.3)], // right_foot
    [(-0.7, 1.0), (-1.0, 1.0), (-0.7, 0.7)], // neck
    [(-0.5, 0.5), (-0.6, 0.6), (-0.6, 0.5)], // left_collar
    [(-0.5, 0.5), (-0.6, 0.6), (-0.5, 0.6)], // right_collar
    [(-0.7, 0.9), (-0.9, 0.9), (-0.6, 0.6)], // head
    [(-1.8, 1.8), (-1.8, 1.2), (-1.8, 1.6)], // left_shoulder
    [(-1.8, 1.8), (-1.2, 1.8), (-1.6, 1.8)], // right_shoulder
    [(-1.6, 1.6), (-2.7, 0.1), (-0.3, 0.3)], // left_elbow
    [(-1.6, 1.6), (-0.1, 2.7), (-0.3, 0.3)], // right_elbow
    [(-0.9, 0.9), (-0.9, 0.9), (-0.9, 0.9)], // left_wrist
    [(-0.9, 0.9), (-0.9, 0.9), (-0.9, 0.9)], // right_wrist
    [(-0.4, 0.4), (-0.4, 0.4), (-0.4, 0.4)], // left_hand
    [(-0.4, 0.4), (-0.4, 0.4), (-0.4, 0.4)], // right_hand
];

/// The lower and upper bounds, flattened `[23 * 3]`.
pub fn limit_bounds() -> ([f32; NUM_BODY_JOINTS * 3], [f32; NUM_BODY_JOINTS * 3]) {
    let lo = std::array::from_fn(|i| BOUNDS[i / 3][i % 3].0);
    let hi = std::array::from_fn(|i| BOUNDS[i / 3][i % 3].1);
    (lo, hi)
}

/// Pose-prior stiffness per joint and axis, flattened `[23 * 3]`: 1 for joints the keypoints
/// constrain, more for the spine's twist, and a lot for the joints no COCO keypoint sees (feet,
/// hands, wrists' own rotation), which should stay near rest.
pub fn stiffness() -> [f32; NUM_BODY_JOINTS * 3] {
    std::array::from_fn(|i| match (i / 3 + 1, i % 3) {
        (7 | 8 | 10 | 11 | 20 | 21 | 22 | 23, _) => 20.0,
        (3 | 6 | 9, 1) => 5.0,
        (3 | 6 | 9 | 12 | 13 | 14 | 15, _) => 2.0,
        _ => 1.0,
    })
}

/// How far `body_pose` (axis-angle per body joint) lies outside the bounds: summed excess, radians.
pub fn limit_violation(body_pose: &[nalgebra::Vector3<f32>; NUM_BODY_JOINTS]) -> f32 {
    let (lo, hi) = limit_bounds();
    body_pose
        .iter()
        .flat_map(|v| v.iter().copied())
        .enumerate()
        .map(|(i, x)| (x - hi[i]).max(0.0) + (lo[i] - x).max(0.0))
        .sum()
}
