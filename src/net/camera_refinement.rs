//! The last, geometric step of an estimate: every view's camera is aligned with the fused body by
//! robust perspective-n-point refinement ([`crate::geometry::refine_pose`]) against that view's
//! keypoints, starting from the network's camera. The network's cameras come from each view's
//! own reading of the body's orientation; once the views agree on one body, its keypoints pin
//! every camera down more tightly than any single view could. Microseconds per view. Where the
//! views have BlazePose's extra keypoints, the feet's (heels and foot tips) are aligned too
//! ([`AlignmentPoints`]): a still T-pose's 17 keypoints lie nearly in a plane, which a camera
//! turned the other way about the body's vertical axis sees alike, and the feet point forward.
//!
//! A detector that swaps the person's left and right in a view seen from behind makes that view
//! look like a front view, and the network puts its camera in front of the person. So every view
//! is also tried, against the refined body, with its left and right exchanged and its camera
//! turned half a turn about the body's vertical axis; when that fits clearly better, the view's
//! labels are taken to be swapped ([`check_left_right`]).

use nalgebra::{Rotation3, Vector2, Vector3};

use super::input::{MultiViewFrame, ViewObservation};
use crate::data::format::MIN_CONFIDENCE;
use crate::data::labels::{flip_left_right, labelled_extra, refit_is_better};
use crate::data::{ExtraKeypoints2d, Keypoints3d};
use crate::geometry::{Correspondence, Extrinsics, refine_pose};
use crate::keypoints::{EXTRA_FEET, NUM_EXTRA_KEYPOINTS};

/// The fused body's points every camera is aligned with: its 17 keypoints and, when the body model
/// has an extra regressor, its feet's extra keypoints (heels and foot tips, BlazePose's), which
/// the views that detected them are aligned with too. The feet stand out of the plane of a still
/// T-pose, whose 17 keypoints a camera turned the other way about the body's vertical axis sees
/// nearly alike (plugin-docs, model card).
#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentPoints {
    /// The 17 keypoints (canonical frame).
    pub keypoints: Keypoints3d,
    /// The 16 extra keypoints (canonical frame), of which the feet's four are used.
    pub extra: Option<[[f32; 3]; NUM_EXTRA_KEYPOINTS]>,
}

/// Robust scales of the two refinement passes, fractions of the person's size in the image.
pub const REFINEMENT_SCALES: [f64; 2] = [0.1, 0.05];

/// Levenberg–Marquardt steps per pass at most (the network's camera is a close start).
pub const REFINEMENT_STEPS: usize = 6;

/// Refines the present `cameras` of `frame` (body to camera) against the canonical `keypoints`;
/// `sizes` are the views' person sizes (normalised image units). A view with fewer than six usable
/// keypoints keeps the network's camera. Returns every view's mean robust cost at the end (`None`
/// where it was not refined).
pub fn refine_cameras(
    keypoints: &AlignmentPoints,
    cameras: &mut [Option<Extrinsics>],
    frame: &MultiViewFrame,
    sizes: &[f64],
) -> Vec<Option<f64>> {
    let mut costs = vec![None; frame.views.len()];
    for (((camera, view), size), cost) in cameras.iter_mut().zip(&frame.views).zip(sizes).zip(&mut costs) {
        let (Some(start), Some(view)) = (camera.as_ref(), view.as_ref()) else { continue };
        if let Some((pose, c)) = refine_view(keypoints, start, view, *size) {
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
    keypoints: &AlignmentPoints,
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
        let mirrored = ViewObservation {
            keypoints: flip_left_right(&view.keypoints),
            intrinsics: view.intrinsics,
            extra: view.extra.map(|e| labelled_extra(&e, true)),
        };
        // The canonical centre lies on the vertical axis, so the turned camera keeps looking at it.
        let turned = Extrinsics::new(current.rotation * half_turn, current.translation);
        if let Some((pose, mirrored_cost)) = refine_view(keypoints, &turned, &mirrored, *size)
            && refit_is_better(mirrored_cost, cost)
        {
            *view = mirrored;
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
    keypoints: &AlignmentPoints,
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
            view_cost(keypoints, camera, view, *size, scale).is_some_and(|current| refit_is_better(*probed, current))
        })
        .collect()
}

/// A camera's mean robust cost against a view's keypoints at robust scale `scale` (no step).
fn view_cost(
    keypoints: &AlignmentPoints,
    camera: &Extrinsics,
    view: &ViewObservation,
    size: f64,
    scale: f64,
) -> Option<f64> {
    let used = correspondences(keypoints, view);
    (used.len() >= 6 && size.is_finite() && size > 0.0).then(|| refine_pose(*camera, &used, size, scale, 0).1)
}

/// The confident, finite keypoints of a view paired with the body's (finite too): the 17, then the
/// feet's extra keypoints where both the body and the view have them.
fn correspondences(points: &AlignmentPoints, view: &ViewObservation) -> Vec<Correspondence> {
    let pair = |p: &[f32; 3], k: &[f32; 3]| {
        (k[2] >= MIN_CONFIDENCE && k.iter().chain(p).all(|x| x.is_finite())).then(|| {
            let point = Vector3::new(p[0] as f64, p[1] as f64, p[2] as f64);
            let observed = view.intrinsics.normalize(&Vector2::new(k[0] as f64, k[1] as f64));
            (point, observed, k[2].min(1.0) as f64)
        })
    };
    let mut used: Vec<Correspondence> =
        points.keypoints.iter().zip(&view.keypoints).filter_map(|(p, k)| pair(p, k)).collect();
    if let (Some(body), Some(seen)) = (&points.extra, &view.extra) {
        used.extend(feet(body, seen).filter_map(|(p, k)| pair(p, k)));
    }
    used
}

/// The feet's extra keypoints (heels and foot tips) of a body and of a view, paired.
fn feet<'a>(
    body: &'a [[f32; 3]; NUM_EXTRA_KEYPOINTS],
    seen: &'a ExtraKeypoints2d,
) -> impl Iterator<Item = (&'a [f32; 3], &'a [f32; 3])> + 'a {
    EXTRA_FEET.iter().flat_map(|&(heel, tip)| [heel, tip]).map(move |e| (&body[e], &seen[e]))
}

/// The camera refined from `start` against a view's `observed` keypoints (maybe relabelled) in
/// pixels of a camera with `intrinsics`, and its mean robust cost in the last pass; `None` with
/// fewer than six usable keypoints.
fn refine_view(
    keypoints: &AlignmentPoints,
    start: &Extrinsics,
    view: &ViewObservation,
    size: f64,
) -> Option<(Extrinsics, f64)> {
    let used = correspondences(keypoints, view);
    if used.len() < 6 || !size.is_finite() || size <= 0.0 {
        return None;
    }
    let (mut pose, mut cost) = (*start, f64::INFINITY);
    for scale in REFINEMENT_SCALES {
        (pose, cost) = refine_pose(pose, &used, size, scale, REFINEMENT_STEPS);
    }
    Some((pose, cost))
}
