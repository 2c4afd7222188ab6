//! The calibrated anchor: robust confidence-weighted DLT of every keypoint from the TRUE cameras.
//! Every uncalibrated method is compared with it.

use std::collections::BTreeMap;
use std::time::Instant;

use nalgebra::Vector3;

use crate::body::{BodyParams, NUM_KEYPOINTS};
use crate::data::labels::repair_calibrated;
use crate::data::{DataError, Keypoints3d, Mv2d, Mv3d, Mv3dFrame};
use crate::geometry::{Camera, TriangulationSettings, triangulate_keypoints, triangulate_keypoints_plain};

/// The confidence below which the plain DLT baseline drops a keypoint ([`dlt_sequence`]).
pub const PLAIN_DLT_MIN_CONFIDENCE: f64 = 0.3;

/// Triangulates every frame of `data` with its true cameras. A keypoint that fewer than two views
/// see keeps its position from the previous frame (or, in the first frames, the mean of the
/// keypoints that were triangulated) and is marked unmeasured (`joints3d_measured`); how often
/// that happened is written to the metadata (`untriangulated`). Views whose left and right are swapped in a frame are relabelled first
/// ([`repair_calibrated`]).
pub fn triangulate_sequence(data: &Mv2d, settings: &TriangulationSettings) -> Result<Mv3d, DataError> {
    data.validate()?;
    // A view whose detector swapped the person's left and right is outvoted by the others.
    let mut resolved = data.clone();
    repair_calibrated(&mut resolved, settings);
    let projections = projections(&resolved)?;
    Ok(sequence_from(&resolved, "triangulate", |views| {
        triangulate_keypoints(&projections, views, settings).map(|p| p.map(|p| p.point))
    }))
}

/// The plainest calibrated baseline: every keypoint of every frame by confidence-weighted DLT from
/// the views that see it with at least `min_confidence` (no voting, no refinement, no left/right
/// repair; [`triangulate_keypoints_plain`]). A keypoint fewer than two views see is filled in as in
/// [`triangulate_sequence`]. `triangulate` must never be worse than this.
pub fn dlt_sequence(data: &Mv2d, min_confidence: f64) -> Result<Mv3d, DataError> {
    data.validate()?;
    let projections = projections(data)?;
    Ok(sequence_from(data, "dlt", |views| triangulate_keypoints_plain(&projections, views, min_confidence)))
}

/// The true cameras' projection matrices.
fn projections(data: &Mv2d) -> Result<Vec<nalgebra::Matrix3x4<f64>>, DataError> {
    let cameras = data.cameras().ok_or_else(|| {
        DataError::Mismatch("triangulation needs the true cameras (extrinsics_R/t) in the input".into())
    })?;
    Ok(cameras.iter().map(Camera::projection_matrix).collect())
}

/// A `cmanet-mv3d` estimate in the calibrated world from a per-frame triangulation.
fn sequence_from(
    data: &Mv2d,
    method: &str,
    triangulate: impl Fn(&[crate::data::Keypoints2d]) -> [Option<Vector3<f64>>; NUM_KEYPOINTS],
) -> Mv3d {
    let cameras: Vec<Camera> = data.cameras().unwrap_or_default();
    let mut previous: [Option<Vector3<f64>>; NUM_KEYPOINTS] = [None; NUM_KEYPOINTS];
    let mut missing = 0usize;
    let mut frames = Vec::with_capacity(data.num_frames());
    for views in &data.keypoints2d {
        let start = Instant::now();
        let found = triangulate(views);
        let seen: Vec<Vector3<f64>> = found.iter().flatten().copied().collect();
        let centre =
            if seen.is_empty() { Vector3::zeros() } else { seen.iter().sum::<Vector3<f64>>() / seen.len() as f64 };
        let points: [Vector3<f64>; NUM_KEYPOINTS] = std::array::from_fn(|k| match &found[k] {
            Some(p) => *p,
            None => {
                missing += 1;
                previous[k].unwrap_or(centre)
            }
        });
        for (prev, p) in previous.iter_mut().zip(&points) {
            *prev = Some(*p);
        }
        let seconds = start.elapsed().as_secs_f64();
        let joints3d: Keypoints3d =
            std::array::from_fn(|k| [points[k].x as f32, points[k].y as f32, points[k].z as f32]);
        let joints3d_cam = cameras
            .iter()
            .map(|c| {
                std::array::from_fn(|k| {
                    let q = c.extrinsics.to_camera(&points[k]);
                    [q.x as f32, q.y as f32, q.z as f32]
                })
            })
            .collect();
        frames.push(Mv3dFrame {
            joints3d_cam,
            joints3d,
            extrinsics: cameras.iter().map(|c| c.extrinsics).collect(),
            params: BodyParams::default(),
            seconds,
            bones: None,
            measured: Some(found.map(|p| p.is_some())),
        });
    }
    let metadata = BTreeMap::from([
        ("method".to_string(), method.to_string()),
        ("world".to_string(), "calibrated".to_string()),
        ("smpl_params".to_string(), "none (triangulation estimates keypoints only)".to_string()),
        ("untriangulated".to_string(), missing.to_string()),
    ]);
    Mv3d { fps: data.fps, frames, metadata }
}
