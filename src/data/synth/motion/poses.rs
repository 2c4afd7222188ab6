//! Striking poses: the body goes from one pose to the next every second or two and holds each a
//! moment. The poses cover the joints' ranges rather than an activity: arms anywhere (the T- and
//! A-poses among them, straight or bent), the trunk bent, leaning and twisted, the head turned, a
//! leg lifted, the stance wide or crouched. It is not an everyday motion (it is left out of
//! [`super::MotionKind::ALL`]); training data mixes it in so the network meets poses the twelve
//! everyday kinds never reach.

use super::super::random::Rng;
use super::ease::{Keyframes, Wobble};
use super::pose::{Pose, Side};
use super::style::Idle;
use super::{Motion, MotionContext, MotionFrame, Placement};

/// Values interpolated between keyframes, per arm: shoulder flexion, elevation, horizontal swing,
/// elbow flexion, wrist flexion, collar elevation, collar protraction.
const ARM: usize = 7;
/// Per leg: hip flexion, abduction, external rotation, knee flexion, ankle dorsiflexion.
const LEG: usize = 5;
/// After both arms and both legs: spine flexion, lateral bend, twist; head flexion, tilt, turn.
const TRUNK: usize = 2 * ARM + 2 * LEG;
const N: usize = TRUNK + 6;

pub(super) struct Poses {
    place: Placement,
    keys: Keyframes<N>,
    turn: Wobble,
    idle: Idle,
}

/// A standing pose with the arms straight out at `elevation` degrees (0: the T-pose, about -40: an
/// A-pose), legs straight, a little of `rng`'s variation.
fn rest_pose(rng: &mut Rng, elevation: f32) -> [f32; N] {
    let mut v = [0.0; N];
    for side in 0..2 {
        let arm = side * ARM;
        v[arm] = rng.symmetric(5.0);
        v[arm + 1] = elevation + rng.symmetric(5.0);
        v[arm + 2] = rng.symmetric(5.0);
        v[arm + 3] = rng.range(0.0, 8.0);
        let leg = 2 * ARM + side * LEG;
        v[leg + 1] = rng.range(0.0, 8.0);
        v[leg + 2] = rng.range(0.0, 10.0);
    }
    v
}

/// A pose drawn across the joints' ranges (the generator clamps every joint to its limits).
fn free_pose(rng: &mut Rng) -> [f32; N] {
    let mut v = [0.0; N];
    let symmetric_arms = rng.chance(0.3);
    for side in 0..2 {
        let arm = side * ARM;
        if side == 1 && symmetric_arms {
            v.copy_within(0..ARM, ARM);
        } else {
            v[arm] = rng.range(-40.0, 170.0);
            v[arm + 1] = rng.range(-85.0, 85.0);
            v[arm + 2] = rng.range(-20.0, 90.0);
            v[arm + 3] = if rng.chance(0.3) { rng.range(0.0, 15.0) } else { rng.range(0.0, 145.0) };
            v[arm + 4] = rng.symmetric(40.0);
            v[arm + 5] = rng.range(-5.0, 25.0);
            v[arm + 6] = rng.range(-10.0, 25.0);
        }
    }
    // Legs: standing, one leg lifted, or a wide or crouched stance.
    let stance = rng.below(4);
    let lifted = rng.below(2);
    for side in 0..2 {
        let leg = 2 * ARM + side * LEG;
        let (flexion, abduction, knee) = match stance {
            1 if side == lifted => (rng.range(15.0, 95.0), rng.range(0.0, 45.0), rng.range(0.0, 110.0)),
            2 => (rng.range(-5.0, 20.0), rng.range(15.0, 40.0), rng.range(0.0, 30.0)),
            3 => (rng.range(20.0, 80.0), rng.range(0.0, 25.0), rng.range(40.0, 110.0)),
            _ => (rng.range(-10.0, 20.0), rng.range(0.0, 15.0), rng.range(0.0, 25.0)),
        };
        v[leg] = flexion;
        v[leg + 1] = abduction;
        v[leg + 2] = rng.range(-10.0, 30.0);
        v[leg + 3] = knee;
        v[leg + 4] = rng.range(-20.0, 20.0);
    }
    v[TRUNK] = rng.range(-20.0, 60.0);
    v[TRUNK + 1] = rng.symmetric(25.0);
    v[TRUNK + 2] = rng.symmetric(40.0);
    v[TRUNK + 3] = rng.range(-25.0, 35.0);
    v[TRUNK + 4] = rng.symmetric(20.0);
    v[TRUNK + 5] = rng.symmetric(60.0);
    v
}

impl Poses {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        // Starts standing (a T-pose, an A-pose or arms down), then a pose every 0.6-1.6 s, held
        // 0.2-0.8 s; about one in four is one of the standing poses again.
        let standing = |rng: &mut Rng| {
            let elevation = *rng.pick(&[0.0, -20.0, -45.0, -75.0]).unwrap_or(&0.0);
            rest_pose(rng, elevation)
        };
        let mut t = -rng.range(0.0, 1.0);
        let first = standing(rng);
        let mut keys = vec![(t, first)];
        t += rng.range(0.2, 0.8);
        keys.push((t, first));
        while t < context.duration {
            let pose = if rng.chance(0.25) { standing(rng) } else { free_pose(rng) };
            t += rng.range(0.6, 1.6);
            keys.push((t, pose));
            t += rng.range(0.2, 0.8);
            keys.push((t, pose));
        }
        let turn = rng.range(0.0, 1.2);
        Self {
            place,
            keys: Keyframes::new(keys),
            turn: Wobble::new(rng, turn, 0.03, 0.15, 2),
            idle: Idle::sample(rng, 0.3),
        }
    }
}

impl Motion for Poses {
    fn frame(&self, t: f32) -> MotionFrame {
        let v = self.keys.at(t);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            let arm = side.index() * ARM;
            pose.shoulder(side, v[arm], v[arm + 1], v[arm + 2]);
            pose.elbow(side, v[arm + 3]);
            pose.wrist(side, v[arm + 4], 0.0);
            pose.collar(side, v[arm + 5], v[arm + 6]);
            let leg = 2 * ARM + side.index() * LEG;
            pose.hip(side, v[leg], v[leg + 1], v[leg + 2]);
            pose.knee(side, v[leg + 3]);
            pose.ankle(side, v[leg + 4]);
        }
        pose.spine(v[TRUNK], v[TRUNK + 1], v[TRUNK + 2]);
        pose.head(v[TRUNK + 3], v[TRUNK + 4], v[TRUNK + 5]);
        self.idle.apply(&mut pose, t);
        let mut frame = self.place.standing(pose);
        frame.heading += self.turn.at(t);
        frame
    }
}
