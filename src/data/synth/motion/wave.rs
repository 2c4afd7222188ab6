//! Waving: one arm (or both, cheering) rises with the upper arm out to the side and the forearm up,
//! the forearm swings side to side at a few hertz with the hand flapping, and the arm may come down
//! again; the head tilts toward the wave and the weight shifts.

use std::f32::consts::TAU;

use super::super::random::Rng;
use super::ease::ease;
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Motion, MotionContext, MotionFrame, Placement};

pub(super) struct Wave {
    place: Placement,
    /// Which arms wave: left, right.
    waving: [bool; 2],
    raise: (f32, f32),
    lower: (f32, f32),
    forward: f32,
    up: f32,
    elbow: f32,
    amplitude: f32,
    freq: f32,
    phase0: f32,
    hand: f32,
    carriage: [ArmCarriage; 2],
    head_tilt: f32,
    idle: Idle,
}

impl Wave {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let waving = match rng.below(10) {
            0..=2 => [true, true],
            3..=6 => [false, true],
            _ => [true, false],
        };
        let raise_at = rng.range(-1.0, (0.3 * context.duration).min(1.0));
        let raise = (raise_at, raise_at + rng.range(0.4, 0.9));
        let lower_at = raise.1 + rng.range(2.0, 6.0);
        Self {
            place,
            waving,
            raise,
            lower: (lower_at, lower_at + rng.range(0.5, 1.0)),
            forward: rng.range(0.0, 30.0),
            up: rng.range(5.0, 40.0),
            elbow: rng.range(65.0, 100.0),
            amplitude: rng.range(12.0, 30.0),
            freq: rng.range(1.5, 3.0),
            phase0: rng.angle(),
            hand: rng.range(0.0, 20.0),
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            head_tilt: rng.range(0.0, 12.0),
            idle: Idle::sample(rng, 0.6),
        }
    }
}

impl Motion for Wave {
    fn frame(&self, t: f32) -> MotionFrame {
        let w = ease(t, self.raise.0, self.raise.1) - ease(t, self.lower.0, self.lower.1);
        let swing = (TAU * self.freq * t + self.phase0).sin();
        let mut pose = Pose::default();
        let mut tilt = 0.0;
        for side in Side::BOTH {
            let arm = self.carriage[side.index()];
            if self.waving[side.index()] {
                let mix = |rest: f32, wave: f32| rest + (wave - rest) * w;
                pose.shoulder(side, mix(arm.flexion, 90.0), mix(arm.elevation, -self.forward), self.up * w);
                pose.elbow(side, mix(arm.elbow, self.elbow + self.amplitude * swing));
                pose.wrist(side, 0.0, self.hand * swing * w);
                tilt += side.sign() * self.head_tilt * w;
            } else {
                arm.apply(&mut pose, side);
            }
        }
        for side in Side::BOTH {
            pose.hip(side, 0.0, 3.0, 6.0);
            pose.crouch(side, 2.0, 2.0);
        }
        pose.head(-5.0 * w, tilt, 0.0);
        self.idle.apply(&mut pose, t);
        self.place.standing(pose)
    }
}
