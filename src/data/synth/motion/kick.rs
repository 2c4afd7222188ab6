//! Kicks with one leg: chamber the knee, snap the shank out (front kicks forward, side kicks out to
//! the side with the trunk leaning away), re-chamber and put the foot down; the standing foot stays
//! planted with a soft knee, the arms held in a guard or swinging for balance.

use super::super::random::Rng;
use super::ease::Keyframes;
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

pub(super) struct Kick {
    place: Placement,
    kicking: Side,
    /// Kicking hip flexion, hip abduction, knee flexion, ankle dorsiflexion, trunk lean back, over time.
    leg: Keyframes<5>,
    stance_knee: f32,
    guard: bool,
    guard_flexion: f32,
    guard_elbow: f32,
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl Kick {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let side_kicks = rng.chance(0.35);
        let rest = [0.0, 3.0, 5.0, 0.0, 0.0];
        let mut keys = Vec::new();
        let mut t = -rng.range(0.0, 1.5);
        keys.push((t, rest));
        while t < context.duration {
            let (hip, abduction) = if side_kicks {
                (rng.range(20.0, 45.0), rng.range(28.0, 42.0))
            } else {
                (rng.range(50.0, 95.0), rng.range(0.0, 10.0))
            };
            let lean = rng.range(5.0, 20.0);
            let chamber = t + rng.range(0.25, 0.4);
            let extend = chamber + rng.range(0.16, 0.26);
            let back = extend + rng.range(0.2, 0.35);
            let down = back + rng.range(0.25, 0.45);
            keys.push((
                chamber,
                [hip.max(55.0) + rng.range(0.0, 15.0), 0.8 * abduction, rng.range(90.0, 115.0), -10.0, 0.5 * lean],
            ));
            keys.push((extend, [hip, abduction, rng.range(3.0, 20.0), rng.range(-35.0, -20.0), lean]));
            keys.push((back, [hip.max(55.0), 0.8 * abduction, rng.range(85.0, 105.0), -10.0, 0.5 * lean]));
            keys.push((down, rest));
            t = down + rng.range(0.2, 0.9);
            keys.push((t, rest));
        }
        Self {
            place,
            kicking: if rng.chance(0.5) { Side::Left } else { Side::Right },
            leg: Keyframes::new(keys),
            stance_knee: rng.range(8.0, 25.0),
            guard: rng.chance(0.5),
            guard_flexion: rng.range(20.0, 45.0),
            guard_elbow: rng.range(95.0, 125.0),
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            idle: Idle::sample(rng, 0.3),
        }
    }
}

impl Motion for Kick {
    fn frame(&self, t: f32) -> MotionFrame {
        let [hip, abduction, knee, ankle, lean] = self.leg.at(t);
        let kicking = self.kicking;
        let stance = kicking.other();
        let mut pose = Pose::default();
        pose.hip(kicking, hip, abduction, 0.0);
        pose.knee(kicking, knee);
        pose.ankle(kicking, ankle);
        pose.crouch(stance, 0.4 * self.stance_knee, 0.6 * self.stance_knee);
        pose.hip(stance, 0.0, 4.0, 8.0);
        // Lean back (and, for a side kick, away from the kick).
        let away = abduction / 42.0 * lean * kicking.sign();
        pose.pelvis_pitch(-0.4 * lean);
        pose.spine(-0.6 * lean, -away, 0.0);
        pose.head(0.5 * lean, 0.5 * away, 0.0);
        let effort = (hip / 90.0).clamp(0.0, 1.0);
        for side in Side::BOTH {
            if self.guard {
                pose.shoulder(side, self.guard_flexion, -72.0, 0.0);
                pose.elbow(side, self.guard_elbow);
            } else {
                let arm = self.carriage[side.index()];
                // The arm opposite the kicking leg swings forward for balance.
                let swing = if side == kicking { -25.0 } else { 40.0 } * effort;
                pose.shoulder(side, arm.flexion + swing, arm.elevation + 15.0 * effort, 0.0);
                pose.elbow(side, arm.elbow + 20.0 * effort);
            }
        }
        self.idle.apply(&mut pose, t);
        MotionFrame {
            pose,
            heading: self.place.heading,
            position: self.place.position,
            anchor: Anchor::foot(stance),
            lift: 0.0,
        }
    }
}
