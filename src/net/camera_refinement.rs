//! The last, geometric step of an estimate: every view's camera is aligned with the fused body by
//! robust perspective-n-point refinement ([`crate::geometry::refine_pose`]) against that view's
//! keypoints, starting from the network's camera. The network's cameras come from each view's
//! own reading of the body's orientation; once the views agree on one body, its keypoints pin
//! every camera down more tightly than any single view could. Microseconds per view.
//!
//! A detector that swaps the person's left and right in a view seen from behind makes that view
//! look like a front view, and the network puts its camera in front of the person. So every view
//! is also tried, against the refined body, with its left and right exchanged and its camera
//! turned half a turn about the body's vertical axis; when that fits clearly better, the view's
//! labels are taken to be swapped ([`check_left_right`]).

use nalgebra::{Rotation3, Vector2, Vector3};

use super::input::MultiViewFrame;
use crate::data::format::MIN_CONFIDENCE;
use crate::data::labels::{flip_left_right, labelled_extra, refit_is_better};
use crate::data::{Keypoints2d, Keypoints3d};
use crate::geometry::{Correspondence, Extrinsics, Intrinsics, refine_pose};

/// Robust scales of the two refinement passes, fractions of the person's size in the image.
pub const REFINEMENT_SCALES: [f64; 2] = [0.1, 0.05];

/// Levenberg–Marquardt steps per pass at most (the network's camera is a close start).
pub const REFINEMENT_STEPS: usize = 6;

/// Refines the present `cameras` of `frame` (body to camera) against the canonical `keypoints`;
/// `sizes` are the views' person sizes (normalised image units). A view with fewer than six usable
/// keypoints keeps the network's camera. Returns every view's mean robust cost at the end (`None`
/// where it was not refined).
pub fn refine_cameras(
    keypoints: &Keypoints3d,
    cameras: &mut [Option<Extrinsics>],
    frame: &MultiViewFrame,
    sizes: &[f64],
) -> Vec<Option<f64>> {
    let mut costs = vec![None; frame.views.len()];
    for (((camera, view), size), cost) in cameras.iter_mut().zip(&frame.views).zip(sizes).zip(&mut costs) {
        let (Some(start), Some(view)) = (camera.as_ref(), view.as_ref()) else { continue };
        if let Some((pose, c)) = refine_view(keypoints, start, &view.keypoints, &view.intrinsics, *size) {
            *camera = Some(pose);
            *cost = Some(c);
        }
    }
    costs
}

/// Finds the views of `frame` whose left and right labels are swapped: a view's keypoints with
/// left and right exchanged, its camera turned half a turn about the body's vertical axis and
/// refined like [`refine_cameras`], fit the canonical `keypoints` with less than
/// [`crate::data::labels::REFIT_MARGIN`] times the robust cost of the view as detected (`costs`, from
/// [`refine_cameras`]). Such views get their keypoints exchanged in `frame` and the turned camera
/// in `cameras`; returns which views were.
pub fn check_left_right(
    keypoints: &Keypoints3d,
    cameras: &mut [Option<Extrinsics>],
    frame: &mut MultiViewFrame,
    sizes: &[f64],
    costs: &[Option<f64>],
) -> Vec<bool> {
    let half_turn = Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::PI).into_inner();
    let mut swapped = vec![false; frame.views.len()];
    let views = cameras.iter_mut().zip(&mut frame.views).zip(sizes).zip(costs).zip(&mut swapped);
    for ((((camera, view), size), cost), swapped) in views {
        let (Some(current), Some(view), Some(cost)) = (camera.as_ref(), view.as_mut(), *cost) else { continue };
        let mirrored = flip_left_right(&view.keypoints);
        // The canonical centre lies on the vertical axis, so the turned camera keeps looking at it.
        let turned = Extrinsics::new(current.rotation * half_turn, current.translation);
        if let Some((pose, mirrored_cost)) = refine_view(keypoints, &turned, &mirrored, &view.intrinsics, *size)
            && refit_is_better(mirrored_cost, cost)
        {
            view.keypoints = mirrored;
            view.extra = view.extra.map(|e| labelled_extra(&e, true));
            *camera = Some(pose);
            *swapped = true;
        }
    }
    swapped
}

/// The views whose camera, aligned with the body alone (`probe`, with its costs `costs` from
/// [`refine_cameras`]), fits clearly better than the camera they have (`cameras`: less than
/// [`crate::data::labels::REFIT_MARGIN`] times its robust cost): a camera the joint refinement left in a poor
/// place, which the alignment got out of.
pub fn clearly_better(
    keypoints: &Keypoints3d,
    cameras: &[Option<Extrinsics>],
    frame: &MultiViewFrame,
    sizes: &[f64],
    costs: &[Option<f64>],
) -> Vec<bool> {
    cameras
        .iter()
        .zip(&frame.views)
        .zip(sizes)
        .zip(costs)
        .map(|(((camera, view), size), probed)| {
            let (Some(camera), Some(view), Some(probed)) = (camera, view, probed) else { return false };
            let scale = REFINEMENT_SCALES[REFINEMENT_SCALES.len() - 1];
            view_cost(keypoints, camera, &view.keypoints, &view.intrinsics, *size, scale)
                .is_some_and(|current| refit_is_better(*probed, current))
        })
        .collect()
}

/// A camera's mean robust cost against a view's keypoints at robust scale `scale` (no step).
fn view_cost(
    keypoints: &Keypoints3d,
    camera: &Extrinsics,
    observed: &Keypoints2d,
    intrinsics: &Intrinsics,
    size: f64,
    scale: f64,
) -> Option<f64> {
    let used = correspondences(keypoints, observed, intrinsics);
    (used.len() >= 6 && size.is_finite() && size > 0.0).then(|| refine_pose(*camera, &used, size, scale, 0).1)
}

/// The confident, finite keypoints of a view paired with the body's.
fn correspondences(keypoints: &Keypoints3d, observed: &Keypoints2d, intrinsics: &Intrinsics) -> Vec<Correspondence> {
    keypoints
        .iter()
        .zip(observed)
        .filter(|(_, k)| k[2] >= MIN_CONFIDENCE && k.iter().all(|x| x.is_finite()))
        .map(|(p, k)| {
            let point = Vector3::new(p[0] as f64, p[1] as f64, p[2] as f64);
            let observed = intrinsics.normalize(&Vector2::new(k[0] as f64, k[1] as f64));
            (point, observed, k[2].min(1.0) as f64)
        })
        .collect()
}

/// The camera refined from `start` against a view's `observed` keypoints (maybe relabelled) in
/// pixels of a camera with `intrinsics`, and its mean robust cost in the last pass; `None` with
/// fewer than six usable keypoints.
fn refine_view(
    keypoints: &Keypoints3d,
    start: &Extrinsics,
    observed: &Keypoints2d,
    intrinsics: &Intrinsics,
    size: f64,
) -> Option<(Extrinsics, f64)> {
    let used = correspondences(keypoints, observed, intrinsics);
    if used.len() < 6 || !size.is_finite() || size <= 0.0 {
        return None;
    }
    let (mut pose, mut cost) = (*start, f64::INFINITY);
    for scale in REFINEMENT_SCALES {
        (pose, cost) = refine_pose(pose, &used, size, scale, REFINEMENT_STEPS);
    }
    Some((pose, cost))
}
