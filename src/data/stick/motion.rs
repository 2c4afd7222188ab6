//! The stick generator's own motions: joint angles of the stick skeleton as smooth functions of
//! time, written independently of the main generator's motion programs (other kinds, other
//! parametrisations, other ranges).
//!
//! A pose is a flat vector of [`NUM_ANGLES`] angles (radians; see the `A_*` indices) plus where the
//! body stands: the root's horizontal position, its heading and how high it is lifted off the floor
//! (flight). [`MotionKind`]s:
//!
//! - `stroll` and `jog`: a gait along a path of varying curvature (jogs bend the elbows and leave
//!   the ground);
//! - `bend`: squats, crouches and bends at the waist, with the arms following;
//! - `gesture`: standing, the arms and the trunk going through random keyframes, the head looking
//!   about, the weight shifting;
//! - `workout`: jumping jacks, lunges, leg raises, side bends and high knees in a random order;
//! - `look_around`: turning on the spot in small steps, the head and the trunk leading.

use nalgebra::{Matrix3, Rotation3, Vector3};

use super::body::{STICK_JOINTS, joint};
use crate::data::synth::random::Rng;

/// Number of angles in a pose.
pub const NUM_ANGLES: usize = 29;
/// Whole-body forward lean (about the pelvis).
pub const A_PITCH: usize = 0;
/// Whole-body sideways lean.
pub const A_ROLL: usize = 1;
/// Lumbar spine: flexion, lateral bend, twist.
pub const A_LUMBAR: usize = 2;
/// Thoracic spine: flexion, lateral bend, twist.
pub const A_CHEST: usize = 5;
/// Neck: flexion, tilt, turn.
pub const A_NECK: usize = 8;
/// Left arm: flexion (forward raise), abduction (sideways raise), twist, elbow flexion; the right
/// arm follows at `A_ARM + 4`.
pub const A_ARM: usize = 11;
/// Left leg: hip flexion, abduction, twist, knee flexion, ankle flexion; the right leg follows at
/// `A_LEG + 5`.
pub const A_LEG: usize = 19;

/// A pose: the angles and where the body stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StickFrame {
    /// The joint angles.
    pub angles: [f32; NUM_ANGLES],
    /// The root's horizontal position (x, z), metres.
    pub position: [f32; 2],
    /// Which way the body faces: 0 faces +z, turning towards +x.
    pub heading: f32,
    /// Height of the feet above the floor (jumps, jogging's flight), metres.
    pub lift: f32,
}

impl StickFrame {
    /// The local rotations of every joint of the stick skeleton.
    pub fn locals(&self) -> [Matrix3<f32>; STICK_JOINTS] {
        let a = &self.angles;
        let rx = |t: f32| rotation(Vector3::x(), t);
        let ry = |t: f32| rotation(Vector3::y(), t);
        let rz = |t: f32| rotation(Vector3::z(), t);
        // Spine segments point up: +flexion bends forward (towards +z), +lateral towards +x.
        let spine = |i: usize| ry(a[i + 2]) * rx(a[i]) * rz(-a[i + 1]);
        let mut locals = [Matrix3::identity(); STICK_JOINTS];
        locals[joint::PELVIS] = ry(self.heading) * rx(a[A_PITCH]) * rz(a[A_ROLL]);
        locals[joint::LUMBAR] = spine(A_LUMBAR);
        locals[joint::CHEST] = spine(A_CHEST);
        locals[joint::NECK] = spine(A_NECK);
        for (side, sign) in [(0usize, 1.0f32), (1, -1.0)] {
            // Limbs hang down: -x rotation swings them forward, +z (left) / -z (right) outwards.
            let arm = A_ARM + 4 * side;
            let (shoulder, elbow) = [(joint::L_SHOULDER, joint::L_ELBOW), (joint::R_SHOULDER, joint::R_ELBOW)][side];
            locals[shoulder] = rz(sign * a[arm + 1]) * rx(-a[arm]) * ry(sign * a[arm + 2]);
            locals[elbow] = rx(-a[arm + 3]);
            let leg = A_LEG + 5 * side;
            let (hip, knee, ankle) =
                [(joint::L_HIP, joint::L_KNEE, joint::L_ANKLE), (joint::R_HIP, joint::R_KNEE, joint::R_ANKLE)][side];
            locals[hip] = rz(sign * a[leg + 1]) * rx(-a[leg]) * ry(-sign * a[leg + 2]);
            locals[knee] = rx(a[leg + 3]);
            locals[ankle] = rx(-a[leg + 4]);
        }
        locals
    }
}

fn rotation(axis: Vector3<f32>, angle: f32) -> Matrix3<f32> {
    Rotation3::from_axis_angle(&nalgebra::Unit::new_unchecked(axis), angle).into_inner()
}

/// The stick generator's motion kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MotionKind {
    /// Walking along a curving path.
    Stroll,
    /// Jogging along a curving path, elbows bent, with flight.
    Jog,
    /// Squats, crouches and bends at the waist.
    Bend,
    /// Arm and trunk gestures standing.
    Gesture,
    /// Jumping jacks, lunges, leg raises, side bends, high knees.
    Workout,
    /// Turning on the spot, looking about.
    LookAround,
}

impl MotionKind {
    /// Every kind.
    pub const ALL: [MotionKind; 6] = [
        MotionKind::Stroll,
        MotionKind::Jog,
        MotionKind::Bend,
        MotionKind::Gesture,
        MotionKind::Workout,
        MotionKind::LookAround,
    ];

    /// Name in metadata.
    pub fn name(self) -> &'static str {
        match self {
            MotionKind::Stroll => "stroll",
            MotionKind::Jog => "jog",
            MotionKind::Bend => "bend",
            MotionKind::Gesture => "gesture",
            MotionKind::Workout => "workout",
            MotionKind::LookAround => "look_around",
        }
    }
}

/// Smooth ease between 0 and 1 (zero slope at both ends).
fn ease(u: f32) -> f32 {
    let u = u.clamp(0.0, 1.0);
    u * u * (3.0 - 2.0 * u)
}

/// Keyframes of angle vectors at increasing times, eased between.
struct Keyframes {
    times: Vec<f32>,
    poses: Vec<[f32; NUM_ANGLES]>,
    lifts: Vec<f32>,
}

impl Keyframes {
    fn at(&self, t: f32) -> ([f32; NUM_ANGLES], f32) {
        let i = self.times.iter().rposition(|&k| k <= t).unwrap_or(0);
        if i + 1 >= self.times.len() {
            return (self.poses[i], self.lifts[i]);
        }
        let u = ease((t - self.times[i]) / (self.times[i + 1] - self.times[i]).max(1e-6));
        let (a, b) = (&self.poses[i], &self.poses[i + 1]);
        (std::array::from_fn(|k| a[k] + (b[k] - a[k]) * u), self.lifts[i] + (self.lifts[i + 1] - self.lifts[i]) * u)
    }
}

/// Small idle movements on top of every motion: sums of slow sinusoids per angle.
struct Sway {
    terms: Vec<(usize, f32, f32, f32)>,
}

impl Sway {
    fn new(rng: &mut Rng, amplitude: f32) -> Self {
        let mut terms = Vec::new();
        for k in [
            A_LUMBAR,
            A_LUMBAR + 1,
            A_CHEST + 2,
            A_NECK,
            A_NECK + 1,
            A_NECK + 2,
            A_ARM,
            A_ARM + 4,
            A_ARM + 3,
            A_ARM + 7,
        ] {
            terms.push((k, amplitude * rng.range(0.3, 1.0), rng.range(0.2, 0.9) * std::f32::consts::TAU, rng.angle()));
        }
        Self { terms }
    }

    fn add(&self, angles: &mut [f32; NUM_ANGLES], t: f32) {
        for &(k, a, w, p) in &self.terms {
            angles[k] += a * (w * t + p).sin();
        }
    }
}

/// A standing pose with the arms relaxed, a little different per draw.
fn relaxed(rng: &mut Rng) -> [f32; NUM_ANGLES] {
    let mut a = [0.0; NUM_ANGLES];
    for side in 0..2 {
        a[A_ARM + 4 * side + 1] = rng.range(0.05, 0.25);
        a[A_ARM + 4 * side + 3] = rng.range(0.05, 0.4);
        a[A_LEG + 5 * side + 1] = rng.range(0.0, 0.08);
        a[A_LEG + 5 * side + 3] = rng.range(0.0, 0.1);
    }
    a[A_PITCH] = rng.symmetric(0.05);
    a
}

/// A motion: the pose at any time.
pub struct StickMotion {
    kind: MotionKind,
    keyframes: Option<Keyframes>,
    gait: Option<Gait>,
    sway: Sway,
    heading: f32,
    turn: Option<(f32, f32)>,
    step_rate: f32,
}

/// A gait's parameters.
struct Gait {
    frequency: f32,
    stride: f32,
    hip: f32,
    knee: f32,
    arm: f32,
    elbow: f32,
    lean: f32,
    curvature: [f32; 3],
    flight: f32,
}

impl StickMotion {
    /// Draws a motion of `kind` lasting `duration` seconds.
    pub fn sample(kind: MotionKind, rng: &mut Rng, duration: f32) -> Self {
        let heading = rng.angle();
        let sway = Sway::new(rng, if matches!(kind, MotionKind::Gesture) { 0.06 } else { 0.03 });
        let mut motion = Self { kind, keyframes: None, gait: None, sway, heading, turn: None, step_rate: 0.0 };
        match kind {
            MotionKind::Stroll | MotionKind::Jog => {
                let jog = kind == MotionKind::Jog;
                motion.gait = Some(Gait {
                    frequency: if jog { rng.range(1.3, 1.6) } else { rng.range(0.8, 1.05) },
                    stride: if jog { rng.range(0.9, 1.4) } else { rng.range(0.6, 0.85) },
                    hip: if jog { rng.range(0.45, 0.7) } else { rng.range(0.3, 0.45) },
                    knee: if jog { rng.range(1.2, 1.7) } else { rng.range(0.6, 0.9) },
                    arm: if jog { rng.range(0.4, 0.7) } else { rng.range(0.15, 0.4) },
                    elbow: if jog { rng.range(1.2, 1.7) } else { rng.range(0.1, 0.4) },
                    lean: if jog { rng.range(0.06, 0.16) } else { rng.range(0.0, 0.06) },
                    curvature: [rng.symmetric(0.5), rng.symmetric(0.4), rng.angle()],
                    flight: if jog { rng.range(0.03, 0.07) } else { 0.0 },
                });
            }
            MotionKind::LookAround => {
                motion.turn = Some((rng.sign() * rng.range(1.5, 3.5) / duration.max(0.5), rng.range(0.3, 0.7)));
                motion.step_rate = rng.range(1.2, 2.0);
                motion.keyframes = Some(Self::keyframes(rng, duration, 0.8, 1.6, |rng, base| {
                    let mut a = *base;
                    a[A_NECK + 2] = rng.symmetric(1.0);
                    a[A_NECK] = rng.symmetric(0.4);
                    a[A_CHEST + 2] = 0.4 * a[A_NECK + 2];
                    a[A_ARM + 3] = rng.range(0.1, 1.6);
                    a[A_ARM + 7] = rng.range(0.1, 1.6);
                    a[A_ARM] = rng.range(-0.2, 0.8);
                    a[A_ARM + 4] = rng.range(-0.2, 0.8);
                    (a, 0.0)
                }));
            }
            MotionKind::Bend => {
                motion.keyframes = Some(Self::keyframes(rng, duration, 0.7, 1.5, |rng, base| {
                    let mut a = *base;
                    let depth = rng.range(0.2, 1.0);
                    match rng.below(4) {
                        0 | 1 => {
                            // Squat or crouch: knees, hips and ankles together, arms forward.
                            for side in 0..2 {
                                a[A_LEG + 5 * side] = 1.7 * depth;
                                a[A_LEG + 5 * side + 3] = 2.1 * depth;
                                a[A_LEG + 5 * side + 4] = 0.45 * depth;
                                a[A_LEG + 5 * side + 1] = rng.range(0.05, 0.3);
                                a[A_ARM + 4 * side] = rng.range(0.0, 1.6) * depth;
                            }
                            a[A_PITCH] = 0.5 * depth;
                            a[A_LUMBAR] = 0.2 * depth;
                        }
                        2 => {
                            // Bend at the waist, knees soft, arms hanging towards the floor.
                            a[A_PITCH] = 0.9 * depth;
                            a[A_LUMBAR] = 0.5 * depth;
                            a[A_CHEST] = 0.3 * depth;
                            for side in 0..2 {
                                a[A_LEG + 5 * side] = 0.9 * depth;
                                a[A_LEG + 5 * side + 3] = rng.range(0.0, 0.5) * depth;
                                a[A_ARM + 4 * side] = 1.4 * depth;
                            }
                        }
                        _ => {
                            // Kneel on one knee.
                            let s = rng.below(2);
                            a[A_LEG + 5 * s] = 1.5 * depth;
                            a[A_LEG + 5 * s + 3] = 1.6 * depth;
                            a[A_LEG + 5 * (1 - s)] = -0.1;
                            a[A_LEG + 5 * (1 - s) + 3] = 1.6 * depth;
                            a[A_LEG + 5 * (1 - s) + 4] = -0.3 * depth;
                            a[A_PITCH] = 0.15 * depth;
                        }
                    }
                    (a, 0.0)
                }));
            }
            MotionKind::Gesture => {
                motion.keyframes = Some(Self::keyframes(rng, duration, 0.5, 1.3, |rng, base| {
                    let mut a = *base;
                    for side in 0..2 {
                        let arm = A_ARM + 4 * side;
                        a[arm] = rng.range(-0.5, 2.8);
                        a[arm + 1] = rng.range(0.0, 2.4);
                        a[arm + 2] = rng.symmetric(0.9);
                        a[arm + 3] = rng.range(0.0, 2.3);
                        a[A_LEG + 5 * side + 1] = rng.range(0.0, 0.15);
                    }
                    a[A_LUMBAR + 2] = rng.symmetric(0.4);
                    a[A_CHEST + 2] = rng.symmetric(0.3);
                    a[A_LUMBAR + 1] = rng.symmetric(0.2);
                    a[A_CHEST] = rng.symmetric(0.25);
                    a[A_NECK + 2] = rng.symmetric(0.8);
                    a[A_NECK] = rng.symmetric(0.3);
                    a[A_ROLL] = rng.symmetric(0.06);
                    (a, 0.0)
                }));
            }
            MotionKind::Workout => {
                motion.keyframes = Some(Self::keyframes(rng, duration, 0.4, 0.9, |rng, base| {
                    let mut a = *base;
                    let mut lift = 0.0;
                    let s = rng.below(2);
                    match rng.below(5) {
                        0 => {
                            // Jumping jack, open.
                            for side in 0..2 {
                                a[A_ARM + 4 * side + 1] = rng.range(2.2, 2.9);
                                a[A_LEG + 5 * side + 1] = rng.range(0.2, 0.4);
                            }
                            lift = rng.range(0.0, 0.12);
                        }
                        1 => {
                            // Lunge forward.
                            a[A_LEG + 5 * s] = rng.range(0.9, 1.3);
                            a[A_LEG + 5 * s + 3] = rng.range(1.0, 1.5);
                            a[A_LEG + 5 * (1 - s)] = rng.range(-0.5, -0.2);
                            a[A_LEG + 5 * (1 - s) + 3] = rng.range(0.8, 1.4);
                            a[A_LEG + 5 * (1 - s) + 4] = -0.4;
                        }
                        2 => {
                            // Leg raise, forward or to the side.
                            if rng.chance(0.5) {
                                a[A_LEG + 5 * s] = rng.range(0.6, 1.4);
                            } else {
                                a[A_LEG + 5 * s + 1] = rng.range(0.4, 0.9);
                            }
                            a[A_ARM + 4 * s + 1] = rng.range(0.6, 1.6);
                            a[A_ARM + 4 * (1 - s) + 1] = rng.range(0.6, 1.6);
                        }
                        3 => {
                            // Side bend, one arm overhead.
                            a[A_LUMBAR + 1] = if s == 0 { -0.35 } else { 0.35 };
                            a[A_CHEST + 1] = a[A_LUMBAR + 1];
                            a[A_ARM + 4 * s + 1] = rng.range(2.4, 3.0);
                            a[A_ARM + 4 * s + 3] = rng.range(0.0, 0.6);
                        }
                        _ => {
                            // High knee.
                            a[A_LEG + 5 * s] = rng.range(1.3, 1.8);
                            a[A_LEG + 5 * s + 3] = rng.range(1.5, 2.1);
                            a[A_ARM + 4 * (1 - s)] = rng.range(0.6, 1.3);
                            a[A_ARM + 4 * (1 - s) + 3] = rng.range(1.0, 1.8);
                            lift = rng.range(0.0, 0.06);
                        }
                    }
                    (a, lift)
                }));
            }
        }
        motion
    }

    /// Keyframes from a relaxed start every `lo..hi` seconds until `duration`, each drawn by `draw`
    /// from the relaxed pose; every other key returns near the relaxed pose.
    fn keyframes(
        rng: &mut Rng,
        duration: f32,
        lo: f32,
        hi: f32,
        mut draw: impl FnMut(&mut Rng, &[f32; NUM_ANGLES]) -> ([f32; NUM_ANGLES], f32),
    ) -> Keyframes {
        let base = relaxed(rng);
        let mut frames = Keyframes { times: vec![0.0], poses: vec![base], lifts: vec![0.0] };
        let mut t = 0.0;
        let mut toward_rest = rng.chance(0.5);
        while t < duration + hi {
            t += rng.range(lo, hi);
            let (pose, lift) = if toward_rest && rng.chance(0.6) { (relaxed(rng), 0.0) } else { draw(rng, &base) };
            toward_rest = !toward_rest;
            frames.times.push(t);
            frames.poses.push(pose);
            frames.lifts.push(lift);
        }
        frames
    }

    /// The motion's kind.
    pub fn kind(&self) -> MotionKind {
        self.kind
    }

    /// The pose at time `t` (seconds).
    pub fn at(&self, t: f32) -> StickFrame {
        let (mut angles, mut lift) = match &self.keyframes {
            Some(k) => k.at(t),
            None => ([0.0; NUM_ANGLES], 0.0),
        };
        let mut position = [0.0, 0.0];
        let mut heading = self.heading;
        if let Some(g) = &self.gait {
            let phase = std::f32::consts::TAU * g.frequency * t;
            for side in 0..2 {
                let p = phase + side as f32 * std::f32::consts::PI;
                let leg = A_LEG + 5 * side;
                angles[leg] = g.hip * p.sin() + 0.1;
                // The knee bends most while the leg swings forward.
                let swing = (0.5 + 0.5 * (p + 0.9).cos()).powi(2);
                angles[leg + 3] = 0.08 + g.knee * swing;
                angles[leg + 4] = 0.25 * (p - 0.6).sin();
                angles[leg + 1] = 0.04;
                let arm = A_ARM + 4 * side;
                angles[arm] = -g.arm * p.sin() + 0.05;
                angles[arm + 1] = 0.12;
                angles[arm + 3] = g.elbow + 0.2 * g.arm * (0.5 - 0.5 * p.sin());
            }
            angles[A_PITCH] = g.lean;
            angles[A_CHEST + 2] = -0.12 * phase.sin();
            angles[A_LUMBAR + 1] = 0.04 * phase.sin();
            lift = g.flight * (2.0 * phase).sin().max(0.0);
            // Heading along a path of varying curvature, integrated in closed form per term.
            let [c0, c1, p0] = g.curvature;
            let w = 0.7;
            heading = self.heading + c0 * t + c1 / w * ((w * t + p0).sin() - p0.sin());
            let speed = g.stride * g.frequency;
            // Position: a small-step integration of the heading (deterministic, cheap).
            let steps = ((t / 0.02).ceil() as usize).max(1);
            let dt = t / steps as f32;
            for i in 0..steps {
                let s = (i as f32 + 0.5) * dt;
                let h = self.heading + c0 * s + c1 / w * ((w * s + p0).sin() - p0.sin());
                position[0] += speed * h.sin() * dt;
                position[1] += speed * h.cos() * dt;
            }
        }
        if let Some((rate, lead)) = self.turn {
            heading = self.heading + rate * t;
            angles[A_NECK + 2] += lead * rate.signum() * 0.5;
            angles[A_CHEST + 2] += lead * rate.signum() * 0.3;
            // Small steps: the feet lift in turn.
            let phase = std::f32::consts::TAU * self.step_rate * t;
            for side in 0..2 {
                let up = (phase + side as f32 * std::f32::consts::PI).sin().max(0.0);
                angles[A_LEG + 5 * side] += 0.3 * up;
                angles[A_LEG + 5 * side + 3] += 0.6 * up;
            }
        }
        self.sway.add(&mut angles, t);
        StickFrame { angles, position, heading, lift }
    }
}
