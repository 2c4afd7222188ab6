//! Anatomical joint limits: the one table of plausible local rotations per SMPL joint, the Euler
//! decomposition it is written in, and the violation measure and clamp built on it.
//!
//! The synthetic generator keeps every pose inside this table, and the fitting code uses
//! [`violation`] as a prior, so both agree on what a plausible body is.
//!
//! # Euler decomposition
//!
//! A joint's local rotation is written as three angles `(x, y, z)` about the body-frame axes (+x the
//! body's left, +y up, +z forward; joint rest frames are axis-aligned with it) and composed as
//!
//! `R = Rx(x) · Rz(z) · Ry(y)`
//!
//! (intrinsic x, then z, then y). For a leg or the spine `y` is the innermost rotation, about the
//! bone itself (twist), `z` is abduction / lateral bend and `x` flexion / extension. For an arm,
//! whose bone lies along ±x in the T-pose, the innermost `y` is the elbow's flexion (and the
//! shoulder's horizontal swing), `z` raises or lowers the arm in the frontal plane and `x` swings a
//! hanging arm forward or back. `x` and `y` lie in (-π, π], `z` in [-π/2, π/2]; the decomposition is
//! unique while `|z| < π/2`, and every range in the table keeps `z` inside that interval.
//!
//! Signs (left side; the right side mirrors y and z): hip flexion (thigh forward) is negative x, knee
//! flexion (shank back) positive x, ankle dorsiflexion (toes up) negative x, spine / neck / head
//! flexion (bending forward) positive x, elbow flexion negative y on the left and positive y on the
//! right, raising the left arm positive z and lowering it negative z.

use nalgebra::{Matrix3, Rotation3, Vector3};

use super::params::BodyParams;
use super::skeleton::NUM_JOINTS;

/// Per SMPL joint, the allowed `[min, max]` in degrees of the Euler angles `[x, y, z]` (see the
/// module docs for the decomposition and signs).
///
/// The root (`pelvis`, the global orientation) is unconstrained: [`violation`] and [`clamp`] skip it.
pub const JOINT_LIMITS_DEG: [[[f32; 2]; 3]; NUM_JOINTS] = [
    // pelvis: the global orientation, unconstrained.
    [[-180.0, 180.0], [-180.0, 180.0], [-90.0, 90.0]],
    // left_hip: flexion to 125 (negative x), extension 30; external rotation +y; abduction +z.
    [[-125.0, 30.0], [-35.0, 45.0], [-25.0, 45.0]],
    // right_hip: mirror of the left.
    [[-125.0, 30.0], [-45.0, 35.0], [-45.0, 25.0]],
    // spine1: forward flexion positive x.
    [[-25.0, 50.0], [-25.0, 25.0], [-25.0, 25.0]],
    // left_knee: flexion 0..150 (positive x), at most 5 degrees of hyperextension.
    [[-5.0, 150.0], [-15.0, 15.0], [-8.0, 8.0]],
    // right_knee.
    [[-5.0, 150.0], [-15.0, 15.0], [-8.0, 8.0]],
    // spine2.
    [[-20.0, 35.0], [-20.0, 20.0], [-20.0, 20.0]],
    // left_ankle: dorsiflexion to 35 (negative x), plantarflexion to 50.
    [[-35.0, 50.0], [-20.0, 20.0], [-25.0, 25.0]],
    // right_ankle.
    [[-35.0, 50.0], [-20.0, 20.0], [-25.0, 25.0]],
    // spine3.
    [[-15.0, 30.0], [-20.0, 20.0], [-20.0, 20.0]],
    // left_foot (toes): extension (toes up) negative x.
    [[-40.0, 25.0], [-10.0, 10.0], [-10.0, 10.0]],
    // right_foot.
    [[-40.0, 25.0], [-10.0, 10.0], [-10.0, 10.0]],
    // neck.
    [[-40.0, 45.0], [-45.0, 45.0], [-30.0, 30.0]],
    // left_collar: elevation +z, protraction (forward) negative y.
    [[-15.0, 15.0], [-25.0, 15.0], [-10.0, 30.0]],
    // right_collar.
    [[-15.0, 15.0], [-15.0, 25.0], [-30.0, 10.0]],
    // head.
    [[-35.0, 40.0], [-40.0, 40.0], [-30.0, 30.0]],
    // left_shoulder: x swings a hanging arm (forward negative), y swings a raised arm forward
    // (negative) or back, z raises (positive) or lowers it.
    [[-170.0, 70.0], [-130.0, 45.0], [-88.0, 88.0]],
    // right_shoulder.
    [[-170.0, 70.0], [-45.0, 130.0], [-88.0, 88.0]],
    // left_elbow: one-way hinge, flexion 0..150 (negative y); x is forearm twist.
    [[-80.0, 80.0], [-150.0, 5.0], [-10.0, 10.0]],
    // right_elbow.
    [[-80.0, 80.0], [-5.0, 150.0], [-10.0, 10.0]],
    // left_wrist: x twist, y deviation, z flexion / extension.
    [[-60.0, 60.0], [-30.0, 30.0], [-70.0, 70.0]],
    // right_wrist.
    [[-60.0, 60.0], [-30.0, 30.0], [-70.0, 70.0]],
    // left_hand.
    [[-20.0, 20.0], [-20.0, 20.0], [-30.0, 30.0]],
    // right_hand.
    [[-20.0, 20.0], [-20.0, 20.0], [-30.0, 30.0]],
];

/// The allowed range of one joint's Euler angles `[x, y, z]`, radians.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointLimit {
    /// Lower bounds of `x`, `y`, `z`.
    pub min: Vector3<f32>,
    /// Upper bounds of `x`, `y`, `z`.
    pub max: Vector3<f32>,
}

impl JointLimit {
    /// How far (radians, summed over the three angles) `euler` lies outside the range; 0 inside.
    ///
    /// `x` and `y` are angles on the circle: an angle is measured to the nearer bound going either
    /// way round.
    pub fn excess(&self, euler: &Vector3<f32>) -> f32 {
        (0..3).map(|i| circular_excess(euler[i], self.min[i], self.max[i])).sum()
    }

    /// `euler` with every angle moved to the nearest point of its range.
    pub fn clamp(&self, euler: &Vector3<f32>) -> Vector3<f32> {
        Vector3::from_fn(|i, _| circular_clamp(euler[i], self.min[i], self.max[i]))
    }

    /// Whether `euler` lies inside the range (bounds included).
    pub fn contains(&self, euler: &Vector3<f32>) -> bool {
        self.excess(euler) == 0.0
    }
}

/// The limit of SMPL joint `joint` in radians; `None` past the 24 joints.
pub fn joint_limit(joint: usize) -> Option<JointLimit> {
    let row = JOINT_LIMITS_DEG.get(joint)?;
    Some(JointLimit {
        min: Vector3::from_fn(|i, _| row[i][0].to_radians()),
        max: Vector3::from_fn(|i, _| row[i][1].to_radians()),
    })
}

/// The rotation matrix of Euler angles `[x, y, z]`: `Rx(x) · Rz(z) · Ry(y)`.
pub fn euler_to_matrix(euler: &Vector3<f32>) -> Matrix3<f32> {
    let rx = Rotation3::from_axis_angle(&Vector3::x_axis(), euler.x);
    let ry = Rotation3::from_axis_angle(&Vector3::y_axis(), euler.y);
    let rz = Rotation3::from_axis_angle(&Vector3::z_axis(), euler.z);
    (rx * rz * ry).into_inner()
}

/// The Euler angles `[x, y, z]` of a rotation matrix (the inverse of [`euler_to_matrix`]), with
/// `x, y` in (-π, π] and `z` in [-π/2, π/2]. At `|z| = π/2` (gimbal lock) `y` is set to 0.
pub fn matrix_to_euler(m: &Matrix3<f32>) -> Vector3<f32> {
    let r = |i: usize, k: usize| f64::from(m[(i, k)]);
    // R = Rx(a) Rz(c) Ry(b): R01 = -sin c, (R21, R11) = cos c (sin a, cos a), (R02, R00) = cos c (sin b, cos b).
    let cos_c = r(0, 0).hypot(r(0, 2));
    let c = (-r(0, 1)).atan2(cos_c);
    let (a, b) =
        if cos_c > 1e-7 { (r(2, 1).atan2(r(1, 1)), r(0, 2).atan2(r(0, 0))) } else { ((-r(1, 2)).atan2(r(2, 2)), 0.0) };
    Vector3::new(a as f32, b as f32, c as f32)
}

/// Axis-angle (SMPL's convention) of Euler angles `[x, y, z]`.
pub fn euler_to_axis_angle(euler: &Vector3<f32>) -> Vector3<f32> {
    Rotation3::from_matrix_unchecked(euler_to_matrix(euler)).scaled_axis()
}

/// Euler angles `[x, y, z]` of an axis-angle rotation (see [`matrix_to_euler`]).
pub fn axis_angle_to_euler(axis_angle: &Vector3<f32>) -> Vector3<f32> {
    matrix_to_euler(Rotation3::from_scaled_axis(*axis_angle).matrix())
}

/// How far one joint's axis-angle rotation lies outside its range, radians summed over the three
/// Euler angles; 0 inside (and for the root or an index past the 24 joints), infinite when the
/// rotation is not finite.
pub fn joint_violation(joint: usize, axis_angle: &Vector3<f32>) -> f32 {
    if !axis_angle.iter().all(|v| v.is_finite()) {
        return f32::INFINITY;
    }
    match joint_limit(joint) {
        Some(limit) if joint > 0 => limit.excess(&axis_angle_to_euler(axis_angle)),
        _ => 0.0,
    }
}

/// How far a body's 23 joint rotations lie outside the table, radians summed over joints and angles:
/// 0 when every joint is within its limits. The global orientation is not limited. Infinite when a
/// rotation is not finite.
pub fn violation(params: &BodyParams) -> f32 {
    params.body_pose.iter().enumerate().map(|(i, aa)| joint_violation(i + 1, aa)).sum()
}

/// `params` with every joint rotation moved into its range (each Euler angle clamped to the nearest
/// bound); a non-finite joint rotation becomes the rest rotation (zero). Everything else is kept.
pub fn clamp(params: &BodyParams) -> BodyParams {
    let mut out = params.clone();
    for (i, aa) in out.body_pose.iter_mut().enumerate() {
        if !aa.iter().all(|v| v.is_finite()) {
            *aa = Vector3::zeros();
            continue;
        }
        if let Some(limit) = joint_limit(i + 1) {
            let euler = axis_angle_to_euler(aa);
            if !limit.contains(&euler) {
                *aa = euler_to_axis_angle(&limit.clamp(&euler));
            }
        }
    }
    out
}

/// `angle - reference` wrapped into (-π, π].
fn wrapped_difference(angle: f32, reference: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    let d = (angle - reference).rem_euclid(tau);
    if d > std::f32::consts::PI { d - tau } else { d }
}

fn circular_excess(angle: f32, lo: f32, hi: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    if [angle, angle - tau, angle + tau].iter().any(|a| (lo..=hi).contains(a)) {
        return 0.0;
    }
    wrapped_difference(angle, lo).abs().min(wrapped_difference(angle, hi).abs())
}

fn circular_clamp(angle: f32, lo: f32, hi: f32) -> f32 {
    if circular_excess(angle, lo, hi) == 0.0 {
        return angle;
    }
    if wrapped_difference(angle, lo).abs() <= wrapped_difference(angle, hi).abs() { lo } else { hi }
}

/// How strongly a pose prior holds SMPL joint `joint`'s rotation (relative to the prior's weight):
/// 1 for joints the keypoints constrain, 2 for the spine, neck and collars (their keypoints are
/// few and far), 20 for the joints whose own rotation barely moves a COCO keypoint (ankles, feet,
/// wrists, hands), which should stay near rest. The one stiffness table of the crate: CMANet's body
/// refinement uses it per joint, `fit` per axis ([`pose_stiffness_axis`]).
pub fn pose_stiffness(joint: usize) -> f64 {
    match joint {
        7 | 8 | 10 | 11 | 20 | 21 | 22 | 23 => 20.0,
        3 | 6 | 9 | 12 | 13 | 14 | 15 => 2.0,
        _ => 1.0,
    }
}

/// [`pose_stiffness`] for one axis of joint `joint`'s axis-angle rotation: the spine's twist (about
/// +y) is held harder (5), the rest as [`pose_stiffness`].
pub fn pose_stiffness_axis(joint: usize, axis: usize) -> f64 {
    match (joint, axis) {
        (3 | 6 | 9, 1) => 5.0,
        _ => pose_stiffness(joint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::skeleton::{JOINT_NAMES, joint_index};

    fn deg(x: f32, y: f32, z: f32) -> Vector3<f32> {
        Vector3::new(x.to_radians(), y.to_radians(), z.to_radians())
    }

    #[test]
    fn euler_round_trips_through_axis_angle() {
        for e in [deg(0.0, 0.0, 0.0), deg(30.0, -40.0, 20.0), deg(-150.0, 120.0, -80.0), deg(170.0, -5.0, 85.0)] {
            let back = axis_angle_to_euler(&euler_to_axis_angle(&e));
            assert!((back - e).norm() < 1e-4, "{e:?} -> {back:?}");
        }
        // The composition order is x, then z, then y (intrinsic).
        let e = deg(20.0, 30.0, 40.0);
        let expected = Rotation3::from_axis_angle(&Vector3::x_axis(), e.x)
            * Rotation3::from_axis_angle(&Vector3::z_axis(), e.z)
            * Rotation3::from_axis_angle(&Vector3::y_axis(), e.y);
        assert!((euler_to_matrix(&e) - expected.into_inner()).norm() < 1e-6);
        // Gimbal lock still gives a decomposition of the same rotation.
        let locked = deg(30.0, 20.0, 90.0);
        let m = euler_to_matrix(&locked);
        assert!((euler_to_matrix(&matrix_to_euler(&m)) - m).norm() < 1e-5);
    }

    #[test]
    fn table_is_ordered_and_mirrored() {
        for (j, row) in JOINT_LIMITS_DEG.iter().enumerate() {
            for [lo, hi] in row {
                assert!(lo < hi, "{}", JOINT_NAMES[j]);
            }
            assert!(row[2][0] >= -90.0 && row[2][1] <= 90.0, "z must stay inside the unique range");
            if let Some(side) = JOINT_NAMES[j].strip_prefix("left_") {
                let r = &JOINT_LIMITS_DEG[joint_index(&format!("right_{side}")).unwrap()];
                assert_eq!(r[0], row[0], "{side} x");
                for axis in 1..3 {
                    assert_eq!(r[axis], [-row[axis][1], -row[axis][0]], "{side} axis {axis}");
                }
            }
        }
    }

    #[test]
    fn rest_pose_is_within_limits_and_bad_poses_are_not() {
        assert_eq!(violation(&BodyParams::default()), 0.0);
        let knee = joint_index("left_knee").unwrap();
        let elbow = joint_index("left_elbow").unwrap();
        let mut p = BodyParams::default();
        // Knee flexion is positive x: 90 degrees is fine, 20 degrees of hyperextension is not.
        p.set_local_rotation(knee, deg(90.0, 0.0, 0.0));
        assert!(violation(&p) < 1e-5);
        p.set_local_rotation(knee, deg(-20.0, 0.0, 0.0));
        assert!((violation(&p) - 15f32.to_radians()).abs() < 1e-4);
        // The left elbow flexes about negative y only.
        p.set_local_rotation(knee, Vector3::zeros());
        p.set_local_rotation(elbow, deg(0.0, -120.0, 0.0));
        assert!(violation(&p) < 1e-5);
        p.set_local_rotation(elbow, deg(0.0, 60.0, 0.0));
        assert!((violation(&p) - 55f32.to_radians()).abs() < 1e-4);
        // The global orientation is free.
        p = BodyParams { global_orient: Vector3::new(2.0, 1.0, -0.5), ..BodyParams::default() };
        assert_eq!(violation(&p), 0.0);
        p.body_pose[0] = Vector3::new(f32::NAN, 0.0, 0.0);
        assert!(violation(&p).is_infinite());
    }

    #[test]
    fn clamp_brings_poses_into_the_table() {
        let mut p = BodyParams::default();
        for (i, aa) in p.body_pose.iter_mut().enumerate() {
            let s = i as f32;
            *aa = Vector3::new((s * 1.3).sin(), (s * 0.7).cos(), (s * 2.1).sin()) * 2.0;
        }
        p.body_pose[5] = Vector3::new(f32::INFINITY, 0.0, 0.0);
        assert!(violation(&p).is_infinite());
        let clamped = clamp(&p);
        assert!(violation(&clamped) < 1e-4, "{}", violation(&clamped));
        assert_eq!(clamped.body_pose[5], Vector3::zeros());
        // A pose inside the table is left as it was.
        let mut inside = BodyParams::default();
        inside.set_local_rotation(joint_index("right_knee").unwrap(), deg(60.0, 5.0, 0.0));
        assert_eq!(clamp(&inside), inside);
    }

    #[test]
    fn circular_ranges_measure_the_short_way_round() {
        let (lo, hi) = (-170f32.to_radians(), 70f32.to_radians());
        let a = 175f32.to_radians();
        assert!((circular_excess(a, lo, hi) - 15f32.to_radians()).abs() < 1e-5);
        assert!((circular_clamp(a, lo, hi) - lo).abs() < 1e-6);
        assert_eq!(circular_excess(0.5, lo, hi), 0.0);
        assert!((circular_clamp(100f32.to_radians(), lo, hi) - hi).abs() < 1e-6);
    }
}
