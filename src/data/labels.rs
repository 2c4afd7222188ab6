//! The left/right policy: every place that questions a detector's left and right labels (the
//! plugin's live repair, CMANet's check against the refined body, the CLI's repair over a sequence,
//! the calibrated baselines) decides here, with the thresholds named here. A detector can swap the
//! person's left and right in a view (typically the one that sees the person from behind).
//!
//! | who | decides with | margin |
//! |---|---|---|
//! | plugin, before the estimate | [`swapped_against_estimate`]: the previous estimate seen from the view | [`RELABEL_MARGIN`] |
//! | plugin, the feet alone | [`feet_swapped_against_estimate`]: the same, ankles only (a detector can cross the feet and nothing else) | [`RELABEL_MARGIN`], [`FEET_SWAP_MIN_FRACTION`] |
//! | CLI (`estimate`), training labels | [`repair_temporal`]: motion continuity over the sequence | [`RELABEL_MARGIN`] |
//! | `triangulate`, calibrated evaluation | [`repair_calibrated`]: the other views' triangulation | [`CALIBRATED_MARGIN`] |
//! | CMANet, after the body refinement | [`refit_is_better`]: the mirrored view's refitted camera cost | [`REFIT_MARGIN`] |

use nalgebra::{Matrix3x4, Vector3};

use super::format::{ExtraKeypoints2d, Keypoints2d, Keypoints3d};
use super::mv2d::Mv2d;
use crate::geometry::{Intrinsics, TriangulationSettings, triangulate_keypoints};
use crate::keypoints::EXTRA_FLIP;

/// Keypoints at least this confident take part in the left/right repairs (the CLI's and the
/// plugin's).
pub const RELABEL_MIN_CONFIDENCE: f32 = 0.3;
/// A view's keypoints are mirrored when their mirror lies this much closer to the reference (the
/// previous frame, or the previous estimate seen from the view).
pub const RELABEL_MARGIN: f32 = 0.5;

/// With calibrated cameras, a view's keypoints are mirrored when the mirrored labelling's
/// reprojection error, against the points triangulated from the other views, is below this
/// fraction of the recorded labelling's ([`repair_calibrated`]).
pub const CALIBRATED_MARGIN: f64 = 0.5;

/// CMANet takes a refitted alternative for a view (its labels exchanged and its camera turned half
/// a turn, or its camera aligned with the body alone) when the alternative's robust cost is below
/// this fraction of the view's current cost ([`refit_is_better`]). Chosen while CMANet's check
/// still ran before the body refinement (against the network's body): at 0.5, the 2D repairs'
/// margin, it missed most of the real sample's swaps from behind; at 0.9 it swapped correct views
/// of the synthetic validation set (mean camera error 6.2 -> 7.6°). At 0.7 after the body
/// refinement the validation set is unchanged and the real sample's back view is put on the wrong
/// side a quarter as often (plugin-docs: model card, real footage).
pub const REFIT_MARGIN: f64 = 0.7;

/// Whether a refitted alternative costing `alternative` is clearly better than the current fit
/// costing `current` ([`REFIT_MARGIN`]).
pub fn refit_is_better(alternative: f64, current: f64) -> bool {
    alternative < REFIT_MARGIN * current
}

/// The keypoints as the labelling `mirrored` says: exchanged when true, as detected otherwise.
pub fn labelled(kp: &Keypoints2d, mirrored: bool) -> Keypoints2d {
    if mirrored { flip_left_right(kp) } else { *kp }
}

pub use crate::keypoints::COCO_FLIP;

/// The extra keypoints as labelled for the person: left and right exchanged when the view is
/// `mirrored` (the same decision as [`labelled`] made for the view's COCO-17 keypoints).
pub fn labelled_extra(kp: &ExtraKeypoints2d, mirrored: bool) -> ExtraKeypoints2d {
    if mirrored { std::array::from_fn(|j| kp[EXTRA_FLIP[j]]) } else { *kp }
}

/// The keypoints with left and right exchanged.
pub fn flip_left_right(kp: &Keypoints2d) -> Keypoints2d {
    std::array::from_fn(|j| kp[COCO_FLIP[j]])
}

fn project(p: &Matrix3x4<f64>, x: &Vector3<f64>) -> Option<[f64; 2]> {
    let y = p * x.push(1.0);
    (y[2] > 1e-9).then(|| [y[0] / y[2], y[1] / y[2]])
}

/// Mean pixel distance of the confident keypoints of `kp` to the projections of `points`.
fn error(p: &Matrix3x4<f64>, kp: &Keypoints2d, points: &[Option<Vector3<f64>>], min_confidence: f32) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0;
    for (k, x) in kp.iter().zip(points) {
        if k[2] < min_confidence {
            continue;
        }
        if let Some(x) = x
            && let Some(uv) = project(p, x)
        {
            sum += ((uv[0] - k[0] as f64).powi(2) + (uv[1] - k[1] as f64).powi(2)).sqrt();
            n += 1;
        }
    }
    (n >= 6).then(|| sum / n as f64)
}

/// Chooses, for every frame and view, the left/right labelling consistent with the other views:
/// the keypoints are triangulated from the other views alone (robustly) and projected into the
/// view; when the mirrored labelling lies closer to them by a clear margin (its mean error below
/// `margin` times the recorded one's), the view's keypoints are mirrored. Returns the number of
/// frames mirrored per view, or `None` when the sequence has no extrinsics (or fewer than 3 views:
/// two views cannot outvote each other).
pub fn resolve_left_right_calibrated(
    data: &mut Mv2d,
    settings: &TriangulationSettings,
    margin: f64,
) -> Option<Vec<usize>> {
    let cameras = data.cameras()?;
    let views = data.num_views();
    if views < 3 {
        return None;
    }
    let proj: Vec<Matrix3x4<f64>> = cameras.iter().map(|c| c.projection_matrix()).collect();
    let min_conf = settings.min_confidence as f32;
    let mut flips = vec![0; views];
    for (f, frame) in data.keypoints2d.iter_mut().enumerate() {
        for v in 0..views {
            let others: Vec<usize> = (0..views).filter(|&u| u != v).collect();
            let p: Vec<Matrix3x4<f64>> = others.iter().map(|&u| proj[u]).collect();
            let k: Vec<Keypoints2d> = others.iter().map(|&u| frame[u]).collect();
            let points: Vec<Option<Vector3<f64>>> =
                triangulate_keypoints(&p, &k, settings).iter().map(|t| t.as_ref().map(|t| t.point)).collect();
            let flipped = flip_left_right(&frame[v]);
            if let (Some(straight), Some(mirrored)) =
                (error(&proj[v], &frame[v], &points, min_conf), error(&proj[v], &flipped, &points, min_conf))
                && mirrored < margin * straight
            {
                frame[v] = flipped;
                if let Some(extra) = data.extra2d.as_mut() {
                    extra[f][v] = labelled_extra(&extra[f][v], true);
                }
                flips[v] += 1;
            }
        }
    }
    Some(flips)
}

/// Mean pixel distance between the confident keypoints two frames of one view share.
fn frame_distance(a: &Keypoints2d, b: &Keypoints2d, min_confidence: f32) -> Option<f32> {
    let mut sum = 0.0;
    let mut n = 0;
    for (p, q) in a.iter().zip(b) {
        if p[2] >= min_confidence && q[2] >= min_confidence {
            sum += ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
            n += 1;
        }
    }
    (n >= 6).then(|| sum / n as f32)
}

/// Whether `kp` with left and right exchanged lies closer to `reference` than `kp` itself by a
/// clear margin (its mean distance below `margin` times the recorded labelling's), over the
/// keypoints confident in both; `None` when fewer than six are.
pub fn mirror_is_closer(kp: &Keypoints2d, reference: &Keypoints2d, min_confidence: f32, margin: f32) -> Option<bool> {
    let straight = frame_distance(kp, reference, min_confidence)?;
    let mirrored = frame_distance(&flip_left_right(kp), reference, min_confidence)?;
    Some(mirrored < margin * straight)
}

/// Whether a view's detected keypoints `kp` have left and right swapped, judged against an estimate
/// of the person in the view's camera frame (`keypoints_cam`, e.g. the previous frame's
/// [`crate::net::Estimate::keypoints_cam`]) projected through the view's `intrinsics`: true when
/// the mirrored labelling lies closer to the projection by a clear margin
/// ([`mirror_is_closer`] with [`RELABEL_MIN_CONFIDENCE`] and [`RELABEL_MARGIN`]); `None` when fewer
/// than six confident keypoints can be compared (or the estimate is not finite or not in front of
/// the camera).
pub fn swapped_against_estimate(
    kp: &Keypoints2d,
    intrinsics: &Intrinsics,
    keypoints_cam: &Keypoints3d,
) -> Option<bool> {
    mirror_is_closer(kp, &projected(intrinsics, keypoints_cam), RELABEL_MIN_CONFIDENCE, RELABEL_MARGIN)
}

/// An estimate in a camera's frame projected to pixels, confidence 1 (0 where it cannot be seen).
fn projected(intrinsics: &Intrinsics, keypoints_cam: &Keypoints3d) -> Keypoints2d {
    std::array::from_fn(|k| {
        let p = nalgebra::Vector3::new(keypoints_cam[k][0], keypoints_cam[k][1], keypoints_cam[k][2]).cast::<f64>();
        match intrinsics.project(&p).filter(|uv| uv.x.is_finite() && uv.y.is_finite()) {
            Some(uv) => [uv.x as f32, uv.y as f32, 1.0],
            None => [0.0, 0.0, 0.0],
        }
    })
}

/// The feet's labels are only questioned when the detected ankles are at least this far (summed,
/// as a fraction of the person's size in the view) from the previous estimate's: feet that lie on
/// each other in a view (a stride seen from the side) look alike both ways.
pub const FEET_SWAP_MIN_FRACTION: f32 = 0.08;

/// The COCO-17 ankles (left, right).
const ANKLES: [usize; 2] = [15, 16];

/// Whether a view's detector exchanged the person's left and right ankle and nothing else (it
/// happens when the feet pass each other in a stride), judged like [`swapped_against_estimate`]
/// on the ankles alone: true when both are confident, they lie at least [`FEET_SWAP_MIN_FRACTION`]
/// of the person's size from the previous estimate's, and exchanged they lie closer by
/// [`RELABEL_MARGIN`]. `kp` as the estimate will use it (after any whole-view relabelling).
pub fn feet_swapped_against_estimate(kp: &Keypoints2d, intrinsics: &Intrinsics, keypoints_cam: &Keypoints3d) -> bool {
    let reference = projected(intrinsics, keypoints_cam);
    let [l, r] = ANKLES;
    if [kp[l], kp[r]].iter().any(|p| p[2] < RELABEL_MIN_CONFIDENCE)
        || [reference[l], reference[r]].iter().any(|p| p[2] <= 0.0)
    {
        return false;
    }
    let size = crate::geometry::person_size(
        reference.iter().filter(|p| p[2] > 0.0).map(|p| nalgebra::Vector2::new(p[0] as f64, p[1] as f64)),
    );
    let Some(size) = size.map(|s| s as f32).filter(|s| *s > 0.0) else { return false };
    let d = |a: [f32; 3], b: [f32; 3]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let straight = d(kp[l], reference[l]) + d(kp[r], reference[r]);
    let exchanged = d(kp[l], reference[r]) + d(kp[r], reference[l]);
    straight > FEET_SWAP_MIN_FRACTION * size && exchanged < RELABEL_MARGIN * straight
}

/// `kp` and its extras with the left and right foot exchanged (ankles, heels, foot tips).
pub fn exchange_feet(kp: &mut Keypoints2d, extra: Option<&mut ExtraKeypoints2d>) {
    kp.swap(ANKLES[0], ANKLES[1]);
    if let Some(extra) = extra {
        let [(left_heel, left_tip), (right_heel, right_tip)] = crate::keypoints::EXTRA_FEET;
        extra.swap(left_heel, right_heel);
        extra.swap(left_tip, right_tip);
    }
}

/// [`resolve_left_right_calibrated`] with the policy's [`CALIBRATED_MARGIN`].
pub fn repair_calibrated(data: &mut Mv2d, settings: &TriangulationSettings) -> Option<Vec<usize>> {
    resolve_left_right_calibrated(data, settings, CALIBRATED_MARGIN)
}

/// [`resolve_left_right_temporal`] with the policy's [`RELABEL_MIN_CONFIDENCE`] and
/// [`RELABEL_MARGIN`]: the repair of a sequence whose cameras are unknown.
pub fn repair_temporal(data: &mut Mv2d) -> Vec<usize> {
    resolve_left_right_temporal(data, RELABEL_MIN_CONFIDENCE, RELABEL_MARGIN)
}

/// Chooses each view's left/right labelling per frame without cameras, from motion continuity: a
/// frame is mirrored when its mirrored keypoints lie closer to the previous (relabelled) frame of
/// the same view by a clear margin (mean distance below `margin` times the recorded one's). The
/// labelling of the whole view is then chosen so that most frames keep the detector's labels (the
/// detector is right most of the time). Returns the number of frames mirrored per view.
///
/// Real motion is continuous at video frame rates while a detector's swap is a jump, but limbs
/// that cross (legs in a stride seen from the side) can look alike both ways: the calibrated
/// [`resolve_left_right_calibrated`] is more reliable when the cameras are known.
pub fn resolve_left_right_temporal(data: &mut Mv2d, min_confidence: f32, margin: f32) -> Vec<usize> {
    let views = data.num_views();
    let mut flips = vec![0; views];
    for (v, count) in flips.iter_mut().enumerate() {
        let mut mirrored = vec![false; data.num_frames()];
        let mut previous: Option<Keypoints2d> = None;
        for (f, m) in mirrored.iter_mut().enumerate() {
            let kp = data.keypoints2d[f][v];
            if let Some(prev) = &previous
                && let Some(mirror) = mirror_is_closer(&kp, prev, min_confidence, margin)
            {
                *m = mirror;
            }
            let chosen = if *m { flip_left_right(&kp) } else { kp };
            if chosen.iter().filter(|k| k[2] >= min_confidence).count() >= 6 {
                previous = Some(chosen);
            }
        }
        // The chain fixes the labels up to one global choice: keep the detector's in most frames.
        let flipped_frames = mirrored.iter().filter(|&&m| m).count();
        let invert = 2 * flipped_frames > mirrored.len();
        for (f, &m) in mirrored.iter().enumerate() {
            if m != invert {
                data.keypoints2d[f][v] = flip_left_right(&data.keypoints2d[f][v]);
                if let Some(extra) = data.extra2d.as_mut() {
                    extra[f][v] = labelled_extra(&extra[f][v], true);
                }
                *count += 1;
            }
        }
    }
    flips
}
