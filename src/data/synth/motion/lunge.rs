//! Forward lunges with one leg: the front foot steps out, both knees bend until the back knee nears
//! the floor with the back heel raised, a pause, and the front foot steps back; the back foot stays
//! planted throughout.

use super::super::random::Rng;
use super::ease::bump;
use super::pose::{Pose, Side};
use super::reps::{Rep, RepTiming, schedule};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

/// How high the front foot is carried in a lunge: a bump while stepping out and while stepping
/// back.
fn step_at(rep: &Rep, t: f32) -> f32 {
    bump(t, rep.start, 0.5 * (rep.start + rep.down), rep.down) + bump(t, rep.hold, 0.5 * (rep.hold + rep.up), rep.up)
}

pub(super) struct Lunge {
    place: Placement,
    front: Side,
    reps: Vec<Rep>,
    front_hip: f32,
    front_knee: f32,
    front_ankle: f32,
    back_hip: f32,
    back_knee: f32,
    back_ankle: f32,
    back_toes: f32,
    pitch: f32,
    arm_swing: f32,
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl Lunge {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let timing = RepTiming {
            lead: 2.0,
            down: [0.6, 1.0],
            hold: [0.1, 0.7],
            up: [0.6, 1.0],
            gap: [0.1, 0.8],
            depth: Some([0.6, 1.0]),
        };
        let reps = schedule(rng, context.duration, &timing);
        let front_hip = rng.range(65.0, 80.0);
        let front_knee = front_hip + rng.range(5.0, 15.0);
        let back_hip = rng.range(5.0, 15.0);
        let back_ankle = rng.range(0.0, 15.0);
        Self {
            place,
            front: if rng.chance(0.5) { Side::Left } else { Side::Right },
            reps,
            front_hip,
            front_knee,
            front_ankle: rng.range(5.0, 20.0),
            back_hip,
            back_knee: back_knee_on_floor(front_hip, front_knee, back_hip, back_ankle),
            back_ankle,
            back_toes: rng.range(20.0, 35.0),
            pitch: rng.range(0.0, 10.0),
            arm_swing: rng.range(0.0, 20.0),
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            idle: Idle::sample(rng, 0.3),
        }
    }
}

/// The back knee flexion (degrees) that puts the back toes on the floor when the front foot is flat,
/// from a sagittal stick model of the legs in units of leg length (thigh 0.44, shank 0.48, ankle
/// height 0.08, toes 0.22 ahead of the ankle).
fn back_knee_on_floor(front_hip: f32, front_knee: f32, back_hip: f32, back_ankle: f32) -> f32 {
    const THIGH: f32 = 0.44;
    const SHANK: f32 = 0.48;
    const ANKLE: f32 = 0.08;
    const TOE: f32 = 0.22;
    let (hf, kf, e, d) =
        (front_hip.to_radians(), front_knee.to_radians(), back_hip.to_radians(), back_ankle.to_radians());
    let hip_height = ANKLE + SHANK * (kf - hf).cos() + THIGH * hf.cos();
    let toe_height = |knee: f32| {
        let shank = e + knee.to_radians();
        let foot = shank - d;
        hip_height - THIGH * e.cos() - SHANK * shank.cos() - (TOE * foot.sin() + ANKLE * foot.cos())
    };
    (30..=120).map(|k| k as f32).min_by(|a, b| toe_height(*a).abs().total_cmp(&toe_height(*b).abs())).unwrap_or(60.0)
}

impl Motion for Lunge {
    fn frame(&self, t: f32) -> MotionFrame {
        let u: f32 = self.reps.iter().map(|r| r.depth_at(t)).sum::<f32>().clamp(0.0, 1.0);
        let step: f32 = self.reps.iter().map(|r| step_at(r, t)).sum::<f32>().clamp(0.0, 1.0);
        let front = self.front;
        let back = front.other();
        let mut pose = Pose::default();
        pose.hip(front, self.front_hip * u + 15.0 * step, 3.0, 5.0);
        pose.knee(front, self.front_knee * u + 35.0 * step);
        pose.ankle(front, self.front_ankle * u);
        pose.hip(back, -self.back_hip * u, 3.0, 5.0);
        pose.knee(back, self.back_knee * u);
        pose.ankle(back, self.back_ankle * u);
        pose.toes(back, self.back_toes * u);
        pose.pelvis_pitch(self.pitch * u);
        pose.spine(-0.5 * self.pitch * u, 0.0, 0.0);
        for side in Side::BOTH {
            let arm = self.carriage[side.index()];
            // The arm opposite the front leg swings forward.
            let swing = if side == front { -self.arm_swing } else { self.arm_swing } * u;
            pose.shoulder(side, arm.flexion + swing, arm.elevation, 0.0);
            pose.elbow(side, arm.elbow);
        }
        self.idle.apply(&mut pose, t);
        MotionFrame {
            pose,
            heading: self.place.heading,
            position: self.place.position,
            anchor: Anchor::foot(back),
            lift: 0.0,
        }
    }
}
