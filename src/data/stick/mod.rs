//! The stick generator: a second synthetic generator, independent of our body model, to measure
//! whether accuracy transfers to bodies and keypoints that are not our own.
//!
//! Everything is its own: the skeleton and its proportions ([`body`]: children to tall adults,
//! segment ratios outside the betas' span, COCO keypoints placed with systematic and per-subject
//! offsets from the joints), the motions ([`motion`]), the camera rigs ([`rig`]) and the detector
//! model ([`detector`]). Only the random number generator, the capsule primitive and the file
//! format are shared with [`crate::data::synth`]. Nothing here reads [`crate::body::BodyModel`].
//!
//! The frozen generalisation test sets are `seed` [`TEST_SEED`] (the default settings) and
//! [`NOISY_TEST_SEED`] (twice the noise), 24 sequences each (`tools/generalisation.sh` makes
//! them). No training and no tuning ever reads them; tune on [`DEV_SEED`] instead.

pub mod body;
pub mod config;
pub mod detector;
pub mod motion;
pub mod rig;

use std::collections::BTreeMap;

use nalgebra::Vector3;

pub use body::{PosedStick, StickBody};
pub use config::StickConfig;
pub use motion::{MotionKind, StickMotion};

use crate::data::Mv2d;
use crate::data::synth::random::Rng;
use crate::geometry::Camera;

/// The `generator` metadata value of the stick generator's sequences.
pub const GENERATOR: &str = "cmanet-stick";

/// Seed of the frozen generalisation test set (default settings, 24 sequences).
pub const TEST_SEED: u64 = 7000;

/// Seed of the frozen test set with twice the detector noise (24 sequences).
pub const NOISY_TEST_SEED: u64 = 7001;

/// Seed of the stick development set: the one stick data that may be used for choosing settings.
pub const DEV_SEED: u64 = 7100;

/// A stick sequence with how it was made.
#[derive(Clone, Debug)]
pub struct StickSequence {
    /// The sequence as written to disk, ground truth included (no SMPL parameters: the stick body
    /// has none).
    pub data: Mv2d,
    /// The subject.
    pub body: StickBody,
    /// The motion's kind.
    pub kind: MotionKind,
    /// The cameras.
    pub cameras: Vec<Camera>,
    /// The posed body of every frame.
    pub frames: Vec<PosedStick>,
}

/// Generates sequence `index` of `seed`; it depends on nothing else.
pub fn generate_stick(config: &StickConfig, seed: u64, index: usize) -> Result<StickSequence, String> {
    config.validate()?;
    // Streams apart from the main generator's for the same seed.
    let mut root = Rng::derive(seed ^ 0x57C1_C0DE_0000_0000, index as u64);
    let start = Rng::derive(seed ^ 0x57C1_C0DE_0000_0000, u64::MAX).below(MotionKind::ALL.len());
    let kind = MotionKind::ALL[(start + index) % MotionKind::ALL.len()];
    let body = StickBody::sample(&mut root.fork(0), config.min_subject_height, config.max_subject_height);
    let duration = config.frames as f32 / config.fps;
    let motion = StickMotion::sample(kind, &mut root.fork(1), duration);
    let frames: Vec<PosedStick> = (0..config.frames).map(|f| stand(&body, &motion, f as f32 / config.fps)).collect();
    let points = || frames.iter().flat_map(|f| f.keypoints.iter().chain(&f.joints));
    let (mut lo, mut hi) = (Vector3::repeat(f32::MAX), Vector3::repeat(f32::MIN));
    for p in points() {
        lo = lo.inf(p);
        hi = hi.sup(p);
    }
    let margin = Vector3::repeat(0.1 * body.height);
    let cameras = rig::sample_rig(&(lo - margin), &(hi + margin), config, &mut root.fork(2));
    let keypoints2d = detector::detect(&body, &frames, &cameras, config.noise_sigma, &mut root.fork(3));
    let metadata = BTreeMap::from([
        ("generator".to_string(), GENERATOR.to_string()),
        ("seed".to_string(), seed.to_string()),
        ("sequence".to_string(), index.to_string()),
        ("motion".to_string(), kind.name().to_string()),
        ("subject_height".to_string(), format!("{:.3}", body.height)),
    ]);
    let data = Mv2d {
        fps: config.fps,
        image_size: cameras.iter().map(|c| [c.image_size.x as f32, c.image_size.y as f32]).collect(),
        intrinsics: cameras.iter().map(|c| c.intrinsics).collect(),
        keypoints2d,
        extra2d: None,
        extrinsics: Some(cameras.iter().map(|c| c.extrinsics).collect()),
        extra3d: None,
        frame_time: None,
        joints3d: Some(frames.iter().map(|f| f.keypoints.map(|p| [p.x, p.y, p.z])).collect()),
        params: None,
        metadata,
    };
    Ok(StickSequence { data, body, kind, cameras, frames })
}

/// The body at time `t`, stood on the floor: its lowest heel, ball of the foot or knee at the
/// motion's lift above the floor.
fn stand(body: &StickBody, motion: &StickMotion, t: f32) -> PosedStick {
    use body::joint::*;
    let frame = motion.at(t);
    let locals = frame.locals();
    let at_zero = body.pose(&locals, &Vector3::new(frame.position[0], 0.0, frame.position[1]));
    let ankle_height = -body.bones[L_TOE].y;
    let mut lowest = f32::INFINITY;
    for (ankle, toe, knee) in [(L_ANKLE, L_TOE, L_KNEE), (R_ANKLE, R_TOE, R_KNEE)] {
        let heel =
            at_zero.joints[ankle] + at_zero.rotations[ankle] * Vector3::new(0.0, -ankle_height, -0.2 * ankle_height);
        lowest = lowest.min(heel.y).min(at_zero.joints[toe].y).min(at_zero.joints[knee].y - 0.05 * body.height);
    }
    let root = Vector3::new(frame.position[0], frame.lift - lowest, frame.position[1]);
    body.pose(&locals, &root)
}
