//! Free dance to a beat: knees bouncing on every beat, side steps and hip sway on every other beat,
//! the torso twisting, the head nodding, and arm movements made of random rhythmic patterns locked
//! to the tempo, while the dancer drifts and turns about the floor.

use std::f32::consts::{PI, TAU};

use super::super::random::Rng;
use super::ease::{Wobble, pulse};
use super::pose::{Pose, Side};
use super::style::Idle;
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

/// A rhythmic pattern: a centre value plus sinusoids at multiples of a quarter of the beat frequency.
#[derive(Clone, Debug)]
struct Rhythm {
    centre: f32,
    /// `(amplitude, multiple of the quarter beat, phase)`.
    terms: Vec<(f32, f32, f32)>,
}

impl Rhythm {
    /// A centre in [lo, hi] and up to three terms whose amplitudes add up to at most `amplitude`.
    fn sample(rng: &mut Rng, lo: f32, hi: f32, amplitude: f32) -> Self {
        let n = 1 + rng.below(3);
        let terms = (0..n)
            .map(|_| {
                let multiple = *rng.pick(&[1.0, 2.0, 2.0, 4.0, 4.0]).unwrap_or(&2.0);
                (amplitude * rng.range(0.2, 1.0) / n as f32, multiple, rng.angle())
            })
            .collect();
        Self { centre: rng.range(lo, hi), terms }
    }

    fn at(&self, beat: f32) -> f32 {
        self.centre + self.terms.iter().map(|(a, m, p)| a * (m * beat / 4.0 + p).sin()).sum::<f32>()
    }
}

pub(super) struct Dance {
    place: Placement,
    beat_freq: f32,
    phase0: f32,
    bounce: f32,
    step_width: f32,
    step_lift: f32,
    sway: f32,
    twist: f32,
    nod: f32,
    spin: f32,
    /// Per arm: shoulder flexion, elevation, elbow flexion.
    arms: [[Rhythm; 3]; 2],
    heading_wobble: Wobble,
    wander: [Wobble; 2],
    idle: Idle,
}

impl Dance {
    pub(super) fn sample(rng: &mut Rng, _context: &MotionContext, place: Placement) -> Self {
        let arm = |rng: &mut Rng| {
            [
                Rhythm::sample(rng, -5.0, 90.0, 55.0),
                Rhythm::sample(rng, -58.0, -30.0, 25.0),
                Rhythm::sample(rng, 40.0, 90.0, 40.0),
            ]
        };
        let arms = [arm(rng), arm(rng)];
        Self {
            place,
            beat_freq: rng.range(85.0, 140.0) / 60.0,
            phase0: rng.angle(),
            bounce: rng.range(4.0, 20.0),
            step_width: if rng.chance(0.6) { rng.range(0.05, 0.25) } else { 0.0 },
            step_lift: rng.range(0.0, 1.0),
            sway: rng.range(0.0, 8.0),
            twist: rng.range(0.0, 20.0),
            nod: rng.range(0.0, 10.0),
            spin: if rng.chance(0.3) { rng.symmetric(1.5) } else { rng.symmetric(0.3) },
            arms,
            heading_wobble: Wobble::new(rng, 0.5, 0.05, 0.3, 2),
            wander: [Wobble::new(rng, 0.3, 0.03, 0.15, 2), Wobble::new(rng, 0.3, 0.03, 0.15, 2)],
            idle: Idle::sample(rng, 0.3),
        }
    }
}

impl Motion for Dance {
    fn frame(&self, t: f32) -> MotionFrame {
        let beat = TAU * self.beat_freq * t + self.phase0;
        let half = 0.5 * beat;
        let mut pose = Pose::default();
        let bounce = self.bounce * 0.5 * (1.0 - beat.cos());
        let sway = self.sway * half.sin();
        pose.pelvis(0.0, sway, 0.0);
        for side in Side::BOTH {
            // Each foot lifts on alternate beats, stepping toward its side.
            let lift = self.step_lift * pulse(half - if side == Side::Left { 0.0 } else { PI }, 1.2);
            pose.crouch(side, 3.0 + 0.4 * bounce, 3.0 + 0.6 * bounce);
            pose.hip(side, 15.0 * lift, 4.0 + 8.0 * lift + side.sign() * sway, 8.0);
            pose.knee(side, 30.0 * lift);
            let i = side.index();
            pose.shoulder(side, self.arms[i][0].at(beat), self.arms[i][1].at(beat), 0.0);
            pose.elbow(side, self.arms[i][2].at(beat));
        }
        pose.spine(5.0, -0.7 * sway, self.twist * half.sin());
        pose.head(self.nod * beat.sin(), 0.3 * sway, -0.5 * self.twist * half.sin());
        self.idle.apply(&mut pose, t);
        let heading = self.place.heading + self.spin * t + self.heading_wobble.at(t);
        let side_step = self.step_width * half.sin();
        let (s, c) = heading.sin_cos();
        let position = [
            self.place.position[0] + side_step * c + self.wander[0].at(t),
            self.place.position[1] - side_step * s + self.wander[1].at(t),
        ];
        MotionFrame { pose, heading, position, anchor: Anchor::PELVIS, lift: 0.0 }
    }
}
