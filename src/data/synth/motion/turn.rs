//! Turning on the spot: a quarter to a full turn (and more in long sequences) made of small steps,
//! each lifting one foot while the heading eases round, the head and shoulders leading the turn.

use super::super::random::Rng;
use super::ease::{bump, ease};
use super::pose::{Pose, Side};
use super::style::{ArmCarriage, Idle};
use super::{Anchor, Motion, MotionContext, MotionFrame, Placement};

/// One step of the turn, times in seconds.
#[derive(Clone, Copy, Debug)]
struct Step {
    start: f32,
    end: f32,
    /// Heading change, radians.
    angle: f32,
    foot: Side,
    height: f32,
}

pub(super) struct Turn {
    place: Placement,
    steps: Vec<Step>,
    direction: f32,
    lead: f32,
    carriage: [ArmCarriage; 2],
    idle: Idle,
}

impl Turn {
    pub(super) fn sample(rng: &mut Rng, context: &MotionContext, place: Placement) -> Self {
        let direction = rng.sign();
        let mut steps = Vec::new();
        let mut t = -rng.range(0.0, 1.0);
        // Lead with the foot on the side of the turn (a left turn steps the left foot first).
        let mut foot = if direction > 0.0 { Side::Left } else { Side::Right };
        let mut turned = 0.0;
        let target = rng.range(90f32.to_radians(), 400f32.to_radians()) * (context.duration / 2.0).max(1.0);
        while t < context.duration && turned < target {
            let end = t + rng.range(0.35, 0.6);
            let angle = rng.range(25f32.to_radians(), 70f32.to_radians());
            steps.push(Step { start: t, end, angle, foot, height: rng.range(0.5, 1.0) });
            turned += angle;
            foot = foot.other();
            t = end + if rng.chance(0.3) { rng.range(0.0, 0.5) } else { 0.0 };
        }
        Self {
            place,
            steps,
            direction,
            lead: rng.range(8.0, 25.0),
            carriage: [ArmCarriage::sample(rng), ArmCarriage::sample(rng)],
            idle: Idle::sample(rng, 0.4),
        }
    }
}

impl Motion for Turn {
    fn frame(&self, t: f32) -> MotionFrame {
        let mut heading = self.place.heading;
        let mut lift = [0.0f32; 2];
        let mut turning = 0.0;
        for step in &self.steps {
            heading += self.direction * step.angle * ease(t, step.start, step.end);
            let b = bump(t, step.start, 0.5 * (step.start + step.end), step.end);
            lift[step.foot.index()] += step.height * b;
            turning += bump(t, step.start - 0.2, step.start + 0.1, step.end + 0.2);
        }
        let turning = turning.min(1.0);
        let mut pose = Pose::default();
        for side in Side::BOTH {
            let l = lift[side.index()].min(1.0);
            pose.hip(side, 20.0 * l, 3.0 + 5.0 * l, 6.0);
            pose.knee(side, 5.0 + 40.0 * l);
            pose.ankle(side, -10.0 * l);
            let arm = self.carriage[side.index()];
            pose.shoulder(side, arm.flexion, arm.elevation + 8.0 * turning, 0.0);
            pose.elbow(side, arm.elbow);
        }
        pose.spine(0.0, 0.0, self.direction * 0.5 * self.lead * turning);
        pose.head(0.0, 0.0, self.direction * self.lead * turning);
        self.idle.apply(&mut pose, t);
        MotionFrame { pose, heading, position: self.place.position, anchor: Anchor::FEET, lift: 0.0 }
    }
}
