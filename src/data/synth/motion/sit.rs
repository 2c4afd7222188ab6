//! Sit-to-stand and back: seated on an (invisible) chair with the hands on the thighs, leaning the
//! trunk forward to bring the weight over the feet, rising to standing with the arms swinging
//! forward, standing a while, and lowering back onto the seat.

use super::super::random::Rng;
use super::ease::Keyframes;
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Motion, MotionContext, MotionFrame, Placement};

/// Thigh lean, shank lean, pelvis pitch, spine flexion, shoulder flexion, elbow flexion (degrees).
const N: usize = 6;

pub(super) struct SitToStand {
    place: Placement,
    keys: Keyframes<N>,
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl SitToStand {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let carriage = [ArmCarriage::sample(rng), ArmCarriage::sample(rng)];
        let thigh = rng.range(78.0, 88.0);
        let shank = rng.range(-2.0, 10.0);
        let seated =
            [thigh, shank, rng.range(-5.0, 5.0), rng.range(-5.0, 12.0), rng.range(30.0, 50.0), rng.range(40.0, 70.0)];
        let arm_forward = rng.range(20.0, 80.0);
        let lean = [
            thigh,
            shank + rng.range(5.0, 12.0),
            rng.range(22.0, 118.0 - thigh),
            rng.range(5.0, 15.0),
            arm_forward,
            rng.range(10.0, 40.0),
        ];
        let rising = [
            rng.range(35.0, 50.0),
            shank + rng.range(5.0, 10.0),
            rng.range(18.0, 28.0),
            rng.range(0.0, 10.0),
            0.7 * arm_forward,
            25.0,
        ];
        let standing = [
            0.0,
            0.0,
            0.0,
            0.0,
            0.5 * (carriage[0].flexion + carriage[1].flexion),
            0.5 * (carriage[0].elbow + carriage[1].elbow),
        ];
        let lowering = [
            rng.range(40.0, 55.0),
            shank + rng.range(8.0, 14.0),
            rng.range(20.0, 30.0),
            rng.range(0.0, 10.0),
            rng.range(20.0, 50.0),
            30.0,
        ];
        let mut t = -rng.range(0.0, 1.5);
        let mut keys = Vec::new();
        let mut sitting = rng.chance(0.5);
        while t < context.duration + 1.0 {
            if sitting {
                keys.push((t, seated));
                t += rng.range(0.3, 1.5);
                keys.push((t, seated));
                t += rng.range(0.5, 0.8);
                keys.push((t, lean));
                t += rng.range(0.4, 0.6);
                keys.push((t, rising));
                t += rng.range(0.5, 0.8);
            } else {
                keys.push((t, standing));
                t += rng.range(0.3, 1.5);
                keys.push((t, standing));
                t += rng.range(0.6, 0.9);
                keys.push((t, lowering));
                t += rng.range(0.5, 0.8);
            }
            sitting = !sitting;
        }
        Self { place, keys: Keyframes::new(keys), carriage, idle: Idle::sample(rng, 0.4) }
    }
}

impl Motion for SitToStand {
    fn frame(&self, t: f32) -> MotionFrame {
        let [thigh, shank, pitch, spine, arm_flexion, elbow] = self.keys.at(t);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            pose.crouch(side, shank, thigh);
            pose.hip(side, 0.0, 6.0, 8.0);
            let arm = self.carriage[side.index()];
            pose.shoulder(side, arm_flexion, arm.elevation + 5.0, 0.0);
            pose.elbow(side, elbow);
        }
        pose.pelvis_pitch(pitch);
        pose.spine(spine, 0.0, 0.0);
        pose.head(-0.5 * (pitch + spine), 0.0, 0.0);
        self.idle.apply(&mut pose, t);
        self.place.standing(pose)
    }
}
