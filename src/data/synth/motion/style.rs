//! Per-sequence style shared by the motions: a relaxed arm carriage and slow idle variation of the
//! spine, head, shoulders and hands, so that two sequences of the same kind never hold the same
//! upper body.

use super::super::random::Rng;
use super::ease::Wobble;
use super::pose::{Pose, Side};

/// How a relaxed arm is carried (degrees): see [`Pose::shoulder`] and [`Pose::elbow`].
#[derive(Clone, Copy, Debug)]
pub struct ArmCarriage {
    /// Shoulder flexion of the hanging arm.
    pub flexion: f32,
    /// Shoulder elevation (about -80 hangs the arm at the side).
    pub elevation: f32,
    /// Elbow flexion.
    pub elbow: f32,
}

impl ArmCarriage {
    /// A random relaxed carriage.
    pub fn sample(rng: &mut Rng) -> Self {
        Self { flexion: rng.range(-5.0, 15.0), elevation: rng.range(-83.0, -68.0), elbow: rng.range(5.0, 35.0) }
    }

    /// Adds this carriage to one arm of `pose`.
    pub fn apply(&self, pose: &mut Pose, side: Side) {
        pose.shoulder(side, self.flexion, self.elevation, 0.0);
        pose.elbow(side, self.elbow);
    }
}

/// Slow, small variation around a pose: breathing-like sway of the spine, glances of the head,
/// fidgeting shoulders, elbows and wrists.
#[derive(Clone, Debug)]
pub struct Idle {
    spine: [Wobble; 3],
    head: [Wobble; 3],
    collar: [[Wobble; 2]; 2],
    shoulder: [[Wobble; 2]; 2],
    elbow: [Wobble; 2],
    elbow_amplitude: f32,
    wrist: [[Wobble; 2]; 2],
}

impl Idle {
    /// Random idle variation; `amount` scales every amplitude (1 = a person standing at ease).
    pub fn sample(rng: &mut Rng, amount: f32) -> Self {
        let mut w = |deg: f32, lo: f32, hi: f32| Wobble::new(rng, deg * amount, lo, hi, 2);
        Self {
            spine: [w(4.0, 0.1, 0.5), w(3.0, 0.1, 0.5), w(4.0, 0.1, 0.4)],
            head: [w(8.0, 0.1, 0.6), w(5.0, 0.1, 0.5), w(12.0, 0.05, 0.4)],
            collar: [[w(4.0, 0.1, 0.5), w(4.0, 0.1, 0.5)], [w(4.0, 0.1, 0.5), w(4.0, 0.1, 0.5)]],
            shoulder: [[w(5.0, 0.1, 0.6), w(5.0, 0.1, 0.6)], [w(5.0, 0.1, 0.6), w(5.0, 0.1, 0.6)]],
            elbow: [w(10.0, 0.1, 0.7), w(10.0, 0.1, 0.7)],
            wrist: [[w(15.0, 0.1, 0.8), w(8.0, 0.1, 0.8)], [w(15.0, 0.1, 0.8), w(8.0, 0.1, 0.8)]],
            elbow_amplitude: 10.0 * amount,
        }
    }

    /// Adds the variation at time `t` to `pose`. Elbows only ever flex further (never hyperextend).
    pub fn apply(&self, pose: &mut Pose, t: f32) {
        pose.spine(self.spine[0].at(t), self.spine[1].at(t), self.spine[2].at(t));
        pose.head(self.head[0].at(t), self.head[1].at(t), self.head[2].at(t));
        for side in Side::BOTH {
            let i = side.index();
            pose.collar(side, self.collar[i][0].at(t), self.collar[i][1].at(t));
            pose.shoulder(side, self.shoulder[i][0].at(t), self.shoulder[i][1].at(t), 0.0);
            pose.elbow(side, 0.5 * (self.elbow_amplitude + self.elbow[i].at(t)));
            pose.wrist(side, self.wrist[i][0].at(t), self.wrist[i][1].at(t));
        }
    }
}
