//! Two-bone IK on a leg: the hip and the knee turn so that the ankle reaches a target, the knee
//! turning only about its own hinge, the foot keeping its orientation in the world. Analytic: the
//! knee's turn that makes the hip-ankle distance the hip-target distance (closed form about the
//! hinge), then the shortest turn of the hip, as in game engines' foot placement.

use nalgebra::{Matrix3, Rotation3, Unit, Vector3};

use crate::body::{BodyParams, JointTransform, PARENTS};
use crate::geometry::matrix_to_axis_angle;

/// SMPL hip, knee and ankle of the left and the right leg.
pub const LEG_JOINTS: [[usize; 3]; 2] = [[1, 4, 7], [2, 5, 8]];

/// How far short of full extension the knee stops when the target is out of reach, as a fraction
/// of the leg's length (a leg pulled fully straight flips its knee under noise).
const REACH: f32 = 0.995;

/// Turns the hip and knee of leg `side` (0 left, 1 right) of `params`, whose joints' world
/// transforms are `transforms` (`BodyModel::forward_kinematics` of `params`), so that the ankle
/// reaches `target` (world metres) or, out of reach, comes as near as the leg allows; the ankle's
/// world rotation, and so the foot's, is kept. Returns the ankle's new world position. Nothing
/// changes when the leg's joints are missing or the geometry is degenerate (a bone of zero length).
pub fn reach_ankle(
    params: &mut BodyParams,
    transforms: &[JointTransform],
    side: usize,
    target: &Vector3<f32>,
) -> Option<Vector3<f32>> {
    let [hip, knee, ankle] = *LEG_JOINTS.get(side)?;
    let parent = PARENTS[hip]?;
    let (a, b, c) =
        (transforms.get(hip)?.translation, transforms.get(knee)?.translation, transforms.get(ankle)?.translation);
    let (thigh, shin) = ((b - a).norm(), (c - b).norm());
    if thigh < 1e-4 || shin < 1e-4 || !target.iter().all(|x| x.is_finite()) {
        return None;
    }
    // The knee turns about its hinge (SMPL knees flex about their local x axis, the shin going
    // backwards) until the ankle is as far from the hip as the target: with u = hip - knee,
    // v = ankle - knee and the hinge k, u . R(k, phi) v = A cos phi + B sin phi + C.
    let hinge = Unit::new_normalize(transforms[knee].rotation * Vector3::x());
    let (u, v) = (a - b, c - b);
    let reach = (target - a).norm().min(REACH * (thigh + shin));
    let wanted = (u.norm_squared() + v.norm_squared() - reach * reach) / 2.0;
    let (ku, kv) = (hinge.dot(&u), hinge.dot(&v));
    let (cos_part, sin_part) = (u.dot(&v) - ku * kv, u.dot(&hinge.cross(&v)));
    let amplitude = cos_part.hypot(sin_part);
    if amplitude < 1e-6 {
        return None;
    }
    let phase = sin_part.atan2(cos_part);
    let spread = ((wanted - ku * kv) / amplitude).clamp(-1.0, 1.0).acos();
    let wrap = |x: f32| (x + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
    // Of the two turns, the smaller, unless it would bend the knee backwards past straight.
    let flexion = params.local_rotation(knee).x;
    let cost = |phi: f32| phi.abs() + 10.0 * (-(flexion + phi)).max(0.0);
    let turn = [wrap(phase + spread), wrap(phase - spread)].into_iter().min_by(|p, q| cost(*p).total_cmp(&cost(*q)))?;
    let bend = Rotation3::from_axis_angle(&hinge, turn);
    let c_bent = b + bend * v;
    // The hip: the shortest turn that points the hip-to-ankle line at the target.
    let swing = shortest_turn(&(c_bent - a), &(target - a), &hinge);
    let hip_world = swing.matrix() * transforms[hip].rotation;
    let knee_world = swing.matrix() * bend.matrix() * transforms[knee].rotation;
    let ankle_world = transforms[ankle].rotation;
    let local = |parent: &Matrix3<f32>, child: &Matrix3<f32>| matrix_to_axis_angle(&(parent.transpose() * child));
    params.set_local_rotation(hip, local(&transforms[parent].rotation, &hip_world));
    params.set_local_rotation(knee, local(&hip_world, &knee_world));
    params.set_local_rotation(ankle, local(&knee_world, &ankle_world));
    Some(a + swing * (c_bent - a))
}

/// The shortest turn that points `from` along `to`: about their common normal by the angle
/// between them, taken as `atan2(|from x to|, from . to)` (nalgebra's `rotation_between` takes the
/// `acos` of the normalised dot product, which rounds past 1 for nearly parallel lines and gives
/// NaN). Opposite lines turn half a turn about `fallback`.
fn shortest_turn(from: &Vector3<f32>, to: &Vector3<f32>, fallback: &Unit<Vector3<f32>>) -> Rotation3<f32> {
    let normal = from.cross(to);
    let angle = normal.norm().atan2(from.dot(to));
    match Unit::try_new(normal, f32::MIN_POSITIVE) {
        Some(axis) => Rotation3::from_axis_angle(&axis, angle),
        None if from.dot(to) < 0.0 => Rotation3::from_axis_angle(fallback, std::f32::consts::PI),
        None => Rotation3::identity(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::BodyModel;

    #[test]
    fn the_ankle_reaches_the_target_and_the_foot_keeps_its_turn() {
        let model = BodyModel::open_body().unwrap();
        let mut params = BodyParams::default();
        // A walking stance: left thigh forward, knee bent, foot turned a little.
        params.set_local_rotation(1, Vector3::new(-0.4, 0.0, 0.05));
        params.set_local_rotation(4, Vector3::new(0.5, 0.0, 0.0));
        params.set_local_rotation(7, Vector3::new(0.1, 0.2, 0.0));
        params.global_orient = Vector3::new(0.0, 0.6, 0.0);
        let before = model.forward_kinematics(&params).unwrap();
        for shift in [Vector3::new(0.05, 0.0, -0.04), Vector3::new(-0.03, 0.08, 0.02), Vector3::new(0.0, 0.03, 0.04)] {
            let target = before[7].translation + shift;
            let mut moved = params.clone();
            let reached = reach_ankle(&mut moved, &before, 0, &target).unwrap();
            let after = model.forward_kinematics(&moved).unwrap();
            assert!((after[7].translation - target).norm() < 1e-3, "{shift:?}: {:?}", after[7].translation - target);
            assert!((reached - after[7].translation).norm() < 1e-4);
            // The foot's world orientation is kept, the hip stays where it was, the other leg too.
            assert!((after[10].rotation - before[10].rotation).norm() < 1e-4);
            assert!((after[1].translation - before[1].translation).norm() < 1e-5);
            assert!((after[8].translation - before[8].translation).norm() < 1e-5);
            // The knee stays a hinge: it still bends forward of the hip-ankle line as before.
            let bend = |t: &[JointTransform]| {
                (t[1].translation - t[4].translation).cross(&(t[7].translation - t[4].translation)).normalize()
            };
            assert!(bend(&after).dot(&bend(&before)) > 0.95);
        }
        // Out of reach: the leg stretches towards it, short of straight.
        let far = before[1].translation + Vector3::new(0.0, -2.0, 0.0);
        let mut moved = params.clone();
        let reached = reach_ankle(&mut moved, &before, 0, &far).unwrap();
        assert!((reached - before[1].translation).normalize().dot(&-Vector3::y()) > 0.999);
        assert!(moved.is_finite());
        // A straight leg bends backwards to shorten.
        let straight = BodyParams::default();
        let rest = model.forward_kinematics(&straight).unwrap();
        let mut moved = straight.clone();
        reach_ankle(&mut moved, &rest, 1, &(rest[8].translation + Vector3::new(0.0, 0.05, 0.0))).unwrap();
        let after = model.forward_kinematics(&moved).unwrap();
        assert!((after[8].translation - rest[8].translation - Vector3::new(0.0, 0.05, 0.0)).norm() < 1e-3);
        assert!(after[5].translation.z > rest[5].translation.z, "the knee goes forward, the shin back");
    }

    /// A planted foot held a fraction of a millimetre from where the estimate put it: the hip's
    /// turn is between two nearly parallel lines, where `acos` of their cosine (rounded past 1)
    /// used to give a leg of NaNs (a walking performer held by the grounding found it).
    #[test]
    fn a_tiny_hold_leaves_the_leg_finite() {
        let model = BodyModel::open_body().unwrap();
        let mut params = BodyParams {
            global_orient: Vector3::new(0.04, 1.47, -0.008),
            transl: Vector3::new(-0.21, -0.03, 1.11),
            ..BodyParams::default()
        };
        params.set_local_rotation(2, Vector3::new(-0.43, -0.12, 0.013));
        params.set_local_rotation(5, Vector3::new(0.23, 0.0, 0.0));
        params.set_local_rotation(8, Vector3::new(-0.037, 0.0, 0.0));
        params.set_local_rotation(4, Vector3::new(0.71, 0.0, 0.0));
        let before = model.forward_kinematics(&params).unwrap();
        let mut failed = 0;
        for i in 0..2000 {
            let turn = i as f32 * 2.399;
            let size = 1e-5 * (1.0 + (i % 50) as f32);
            let shift = Vector3::new(turn.cos(), 0.3 * (0.7 * turn).sin(), turn.sin()) * size;
            for side in 0..2 {
                let ankle = before[LEG_JOINTS[side][2]].translation;
                let mut moved = params.clone();
                reach_ankle(&mut moved, &before, side, &(ankle + shift));
                if !moved.is_finite() {
                    failed += 1;
                    continue;
                }
                let after = model.forward_kinematics(&moved).unwrap();
                let miss = (after[LEG_JOINTS[side][2]].translation - ankle - shift).norm();
                assert!(miss < 1e-3, "a hold of {shift:?} missed by {miss} m");
            }
        }
        assert_eq!(failed, 0, "{failed} of 4000 tiny holds gave a leg of NaNs");
    }
}
