//! Walking and running along curved paths: a periodic gait (hips, knees, ankles, toes, counter-
//! swinging arms, pelvis twist and list) whose speed follows from its stride, on a path whose
//! curvature varies smoothly; the heading follows the path and runners lean into turns and leave the
//! ground twice per stride.

use std::f32::consts::{FRAC_PI_2, PI, TAU};

use super::super::random::Rng;
use super::ease::{peak, pulse};
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

const GRAVITY: f32 = 9.81;

/// A walk or a run.
pub(super) struct Gait {
    place: Placement,
    /// Stride frequency (one left and one right step), Hz.
    freq: f32,
    phase0: f32,
    speed: f32,
    /// Path curvature `k0 + k1 sin(w t + p)`, 1/m.
    curvature: [f32; 4],
    hip_amplitude: f32,
    hip_offset: f32,
    hip_abduction: f32,
    hip_external: f32,
    knee_stance: f32,
    knee_swing: f32,
    knee_swing_phase: f32,
    knee_loading: f32,
    ankle_mid: f32,
    ankle_push: f32,
    toe_push: f32,
    arms: [ArmCarriage; 2],
    arm_swing: f32,
    arm_offset: f32,
    elbow_swing: f32,
    lean: f32,
    pelvis_twist: f32,
    pelvis_list: f32,
    sway: f32,
    /// Head turn into the curve, degrees per rad/s of turning.
    head_into_turn: f32,
    /// Flight height of a run, metres (0 for a walk).
    flight: f32,
    run: bool,
    idle: Idle,
}

impl Gait {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement, run: bool) -> Self {
        let leg = context.leg_length.max(0.3);
        let (freq, hip_amplitude, hip_offset) = if run {
            (rng.range(1.2, 1.45), rng.range(27.0, 36.0), rng.range(12.0, 20.0))
        } else {
            (rng.range(0.8, 1.05), rng.range(15.0, 24.0), rng.range(4.0, 10.0))
        };
        let stride = 4.0 * leg * hip_amplitude.to_radians().sin() * hip_offset.to_radians().cos();
        let speed = stride * freq * if run { rng.range(1.0, 1.2) } else { rng.range(0.85, 1.0) };
        let (k0, k1) =
            if run { (rng.symmetric(0.3), rng.range(0.0, 0.2)) } else { (rng.symmetric(0.5), rng.range(0.0, 0.35)) };
        let mut arms = [ArmCarriage::sample(rng), ArmCarriage::sample(rng)];
        if run {
            for arm in &mut arms {
                arm.elevation = rng.range(-80.0, -68.0);
                arm.elbow = rng.range(70.0, 95.0);
            }
        }
        let mut gait = Self {
            place,
            freq,
            phase0: rng.angle(),
            speed,
            curvature: [k0, k1, TAU * rng.range(0.05, 0.25), rng.angle()],
            hip_amplitude,
            hip_offset,
            hip_abduction: rng.range(-1.0, 4.0),
            hip_external: rng.range(0.0, 12.0),
            knee_stance: if run { rng.range(15.0, 25.0) } else { rng.range(3.0, 10.0) },
            knee_swing: if run { rng.range(65.0, 90.0) } else { rng.range(45.0, 60.0) },
            knee_swing_phase: -FRAC_PI_2 + rng.range(0.4, 0.7),
            knee_loading: if run { rng.range(10.0, 20.0) } else { rng.range(3.0, 10.0) },
            ankle_mid: rng.range(6.0, 12.0),
            ankle_push: if run { rng.range(20.0, 30.0) } else { rng.range(12.0, 20.0) },
            toe_push: rng.range(10.0, 25.0),
            arms,
            arm_swing: if run { rng.range(25.0, 40.0) } else { rng.range(8.0, 25.0) },
            arm_offset: if run { rng.range(5.0, 20.0) } else { rng.range(0.0, 8.0) },
            elbow_swing: if run { rng.range(8.0, 20.0) } else { rng.range(5.0, 20.0) },
            lean: if run { rng.range(6.0, 14.0) } else { rng.range(0.0, 7.0) },
            pelvis_twist: rng.range(2.0, 7.0),
            pelvis_list: rng.range(1.5, 4.0),
            sway: rng.range(0.01, 0.03),
            head_into_turn: rng.range(5.0, 25.0),
            flight: if run { rng.range(0.03, 0.07) } else { 0.0 },
            run,
            idle: Idle::sample(rng, if run { 0.3 } else { 0.5 }),
        };
        if let Some(volume) = context.volume {
            gait.go_round(volume);
        }
        gait
    }

    /// Turns the path into a circle centred on the origin that stays inside `volume` metres of it
    /// (turning the way the free path turned first; the start keeps its heading).
    fn go_round(&mut self, volume: f32) {
        let radius = (0.8 * volume).max(0.5);
        let side = if self.curvature[0] < 0.0 { -1.0 } else { 1.0 };
        self.curvature = [side / radius, 0.0, 1.0, 0.0];
        // The heading grows with positive curvature, so the centre lies at `radius` along
        // (cos h, -sin h) times the side; start where that centre is the origin.
        let (s, c) = self.place.heading.sin_cos();
        self.place.position = [-side * radius * c, side * radius * s];
    }

    fn curvature_at(&self, t: f32) -> f32 {
        let [k0, k1, w, p] = self.curvature;
        k0 + k1 * (w * t + p).sin()
    }

    /// Heading at `t`: the integral of speed times curvature.
    fn heading_at(&self, t: f32) -> f32 {
        let [k0, k1, w, p] = self.curvature;
        self.place.heading + self.speed * (k0 * t - k1 / w * ((w * t + p).cos() - p.cos()))
    }

    /// Position along the path at `t` (Simpson's rule over the heading).
    fn path_at(&self, t: f32) -> [f32; 2] {
        let n = 2 * ((t.abs() * 30.0).ceil() as usize).max(1);
        let h = t / n as f32;
        let mut sum = [0.0f32; 2];
        for i in 0..=n {
            let w = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let (s, c) = self.heading_at(i as f32 * h).sin_cos();
            sum[0] += w * s;
            sum[1] += w * c;
        }
        let k = self.speed * h / 3.0;
        [self.place.position[0] + k * sum[0], self.place.position[1] + k * sum[1]]
    }

    fn leg(&self, pose: &mut Pose, side: Side, phase: f32) {
        let flexion = self.hip_offset + self.hip_amplitude * phase.sin();
        pose.hip(side, flexion, self.hip_abduction, self.hip_external);
        let knee = self.knee_stance
            + self.knee_swing * peak(phase - self.knee_swing_phase, if self.run { 1.3 } else { 2.0 })
            + self.knee_loading * peak(phase - (PI - 0.3), 4.0);
        pose.knee(side, knee);
        let ankle = 2.0 + self.ankle_mid * peak(phase - (PI + 0.4), 2.0)
            - self.ankle_push * pulse(phase - (-FRAC_PI_2 + 0.15), 0.9);
        pose.ankle(side, ankle);
        pose.toes(side, self.toe_push * pulse(phase - (-FRAC_PI_2 - 0.2), 0.8));
    }
}

impl Motion for Gait {
    fn frame(&self, t: f32) -> MotionFrame {
        let phase = TAU * self.freq * t + self.phase0;
        let mut pose = Pose::default();
        self.leg(&mut pose, Side::Left, phase);
        self.leg(&mut pose, Side::Right, phase + PI);
        for side in Side::BOTH {
            // Each arm swings with the opposite leg.
            let arm_phase = phase + if side == Side::Left { PI } else { 0.0 };
            let arm = self.arms[side.index()];
            pose.shoulder(side, arm.flexion + self.arm_offset + self.arm_swing * arm_phase.sin(), arm.elevation, 0.0);
            pose.elbow(side, arm.elbow + self.elbow_swing * 0.5 * (1.0 + arm_phase.sin()));
        }
        let yaw_rate = self.speed * self.curvature_at(t);
        let twist = self.pelvis_twist * phase.sin();
        pose.pelvis_pitch(0.4 * self.lean);
        pose.pelvis(0.0, 0.0, -twist);
        // The pelvis drops on the side of the swinging leg; the hips keep the legs under it.
        let list = self.pelvis_list * phase.cos();
        pose.pelvis(0.0, list, 0.0);
        pose.hip(Side::Left, 0.0, list, 0.0);
        pose.hip(Side::Right, 0.0, -list, 0.0);
        if self.run {
            // Lean the whole body into the turn.
            let lean =
                (self.speed * self.speed * self.curvature_at(t) / GRAVITY).atan().to_degrees().clamp(-12.0, 12.0);
            pose.pelvis(0.0, lean, 0.0);
        }
        pose.spine(0.6 * self.lean, 0.0, 1.2 * twist);
        let look = (yaw_rate * self.head_into_turn).clamp(-25.0, 25.0);
        pose.head(-0.3 * self.lean, 0.0, look - 0.8 * twist);
        self.idle.apply(&mut pose, t);

        let heading = self.heading_at(t);
        let [x, z] = self.path_at(t);
        // A little side-to-side sway of the pelvis over the stance foot.
        let sway = self.sway * phase.sin();
        let (s, c) = heading.sin_cos();
        let lift = if self.run { self.flight * pulse(2.0 * (phase - (-FRAC_PI_2 + 0.35)), 1.1) } else { 0.0 };
        MotionFrame { pose, heading, position: [x + sway * c, z - sway * s], anchor: Anchor::PELVIS, lift }
    }
}
