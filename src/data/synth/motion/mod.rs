//! The motion library: twelve everyday kinds of movement and one of poses, each a random program of smooth functions of time
//! that gives, at any time, a pose (Euler angles inside the joint limits), a heading and where the
//! body stands.
//!
//! A motion says *what* the body does; [`crate::data::synth::animate`] turns its frames into SMPL
//! parameters, puts the feet on the floor and places the body in the world.

pub mod ease;
pub mod pose;
pub mod style;

mod dance;
mod gait;
mod jump;
mod kick;
mod lunge;
mod pickup;
mod poses;
mod reach;
mod reps;
mod sit;
mod squat;
mod turn;
mod wave;

use super::random::Rng;
pub use pose::{Pose, Side};

/// The kinds of motion the generator can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MotionKind {
    /// Walking along a curved path.
    Walk,
    /// Running along a curved path, with flight phases.
    Run,
    /// Repeated squats.
    Squat,
    /// Jumps on the spot or hops, some turning in the air.
    Jump,
    /// Forward lunges.
    Lunge,
    /// Front and side kicks.
    Kick,
    /// Reaching out with one or both arms, forward, up and to the side.
    Reach,
    /// Waving with one or both raised arms.
    Wave,
    /// Bending down to pick something up (stooping or squatting) and standing back up.
    PickUp,
    /// Turning on the spot with small steps.
    Turn,
    /// Sitting down on a chair and standing up.
    SitToStand,
    /// Free dancing to a beat.
    Dance,
    /// Striking and holding poses across the joints' ranges (T- and A-poses among them): not an
    /// everyday motion, left out of [`MotionKind::ALL`]; training data mixes it in.
    Poses,
}

impl MotionKind {
    /// The twelve everyday kinds, in a fixed order: the generator's default mix (and the
    /// validation sets').
    pub const ALL: [MotionKind; 12] = [
        MotionKind::Walk,
        MotionKind::Run,
        MotionKind::Squat,
        MotionKind::Jump,
        MotionKind::Lunge,
        MotionKind::Kick,
        MotionKind::Reach,
        MotionKind::Wave,
        MotionKind::PickUp,
        MotionKind::Turn,
        MotionKind::SitToStand,
        MotionKind::Dance,
    ];

    /// Every kind: the everyday ones and [`MotionKind::Poses`].
    pub const EVERY: [MotionKind; 13] = {
        let mut every = [MotionKind::Poses; 13];
        let mut i = 0;
        while i < Self::ALL.len() {
            every[i] = Self::ALL[i];
            i += 1;
        }
        every
    };

    /// The kind's name as used in metadata and on the command line (`walk`, `sit_to_stand`...).
    pub fn name(self) -> &'static str {
        match self {
            MotionKind::Walk => "walk",
            MotionKind::Run => "run",
            MotionKind::Squat => "squat",
            MotionKind::Jump => "jump",
            MotionKind::Lunge => "lunge",
            MotionKind::Kick => "kick",
            MotionKind::Reach => "reach",
            MotionKind::Wave => "wave",
            MotionKind::PickUp => "pick_up",
            MotionKind::Turn => "turn",
            MotionKind::SitToStand => "sit_to_stand",
            MotionKind::Dance => "dance",
            MotionKind::Poses => "poses",
        }
    }

    /// Whether the motion travels along a path (walks and runs: their pelvis follows it, which
    /// [`MotionContext::volume`] bends into a circle) rather than staying on the spot.
    pub fn travels(self) -> bool {
        matches!(self, MotionKind::Walk | MotionKind::Run)
    }

    /// The kind with this name (see [`MotionKind::name`]); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::EVERY.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for MotionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which point of the body a frame's `position` places: weights of the pelvis and of the two feet
/// (midpoints of heel and toe), summing to 1. Weights that change smoothly move the body smoothly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Anchor {
    /// Weight of the pelvis.
    pub pelvis: f32,
    /// Weights of the left and right foot.
    pub feet: [f32; 2],
}

impl Anchor {
    /// Place the pelvis (locomotion along a path).
    pub const PELVIS: Anchor = Anchor { pelvis: 1.0, feet: [0.0, 0.0] };
    /// Place the midpoint of the feet (standing on the spot).
    pub const FEET: Anchor = Anchor { pelvis: 0.0, feet: [0.5, 0.5] };

    /// Place one foot (the standing foot of a kick or the back foot of a lunge).
    pub fn foot(side: Side) -> Anchor {
        let mut feet = [0.0; 2];
        feet[side.index()] = 1.0;
        Anchor { pelvis: 0.0, feet }
    }
}

/// What a motion does at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionFrame {
    /// Local joint rotations (joint 0: the pelvis tilt relative to the heading).
    pub pose: Pose,
    /// Heading: rotation about world +y, radians; 0 faces world +z.
    pub heading: f32,
    /// Where the anchor point stands on the floor: world x and z, metres.
    pub position: [f32; 2],
    /// Which point of the body `position` places.
    pub anchor: Anchor,
    /// Height of the lowest foot point above the floor, metres: 0 on the ground, positive in flight.
    pub lift: f32,
}

/// What a motion needs to know about the sequence and the body when it is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionContext {
    /// Length of the sequence, seconds.
    pub duration: f32,
    /// Leg length (hip joint height in the T-pose), metres: sets stride lengths.
    pub leg_length: f32,
    /// Radius, metres, of the floor area around the origin that walks and runs stay in, as in a
    /// capture volume: they go round a circle inside it (`None`: they follow their own gently
    /// curving path wherever it leads, metres away over a few seconds, as the training generator's
    /// do). Motions on the spot stay within half a metre of the origin either way.
    pub volume: Option<f32>,
}

/// A random motion program: a smooth function of time.
pub trait Motion: Send + Sync {
    /// The frame at `t` seconds from the start of the sequence.
    fn frame(&self, t: f32) -> MotionFrame;
}

/// Where a motion starts and which way it faces: drawn the same way for every kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Placement {
    pub heading: f32,
    pub position: [f32; 2],
}

impl Placement {
    fn sample(rng: &mut Rng) -> Self {
        Self { heading: rng.angle(), position: [rng.symmetric(0.5), rng.symmetric(0.5)] }
    }

    /// A frame of `pose` standing here on both feet (motions on the spot).
    pub(crate) fn standing(&self, pose: Pose) -> MotionFrame {
        MotionFrame { pose, heading: self.heading, position: self.position, anchor: Anchor::FEET, lift: 0.0 }
    }
}

/// Draws a random motion of `kind`.
pub fn sample(kind: MotionKind, rng: &mut Rng, context: &MotionContext) -> Box<dyn Motion> {
    let place = Placement::sample(rng);
    match kind {
        MotionKind::Walk => Box::new(gait::Gait::sample(rng, context, place, false)),
        MotionKind::Run => Box::new(gait::Gait::sample(rng, context, place, true)),
        MotionKind::Squat => Box::new(squat::Squat::sample(rng, context, place)),
        MotionKind::Jump => Box::new(jump::Jump::sample(rng, context, place)),
        MotionKind::Lunge => Box::new(lunge::Lunge::sample(rng, context, place)),
        MotionKind::Kick => Box::new(kick::Kick::sample(rng, context, place)),
        MotionKind::Reach => Box::new(reach::Reach::sample(rng, context, place)),
        MotionKind::Wave => Box::new(wave::Wave::sample(rng, context, place)),
        MotionKind::PickUp => Box::new(pickup::PickUp::sample(rng, context, place)),
        MotionKind::Turn => Box::new(turn::Turn::sample(rng, context, place)),
        MotionKind::SitToStand => Box::new(sit::SitToStand::sample(rng, context, place)),
        MotionKind::Dance => Box::new(dance::Dance::sample(rng, context, place)),
        MotionKind::Poses => Box::new(poses::Poses::sample(rng, context, place)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in MotionKind::EVERY {
            assert_eq!(MotionKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(MotionKind::from_name("moonwalk"), None);
        assert!(MotionKind::ALL.len() >= 10);
    }

    /// Farthest the motion's anchor gets from the origin over `seconds`, metres.
    fn reach(motion: &dyn Motion, seconds: f32) -> f32 {
        (0..(seconds * 10.0) as usize)
            .map(|i| {
                let [x, z] = motion.frame(i as f32 / 10.0).position;
                x.hypot(z)
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn walks_and_runs_stay_in_the_capture_volume_they_are_given() {
        for kind in [MotionKind::Walk, MotionKind::Run] {
            let mut free = 0.0f32;
            for seed in 0..10 {
                let context = MotionContext { duration: 30.0, leg_length: 0.85, volume: None };
                free = free.max(reach(sample(kind, &mut Rng::new(seed), &context).as_ref(), 30.0));
                let bounded = MotionContext { volume: Some(1.5), ..context };
                let reached = reach(sample(kind, &mut Rng::new(seed), &bounded).as_ref(), 30.0);
                assert!(reached <= 1.5, "{kind} seed {seed} reached {reached} m of a 1.5 m volume");
                assert!(reached >= 0.9, "{kind} seed {seed} stayed within {reached} m: not going round");
            }
            assert!(free > 5.0, "{kind}: free paths reached only {free} m");
        }
    }
}
