//! Keypoint profiles: where a 2D keypoint detector puts each COCO keypoint relative to our body
//! model's. A detector does not see our keypoint regressor: BlazePose, for one, marks the hips
//! narrower, higher and further forward than our hip joints, the ankles higher. A profile is that
//! systematic difference as two offsets per keypoint, each in the frame of one of the two joints
//! that carry the keypoint ([`PROFILE_CARRIERS`]: the segment above the keypoint's joint and the
//! one below), so the difference can follow the bend of the joint: the detector sees keypoint `k`
//! at `keypoint_k + R_a(k) offset_ka + R_b(k) offset_kb`. The body refinement explains a detector's
//! keypoints through its profile and reports the body's own (`net::body_refinement`); `cmanet
//! profile` measures one from rendered bodies whose pose is known (`eval::profile`).
//!
//! BlazePose's 16 extra keypoints (heels, foot tips, hand points, ...) get one offset each, in the
//! frame of the joint that carries them (`cmanet::keypoints::EXTRA_JOINTS`: ankle or foot, wrist,
//! head): BlazePose's foot is shorter and higher than our heel-to-toe, its hand points closer
//! together than the knuckles our regressor marks.
//!
//! File format `cmanet-keypoint-profile` v1 (safetensors): `offsets` f32 `[17, 2, 3]` (metres, in
//! the two carriers' frames), `spread` f32 `[17]` (the median distance of the measurements from
//! the profile's prediction, metres), optionally `extra_offsets` f32 `[16, 3]` and `extra_spread`
//! f32 `[16]` for the extras; metadata `detector`, `samples` (measurements per keypoint, at least),
//! `carriers`.

use std::path::Path;

use nalgebra::Vector3;

use super::error::BodyError;
use super::skeleton::NUM_KEYPOINTS;
use crate::keypoints::NUM_EXTRA_KEYPOINTS;
use crate::tensor_file::{TensorFile, TensorWriter};

/// The `format` metadata value of a keypoint profile file.
pub const PROFILE_FORMAT: &str = "cmanet-keypoint-profile";

/// The two joints whose frames carry each keypoint's offsets (SMPL indices): the head and the neck
/// for the face; for a limb keypoint the segment above its joint and the one below (the collar and
/// the upper arm for the shoulder, the upper arm and the forearm for the elbow, the pelvis and the
/// thigh for the hip, the shin and the foot for the ankle).
pub const PROFILE_CARRIERS: [[usize; 2]; NUM_KEYPOINTS] = [
    [15, 12],
    [15, 12],
    [15, 12],
    [15, 12],
    [15, 12],
    [13, 16],
    [14, 17],
    [16, 18],
    [17, 19],
    [18, 20],
    [19, 21],
    [0, 1],
    [0, 2],
    [1, 4],
    [2, 5],
    [4, 7],
    [5, 8],
];

/// A detector's keypoint profile.
#[derive(Clone, Debug, PartialEq)]
pub struct KeypointProfile {
    /// Which detector it describes.
    pub detector: String,
    /// Per keypoint, where the detector puts it relative to our body model's keypoint: an offset
    /// in each of its two carriers' frames ([`PROFILE_CARRIERS`]), metres.
    pub offsets: [[Vector3<f64>; 2]; NUM_KEYPOINTS],
    /// Per keypoint, the median distance of the measurements from the profile's prediction, metres
    /// (how much the detector's placement varies around it).
    pub spread: [f64; NUM_KEYPOINTS],
    /// The fewest measurements any keypoint's offset was made from.
    pub samples: usize,
    /// Per extra keypoint, where the detector puts it relative to our body model's: an offset in
    /// the frame of its joint (`EXTRA_JOINTS`), metres; `None` when not measured.
    pub extra_offsets: Option<[Vector3<f64>; NUM_EXTRA_KEYPOINTS]>,
    /// Per extra keypoint, the median distance of the measurements from the prediction, metres
    /// (zeros when not measured).
    pub extra_spread: [f64; NUM_EXTRA_KEYPOINTS],
}

impl KeypointProfile {
    /// A profile with no offsets (our own keypoints, as synthetic data has them).
    pub fn none() -> Self {
        Self {
            detector: "none".into(),
            offsets: [[Vector3::zeros(); 2]; NUM_KEYPOINTS],
            spread: [0.0; NUM_KEYPOINTS],
            samples: 0,
            extra_offsets: None,
            extra_spread: [0.0; NUM_EXTRA_KEYPOINTS],
        }
    }

    /// Reads a `cmanet-keypoint-profile` file.
    pub fn read(path: &Path) -> Result<Self, BodyError> {
        let file = TensorFile::read_safetensors(path)?;
        if file.metadata().get("format").map(String::as_str) != Some(PROFILE_FORMAT) {
            return Err(file.bad("format", format!("not a {PROFILE_FORMAT} file")).into());
        }
        let offsets = file.required_float("offsets", &[Some(NUM_KEYPOINTS), Some(2), Some(3)])?.to_f32();
        let spread = file.required_float("spread", &[Some(NUM_KEYPOINTS)])?.to_f32();
        if !offsets.iter().chain(&spread).all(|x| x.is_finite() && x.abs() < 1.0) {
            return Err(file.bad("offsets", "offsets and spreads must be finite and under a metre").into());
        }
        let extra = file.optional_float("extra_offsets", &[Some(NUM_EXTRA_KEYPOINTS), Some(3)])?.map(|t| t.to_f32());
        let extra_spread = file.optional_float("extra_spread", &[Some(NUM_EXTRA_KEYPOINTS)])?.map(|t| t.to_f32());
        if !extra.iter().chain(&extra_spread).flatten().all(|x| x.is_finite() && x.abs() < 1.0) {
            return Err(file.bad("extra_offsets", "offsets and spreads must be finite and under a metre").into());
        }
        let meta = |key: &str| file.metadata().get(key).cloned().unwrap_or_default();
        Ok(Self {
            detector: meta("detector"),
            offsets: std::array::from_fn(|k| {
                std::array::from_fn(|c| {
                    let at = 6 * k + 3 * c;
                    Vector3::new(offsets[at] as f64, offsets[at + 1] as f64, offsets[at + 2] as f64)
                })
            }),
            spread: std::array::from_fn(|k| spread[k] as f64),
            samples: meta("samples").parse().unwrap_or(0),
            extra_offsets: extra.map(|o| {
                std::array::from_fn(|e| Vector3::new(o[3 * e] as f64, o[3 * e + 1] as f64, o[3 * e + 2] as f64))
            }),
            extra_spread: extra_spread.map_or([0.0; NUM_EXTRA_KEYPOINTS], |s| std::array::from_fn(|e| s[e] as f64)),
        })
    }

    /// Writes the profile.
    pub fn write(&self, path: &Path) -> Result<(), BodyError> {
        let offsets: Vec<f32> = self.offsets.iter().flatten().flat_map(|o| o.iter().map(|x| *x as f32)).collect();
        let spread: Vec<f32> = self.spread.iter().map(|x| *x as f32).collect();
        let carriers: Vec<String> = PROFILE_CARRIERS.iter().map(|c| format!("{}+{}", c[0], c[1])).collect();
        let mut w = TensorWriter::new();
        w.metadata("format", PROFILE_FORMAT)
            .metadata("version", "1")
            .metadata("detector", self.detector.clone())
            .metadata("samples", self.samples.to_string())
            .metadata("carriers", carriers.join(","))
            .f32("offsets", &[NUM_KEYPOINTS, 2, 3], &offsets)
            .f32("spread", &[NUM_KEYPOINTS], &spread);
        if let Some(extra) = &self.extra_offsets {
            let offsets: Vec<f32> = extra.iter().flat_map(|o| o.iter().map(|x| *x as f32)).collect();
            let spread: Vec<f32> = self.extra_spread.iter().map(|x| *x as f32).collect();
            w.f32("extra_offsets", &[NUM_EXTRA_KEYPOINTS, 3], &offsets).f32(
                "extra_spread",
                &[NUM_EXTRA_KEYPOINTS],
                &spread,
            );
        }
        Ok(w.write(path)?)
    }
}
