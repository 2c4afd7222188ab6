//! One synthetic sequence from a seed and an index: draw a body shape, a motion, animate it, draw a
//! camera rig around it and simulate each camera's detector; package the result as a `cmanet-mv2d`
//! sequence with its ground truth.
//!
//! Every sequence depends only on `(seed, index)` and the configuration, never on other sequences,
//! so sequences can be generated in any order or in parallel.

use std::collections::BTreeMap;

use super::animate::{AnimatedFrame, animate};
use super::capsules::BodyCapsules;
use super::config::SynthConfig;
use super::detector::{Visibility, detect};
use super::motion::{self, MotionContext, MotionKind};
use super::random::Rng;
use super::rig::{MotionVolume, Rig, sample_rig};
use super::shape::{sample_betas, sample_bones};
use crate::body::bones::{apply_bones, bone_shifts, keypoint_joint_weights};
use crate::body::{BodyError, BodyModel, NUM_KEYPOINTS};
use crate::data::Mv2d;
use crate::keypoints::{EXTRA_JOINTS, NUM_EXTRA_KEYPOINTS};

/// The `generator` metadata value of synthetic sequences.
pub const GENERATOR: &str = "cmanet-synth";

/// What can go wrong generating synthetic data.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration does not make sense.
    #[error("bad synthetic-data configuration: {0}")]
    Config(String),
    /// The body model refused the parameters.
    #[error(transparent)]
    Body(#[from] BodyError),
}

/// A synthetic sequence with everything known about how it was made.
#[derive(Clone, Debug)]
pub struct SyntheticSequence {
    /// The sequence as written to disk, ground truth included.
    pub data: Mv2d,
    /// The motion the body performs.
    pub kind: MotionKind,
    /// The camera rig.
    pub rig: Rig,
    /// The animated body, frame by frame (world).
    pub frames: Vec<AnimatedFrame>,
    /// `[F][V]` the true visibility of every keypoint in every view.
    pub visibility: Vec<Vec<[Visibility; NUM_KEYPOINTS]>>,
}

/// The motion kind of sequence `index` for `seed`: the configured kinds in turn from a
/// seed-dependent start.
pub fn motion_kind(config: &SynthConfig, seed: u64, index: usize) -> Option<MotionKind> {
    let n = config.motions.len();
    if n == 0 {
        return None;
    }
    let start = Rng::derive(seed, u64::MAX).below(n);
    config.motions.get((start + index % n) % n).copied()
}

/// Generates sequence `index` of `seed` with all its making-of (see [`SyntheticSequence`]).
pub fn generate(
    model: &BodyModel,
    config: &SynthConfig,
    seed: u64,
    index: usize,
) -> Result<SyntheticSequence, SynthError> {
    config.validate().map_err(SynthError::Config)?;
    let kind = motion_kind(config, seed, index).ok_or_else(|| SynthError::Config("no motion kinds".into()))?;
    let mut root = Rng::derive(seed, index as u64);
    let mut shape_rng = root.fork(0);
    let mut motion_rng = root.fork(1);
    let mut rig_rng = root.fork(2);
    let mut detector_rng = root.fork(3);

    let betas = sample_betas(config, &mut shape_rng);
    let rest = model.rest_joints(&betas);
    let height = model.height(&betas);
    let context = MotionContext {
        duration: config.frames as f32 / config.fps,
        leg_length: rest.get(1).map_or(0.86, |hip| hip.y),
        volume: None,
    };
    let motion = motion::sample(kind, &mut motion_rng, &context);
    let mut frames = animate(model, &betas, motion.as_ref(), config.frames, config.fps)?;
    // A subject outside the betas (its own stream, so the other draws stay as they were).
    if config.bone_variation > 0.0 {
        let bones = sample_bones(&rest, config.bone_variation, &mut root.fork(4));
        let weights = keypoint_joint_weights(model);
        for frame in &mut frames {
            let shifts = bone_shifts(&frame.joint_transforms, &bones);
            for (e, point) in frame.extra_keypoints.iter_mut().enumerate() {
                *point += shifts[EXTRA_JOINTS[e]];
            }
            apply_bones(&mut frame.joint_transforms, &mut frame.joints, &mut frame.keypoints, &bones, &weights);
        }
    }
    let rig = sample_rig(&MotionVolume::of(&frames), &config.rig, &mut rig_rng);
    let capsules = BodyCapsules::new(&rest, height, config.detector.capsule_scale)
        .ok_or_else(|| BodyError::BadInput(format!("the model has {} joints, expected 24", rest.len())))?;
    let detections = detect(&frames, &rig.cameras, &capsules, height, &config.detector, &mut detector_rng);

    let metadata = BTreeMap::from([
        ("generator".to_string(), GENERATOR.to_string()),
        ("seed".to_string(), seed.to_string()),
        ("sequence".to_string(), index.to_string()),
        ("motion".to_string(), kind.name().to_string()),
        ("rig".to_string(), rig.kind.name().to_string()),
        ("body_model".to_string(), model.name.clone()),
    ]);
    let data = Mv2d {
        fps: config.fps,
        image_size: rig.cameras.iter().map(|c| [c.image_size.x as f32, c.image_size.y as f32]).collect(),
        intrinsics: rig.cameras.iter().map(|c| c.intrinsics).collect(),
        keypoints2d: detections.keypoints2d,
        extra2d: detections.extra2d,
        extrinsics: Some(rig.cameras.iter().map(|c| c.extrinsics).collect()),
        extra3d: frames
            .iter()
            .all(|f| f.extra_keypoints.len() == NUM_EXTRA_KEYPOINTS)
            .then(|| frames.iter().map(|f| std::array::from_fn(|e| f.extra_keypoints[e].into())).collect()),
        joints3d: Some(
            frames
                .iter()
                .map(|f| std::array::from_fn(|k| [f.keypoints[k].x, f.keypoints[k].y, f.keypoints[k].z]))
                .collect(),
        ),
        params: Some(frames.iter().map(|f| f.params.clone()).collect()),
        frame_time: None,
        metadata,
    };
    Ok(SyntheticSequence { data, kind, rig, frames, visibility: detections.visibility })
}

/// Generates sequence `index` of `seed` as a `cmanet-mv2d` sequence with ground truth (true
/// cameras, COCO-17 keypoints in the world, SMPL parameters) and metadata `generator`, `seed`,
/// `sequence`, `motion`, `rig` and `body_model`.
pub fn generate_sequence(model: &BodyModel, config: &SynthConfig, seed: u64, index: usize) -> Result<Mv2d, SynthError> {
    generate(model, config, seed, index).map(|s| s.data)
}
