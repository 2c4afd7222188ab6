//! The COCO-17 keypoint layout every layer shares: how many keypoints, their names, their mirror
//! images, the limbs among them. The lowest layer of the crate (geometry triangulates these
//! keypoints); the body, the data formats, the detector and the plugin read them from here.

/// Number of COCO-17 keypoints.
pub const NUM_KEYPOINTS: usize = 17;

/// COCO-17 keypoint names, in COCO's order.
pub const KEYPOINT_NAMES: [&str; NUM_KEYPOINTS] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

/// The 12 limb keypoints (shoulders to ankles) as indices into the COCO-17 order.
pub const LIMB_KEYPOINTS: [usize; 12] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// The limbs between the keypoints (COCO-17 indices), as drawn on overlays and gizmos.
pub const COCO_EDGES: [(usize, usize); 16] = [
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (5, 6),
    (5, 7),
    (7, 9),
    (6, 8),
    (8, 10),
    (5, 11),
    (6, 12),
    (11, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
];

/// For each COCO-17 keypoint, its mirror: left and right exchanged (the nose stays).
pub const COCO_FLIP: [usize; NUM_KEYPOINTS] = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
