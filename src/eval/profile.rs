//! Measuring a detector's keypoint profile ([`crate::body::KeypointProfile`]) from sequences whose
//! truth is known: the detector's keypoints are triangulated with the true cameras, and each
//! keypoint's offset from the body model's keypoint of the true pose is collected over every frame
//! with its two carrier joints' rotations; the profile's two offsets are the robust (Huber) least
//! squares fit of `offset = R_a o_a + R_b o_b` over them.
//!
//! The measurements come from the virtual studio (`virtual_studio --detections`): the open avatar
//! rendered in known poses from known cameras, seen by the port of BlazePose.

use nalgebra::{Matrix3, Matrix3x6, Matrix6, Vector3, Vector6};

use super::metrics::median;
use crate::body::{BodyError, BodyModel, KeypointProfile, NUM_KEYPOINTS, PROFILE_CARRIERS};
use crate::data::{DataError, Mv2d};
use crate::geometry::{TriangulatedPoint, TriangulationSettings, triangulate_keypoints, triangulate_points};
use crate::keypoints::{EXTRA_JOINTS, NUM_EXTRA_KEYPOINTS};

/// A triangulated keypoint counts only when it reprojects this close to the views that made it,
/// pixels on average.
const MAX_REPROJECTION_PX: f64 = 8.0;

/// One measurement of a keypoint: the detector's keypoint minus ours, and its two carriers'
/// world rotations.
type Sample = (Vector3<f64>, Matrix3<f64>, Matrix3<f64>);

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
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); NUM_KEYPOINTS];
    // The extras: the detector's point minus ours, and the carrier joint's world rotation.
    let mut extra_samples: Vec<Vec<(Vector3<f64>, Matrix3<f64>)>> = vec![Vec::new(); NUM_EXTRA_KEYPOINTS];
    let mut with_extras = true;
    let settings = TriangulationSettings::default();
    for data in sequences {
        data.validate()?;
        let cameras = data.cameras().ok_or_else(|| DataError::Mismatch("the profile needs the true cameras".into()))?;
        let params = data
            .params
            .as_ref()
            .ok_or_else(|| DataError::Mismatch("the profile needs the true SMPL parameters".into()))?;
        let projections: Vec<_> = cameras.iter().map(|c| c.projection_matrix()).collect();
        with_extras &= data.extra2d.is_some() && model.extra_regressor.is_some();
        for (t, (views, params)) in data.keypoints2d.iter().zip(params).enumerate() {
            let posed = model.pose(params, false)?;
            if let Some(extra) = data.extra2d.as_ref().filter(|_| with_extras) {
                let found = triangulate_points(&projections, views, &extra[t], &settings);
                for (e, point) in found.iter().enumerate() {
                    let Some(point) = point.as_ref().filter(|p| usable(p)) else { continue };
                    let carrier = posed.joint_transforms[EXTRA_JOINTS[e]].rotation.cast::<f64>();
                    extra_samples[e].push((point.point - posed.extra_keypoints[e].cast::<f64>(), carrier));
                }
            }
            let found = triangulate_keypoints(&projections, views, &settings);
            for (k, point) in found.iter().enumerate() {
                let Some(point) = point.as_ref().filter(|p| usable(p)) else { continue };
                let [a, b] = PROFILE_CARRIERS[k].map(|c| posed.joint_transforms[c].rotation.cast::<f64>());
                samples[k].push((point.point - posed.keypoints[k].cast::<f64>(), a, b));
            }
        }
    }
    let mut profile = KeypointProfile { detector: detector.into(), ..KeypointProfile::none() };
    profile.samples = usize::MAX;
    for (k, s) in samples.iter().enumerate() {
        if s.len() < min_samples.max(1) {
            return Err(ProfileError::TooFew { keypoint: k, samples: s.len(), needed: min_samples.max(1) });
        }
        let offsets = fit_offsets(s);
        let predict = |a: &Matrix3<f64>, b: &Matrix3<f64>| a * offsets[0] + b * offsets[1];
        profile.offsets[k] = offsets;
        profile.spread[k] = median(&s.iter().map(|(y, a, b)| (y - predict(a, b)).norm()).collect::<Vec<_>>());
        profile.samples = profile.samples.min(s.len());
    }
    if with_extras && extra_samples.iter().all(|s| s.len() >= min_samples.max(1)) {
        let mut offsets = [Vector3::zeros(); NUM_EXTRA_KEYPOINTS];
        for (e, s) in extra_samples.iter().enumerate() {
            offsets[e] = fit_offset(s);
            profile.extra_spread[e] = median(&s.iter().map(|(y, r)| (y - r * offsets[e]).norm()).collect::<Vec<_>>());
        }
        profile.extra_offsets = Some(offsets);
    }
    Ok(profile)
}

/// Whether a triangulated point is good enough to measure with: it reprojects within
/// [`MAX_REPROJECTION_PX`] and at least two views agree on it.
fn usable(point: &TriangulatedPoint) -> bool {
    point.mean_reprojection_px <= MAX_REPROJECTION_PX && point.inliers.iter().filter(|&&i| i).count() >= 2
}

/// The offset `o` that best explains `y = R o` over the samples (an extra keypoint's, in its one
/// carrier's frame): the Huber-weighted mean of `R^T y` at 2 cm, a few rounds.
fn fit_offset(samples: &[(Vector3<f64>, Matrix3<f64>)]) -> Vector3<f64> {
    const HUBER: f64 = 0.02;
    let local: Vec<Vector3<f64>> = samples.iter().map(|(y, r)| r.transpose() * y).collect();
    let mut x = Vector3::zeros();
    for _ in 0..5 {
        let (mut sum, mut weight) = (Vector3::zeros(), 0.0);
        for l in &local {
            let d = (l - x).norm();
            let w = if d <= HUBER { 1.0 } else { HUBER / d };
            sum += l * w;
            weight += w;
        }
        if weight > 0.0 {
            x = sum / weight;
        }
    }
    x
}

/// The two offsets `o_a`, `o_b` that best explain `y = R_a o_a + R_b o_b` over the samples: least
/// squares reweighted by Huber at 2 cm, a few rounds, with a faint ridge (the two frames agree at
/// rest, so only the bend of the joint tells the offsets apart).
fn fit_offsets(samples: &[Sample]) -> [Vector3<f64>; 2] {
    const HUBER: f64 = 0.02;
    let mut x = Vector6::zeros();
    for _ in 0..5 {
        let mut h = Matrix6::identity() * 1e-3 * samples.len() as f64;
        let mut g = Vector6::zeros();
        for (y, a, b) in samples {
            let mut j = Matrix3x6::zeros();
            j.fixed_view_mut::<3, 3>(0, 0).copy_from(a);
            j.fixed_view_mut::<3, 3>(0, 3).copy_from(b);
            let r = j * x - y;
            let w = if r.norm() <= HUBER { 1.0 } else { HUBER / r.norm() };
            h += j.transpose() * j * w;
            g += j.transpose() * y * w;
        }
        match h.cholesky() {
            Some(c) => x = c.solve(&g),
            None => break,
        }
    }
    [x.fixed_rows::<3>(0).into_owned(), x.fixed_rows::<3>(3).into_owned()]
}
