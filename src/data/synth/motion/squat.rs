//! Repeated squats: flat feet set apart and turned out, hips back and trunk leaning forward as the
//! knees bend, depth varying from rep to rep, arms held forward, clasped or hanging.

use std::f32::consts::{PI, TAU};

use super::super::random::Rng;
use super::ease::{Wobble, peak};
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

/// What the arms do during a squat.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Arms {
    /// Raised forward as the body goes down.
    Forward,
    /// Hands together in front of the chest.
    Clasped,
    /// Hanging, following the trunk.
    Hanging,
}

pub(super) struct Squat {
    place: Placement,
    freq: f32,
    phase0: f32,
    sharpness: f32,
    depth: f32,
    depth_wobble: Wobble,
    shank: f32,
    thigh: f32,
    pitch: f32,
    spine: f32,
    abduction: f32,
    external: f32,
    arms: Arms,
    carriage: [ArmCarriage; 2],
    arm_raise: f32,
    elbow: f32,
    heading_wobble: Wobble,
    idle: Idle,
}

impl Squat {
    pub(super) fn sample(rng: &mut Rng, _context: &MotionContext, place: Placement) -> Self {
        let thigh = rng.range(70.0, 88.0);
        let pitch = rng.range(15.0, (118.0 - thigh).min(35.0));
        let arms = *rng.pick(&[Arms::Forward, Arms::Clasped, Arms::Hanging]).unwrap_or(&Arms::Hanging);
        Self {
            place,
            freq: rng.range(0.25, 0.5),
            phase0: rng.angle(),
            sharpness: rng.range(1.0, 2.0),
            depth: rng.range(0.45, 0.9),
            depth_wobble: Wobble::new(rng, 0.1, 0.05, 0.2, 2),
            shank: rng.range(20.0, 32.0),
            thigh,
            pitch,
            spine: rng.range(-8.0, 15.0),
            abduction: rng.range(5.0, 15.0),
            external: rng.range(8.0, 30.0),
            arms,
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            arm_raise: rng.range(55.0, 90.0),
            elbow: rng.range(60.0, 110.0),
            heading_wobble: Wobble::new(rng, 0.15, 0.02, 0.1, 2),
            idle: Idle::sample(rng, 0.4),
        }
    }
}

impl Motion for Squat {
    fn frame(&self, t: f32) -> MotionFrame {
        let phase = TAU * self.freq * t + self.phase0;
        let u = (self.depth + self.depth_wobble.at(t)).clamp(0.0, 1.0) * peak(phase - PI, self.sharpness);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            pose.crouch(side, self.shank * u, self.thigh * u);
            pose.hip(side, 0.0, self.abduction, self.external);
        }
        pose.pelvis_pitch(self.pitch * u);
        pose.spine(self.spine * u, 0.0, 0.0);
        pose.head(-0.6 * (self.pitch + self.spine) * u, 0.0, 0.0);
        let trunk = (self.pitch + self.spine) * u;
        for side in Side::BOTH {
            match self.arms {
                Arms::Forward => {
                    pose.shoulder(side, 15.0 + self.arm_raise * u + 0.3 * trunk, -80.0, 0.0);
                    pose.elbow(side, 10.0);
                }
                Arms::Clasped => {
                    pose.shoulder(side, 30.0 + 0.5 * trunk, -72.0, 0.0);
                    pose.elbow(side, self.elbow);
                }
                Arms::Hanging => {
                    let arm = self.carriage[side.index()];
                    pose.shoulder(side, arm.flexion + trunk, arm.elevation, 0.0);
                    pose.elbow(side, arm.elbow);
                }
            }
        }
        self.idle.apply(&mut pose, t);
        MotionFrame {
            pose,
            heading: self.place.heading + self.heading_wobble.at(t),
            position: self.place.position,
            anchor: Anchor::FEET,
            lift: 0.0,
        }
    }
}
