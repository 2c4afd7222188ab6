//! Bending down to pick something up and standing back up: anywhere between a stoop (straight-ish
//! knees, hips and back bent) and a squat-lift (knees bent, trunk more upright), reaching for the
//! floor with one hand or both, looking at the spot.

use super::super::random::Rng;
use super::pose::{Pose, Side};
use super::reps::{Rep, RepTiming, schedule};
use super::style::{ArmCarriage, Idle};
use super::{Motion, MotionContext, MotionFrame, Placement};

pub(super) struct PickUp {
    place: Placement,
    reps: Vec<Rep>,
    shank: f32,
    thigh: f32,
    pitch: f32,
    spine: f32,
    reach: f32,
    /// Which hands reach for the floor: left, right.
    reaching: [bool; 2],
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl PickUp {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let timing =
            RepTiming { lead: 2.5, down: [0.8, 1.4], hold: [0.3, 0.8], up: [0.8, 1.4], gap: [0.2, 1.0], depth: None };
        let reps = schedule(rng, context.duration, &timing);
        // 0 = stoop, 1 = squat-lift.
        let squat = rng.range(0.0, 1.0);
        let mix = |stoop: f32, lift: f32| stoop + (lift - stoop) * squat;
        let reaching = match rng.below(3) {
            0 => [true, true],
            1 => [true, false],
            _ => [false, true],
        };
        Self {
            place,
            reps,
            shank: mix(rng.range(5.0, 15.0), rng.range(25.0, 32.0)),
            thigh: mix(rng.range(-5.0, 5.0), rng.range(70.0, 85.0)),
            pitch: mix(rng.range(55.0, 75.0), rng.range(20.0, 32.0)),
            spine: mix(rng.range(25.0, 45.0), rng.range(10.0, 25.0)),
            reach: rng.range(0.0, 30.0),
            reaching,
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            idle: Idle::sample(rng, 0.3),
        }
    }
}

impl Motion for PickUp {
    fn frame(&self, t: f32) -> MotionFrame {
        let u: f32 = self.reps.iter().map(|r| r.depth_at(t)).sum::<f32>().clamp(0.0, 1.0);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            pose.crouch(side, self.shank * u, self.thigh * u);
            pose.hip(side, 0.0, 5.0, 8.0);
        }
        pose.pelvis_pitch(self.pitch * u);
        pose.spine(self.spine * u, 0.0, 0.0);
        let trunk = (self.pitch + self.spine) * u;
        pose.head(-0.3 * trunk, 0.0, 0.0);
        for side in Side::BOTH {
            let arm = self.carriage[side.index()];
            if self.reaching[side.index()] {
                // Keep the arm pointing at the floor, a little ahead of the feet, elbow straightening.
                pose.shoulder(side, arm.flexion * (1.0 - u) + (trunk + self.reach) * u, arm.elevation, 0.0);
                pose.elbow(side, arm.elbow * (1.0 - u) + 8.0 * u);
            } else {
                // The free hand heads for the knee.
                pose.shoulder(side, arm.flexion + 0.7 * trunk, arm.elevation, 0.0);
                pose.elbow(side, arm.elbow + 30.0 * u);
            }
        }
        self.idle.apply(&mut pose, t);
        self.place.standing(pose)
    }
}
