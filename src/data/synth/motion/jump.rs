//! Jumps: a crouch with the arms swinging back, a push-off through the toes with the arms swinging
//! up, a ballistic flight (some jumps hop forward or turn a quarter or half turn in the air) and a
//! landing that absorbs into the knees.

use std::f32::consts::PI;

use super::super::random::Rng;
use super::ease::{Keyframes, bump, ease};
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

const GRAVITY: f32 = 9.81;

/// One jump, times in seconds.
#[derive(Clone, Copy, Debug)]
struct Hop {
    start: f32,
    takeoff: f32,
    land: f32,
    settle: f32,
    /// Take-off speed, m/s.
    speed: f32,
    depth: f32,
    land_depth: f32,
    tuck: f32,
    /// Horizontal distance, metres, along the heading before the jump.
    forward: f32,
    /// Turn in the air, radians.
    turn: f32,
}

pub(super) struct Jump {
    place: Placement,
    hops: Vec<Hop>,
    shank: f32,
    thigh: f32,
    pitch: f32,
    push: f32,
    /// Shoulder flexion and elbow flexion over time.
    arms: Keyframes<2>,
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl Jump {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let carriage = [ArmCarriage::sample(rng), ArmCarriage::sample(rng)];
        let rest_flexion = 0.5 * (carriage[0].flexion + carriage[1].flexion);
        let rest_elbow = 0.5 * (carriage[0].elbow + carriage[1].elbow);
        let mut hops = Vec::new();
        let mut keys = Vec::new();
        let mut t = -rng.range(0.0, 1.5);
        keys.push((t - 0.1, [rest_flexion, rest_elbow]));
        while t < context.duration + 0.5 {
            let crouch = rng.range(0.45, 0.7);
            let speed = rng.range(1.5, 2.5);
            let flight = 2.0 * speed / GRAVITY;
            let absorb = rng.range(0.35, 0.6);
            let takeoff = t + crouch;
            let land = takeoff + flight;
            let settle = land + absorb;
            let turn = match rng.below(8) {
                0 | 1 => rng.sign() * PI / 2.0,
                2 => rng.sign() * PI,
                _ => 0.0,
            };
            let forward = if rng.chance(0.4) { rng.range(0.1, 0.5) } else { 0.0 };
            let hop = Hop {
                start: t,
                takeoff,
                land,
                settle,
                speed,
                depth: rng.range(0.5, 1.0),
                land_depth: rng.range(0.3, 0.7),
                tuck: if rng.chance(0.3) { rng.range(20.0, 45.0) } else { rng.range(0.0, 10.0) },
                forward,
                turn,
            };
            let up = rng.range(90.0, 160.0);
            keys.push((t + 0.5 * crouch, [rng.range(-50.0, -25.0), rng.range(10.0, 30.0)]));
            keys.push((takeoff + 0.5 * flight, [up, rng.range(5.0, 30.0)]));
            keys.push((land + 0.15, [rng.range(20.0, 45.0), rng.range(20.0, 50.0)]));
            keys.push((settle, [rest_flexion, rest_elbow]));
            hops.push(hop);
            t = settle + rng.range(0.05, 0.6);
        }
        Self {
            place,
            hops,
            shank: rng.range(22.0, 32.0),
            thigh: rng.range(55.0, 80.0),
            pitch: rng.range(15.0, 35.0),
            push: rng.range(20.0, 40.0),
            arms: Keyframes::new(keys),
            carriage,
            idle: Idle::sample(rng, 0.3),
        }
    }
}

impl Motion for Jump {
    fn frame(&self, t: f32) -> MotionFrame {
        let mut crouch = 0.0;
        let mut push = 0.0;
        let mut tuck = 0.0;
        let mut toes = 0.0;
        let mut lift = 0.0;
        let mut heading = self.place.heading;
        let mut position = self.place.position;
        for hop in &self.hops {
            crouch += hop.depth * bump(t, hop.start, hop.start + 0.65 * (hop.takeoff - hop.start), hop.takeoff);
            crouch += hop.land_depth * bump(t, hop.land, hop.land + 0.12, hop.settle);
            push += bump(t, hop.takeoff - 0.12, hop.takeoff + 0.05, hop.land - 0.05);
            toes += bump(t, hop.takeoff - 0.15, hop.takeoff - 0.03, hop.takeoff + 0.1);
            tuck += hop.tuck * bump(t, hop.takeoff, 0.5 * (hop.takeoff + hop.land), hop.land);
            if (hop.takeoff..hop.land).contains(&t) {
                let tau = t - hop.takeoff;
                lift += (hop.speed * tau - 0.5 * GRAVITY * tau * tau).max(0.0);
            }
            let w = ease(t, hop.takeoff, hop.land);
            let (s, c) = heading.sin_cos();
            position[0] += hop.forward * w * s;
            position[1] += hop.forward * w * c;
            heading += hop.turn * w;
        }
        let crouch = crouch.min(1.0);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            pose.crouch(side, self.shank * crouch, self.thigh * crouch);
            pose.hip(side, tuck, 4.0, 8.0);
            pose.knee(side, 1.5 * tuck);
            pose.ankle(side, -self.push * push);
            pose.toes(side, 0.8 * self.push * toes);
        }
        pose.pelvis_pitch(self.pitch * crouch);
        pose.head(-0.5 * self.pitch * crouch, 0.0, 0.0);
        let [flexion, elbow] = self.arms.at(t);
        for side in Side::BOTH {
            let arm = self.carriage[side.index()];
            pose.shoulder(side, flexion, arm.elevation, 0.0);
            pose.elbow(side, elbow);
        }
        self.idle.apply(&mut pose, t);
        MotionFrame { pose, heading, position, anchor: Anchor::FEET, lift }
    }
}
