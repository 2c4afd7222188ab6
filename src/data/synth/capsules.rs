//! Self-occlusion: the body approximated by capsules along its bones (pelvis, abdomen, chest,
//! shoulders, neck, head, upper and lower arms, hands, thighs, shanks, feet), carried rigidly by the
//! joints, and the test whether a keypoint is hidden from a camera by another part of the body.
//!
//! A limb keypoint (shoulder to ankle) is hidden when the line of sight from the camera to a point
//! just in front of it passes through a capsule that neither belongs to its own joint nor contains
//! it. A face keypoint (nose, eyes, ears) is hidden when it faces away from the camera (it lies on
//! the far side of the head) or when another part (a hand, an arm) is in the way.

use nalgebra::Vector3;

use crate::body::{JointTransform, LIMB_KEYPOINT_JOINTS, LIMB_KEYPOINTS, NUM_JOINTS, NUM_KEYPOINTS};

/// Standing height of the body the radii below were measured on, metres.
const REFERENCE_HEIGHT: f32 = 1.647;

/// How far the line of sight stops short of the keypoint (it is seen on the body's surface, not at
/// the joint centre), metres at the reference height.
const SURFACE_OFFSET: f32 = 0.03;

/// Joints of the head and neck capsules (skipped for face keypoints).
const HEAD_JOINTS: [usize; 2] = [12, 15];

/// The face keypoints (nose, eyes, ears) are visible when the cosine between their outward
/// direction from the head centre and the direction to the camera exceeds these.
const FACE_VISIBLE_COSINE: [f32; 5] = [-0.1, 0.0, 0.0, -0.25, -0.25];

/// A capsule: every point within `radius` of the segment `a`–`b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capsule {
    /// One end of the axis.
    pub a: Vector3<f32>,
    /// The other end of the axis.
    pub b: Vector3<f32>,
    /// Radius, metres.
    pub radius: f32,
    /// The joint that carries it.
    pub joint: usize,
}

impl Capsule {
    /// Whether `p` lies inside.
    pub fn contains(&self, p: &Vector3<f32>) -> bool {
        point_segment_distance(p, &self.a, &self.b) < self.radius
    }

    /// Whether the segment `p`–`q` passes through.
    pub fn hit_by(&self, p: &Vector3<f32>, q: &Vector3<f32>) -> bool {
        segment_distance(p, q, &self.a, &self.b) < self.radius
    }
}

/// The capsules of one body shape in its rest pose, each attached to a joint.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyCapsules {
    /// Rest-pose capsules, offsets relative to the carrying joint's rest position.
    rest: Vec<Capsule>,
    /// Centre of the head relative to the head joint's rest position.
    head_centre: Vector3<f32>,
    /// Metres per reference metre (body height / reference height).
    scale: f32,
}

/// Capsules of a posed body, world frame.
#[derive(Clone, Debug, PartialEq)]
pub struct PosedCapsules {
    /// Every capsule.
    pub capsules: Vec<Capsule>,
    /// Centre of the head.
    pub head_centre: Vector3<f32>,
    scale: f32,
}

impl BodyCapsules {
    /// Capsules of a body with rest joints `rest` (24, T-pose) and standing height `height`, radii
    /// multiplied by `radius_scale`. `None` when `rest` does not hold the 24 joints.
    pub fn new(rest: &[Vector3<f32>], height: f32, radius_scale: f32) -> Option<Self> {
        if rest.len() != NUM_JOINTS {
            return None;
        }
        let s = if height.is_finite() && height > 0.0 { height / REFERENCE_HEIGHT } else { 1.0 };
        let r = |j: usize| rest[j];
        let v = |x: f32, y: f32, z: f32| Vector3::new(x, y, z) * s;
        let mut out = Vec::new();
        let mut add = |joint: usize, a: Vector3<f32>, b: Vector3<f32>, radius: f32| {
            out.push(Capsule { a: a - r(joint), b: b - r(joint), radius: radius * s * radius_scale, joint })
        };
        let pelvis = r(0);
        let (hip_y, spine1_y) = (r(1).y, r(3).y);
        for side in [1.0, -1.0] {
            // Pelvis and lower belly: two capsules side by side give the flattened cross-section.
            add(
                0,
                Vector3::new(pelvis.x + side * 0.075 * s, hip_y - 0.06 * s, pelvis.z),
                Vector3::new(pelvis.x + side * 0.075 * s, spine1_y, pelvis.z),
                0.10,
            );
            let abdomen = Vector3::new(r(3).x + side * 0.05 * s, 0.0, r(3).z + 0.06 * s);
            add(
                3,
                Vector3::new(abdomen.x, r(3).y + 0.03 * s, abdomen.z),
                Vector3::new(abdomen.x, r(6).y + 0.02 * s, abdomen.z),
                0.10,
            );
            let chest = Vector3::new(r(9).x + side * 0.05 * s, 0.0, r(9).z + 0.05 * s);
            add(
                9,
                Vector3::new(chest.x, r(6).y + 0.02 * s, chest.z),
                Vector3::new(chest.x, r(12).y - 0.15 * s, chest.z),
                0.09,
            );
        }
        // Across the top of the chest, between the shoulders.
        let girdle = Vector3::new(r(9).x, r(12).y - 0.075 * s, r(9).z + 0.03 * s);
        add(9, girdle - v(0.08, 0.0, 0.0), girdle + v(0.08, 0.0, 0.0), 0.05);
        add(12, r(12), r(15), 0.055);
        add(15, r(15) + v(0.0, 0.04, 0.01), r(15) + v(0.0, 0.08, 0.01), 0.095);
        for (shoulder, elbow, wrist, hand) in [(16, 18, 20, 22), (17, 19, 21, 23)] {
            add(shoulder, r(shoulder), r(elbow), 0.05);
            add(elbow, r(elbow), r(wrist), 0.04);
            add(wrist, r(wrist), r(hand) + (r(hand) - r(wrist)) * 0.6, 0.035);
        }
        for (hip, knee, ankle, foot) in [(1, 4, 7, 10), (2, 5, 8, 11)] {
            add(hip, r(hip), r(knee), 0.07);
            add(knee, r(knee), r(ankle), 0.05);
            add(ankle, r(ankle), r(foot) + v(0.0, 0.015, 0.05), 0.04);
        }
        Some(Self { rest: out, head_centre: v(0.0, 0.03, 0.01), scale: s })
    }

    /// The capsules carried to the pose given by the joints' world transforms (24).
    pub fn posed(&self, transforms: &[JointTransform]) -> PosedCapsules {
        let carry =
            |joint: usize, p: &Vector3<f32>| transforms.get(joint).map_or(*p, |t| t.rotation * p + t.translation);
        PosedCapsules {
            capsules: self
                .rest
                .iter()
                .map(|c| Capsule { a: carry(c.joint, &c.a), b: carry(c.joint, &c.b), ..*c })
                .collect(),
            head_centre: carry(15, &self.head_centre),
            scale: self.scale,
        }
    }
}

impl PosedCapsules {
    /// Whether COCO keypoint `keypoint` at world position `point` is hidden from a camera at `eye`
    /// by the body itself. Indices past the 17 keypoints are never hidden.
    pub fn occluded(&self, eye: &Vector3<f32>, keypoint: usize, point: &Vector3<f32>) -> bool {
        if keypoint >= NUM_KEYPOINTS {
            return false;
        }
        let to_eye = eye - point;
        let distance = to_eye.norm();
        if distance < 1e-6 {
            return false;
        }
        let to_eye = to_eye / distance;
        let own_joint = LIMB_KEYPOINTS.iter().position(|&k| k == keypoint).map(|i| LIMB_KEYPOINT_JOINTS[i]);
        if own_joint.is_none() {
            // A face keypoint on the far side of the head.
            let outward = point - self.head_centre;
            let n = outward.norm();
            if n > 1e-6 && outward.dot(&to_eye) / n < FACE_VISIBLE_COSINE[keypoint] {
                return true;
            }
        }
        let surface = point + to_eye * (SURFACE_OFFSET * self.scale).min(0.5 * distance);
        self.capsules.iter().any(|c| {
            let own = match own_joint {
                Some(j) => c.joint == j,
                None => HEAD_JOINTS.contains(&c.joint),
            };
            !own && !c.contains(point) && c.hit_by(eye, &surface)
        })
    }
}

/// Distance from `p` to the segment `a`–`b`.
fn point_segment_distance(p: &Vector3<f32>, a: &Vector3<f32>, b: &Vector3<f32>) -> f32 {
    let ab = b - a;
    let len2 = ab.norm_squared();
    let t = if len2 > 1e-12 { ((p - a).dot(&ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (p - (a + ab * t)).norm()
}

/// Shortest distance between the segments `p1`–`q1` and `p2`–`q2` (closest points by clamped
/// parameters, as in Ericson's *Real-Time Collision Detection*).
fn segment_distance(p1: &Vector3<f32>, q1: &Vector3<f32>, p2: &Vector3<f32>, q2: &Vector3<f32>) -> f32 {
    let d1 = q1 - p1;
    let d2 = q2 - p2;
    let r = p1 - p2;
    let (a, e, f) = (d1.norm_squared(), d2.norm_squared(), d2.dot(&r));
    let eps = 1e-12;
    let (s, t) = if a <= eps && e <= eps {
        (0.0, 0.0)
    } else if a <= eps {
        (0.0, (f / e).clamp(0.0, 1.0))
    } else {
        let c = d1.dot(&r);
        if e <= eps {
            ((-c / a).clamp(0.0, 1.0), 0.0)
        } else {
            let b = d1.dot(&d2);
            let denom = a * e - b * b;
            let mut s = if denom > eps { ((b * f - c * e) / denom).clamp(0.0, 1.0) } else { 0.0 };
            let mut t = (b * s + f) / e;
            if t < 0.0 {
                t = 0.0;
                s = (-c / a).clamp(0.0, 1.0);
            } else if t > 1.0 {
                t = 1.0;
                s = ((b - c) / a).clamp(0.0, 1.0);
            }
            (s, t)
        }
    };
    ((p1 + d1 * s) - (p2 + d2 * t)).norm()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{BodyModel, BodyParams, NUM_BETAS, keypoint_index};

    #[test]
    fn segment_distances() {
        let v = Vector3::new;
        assert!(
            (segment_distance(&v(0.0, 0.0, 0.0), &v(1.0, 0.0, 0.0), &v(0.5, 1.0, -1.0), &v(0.5, 1.0, 1.0)) - 1.0).abs()
                < 1e-6
        );
        // Parallel and degenerate segments.
        assert!(
            (segment_distance(&v(0.0, 0.0, 0.0), &v(1.0, 0.0, 0.0), &v(0.0, 2.0, 0.0), &v(1.0, 2.0, 0.0)) - 2.0).abs()
                < 1e-6
        );
        assert!(
            (segment_distance(&v(3.0, 0.0, 0.0), &v(3.0, 0.0, 0.0), &v(0.0, 0.0, 0.0), &v(1.0, 0.0, 0.0)) - 2.0).abs()
                < 1e-6
        );
        assert!((point_segment_distance(&v(0.5, 0.3, 0.0), &v(0.0, 0.0, 0.0), &v(1.0, 0.0, 0.0)) - 0.3).abs() < 1e-6);
    }

    #[test]
    fn the_body_hides_what_is_behind_it() {
        let model = BodyModel::open_body().unwrap();
        let betas = [0.0; NUM_BETAS];
        let capsules = BodyCapsules::new(&model.rest_joints(&betas), model.height(&betas), 1.0).unwrap();
        let posed_body = model.pose(&BodyParams::default(), false).unwrap();
        let posed = capsules.posed(&posed_body.joint_transforms);
        let kp = |name: &str| keypoint_index(name).unwrap();
        let at = |name: &str| posed_body.keypoints[kp(name)];
        let front = Vector3::new(0.0, 1.2, 4.0);
        let behind = Vector3::new(0.0, 1.2, -4.0);
        // Seen from the front in the T-pose nothing is hidden.
        for k in 0..NUM_KEYPOINTS {
            assert!(!posed.occluded(&front, k, &posed_body.keypoints[k]), "{k} hidden from the front");
        }
        // From behind the face is hidden, the shoulders and hips are not.
        for name in ["nose", "left_eye", "right_eye"] {
            assert!(posed.occluded(&behind, kp(name), &at(name)), "{name} seen through the head");
        }
        for name in ["left_shoulder", "right_hip", "left_ankle"] {
            assert!(!posed.occluded(&behind, kp(name), &at(name)), "{name} hidden from behind");
        }
        // From the body's left, with the arms hanging, the right-side joints are behind the body and
        // the left ones are not (but the left hip is behind the left hand).
        let mut arms_down = BodyParams::default();
        arms_down.set_local_rotation(16, Vector3::new(0.0, 0.0, -1.35));
        arms_down.set_local_rotation(17, Vector3::new(0.0, 0.0, 1.35));
        let down_body = model.pose(&arms_down, false).unwrap();
        let down = capsules.posed(&down_body.joint_transforms);
        let at_down = |name: &str| down_body.keypoints[kp(name)];
        let left = Vector3::new(4.0, 1.0, 0.0);
        for name in ["right_shoulder", "right_elbow", "right_hip", "right_knee", "right_ankle", "right_ear"] {
            assert!(down.occluded(&left, kp(name), &at_down(name)), "{name} seen through the body");
        }
        for name in ["left_shoulder", "left_elbow", "left_wrist", "left_knee", "left_ankle", "left_ear", "nose"] {
            assert!(!down.occluded(&left, kp(name), &at_down(name)), "{name} hidden from its own side");
        }
        assert!(down.occluded(&left, kp("left_hip"), &at_down("left_hip")), "the hanging hand covers the hip");
        assert!(!posed.occluded(&front, 17, &at("nose")));
    }
}
