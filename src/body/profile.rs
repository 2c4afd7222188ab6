//! Keypoint profiles: where a 2D keypoint detector puts each COCO keypoint relative to our body
//! model's. A detector does not see our keypoint regressor: BlazePose, for one, marks the hips
//! higher and wider than the hip joints. A profile is that systematic difference, one offset per
//! keypoint in the frame of a joint that carries it ([`PROFILE_CARRIERS`]): the detector sees
//! keypoint `k` at `keypoint_k + R_carrier(k) offset_k`. The body refinement explains a detector's
//! keypoints through its profile and reports the body's own (`net::body_refinement`); `cmanet
//! profile` measures one from rendered bodies whose pose is known (`eval::profile`).
//!
//! File format `cmanet-keypoint-profile` v1 (safetensors): `offsets` f32 `[17, 3]` (metres, carrier
//! frames), `spread` f32 `[17]` (the median distance of the measurements from the offset, metres),
//! metadata `detector`, `samples` (measurements per keypoint, at least), `carriers`.

use std::path::Path;

use nalgebra::Vector3;

use super::error::BodyError;
use super::skeleton::NUM_KEYPOINTS;
use crate::tensor_file::{TensorFile, TensorWriter};

/// The `format` metadata value of a keypoint profile file.
pub const PROFILE_FORMAT: &str = "cmanet-keypoint-profile";

/// The joint whose frame carries each keypoint's offset (SMPL indices): the head for the face,
/// the collars for the shoulders, and for every other limb keypoint the parent of its joint (the
/// upper arm for the elbow, the thigh for the knee; the pelvis for the hips).
pub const PROFILE_CARRIERS: [usize; NUM_KEYPOINTS] = [15, 15, 15, 15, 15, 13, 14, 16, 17, 18, 19, 0, 0, 1, 2, 4, 5];

/// A detector's keypoint profile.
#[derive(Clone, Debug, PartialEq)]
pub struct KeypointProfile {
    /// Which detector it describes.
    pub detector: String,
    /// Per keypoint, where the detector puts it relative to our body model's keypoint, in the frame
    /// of [`PROFILE_CARRIERS`], metres.
    pub offsets: [Vector3<f64>; NUM_KEYPOINTS],
    /// Per keypoint, the median distance of the measurements from the offset, metres (how much the
    /// detector's placement varies around it).
    pub spread: [f64; NUM_KEYPOINTS],
    /// The fewest measurements any keypoint's offset was made from.
    pub samples: usize,
}

impl KeypointProfile {
    /// A profile with no offsets (our own keypoints, as synthetic data has them).
    pub fn none() -> Self {
        Self {
            detector: "none".into(),
            offsets: [Vector3::zeros(); NUM_KEYPOINTS],
            spread: [0.0; NUM_KEYPOINTS],
            samples: 0,
        }
    }

    /// Reads a `cmanet-keypoint-profile` file.
    pub fn read(path: &Path) -> Result<Self, BodyError> {
        let file = TensorFile::read_safetensors(path)?;
        if file.metadata().get("format").map(String::as_str) != Some(PROFILE_FORMAT) {
            return Err(file.bad("format", format!("not a {PROFILE_FORMAT} file")).into());
        }
        let offsets = file.required_float("offsets", &[Some(NUM_KEYPOINTS), Some(3)])?.to_f32();
        let spread = file.required_float("spread", &[Some(NUM_KEYPOINTS)])?.to_f32();
        if !offsets.iter().chain(&spread).all(|x| x.is_finite() && x.abs() < 1.0) {
            return Err(file.bad("offsets", "offsets and spreads must be finite and under a metre").into());
        }
        let meta = |key: &str| file.metadata().get(key).cloned().unwrap_or_default();
        Ok(Self {
            detector: meta("detector"),
            offsets: std::array::from_fn(|k| {
                Vector3::new(offsets[3 * k] as f64, offsets[3 * k + 1] as f64, offsets[3 * k + 2] as f64)
            }),
            spread: std::array::from_fn(|k| spread[k] as f64),
            samples: meta("samples").parse().unwrap_or(0),
        })
    }

    /// Writes the profile.
    pub fn write(&self, path: &Path) -> Result<(), BodyError> {
        let offsets: Vec<f32> = self.offsets.iter().flat_map(|o| o.iter().map(|x| *x as f32)).collect();
        let spread: Vec<f32> = self.spread.iter().map(|x| *x as f32).collect();
        let carriers: Vec<String> = PROFILE_CARRIERS.iter().map(|c| c.to_string()).collect();
        let mut w = TensorWriter::new();
        w.metadata("format", PROFILE_FORMAT)
            .metadata("version", "1")
            .metadata("detector", self.detector.clone())
            .metadata("samples", self.samples.to_string())
            .metadata("carriers", carriers.join(","))
            .f32("offsets", &[NUM_KEYPOINTS, 3], &offsets)
            .f32("spread", &[NUM_KEYPOINTS], &spread);
        Ok(w.write(path)?)
    }
}
