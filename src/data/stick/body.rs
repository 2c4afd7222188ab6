//! The stick body: a skeleton of its own (19 joints, not SMPL's 24), with proportions drawn per
//! subject well outside our body model's shape space (children to tall adults, every segment
//! scaled on its own, a little asymmetry) and COCO-17 keypoints placed the way annotators and
//! detectors place them: offsets from the joint centres, some systematic for everyone (the hips
//! higher and wider than the hip joints, the shoulders on top of the shoulder joints), some drawn
//! per subject and keypoint.
//!
//! Nothing here reads [`crate::body::BodyModel`]: the keypoints are the skeleton's own. Axes as
//! everywhere in the crate: +y up, the body faces +z, +x is the body's left.

use nalgebra::{Matrix3, Vector3};

use crate::data::synth::capsules::Capsule;
use crate::data::synth::random::Rng;

/// The skeleton's joints.
pub const STICK_JOINTS: usize = 19;

/// Joint indices.
pub mod joint {
    /// The root, between the hip joints.
    pub const PELVIS: usize = 0;
    /// Lumbar spine.
    pub const LUMBAR: usize = 1;
    /// Thoracic spine (the chest; carries the shoulders and the neck).
    pub const CHEST: usize = 2;
    /// Base of the neck.
    pub const NECK: usize = 3;
    /// Centre of the head.
    pub const HEAD: usize = 4;
    /// Left shoulder joint (the arm's ball joint).
    pub const L_SHOULDER: usize = 5;
    /// Right shoulder joint.
    pub const R_SHOULDER: usize = 6;
    /// Left elbow.
    pub const L_ELBOW: usize = 7;
    /// Right elbow.
    pub const R_ELBOW: usize = 8;
    /// Left wrist.
    pub const L_WRIST: usize = 9;
    /// Right wrist.
    pub const R_WRIST: usize = 10;
    /// Left hip joint.
    pub const L_HIP: usize = 11;
    /// Right hip joint.
    pub const R_HIP: usize = 12;
    /// Left knee.
    pub const L_KNEE: usize = 13;
    /// Right knee.
    pub const R_KNEE: usize = 14;
    /// Left ankle.
    pub const L_ANKLE: usize = 15;
    /// Right ankle.
    pub const R_ANKLE: usize = 16;
    /// Left toes (ball of the foot).
    pub const L_TOE: usize = 17;
    /// Right toes.
    pub const R_TOE: usize = 18;
}

/// Every joint's parent (the root has none; parents come first).
pub const STICK_PARENTS: [Option<usize>; STICK_JOINTS] = [
    None,
    Some(0),
    Some(1),
    Some(2),
    Some(3),
    Some(2),
    Some(2),
    Some(5),
    Some(6),
    Some(7),
    Some(8),
    Some(0),
    Some(0),
    Some(11),
    Some(12),
    Some(13),
    Some(14),
    Some(15),
    Some(16),
];

/// The joint each COCO-17 keypoint rides on (the face on the head, the shoulders on the chest,
/// the hips on the pelvis, the others on the segment below their joint).
pub const KEYPOINT_CARRIERS: [usize; 17] = [
    joint::HEAD,
    joint::HEAD,
    joint::HEAD,
    joint::HEAD,
    joint::HEAD,
    joint::CHEST,
    joint::CHEST,
    joint::L_ELBOW,
    joint::R_ELBOW,
    joint::L_WRIST,
    joint::R_WRIST,
    joint::PELVIS,
    joint::PELVIS,
    joint::L_KNEE,
    joint::R_KNEE,
    joint::L_ANKLE,
    joint::R_ANKLE,
];

/// One subject of the stick generator.
#[derive(Clone, Debug, PartialEq)]
pub struct StickBody {
    /// Standing height (floor to the top of the head), metres.
    pub height: f32,
    /// Rest offset of every joint from its parent (the root's: from the floor), standing upright
    /// with the arms hanging, in the parent's frame (rest frames are aligned with the body's axes).
    pub bones: [Vector3<f32>; STICK_JOINTS],
    /// Every keypoint's offset from its carrier joint ([`KEYPOINT_CARRIERS`]), in the carrier's
    /// frame.
    pub keypoint_offsets: [Vector3<f32>; 17],
    /// Radius of the head, metres.
    pub head_radius: f32,
}

/// A posed stick body: every joint's world rotation and position, and the 17 keypoints.
#[derive(Clone, Debug, PartialEq)]
pub struct PosedStick {
    /// World rotation of every joint's frame.
    pub rotations: [Matrix3<f32>; STICK_JOINTS],
    /// World position of every joint.
    pub joints: [Vector3<f32>; STICK_JOINTS],
    /// The COCO-17 keypoints, world.
    pub keypoints: [Vector3<f32>; 17],
}

/// How much a body part varies: a factor drawn uniformly from `1 ± spread`.
fn factor(rng: &mut Rng, spread: f32) -> f32 {
    1.0 + rng.symmetric(spread)
}

impl StickBody {
    /// Draws a subject of standing height in `[min_height, max_height]` metres. Shorter subjects
    /// get a child's proportions (a larger head, shorter legs); every segment is then scaled by
    /// its own random factor (±10 %), left and right differ by up to ±2 %, and the keypoints get
    /// their systematic and per-subject offsets.
    pub fn sample(rng: &mut Rng, min_height: f32, max_height: f32) -> Self {
        let h = rng.range(min_height, max_height);
        // 0 for a small child, 1 for an adult.
        let adult = ((h - 1.0) / 0.65).clamp(0.0, 1.0);
        let lerp = |child: f32, grown: f32| child + (grown - child) * adult;
        let head_radius = h * lerp(0.082, 0.064) * factor(rng, 0.08);
        let leg = h * lerp(0.465, 0.525);
        let (thigh_f, shin_f, ankle_f) = (factor(rng, 0.1), factor(rng, 0.1), factor(rng, 0.15));
        let (upper_f, fore_f) = (factor(rng, 0.1), factor(rng, 0.1));
        let hip_width = h * rng.range(0.085, 0.125);
        let shoulder_width = h * rng.range(0.19, 0.25);
        let foot = h * rng.range(0.13, 0.16);
        let ankle_height = 0.075 * leg * ankle_f;
        let thigh = 0.51 * (leg - ankle_height) * thigh_f / ((thigh_f + shin_f) * 0.5);
        let shin = 0.49 * (leg - ankle_height) * shin_f / ((thigh_f + shin_f) * 0.5);
        let pelvis_drop = h * rng.range(0.02, 0.04);
        // The trunk takes what the legs and the head leave.
        let neck_len = h * lerp(0.035, 0.045) * factor(rng, 0.2);
        let trunk = (h - 2.0 * head_radius - neck_len - (thigh + shin + ankle_height - pelvis_drop)).max(0.2 * h);
        let (lumbar_share, chest_share) = (rng.range(0.38, 0.48), rng.range(0.3, 0.4));
        let lumbar = trunk * lumbar_share;
        let chest = trunk * chest_share;
        let neck_base = trunk - lumbar - chest;
        let upper_arm = h * 0.172 * upper_f;
        let forearm = h * 0.148 * fore_f;
        let side = |rng: &mut Rng| factor(rng, 0.02);
        let sway = h * rng.symmetric(0.01);
        let mut bones = [Vector3::zeros(); STICK_JOINTS];
        let hip_height = thigh + shin + ankle_height;
        bones[joint::PELVIS] = Vector3::new(0.0, hip_height + pelvis_drop, 0.0);
        bones[joint::LUMBAR] = Vector3::new(0.0, lumbar, h * rng.range(-0.02, 0.0));
        bones[joint::CHEST] = Vector3::new(0.0, chest, sway);
        bones[joint::NECK] = Vector3::new(0.0, neck_base, h * rng.range(-0.01, 0.01));
        bones[joint::HEAD] = Vector3::new(0.0, neck_len + head_radius, h * rng.range(0.0, 0.015));
        let shoulder_drop = h * rng.range(-0.03, 0.0);
        let shoulder_back = h * rng.range(-0.02, 0.005);
        for (s, sign) in [(joint::L_SHOULDER, 1.0), (joint::R_SHOULDER, -1.0)] {
            bones[s] = Vector3::new(sign * 0.5 * shoulder_width * side(rng), shoulder_drop, shoulder_back);
        }
        for (e, sign) in [(joint::L_ELBOW, 1.0), (joint::R_ELBOW, -1.0)] {
            bones[e] = Vector3::new(sign * 0.01 * h, -upper_arm * side(rng), 0.0);
        }
        for w in [joint::L_WRIST, joint::R_WRIST] {
            bones[w] = Vector3::new(0.0, -forearm * side(rng), 0.005 * h);
        }
        for (hip, sign) in [(joint::L_HIP, 1.0), (joint::R_HIP, -1.0)] {
            bones[hip] = Vector3::new(sign * 0.5 * hip_width, -pelvis_drop, h * rng.symmetric(0.005));
        }
        for k in [joint::L_KNEE, joint::R_KNEE] {
            bones[k] = Vector3::new(0.0, -thigh * side(rng), h * 0.004);
        }
        for a in [joint::L_ANKLE, joint::R_ANKLE] {
            bones[a] = Vector3::new(0.0, -shin * side(rng), -h * 0.006);
        }
        for t in [joint::L_TOE, joint::R_TOE] {
            bones[t] = Vector3::new(0.0, -ankle_height, 0.72 * foot);
        }
        let keypoint_offsets = Self::sample_keypoint_offsets(rng, h, head_radius);
        let body = Self { height: h, bones, keypoint_offsets, head_radius };
        // The drawn segments add up to about the drawn height: scale them to exactly it (floor to
        // the top of the head).
        let top = body.rest().joints[joint::HEAD].y + head_radius;
        let scale = h / top;
        Self {
            height: h,
            bones: body.bones.map(|b| b * scale),
            keypoint_offsets: body.keypoint_offsets.map(|o| o * scale),
            head_radius: head_radius * scale,
        }
    }

    /// Where annotators and detectors put the keypoints relative to the joints: a systematic part
    /// (the same for everybody) and a per-subject, per-keypoint part.
    fn sample_keypoint_offsets(rng: &mut Rng, h: f32, r: f32) -> [Vector3<f32>; 17] {
        let face = |x: f32, y: f32, z: f32| Vector3::new(x * r, y * r, z * r);
        let mirror = |v: Vector3<f32>| Vector3::new(-v.x, v.y, v.z);
        let nose = face(0.0, -0.15, 1.0) + jitter(rng, 0.1 * r);
        let eyes = face(0.36 + rng.symmetric(0.04), 0.22, 0.82) + jitter(rng, 0.06 * r);
        let ears = face(0.98, 0.0, -0.08) + jitter(rng, 0.1 * r);
        // Shoulders: on top of and a little outside the shoulder joints (the acromion).
        let shoulder = Vector3::new(h * 0.012, h * 0.022, -h * 0.004) + jitter(rng, 0.012 * h);
        // Hips: annotated higher and wider than the hip joints' centres.
        let hip = Vector3::new(h * 0.022, h * 0.03, h * 0.004) + jitter(rng, 0.015 * h);
        let elbow = Vector3::new(0.0, 0.0, -h * 0.008) + jitter(rng, 0.008 * h);
        let wrist = jitter(rng, 0.006 * h);
        let knee = Vector3::new(0.0, h * 0.004, h * 0.012) + jitter(rng, 0.008 * h);
        let ankle = Vector3::new(0.0, -h * 0.006, -h * 0.002) + jitter(rng, 0.006 * h);
        // Left and right differ a little on top of the subject's own placement.
        let mut pair = |v: Vector3<f32>, spread: f32| (v + jitter(rng, spread), mirror(v + jitter(rng, spread)));
        let (ls, rs) = pair(shoulder, 0.006 * h);
        let (lel, rel) = pair(elbow, 0.004 * h);
        let (lw, rw) = pair(wrist, 0.003 * h);
        let (lh, rh) = pair(hip, 0.006 * h);
        let (lk, rk) = pair(knee, 0.004 * h);
        let (la, ra) = pair(ankle, 0.003 * h);
        [nose, eyes, mirror(eyes), ears, mirror(ears), ls, rs, lel, rel, lw, rw, lh, rh, lk, rk, la, ra]
    }

    /// The joints' world rotations and positions and the keypoints for local joint rotations
    /// `locals` (each in its parent's frame; the root's is the body's world rotation) and the
    /// root's world position `root`.
    pub fn pose(&self, locals: &[Matrix3<f32>; STICK_JOINTS], root: &Vector3<f32>) -> PosedStick {
        let mut rotations = [Matrix3::identity(); STICK_JOINTS];
        let mut joints = [Vector3::zeros(); STICK_JOINTS];
        for j in 0..STICK_JOINTS {
            match STICK_PARENTS[j] {
                None => {
                    rotations[j] = locals[j];
                    joints[j] = *root;
                }
                Some(p) => {
                    rotations[j] = rotations[p] * locals[j];
                    joints[j] = joints[p] + rotations[p] * self.bones[j];
                }
            }
        }
        let keypoints = std::array::from_fn(|k| {
            let c = KEYPOINT_CARRIERS[k];
            joints[c] + rotations[c] * self.carrier_offset(k)
        });
        PosedStick { rotations, joints, keypoints }
    }

    /// Keypoint `k`'s offset from its carrier, carrier frame: the shoulders and hips ride on the
    /// chest and the pelvis but sit at their joints.
    fn carrier_offset(&self, k: usize) -> Vector3<f32> {
        let base = match k {
            5 => self.bones[joint::L_SHOULDER],
            6 => self.bones[joint::R_SHOULDER],
            11 => self.bones[joint::L_HIP],
            12 => self.bones[joint::R_HIP],
            _ => Vector3::zeros(),
        };
        base + self.keypoint_offsets[k]
    }

    /// The rest pose (upright, arms hanging, root over the origin).
    pub fn rest(&self) -> PosedStick {
        self.pose(&[Matrix3::identity(); STICK_JOINTS], &self.bones[joint::PELVIS])
    }

    /// The capsules the body is made of (for self-occlusion), posed: trunk, head, upper and lower
    /// arms, thighs, shins and feet, with radii proportional to the height.
    pub fn capsules(&self, posed: &PosedStick) -> Vec<Capsule> {
        let h = self.height;
        let j = &posed.joints;
        let seg = |a: usize, b: usize, radius: f32| Capsule { a: j[a], b: j[b], radius, joint: b };
        let mut out = vec![
            seg(joint::PELVIS, joint::LUMBAR, 0.075 * h),
            seg(joint::LUMBAR, joint::CHEST, 0.08 * h),
            seg(joint::CHEST, joint::NECK, 0.07 * h),
            Capsule { a: j[joint::L_HIP], b: j[joint::R_HIP], radius: 0.06 * h, joint: joint::PELVIS },
            Capsule { a: j[joint::L_SHOULDER], b: j[joint::R_SHOULDER], radius: 0.035 * h, joint: joint::CHEST },
            Capsule { a: j[joint::HEAD], b: j[joint::HEAD], radius: self.head_radius, joint: joint::HEAD },
        ];
        for (a, b, c, t) in [
            (joint::L_SHOULDER, joint::L_ELBOW, joint::L_WRIST, 0),
            (joint::R_SHOULDER, joint::R_ELBOW, joint::R_WRIST, 0),
            (joint::L_HIP, joint::L_KNEE, joint::L_ANKLE, joint::L_TOE),
            (joint::R_HIP, joint::R_KNEE, joint::R_ANKLE, joint::R_TOE),
        ] {
            let leg = t != 0;
            out.push(seg(a, b, if leg { 0.05 * h } else { 0.03 * h }));
            out.push(seg(b, c, if leg { 0.037 * h } else { 0.024 * h }));
            if leg {
                out.push(seg(c, t, 0.025 * h));
            }
        }
        out
    }
}

/// A vector with every component uniform in `[-scale, scale)`.
fn jitter(rng: &mut Rng, scale: f32) -> Vector3<f32> {
    Vector3::new(rng.symmetric(scale), rng.symmetric(scale), rng.symmetric(scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_span_children_to_tall_adults_with_their_own_proportions() {
        let mut heights = Vec::new();
        let mut leg_ratios = Vec::new();
        for seed in 0..200 {
            let body = StickBody::sample(&mut Rng::new(seed), 1.05, 1.95);
            let rest = body.rest();
            heights.push(body.height);
            leg_ratios.push(rest.joints[joint::L_HIP].y / body.height);
            // Standing on the floor, the head on top.
            let lowest = rest.joints.iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
            assert!(lowest.abs() < 0.03 * body.height, "lowest joint at {lowest}");
            assert!(rest.keypoints[0].y > rest.keypoints[5].y && rest.keypoints[5].y > rest.keypoints[11].y);
            assert!(rest.keypoints[11].y > rest.keypoints[13].y && rest.keypoints[13].y > rest.keypoints[15].y);
            // Left is +x.
            assert!(rest.keypoints[5].x > rest.keypoints[6].x && rest.keypoints[11].x > rest.keypoints[12].x);
        }
        let (lo, hi) = heights.iter().fold((f32::MAX, f32::MIN), |(a, b), h| (a.min(*h), b.max(*h)));
        assert!(lo < 1.15 && hi > 1.85 && lo >= 1.05 && hi <= 1.95, "heights {lo}..{hi}");
        for seed in 0..20 {
            let body = StickBody::sample(&mut Rng::new(seed), 1.05, 1.95);
            let rest = body.rest();
            let top = rest.joints[joint::HEAD].y + body.head_radius;
            let floor = rest.joints.iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
            assert!(
                (top - floor - body.height).abs() < 0.04 * body.height,
                "height {} vs {}",
                body.height,
                top - floor
            );
        }
        let (lo, hi) = leg_ratios.iter().fold((f32::MAX, f32::MIN), |(a, b), h| (a.min(*h), b.max(*h)));
        assert!(hi - lo > 0.05, "leg ratios {lo}..{hi}");
    }
}
