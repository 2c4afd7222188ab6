//! Detections that jump in one view alone. A detector is sometimes confidently wrong about one
//! keypoint in one view (a wrist hidden behind the body, taken for the other one): it puts the
//! keypoint far from where the previous estimate had it, while every other view that sees the
//! keypoint puts it close. Where that view is the only one that fixes the keypoint along some
//! direction (four cameras in a ring: the two that see it from opposite sides cannot say how far
//! along their common axis it is), the body refinement follows it. So before anything reads a frame
//! of a stream, such a keypoint's confidence is scaled down ([`JumpSettings::confidence_scale`]);
//! the robust fit then leaves it to the other views, the previous body and the network.
//!
//! A keypoint that really moves fast moves in every view that sees it across its motion, so it is
//! not one view alone; one that moves along the line of sight of all but one view is, and is held
//! back for as long as that lasts (the settings below were chosen on the development recordings,
//! plugin-docs, model card, "Detections that jump in one view alone").

use nalgebra::{Vector2, Vector3};

use super::input::MultiViewFrame;
use super::model::Estimate;
use crate::body::NUM_KEYPOINTS;
use crate::geometry::person_size;
use crate::keypoints::COCO_FLIP;

/// The confidence from which a keypoint counts as seen by a view, for the gate (the detector's
/// confident keypoints: a lower one already weighs little).
pub const JUMP_MIN_CONFIDENCE: f32 = 0.5;

/// How a keypoint that jumps in one view alone is told apart and what is done with it
/// ([`gate_jumps`]).
#[derive(Clone, Debug, PartialEq)]
pub struct JumpSettings {
    /// Whether keypoints are gated at all. Default: true.
    pub enabled: bool,
    /// How many times farther from the previous estimate than the median of the other views' (for
    /// the same keypoint) a view's keypoint must be. Default: 3.
    pub ratio: f64,
    /// The least distance from the previous estimate that counts as a jump, as a fraction of the
    /// person's size in that view (bounding-box diagonal, [`person_size`]). Default: 0.15.
    pub floor: f64,
    /// What a jumping keypoint's confidence is multiplied by. Default: 0.1.
    pub confidence_scale: f32,
    /// The most keypoints of one view that may jump alone in a frame; where more do, none is
    /// scaled (the view moved as a whole or in part). Default: 2.
    pub max_per_view: usize,
}

impl Default for JumpSettings {
    fn default() -> Self {
        Self { enabled: true, ratio: 3.0, floor: 0.15, confidence_scale: 0.1, max_per_view: 2 }
    }
}

/// Scales down, in `frame`, the confidence of every keypoint that jumps in one view alone against
/// the `previous` estimate of the stream (its keypoints in each view's camera, the views in the
/// same order): a view puts it farther from where the previous estimate projects it than
/// `settings.floor` of the person's size and `settings.ratio` times both the median of the other
/// views' distances for that keypoint (at least two other views must see it) and the median of
/// that view's own keypoints' distances, and at most `settings.max_per_view` keypoints of the view
/// do so. Returns how many were scaled.
pub fn gate_jumps(frame: &mut MultiViewFrame, previous: &Estimate, settings: &JumpSettings) -> usize {
    if !settings.enabled || previous.keypoints_cam.len() != frame.views.len() {
        return 0;
    }
    // Per view: the person's size and every keypoint's distance from the previous estimate
    // (normalised image units; `None` where the view does not see it confidently or has no
    // previous camera).
    let distances: Vec<Option<(f64, [Option<f64>; NUM_KEYPOINTS])>> = frame
        .views
        .iter()
        .zip(&previous.keypoints_cam)
        .map(|(view, before)| {
            let (view, before) = (view.as_ref()?, before.as_ref()?);
            let seen = |k: &[f32; 3]| k[2] >= JUMP_MIN_CONFIDENCE && k.iter().all(|x| x.is_finite());
            let detected = |k: &[f32; 3]| view.intrinsics.normalize(&Vector2::new(k[0] as f64, k[1] as f64));
            let size = person_size(view.keypoints.iter().filter(|k| seen(k)).map(detected))?;
            // How far the detection of `k` lies from where the previous estimate had keypoint `at`.
            let from = |k: usize, at: usize| {
                let point = Vector3::from(before[at]).cast::<f64>();
                let keypoint = &view.keypoints[k];
                (seen(keypoint) && point.z > 1e-6)
                    .then(|| (detected(keypoint) - point.xy() / point.z).norm())
                    .filter(|d| d.is_finite())
            };
            let own: [Option<f64>; NUM_KEYPOINTS] = std::array::from_fn(|k| from(k, k));
            // Whether the detection of `k` lies nearer its left/right partner's previous place.
            let crossed: [bool; NUM_KEYPOINTS] = std::array::from_fn(
                |k| matches!((from(k, COCO_FLIP[k]), own[k]), (Some(c), Some(d)) if COCO_FLIP[k] != k && c < d),
            );
            // A left/right pair whose two detections each lie nearer the other's previous place is
            // the view's labels swapped, which the left/right check judges: neither jumps. One
            // wrist put where the other one is (both detections on one wrist) is the mistake this
            // is for, and still jumps (measured: counting every keypoint's partner's place as well
            // loses the whole gain on the studio; plugin-docs, model card).
            let distance = std::array::from_fn(|k| own[k].filter(|_| !(crossed[k] && crossed[COCO_FLIP[k]])));
            Some((size, distance))
        })
        .collect();
    // Per view, the median distance of its keypoints: a view whose keypoints are all far (its camera
    // was off in the previous estimate, or the whole body moved in it) has no keypoint jumping alone.
    let view_medians: Vec<Option<f64>> =
        distances.iter().map(|d| d.as_ref().and_then(|(_, d)| median(d.iter().flatten().copied().collect()))).collect();
    // Per view, the keypoints that jump alone.
    let mut jumping: Vec<Vec<usize>> = vec![Vec::new(); frame.views.len()];
    for k in 0..NUM_KEYPOINTS {
        let of: Vec<Option<f64>> = distances.iter().map(|d| d.as_ref().and_then(|(_, d)| d[k])).collect();
        for (v, jumps) in jumping.iter_mut().enumerate() {
            let (Some((size, _)), Some(distance), Some(own)) = (&distances[v], of[v], view_medians[v]) else {
                continue;
            };
            let others: Vec<f64> = of.iter().enumerate().filter(|(u, _)| *u != v).filter_map(|(_, d)| *d).collect();
            let Some(others) = median(others).filter(|_| of.iter().flatten().count() > 2) else {
                continue;
            };
            if distance > (settings.ratio * others.max(own)).max(settings.floor * size) {
                jumps.push(k);
            }
        }
    }
    // A view in which more keypoints jump than `max_per_view` moved as a whole or in part (a limb
    // shifted, the labels swapped): that is the left/right check's and the robust fit's to judge.
    let mut gated = 0;
    for (view, jumps) in frame.views.iter_mut().zip(&jumping) {
        if let Some(view) = view.as_mut().filter(|_| jumps.len() <= settings.max_per_view) {
            for &k in jumps {
                view.keypoints[k][2] *= settings.confidence_scale;
                gated += 1;
            }
        }
    }
    gated
}

/// The median of some numbers (the mean of the middle two for an even count); `None` for none.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let half = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 0 => Some(0.5 * (values[half - 1] + values[half])),
        _ => Some(values[half]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{NUM_BODY_JOINTS, NUM_JOINTS};
    use crate::geometry::Intrinsics;
    use crate::net::{Learned, ViewObservation};

    const INTRINSICS: Intrinsics = Intrinsics { fx: 500.0, fy: 500.0, cx: 320.0, cy: 240.0 };

    /// A previous estimate whose keypoints sit, in each of `views` cameras, on a vertical line 3 m
    /// in front (10 cm apart) but for the wrists, held out 60 cm to either side, and the frame
    /// that sees them there, every keypoint confident.
    fn stream(views: usize) -> (Estimate, MultiViewFrame) {
        let points: [[f32; 3]; NUM_KEYPOINTS] = std::array::from_fn(|k| match k {
            9 => [0.6, 0.1, 3.0],
            10 => [-0.6, 0.2, 3.0],
            _ => [0.05 * (k % 3) as f32, -0.8 + 0.1 * k as f32, 3.0],
        });
        let previous = Estimate {
            body_pose: [Vector3::zeros(); NUM_BODY_JOINTS],
            betas: Default::default(),
            cameras: vec![None; views],
            joints: [Vector3::zeros(); NUM_JOINTS],
            keypoints: points,
            keypoints_cam: vec![Some(points); views],
            screened_view: 0,
            swapped_views: vec![false; views],
            learned: Learned::default(),
            cost: None,
        };
        let seen = points.map(|p| {
            let pixel = INTRINSICS.to_pixel(&Vector2::new((p[0] / p[2]) as f64, (p[1] / p[2]) as f64));
            [pixel.x as f32, pixel.y as f32, 0.9]
        });
        let view = ViewObservation { keypoints: seen, intrinsics: INTRINSICS, extra: None };
        (previous, MultiViewFrame { views: vec![Some(view); views] })
    }

    fn moved(frame: &mut MultiViewFrame, view: usize, keypoint: usize, pixels: f32) {
        if let Some(v) = frame.views[view].as_mut() {
            v.keypoints[keypoint][0] += pixels;
        }
    }

    /// Whether the gate scales nothing in `frame` and leaves it exactly as it was.
    fn left_alone(frame: &mut MultiViewFrame, previous: &Estimate, settings: &JumpSettings) -> bool {
        let before = frame.clone();
        gate_jumps(frame, previous, settings) == 0 && *frame == before
    }

    fn confidence(frame: &MultiViewFrame, view: usize, keypoint: usize) -> f32 {
        frame.views[view].as_ref().map_or(0.0, |v| v.keypoints[keypoint][2])
    }

    #[test]
    fn a_keypoint_that_jumps_in_one_view_alone_weighs_less() {
        let (previous, mut frame) = stream(4);
        // The person is about 270 px tall here: 80 px is well beyond the floor.
        moved(&mut frame, 2, 9, 80.0);
        moved(&mut frame, 1, 9, 2.0);
        let settings = JumpSettings::default();
        assert_eq!(gate_jumps(&mut frame, &previous, &settings), 1);
        assert!((confidence(&frame, 2, 9) - 0.9 * settings.confidence_scale).abs() < 1e-6);
        for (v, k) in [(0, 9), (1, 9), (3, 9), (2, 8), (2, 10)] {
            assert_eq!(confidence(&frame, v, k), 0.9, "view {v} keypoint {k}");
        }
    }

    #[test]
    fn a_keypoint_that_moves_in_every_view_or_a_little_is_kept() {
        let (previous, mut frame) = stream(4);
        // Every view sees the wrist move (a fast arm), and one view sees the elbow move a little.
        for v in 0..4 {
            moved(&mut frame, v, 9, 60.0 + 10.0 * v as f32);
        }
        moved(&mut frame, 0, 7, 15.0);
        assert!(left_alone(&mut frame, &previous, &JumpSettings::default()));
    }

    #[test]
    fn too_few_witnesses_or_the_gate_off_leave_the_frame_as_it_is() {
        // Two views: the other one alone cannot say which is wrong.
        let (previous, mut frame) = stream(2);
        moved(&mut frame, 1, 9, 80.0);
        assert!(left_alone(&mut frame, &previous, &JumpSettings::default()));
        // Four views, the gate off; and a previous estimate of another rig (three views).
        let (previous, mut frame) = stream(4);
        moved(&mut frame, 2, 9, 80.0);
        let off = JumpSettings { enabled: false, ..Default::default() };
        assert!(left_alone(&mut frame, &previous, &off));
        let (other_rig, _) = stream(3);
        assert!(left_alone(&mut frame, &other_rig, &JumpSettings::default()));
    }

    #[test]
    fn a_view_that_moved_as_a_whole_or_in_part_is_left_to_the_fit() {
        // A view whose camera was off in the previous estimate: every keypoint 30 px away (under
        // the floor), one 80 px (over it, but under three times the view's own median).
        let (previous, mut frame) = stream(4);
        for k in 0..NUM_KEYPOINTS {
            moved(&mut frame, 1, k, 30.0);
        }
        moved(&mut frame, 1, 9, 50.0);
        // Another view's arm shifted (shoulder, elbow, wrist: more than two keypoints).
        for k in [5, 7, 9] {
            moved(&mut frame, 3, k, 70.0);
        }
        assert!(left_alone(&mut frame, &previous, &JumpSettings::default()));
        // The same arm with two keypoints jumping is gated.
        let (previous, mut frame) = stream(4);
        for k in [7, 9] {
            moved(&mut frame, 3, k, 70.0);
        }
        assert_eq!(gate_jumps(&mut frame, &previous, &JumpSettings::default()), 2);
    }

    #[test]
    fn a_wrist_taken_for_the_other_one_is_a_jump() {
        let (previous, mut frame) = stream(4);
        if let Some(v) = frame.views[2].as_mut() {
            v.keypoints[9] = v.keypoints[10];
        }
        assert_eq!(gate_jumps(&mut frame, &previous, &JumpSettings::default()), 1);
        assert!(confidence(&frame, 2, 9) < 0.1 && confidence(&frame, 2, 10) == 0.9);
    }

    #[test]
    fn wrists_swapped_between_left_and_right_are_the_left_right_checks() {
        let (previous, mut frame) = stream(4);
        if let Some(v) = frame.views[2].as_mut() {
            v.keypoints.swap(9, 10);
        }
        assert!(left_alone(&mut frame, &previous, &JumpSettings::default()));
    }

    #[test]
    fn non_finite_keypoints_are_never_witnesses_nor_gated() {
        let (previous, mut frame) = stream(4);
        if let Some(v) = frame.views[0].as_mut() {
            v.keypoints[9] = [f32::NAN, f32::NAN, 1.0];
        }
        moved(&mut frame, 2, 9, 80.0);
        assert_eq!(gate_jumps(&mut frame, &previous, &JumpSettings::default()), 1);
        assert!(confidence(&frame, 0, 9) == 1.0 && confidence(&frame, 2, 9) < 0.1);
    }
}
