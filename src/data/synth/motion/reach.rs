//! Reaching: one arm or both stretch out toward a series of targets — forward, up, out to the side,
//! down low — with the trunk twisting, bending and leaning toward each target and the heels rising
//! for high reaches, then the arms come back to rest.

use super::super::random::Rng;
use super::ease::Keyframes;
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Motion, MotionContext, MotionFrame, Placement};

/// Values interpolated between keyframes.
const L_FLEX: usize = 0;
const L_ELEV: usize = 1;
const L_ELBOW: usize = 2;
const R_FLEX: usize = 3;
const R_ELEV: usize = 4;
const R_ELBOW: usize = 5;
const TRUNK_FLEX: usize = 6;
const TRUNK_LATERAL: usize = 7;
const TRUNK_TWIST: usize = 8;
const PITCH: usize = 9;
const RISE: usize = 10;
const N: usize = 11;

pub(super) struct Reach {
    place: Placement,
    keys: Keyframes<N>,
    idle: Idle,
}

fn rest_values(carriage: &[ArmCarriage; 2]) -> [f32; N] {
    let mut v = [0.0; N];
    v[L_FLEX] = carriage[0].flexion;
    v[L_ELEV] = carriage[0].elevation;
    v[L_ELBOW] = carriage[0].elbow;
    v[R_FLEX] = carriage[1].flexion;
    v[R_ELEV] = carriage[1].elevation;
    v[R_ELBOW] = carriage[1].elbow;
    v
}

impl Reach {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let carriage = [ArmCarriage::sample(rng), ArmCarriage::sample(rng)];
        let rest = rest_values(&carriage);
        let mut t = -rng.range(0.0, 1.0);
        let mut keys = vec![(t, rest)];
        while t < context.duration {
            let mut target = rest;
            let arms: &[Side] = match rng.below(4) {
                0 => &[Side::Left],
                1 => &[Side::Right],
                2 => &Side::BOTH,
                _ => &[if rng.chance(0.5) { Side::Left } else { Side::Right }],
            };
            let flexion = rng.range(30.0, 165.0);
            let elevation = rng.range(-85.0, -20.0);
            let low = flexion < 70.0 && rng.chance(0.6);
            for &side in arms {
                let (f, e, el) = match side {
                    Side::Left => (L_FLEX, L_ELEV, L_ELBOW),
                    Side::Right => (R_FLEX, R_ELEV, R_ELBOW),
                };
                target[f] = (flexion + rng.symmetric(10.0)).clamp(0.0, 165.0);
                target[e] = (elevation + rng.symmetric(8.0)).clamp(-85.0, -15.0);
                target[el] = rng.range(3.0, 25.0);
            }
            if arms.len() == 1 {
                // Reach further by turning the trunk away from the reaching side and bending toward it.
                let s = arms[0].sign();
                let sideways = (elevation + 85.0) / 65.0;
                target[TRUNK_TWIST] = -s * rng.range(5.0, 25.0) * (1.0 - sideways);
                target[TRUNK_LATERAL] = s * rng.range(0.0, 15.0) * sideways;
            }
            if low {
                let lean = rng.range(20.0, 50.0);
                target[PITCH] = 0.5 * lean;
                target[TRUNK_FLEX] = 0.5 * lean;
                for f in [L_FLEX, R_FLEX] {
                    target[f] = target[f].min(70.0);
                }
            } else if flexion > 130.0 && rng.chance(0.6) {
                target[RISE] = rng.range(8.0, 25.0);
            }
            let out = t + rng.range(0.5, 1.0);
            let hold = out + rng.range(0.1, 0.8);
            keys.push((out, target));
            keys.push((hold, target));
            let back = hold + rng.range(0.5, 1.0);
            if rng.chance(0.4) {
                // Straight on to the next target from a half-way pose.
                let half: [f32; N] = std::array::from_fn(|i| 0.5 * (rest[i] + target[i]));
                keys.push((back, half));
                t = back;
            } else {
                keys.push((back, rest));
                t = back + rng.range(0.0, 0.6);
                keys.push((t, rest));
            }
        }
        Self { place, keys: Keyframes::new(keys), idle: Idle::sample(rng, 0.4) }
    }
}

impl Motion for Reach {
    fn frame(&self, t: f32) -> MotionFrame {
        let v = self.keys.at(t);
        let mut pose = Pose::default();
        pose.shoulder(Side::Left, v[L_FLEX] + v[TRUNK_FLEX] + v[PITCH], v[L_ELEV], 0.0);
        pose.elbow(Side::Left, v[L_ELBOW]);
        pose.shoulder(Side::Right, v[R_FLEX] + v[TRUNK_FLEX] + v[PITCH], v[R_ELEV], 0.0);
        pose.elbow(Side::Right, v[R_ELBOW]);
        pose.spine(v[TRUNK_FLEX], v[TRUNK_LATERAL], v[TRUNK_TWIST]);
        pose.pelvis_pitch(v[PITCH]);
        pose.head(-0.4 * (v[TRUNK_FLEX] + v[PITCH]), -0.3 * v[TRUNK_LATERAL], -0.5 * v[TRUNK_TWIST]);
        for side in Side::BOTH {
            pose.hip(side, 0.0, 3.0, 6.0);
            pose.ankle(side, -v[RISE]);
            pose.toes(side, v[RISE]);
        }
        for side in Side::BOTH {
            // Stand with soft knees.
            pose.crouch(side, 3.0, 3.0);
        }
        self.idle.apply(&mut pose, t);
        self.place.standing(pose)
    }
}
