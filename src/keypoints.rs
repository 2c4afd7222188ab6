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

/// Number of BlazePose landmarks that COCO-17 lacks (eye corners, mouth corners, three points on
/// each hand, heel and foot tip of each foot).
pub const NUM_EXTRA_KEYPOINTS: usize = 16;

/// Number of keypoints in the `blazepose33` layout: the 17 COCO keypoints and the 16 extras.
pub const NUM_BLAZEPOSE_KEYPOINTS: usize = NUM_KEYPOINTS + NUM_EXTRA_KEYPOINTS;

/// The extra keypoints' names, in BlazePose's order. Hands follow the BlazePose paper: pinky and
/// index at their first knuckle, thumb at its second.
pub const EXTRA_NAMES: [&str; NUM_EXTRA_KEYPOINTS] = [
    "left_eye_inner",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye_outer",
    "mouth_left",
    "mouth_right",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// For each extra keypoint, its mirror (left and right exchanged).
pub const EXTRA_FLIP: [usize; NUM_EXTRA_KEYPOINTS] = [2, 3, 0, 1, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14];

/// For each extra keypoint, the COCO-17 keypoint it sits next to (eyes for the eye corners, the
/// nose for the mouth, wrists for the hands, ankles for the feet).
pub const EXTRA_CARRIERS: [usize; NUM_EXTRA_KEYPOINTS] = [1, 1, 2, 2, 0, 0, 9, 10, 9, 10, 9, 10, 15, 16, 15, 16];

/// For each extra keypoint, the SMPL joint that carries it (head, wrists, ankles, feet).
pub const EXTRA_JOINTS: [usize; NUM_EXTRA_KEYPOINTS] = [15, 15, 15, 15, 15, 15, 20, 21, 20, 21, 20, 21, 7, 8, 10, 11];

/// Index of each foot's heel and foot tip among the extras: `[left, right]` of `(heel, foot_index)`.
pub const EXTRA_FEET: [(usize, usize); 2] = [(12, 14), (13, 15)];

/// Index of each hand's pinky, index and thumb among the extras: `[left, right]`.
pub const EXTRA_HANDS: [[usize; 3]; 2] = [[6, 8, 10], [7, 9, 11]];

/// The hands' and feet's limbs, as indices into the COCO-17 keypoints followed by the extras
/// (extra `k` is `17 + k`): wrist to pinky, index and thumb, pinky to index, ankle to heel and foot
/// tip, heel to foot tip.
pub const EXTRA_EDGES: [(usize, usize); 14] = [
    (9, 23),
    (9, 25),
    (9, 27),
    (23, 25),
    (10, 24),
    (10, 26),
    (10, 28),
    (24, 26),
    (15, 29),
    (15, 31),
    (29, 31),
    (16, 30),
    (16, 32),
    (30, 32),
];

/// For each COCO-17 keypoint, its BlazePose landmark (nose, eyes, ears, shoulders, elbows, wrists,
/// hips, knees, ankles; BlazePose's left/right are the person's, as COCO's).
pub const BLAZEPOSE_TO_COCO: [usize; NUM_KEYPOINTS] = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28];

/// For each extra keypoint, its BlazePose landmark.
pub const BLAZEPOSE_TO_EXTRA: [usize; NUM_EXTRA_KEYPOINTS] =
    [1, 3, 4, 6, 9, 10, 17, 18, 19, 20, 21, 22, 29, 30, 31, 32];

/// The keypoint layout of a file: which keypoints it holds, in which order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeypointLayout {
    /// The 17 COCO keypoints in COCO's order. Default: every estimator reads these.
    #[default]
    Coco17,
    /// BlazePose's 33 landmarks in BlazePose's order: the 17 COCO keypoints and the 16 extras.
    BlazePose33,
}

impl KeypointLayout {
    /// The layout's name in files' metadata (`coco17`, `blazepose33`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Coco17 => "coco17",
            Self::BlazePose33 => "blazepose33",
        }
    }

    /// The layout with this metadata name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Coco17, Self::BlazePose33].into_iter().find(|l| l.name() == name)
    }

    /// Number of keypoints per view or frame in this layout.
    pub fn len(self) -> usize {
        match self {
            Self::Coco17 => NUM_KEYPOINTS,
            Self::BlazePose33 => NUM_BLAZEPOSE_KEYPOINTS,
        }
    }

    /// Always false: every layout has keypoints (for clippy's `len_without_is_empty`).
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Splits 33 BlazePose-ordered points into the COCO-17 keypoints and the 16 extras.
pub fn split_blazepose<T: Copy>(
    points: &[T; NUM_BLAZEPOSE_KEYPOINTS],
) -> ([T; NUM_KEYPOINTS], [T; NUM_EXTRA_KEYPOINTS]) {
    (BLAZEPOSE_TO_COCO.map(|i| points[i]), BLAZEPOSE_TO_EXTRA.map(|i| points[i]))
}

/// Joins the COCO-17 keypoints and the 16 extras into BlazePose's order (the inverse of
/// [`split_blazepose`]).
pub fn join_blazepose<T: Copy>(
    coco: &[T; NUM_KEYPOINTS],
    extra: &[T; NUM_EXTRA_KEYPOINTS],
) -> [T; NUM_BLAZEPOSE_KEYPOINTS] {
    let mut out = [coco[0]; NUM_BLAZEPOSE_KEYPOINTS];
    for (k, &i) in BLAZEPOSE_TO_COCO.iter().enumerate() {
        out[i] = coco[k];
    }
    for (k, &i) in BLAZEPOSE_TO_EXTRA.iter().enumerate() {
        out[i] = extra[k];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_maps_cover_blazepose_once() {
        let mut seen = [0; NUM_BLAZEPOSE_KEYPOINTS];
        for i in BLAZEPOSE_TO_COCO.iter().chain(&BLAZEPOSE_TO_EXTRA) {
            seen[*i] += 1;
        }
        assert_eq!(seen, [1; NUM_BLAZEPOSE_KEYPOINTS]);
        let points: [usize; NUM_BLAZEPOSE_KEYPOINTS] = std::array::from_fn(|i| i * 10);
        let (coco, extra) = split_blazepose(&points);
        assert_eq!(coco[5], 110, "left shoulder is BlazePose 11");
        assert_eq!(extra[12], 290, "left heel is BlazePose 29");
        assert_eq!(join_blazepose(&coco, &extra), points);
    }

    #[test]
    fn flips_exchange_left_and_right_names() {
        for (k, &m) in EXTRA_FLIP.iter().enumerate() {
            assert_eq!(EXTRA_FLIP[m], k);
            let mirrored = EXTRA_NAMES[k].replace("left", "L").replace("right", "left").replace('L', "right");
            assert_eq!(EXTRA_NAMES[m], mirrored, "{}", EXTRA_NAMES[k]);
        }
        for layout in [KeypointLayout::Coco17, KeypointLayout::BlazePose33] {
            assert_eq!(KeypointLayout::from_name(layout.name()), Some(layout));
        }
        assert_eq!(KeypointLayout::from_name("openpose25"), None);
    }
}
