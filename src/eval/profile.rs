//! Measuring a detector's keypoint profile ([`crate::body::KeypointProfile`]) from sequences whose
//! truth is known: the detector's keypoints are triangulated with the true cameras, and each
//! keypoint's offset from the body model's keypoint of the true pose, turned into its carrier
//! joint's frame, is collected over every frame; the profile is the per-axis median.
//!
//! The measurements come from the virtual studio (`virtual_studio --detections`): the open avatar
//! rendered in known poses from known cameras, seen by the port of BlazePose.

use nalgebra::Vector3;

use crate::body::{BodyError, BodyModel, KeypointProfile, NUM_KEYPOINTS, PROFILE_CARRIERS};
use crate::data::{DataError, Mv2d};
use crate::geometry::{TriangulationSettings, triangulate_keypoints};

/// A triangulated keypoint counts only when it reprojects this close to the views that made it,
/// pixels on average.
const MAX_REPROJECTION_PX: f64 = 8.0;

/// What can go wrong measuring a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A sequence lacks what the measurement needs.
    #[error("{0}")]
    Data(#[from] DataError),
    /// The body model failed.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Too few measurements of a keypoint.
    #[error("keypoint {keypoint}: only {samples} measurements (at least {needed} needed)")]
    TooFew {
        /// The keypoint.
        keypoint: usize,
        /// How many there were.
        samples: usize,
        /// How many are needed.
        needed: usize,
    },
}

/// Measures the profile of the detector that made `sequences` (each with true cameras and SMPL
/// parameters), naming it `detector`. Every keypoint needs `min_samples` measurements.
pub fn measure_profile(
    sequences: &[Mv2d],
    model: &BodyModel,
    detector: &str,
    min_samples: usize,
) -> Result<KeypointProfile, ProfileError> {
    let mut samples: Vec<Vec<Vector3<f64>>> = vec![Vec::new(); NUM_KEYPOINTS];
    let settings = TriangulationSettings::default();
    for data in sequences {
        data.validate()?;
        let cameras = data.cameras().ok_or_else(|| DataError::Mismatch("the profile needs the true cameras".into()))?;
        let params = data
            .params
            .as_ref()
            .ok_or_else(|| DataError::Mismatch("the profile needs the true SMPL parameters".into()))?;
        let projections: Vec<_> = cameras.iter().map(|c| c.projection_matrix()).collect();
        for (views, params) in data.keypoints2d.iter().zip(params) {
            let posed = model.pose(params, false)?;
            let found = triangulate_keypoints(&projections, views, &settings);
            for (k, point) in found.iter().enumerate() {
                let Some(point) = point else { continue };
                if point.mean_reprojection_px > MAX_REPROJECTION_PX || point.inliers.iter().filter(|&&i| i).count() < 2
                {
                    continue;
                }
                let carrier = &posed.joint_transforms[PROFILE_CARRIERS[k]];
                let offset = point.point - posed.keypoints[k].cast::<f64>();
                samples[k].push(carrier.rotation.cast::<f64>().transpose() * offset);
            }
        }
    }
    let mut profile = KeypointProfile { detector: detector.into(), ..KeypointProfile::none() };
    profile.samples = usize::MAX;
    for (k, s) in samples.iter().enumerate() {
        if s.len() < min_samples.max(1) {
            return Err(ProfileError::TooFew { keypoint: k, samples: s.len(), needed: min_samples.max(1) });
        }
        let offset = Vector3::from_fn(|axis, _| median(s.iter().map(|v| v[axis]).collect()));
        profile.offsets[k] = offset;
        profile.spread[k] = median(s.iter().map(|v| (v - offset).norm()).collect());
        profile.samples = profile.samples.min(s.len());
    }
    Ok(profile)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}
