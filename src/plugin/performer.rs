//! A test performer: a synthetic motion from the training generator played on an avatar at its
//! own speed, for trying a capture setup without a person in front of the cameras. Put
//! [`TestPerformer`] next to a glTF scene of the shipped avatar ([`super::AVATAR_PATH`]; any rig
//! with SMPL's bone names and the body frame's rest orientations) and film it with the capture
//! views.

use bevy::prelude::*;
use bevy::world_serialization::WorldInstanceReady;

use super::inference::CmanetBodyModel;
use super::rig::AvatarRig;
use crate::body::{BodyParams, JOINT_NAMES, NUM_BETAS};
use crate::data::synth::MotionKind;
use crate::data::synth::animate::animate;
use crate::data::synth::motion::{MotionContext, sample};
use crate::data::synth::random::Rng;

/// Frames per second the performance is computed at (and interpolated between).
const PERFORMANCE_FPS: f32 = 30.0;

/// Plays a synthetic motion on this entity's avatar, keyed by `Time` (real time in a running app;
/// a manual `TimeUpdateStrategy` makes it frame-locked), around the entity's origin (move the
/// entity to move the performer): a walk or a run goes round a circle centred there inside
/// [`TestPerformer::volume`], any other motion starts with its pelvis above it. The motion starts when the avatar's
/// scene is ready and the body model is loaded, and repeats every [`TestPerformer::seconds`].
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component, from_reflect = false)]
pub struct TestPerformer {
    /// The kind of motion. Default: [`MotionKind::Walk`].
    #[reflect(ignore)]
    pub motion: MotionKind,
    /// The seed of the motion's random choices (path, speed, timing). Default: 1.
    pub seed: u64,
    /// Length of the motion before it repeats, seconds. Default: 12.
    pub seconds: f32,
    /// Radius, metres, of the floor area around the entity that a walk or a run stays in, the
    /// capture volume (`None`: the motion's own gently curving path, which leaves a capture
    /// volume within seconds, the pelvis starting above the origin). Default: `Some(1.5)`.
    pub volume: Option<f32>,
}

impl Default for TestPerformer {
    fn default() -> Self {
        Self { motion: MotionKind::Walk, seed: 1, seconds: 12.0, volume: Some(1.5) }
    }
}

impl TestPerformer {
    /// A performer playing `motion`.
    pub fn new(motion: MotionKind) -> Self {
        Self { motion, ..default() }
    }
}

/// The computed performance of a [`TestPerformer`] and the rig it plays on.
#[derive(Component, Clone, Debug)]
pub struct Performance {
    /// The body at every 1/30 s of the motion.
    pub frames: Vec<BodyParams>,
    /// `Time::elapsed_secs_f64` when the performance started.
    pub started: f64,
    rig: Option<AvatarRig>,
    pelvis_rest: Vec3,
}

impl Performance {
    /// The performed body `elapsed` seconds after the start (repeating), interpolated between the
    /// computed frames (the rest pose if there are none).
    pub fn at(&self, elapsed: f64) -> BodyParams {
        let n = self.frames.len();
        if n == 0 {
            return BodyParams::default();
        }
        let t = (elapsed.max(0.0) * PERFORMANCE_FPS as f64) % n as f64;
        let (i, w) = (t.floor() as usize % n, t.fract() as f32);
        self.frames[i].interpolate(&self.frames[(i + 1) % n], w)
    }

    /// Where the performed pelvis is `elapsed` seconds after the start, in the performer entity's
    /// frame.
    pub fn pelvis_at(&self, elapsed: f64) -> Vec3 {
        let transl = self.at(elapsed).transl;
        self.pelvis_rest + Vec3::new(transl.x, transl.y, transl.z)
    }
}

/// The motion moved on the floor so that its pelvis starts above the entity's origin (the
/// generator places motions at random within half a metre).
fn starting_at_the_origin(mut frames: Vec<BodyParams>, pelvis_rest: &nalgebra::Vector3<f32>) -> Vec<BodyParams> {
    let Some(first) = frames.first() else { return frames };
    let start = first.transl + pelvis_rest;
    for frame in &mut frames {
        frame.transl.x -= start.x;
        frame.transl.z -= start.z;
    }
    frames
}

/// Finds a performer's bones once its scene has spawned.
pub(crate) fn on_performer_ready(
    ready: On<WorldInstanceReady>,
    mut performances: Query<&mut Performance>,
    performers: Query<(), With<TestPerformer>>,
    children: Query<&Children>,
    names: Query<&Name>,
    mut commands: Commands,
) {
    if !performers.contains(ready.entity) {
        return;
    }
    let rig = AvatarRig::find(ready.entity, &JOINT_NAMES, &children, &names);
    match performances.get_mut(ready.entity) {
        Ok(mut performance) => performance.rig = Some(rig),
        Err(_) => {
            commands.entity(ready.entity).try_insert(PendingRig(rig));
        }
    }
}

/// A performer's rig found before its performance was computed.
#[derive(Component, Clone, Debug)]
pub(crate) struct PendingRig(AvatarRig);

/// Computes new performers' motions (once the body model is loaded) and poses every performer.
#[allow(clippy::type_complexity)]
pub(crate) fn perform(
    mut commands: Commands,
    new: Query<(Entity, &TestPerformer, Option<&PendingRig>), Without<Performance>>,
    performers: Query<&Performance>,
    body: Option<Res<CmanetBodyModel>>,
    time: Res<Time>,
    mut transforms: Query<&mut Transform>,
) {
    let now = time.elapsed_secs_f64();
    if let Some(body) = body {
        for (entity, performer, pending) in &new {
            // The performer has the avatar's own shape, the mean one.
            let betas = [0.0; NUM_BETAS];
            let rest = body.0.rest_joints(&betas);
            let context =
                MotionContext { duration: performer.seconds.max(1.0), leg_length: rest[1].y, volume: performer.volume };
            let motion = sample(performer.motion, &mut Rng::new(performer.seed), &context);
            let count = (context.duration * PERFORMANCE_FPS) as usize;
            // A walk or a run in a volume goes round its centre, the entity's origin.
            let round = performer.volume.is_some() && performer.motion.travels();
            let frames = match animate(&body.0, &betas, motion.as_ref(), count, PERFORMANCE_FPS) {
                Ok(frames) if round => frames.into_iter().map(|f| f.params).collect(),
                Ok(frames) => starting_at_the_origin(frames.into_iter().map(|f| f.params).collect(), &rest[0]),
                Err(e) => {
                    bevy::log::warn!("cmanet: test performer {entity}: {e}");
                    continue;
                }
            };
            commands.entity(entity).try_remove::<PendingRig>().try_insert(Performance {
                frames,
                started: now,
                rig: pending.map(|p| p.0.clone()),
                pelvis_rest: Vec3::new(rest[0].x, rest[0].y, rest[0].z),
            });
        }
    }
    for performance in &performers {
        let Some(rig) = &performance.rig else { continue };
        let params = performance.at(now - performance.started);
        rig.apply(&params, Some(performance.pelvis_rest), &mut transforms);
    }
}
