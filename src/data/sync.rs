//! Time offsets between unsynchronised views.
//!
//! - From the keypoints' motion alone ([`estimate_time_offsets`], the idea of Pose2Sim's
//!   synchronisation): each view's 2D keypoint speed over time, summed over the body and
//!   normalised, is cross-correlated with the reference view's; the lag with the highest
//!   correlation is the view's offset. Speeds are measured per left/right pair in a way that does
//!   not change when a view swaps left and right. Needs clear, non-periodic motion: on short clips of
//!   slow movement it can lock onto the wrong lag.
//! - From calibrated cameras ([`estimate_time_offsets_calibrated`]): for each lag, every keypoint
//!   seen by the reference view and the shifted view is triangulated from the two and reprojected;
//!   the lag with the smallest median reprojection error wins. Much more reliable when the
//!   extrinsics are known.

use nalgebra::{Matrix3x4, Matrix4, Vector4};

use crate::geometry::projection_matrix;

use super::format::{Keypoints2d, MIN_CONFIDENCE};
use super::mv2d::Mv2d;

/// Keypoints whose speed counts: the nose alone, then the left/right pairs (COCO-17 indices).
const PAIRS: [(usize, usize); 6] = [(5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)];

fn dist(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The body's 2D speed between two frames of one view (pixels per frame, normalised by the body's
/// size in the first), or `None` when too little of the body is seen in both.
fn speed(a: &Keypoints2d, b: &Keypoints2d) -> Option<f32> {
    let seen = |k: &[f32; 3]| k[2] > MIN_CONFIDENCE.max(0.3);
    let mut sum = 0.0;
    let mut n = 0;
    if seen(&a[0]) && seen(&b[0]) {
        sum += 2.0 * dist(&a[0], &b[0]);
        n += 2;
    }
    for &(l, r) in &PAIRS {
        if seen(&a[l]) && seen(&a[r]) && seen(&b[l]) && seen(&b[r]) {
            let straight = dist(&a[l], &b[l]) + dist(&a[r], &b[r]);
            let swapped = dist(&a[l], &b[r]) + dist(&a[r], &b[l]);
            sum += straight.min(swapped);
            n += 2;
        }
    }
    // Scale: the spread of the seen keypoints.
    let pts: Vec<&[f32; 3]> = a.iter().filter(|k| seen(k)).collect();
    if n < 6 || pts.len() < 4 {
        return None;
    }
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &pts {
        for d in 0..2 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    (size > 1.0).then(|| sum / n as f32 / size)
}

/// Per-frame speed signal of view `v` (`None` where unknown), lightly smoothed.
fn signal(data: &Mv2d, v: usize) -> Vec<Option<f32>> {
    let raw: Vec<Option<f32>> = (0..data.num_frames().saturating_sub(1))
        .map(|f| speed(&data.keypoints2d[f][v], &data.keypoints2d[f + 1][v]))
        .collect();
    // A 3-frame median keeps real motion and drops single-frame detector glitches.
    (0..raw.len())
        .map(|f| {
            let mut w: Vec<f32> = (f.saturating_sub(1)..(f + 2).min(raw.len())).filter_map(|i| raw[i]).collect();
            if w.is_empty() {
                return None;
            }
            w.sort_by(f32::total_cmp);
            Some(w[w.len() / 2])
        })
        .collect()
}

/// Pearson correlation of `a[f]` with `b[f + lag]` over the frames where both are known.
fn correlation(a: &[Option<f32>], b: &[Option<f32>], lag: i64) -> Option<(f64, usize)> {
    let pairs: Vec<(f64, f64)> = (0..a.len() as i64)
        .filter_map(|f| {
            let g = f + lag;
            if g < 0 || g >= b.len() as i64 {
                return None;
            }
            Some((a[f as usize]? as f64, b[g as usize]? as f64))
        })
        .collect();
    let n = pairs.len();
    if n < 10 {
        return None;
    }
    let (ma, mb) =
        (pairs.iter().map(|p| p.0).sum::<f64>() / n as f64, pairs.iter().map(|p| p.1).sum::<f64>() / n as f64);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt(), n))
}

/// One view's estimated offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeOffset {
    /// Frames: the reference view's frame `f` shows the same instant as this view's frame
    /// `f + frames`.
    pub frames: i64,
    /// How well the views agree at that lag: the correlation of the speed signals (motion, higher
    /// is better, 1 for the reference view) or the median two-view reprojection error in pixels
    /// (calibrated, lower is better, 0 for the reference view).
    pub score: f64,
}

impl TimeOffset {
    /// Whether the offset was measured at all by `method`: some lag had keypoints seen in both
    /// views (calibrated: a finite error) or speeds that correlate (motion: a positive
    /// correlation). An unmeasured offset is 0 by default, not a finding.
    pub fn is_measured(&self, method: SyncMethod) -> bool {
        match method {
            SyncMethod::Calibrated => self.score.is_finite(),
            SyncMethod::Motion => self.score > 0.0,
        }
    }
}

/// Estimates every view's time offset relative to view `reference`, searching lags up to
/// `max_lag` frames. Views whose speed cannot be correlated get offset 0 and correlation 0.
pub fn estimate_time_offsets(data: &Mv2d, reference: usize, max_lag: usize) -> Vec<TimeOffset> {
    let signals: Vec<_> = (0..data.num_views()).map(|v| signal(data, v)).collect();
    let max_lag = max_lag as i64;
    (0..data.num_views())
        .map(|v| {
            if v == reference {
                return TimeOffset { frames: 0, score: 1.0 };
            }
            let mut best = TimeOffset { frames: 0, score: 0.0 };
            for lag in -max_lag..=max_lag {
                if let Some((c, _)) = correlation(&signals[reference], &signals[v], lag)
                    && c > best.score
                {
                    best = TimeOffset { frames: lag, score: c };
                }
            }
            best
        })
        .collect()
}

/// Two-view DLT triangulation of one keypoint, reprojection error (pixels, the larger of the two).
fn two_view_error(p: &Matrix3x4<f64>, q: &Matrix3x4<f64>, a: &[f32; 3], b: &[f32; 3]) -> Option<f64> {
    let mut m = Matrix4::zeros();
    for (row, (proj, uv)) in [(p, a), (q, b)].into_iter().enumerate() {
        let (u, v) = (uv[0] as f64, uv[1] as f64);
        m.set_row(2 * row, &(proj.row(2) * u - proj.row(0)));
        m.set_row(2 * row + 1, &(proj.row(2) * v - proj.row(1)));
    }
    let svd = m.svd(false, true);
    let v_t = svd.v_t?;
    let (i, _) = svd.singular_values.iter().enumerate().min_by(|x, y| x.1.total_cmp(y.1))?;
    let x: Vector4<f64> = v_t.row(i).transpose();
    if x[3].abs() < 1e-12 {
        return None;
    }
    let x = x / x[3];
    let mut worst: f64 = 0.0;
    for (proj, uv) in [(p, a), (q, b)] {
        let y = proj * x;
        if y[2] <= 0.0 {
            return None;
        }
        worst = worst.max(((y[0] / y[2] - uv[0] as f64).powi(2) + (y[1] / y[2] - uv[1] as f64).powi(2)).sqrt());
    }
    Some(worst)
}

/// How [`synchronise`] found the offsets, and so what each [`TimeOffset::score`] means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMethod {
    /// From the true cameras: the score is the median two-view reprojection error, pixels.
    Calibrated,
    /// From the keypoints' motion: the score is the speed correlation.
    Motion,
}

/// The minimum confidence of the keypoints [`synchronise`] compares with calibrated cameras.
pub const SYNC_MIN_CONFIDENCE: f32 = 0.5;

/// Every view's time offset relative to view 0, searching lags up to `max_lag` frames: from the
/// true cameras when the sequence has them ([`estimate_time_offsets_calibrated`], keypoints at
/// least [`SYNC_MIN_CONFIDENCE`] confident), else from the keypoints' motion
/// ([`estimate_time_offsets`]).
pub fn synchronise(data: &Mv2d, max_lag: usize) -> (Vec<TimeOffset>, SyncMethod) {
    match estimate_time_offsets_calibrated(data, 0, max_lag, SYNC_MIN_CONFIDENCE) {
        Some(offsets) => (offsets, SyncMethod::Calibrated),
        None => (estimate_time_offsets(data, 0, max_lag), SyncMethod::Motion),
    }
}

/// Estimates every view's time offset relative to view `reference` from the true cameras (see the
/// module doc), searching lags up to `max_lag` frames; `None` when the sequence has no extrinsics.
/// Keypoints count when their confidence is at least `min_confidence` in both views.
pub fn estimate_time_offsets_calibrated(
    data: &Mv2d,
    reference: usize,
    max_lag: usize,
    min_confidence: f32,
) -> Option<Vec<TimeOffset>> {
    let extrinsics = data.extrinsics.as_ref()?;
    let proj: Vec<Matrix3x4<f64>> =
        data.intrinsics.iter().zip(extrinsics).map(|(k, e)| projection_matrix(k, e)).collect();
    let frames = data.num_frames() as i64;
    let max_lag = max_lag as i64;
    Some(
        (0..data.num_views())
            .map(|v| {
                if v == reference {
                    return TimeOffset { frames: 0, score: 0.0 };
                }
                let mut best = TimeOffset { frames: 0, score: f64::INFINITY };
                for lag in -max_lag..=max_lag {
                    let mut errors = Vec::new();
                    for f in 0..frames {
                        let g = f + lag;
                        if g < 0 || g >= frames {
                            continue;
                        }
                        let (a, b) = (&data.keypoints2d[f as usize][reference], &data.keypoints2d[g as usize][v]);
                        for (ka, kb) in a.iter().zip(b) {
                            if ka[2] >= min_confidence && kb[2] >= min_confidence {
                                errors.extend(two_view_error(&proj[reference], &proj[v], ka, kb));
                            }
                        }
                    }
                    if errors.len() < 20 {
                        continue;
                    }
                    errors.sort_by(f64::total_cmp);
                    let median = errors[errors.len() / 2];
                    if median < best.score {
                        best = TimeOffset { frames: lag, score: median };
                    }
                }
                if best.score.is_finite() { best } else { TimeOffset { frames: 0, score: f64::NAN } }
            })
            .collect(),
    )
}

/// The time offsets (frames, see [`TimeOffset`]) a sequence was shifted by, from the
/// `time_offsets` metadata that [`apply_time_offsets`] writes; `None` when it has none or it does
/// not read as one offset per view.
pub fn time_offsets(data: &Mv2d) -> Option<Vec<i64>> {
    let text = data.metadata.get("time_offsets")?;
    let list = text.strip_prefix("frames ")?.split(';').next()?;
    let offsets: Vec<i64> = list.split(',').map(|o| o.trim().parse().ok()).collect::<Option<_>>()?;
    (offsets.len() == data.num_views()).then_some(offsets)
}

/// The sequence with view `v`'s frames shifted by `offsets[v]` frames (see [`TimeOffset`]), cut
/// to the frames every view has. Ground truth per frame, if any, follows the reference (offset 0)
/// view's timeline.
pub fn apply_time_offsets(data: &Mv2d, offsets: &[i64]) -> Mv2d {
    let frames = data.num_frames() as i64;
    let start = offsets.iter().map(|&o| -o).max().unwrap_or(0).max(0);
    let end = offsets.iter().map(|&o| frames - o).min().unwrap_or(frames).min(frames).max(start);
    let mut out = data.clone();
    out.keypoints2d = (start..end)
        .map(|f| offsets.iter().enumerate().map(|(v, &o)| data.keypoints2d[(f + o) as usize][v]).collect())
        .collect();
    out.extra2d = data.extra2d.as_ref().map(|extra| {
        (start..end).map(|f| offsets.iter().enumerate().map(|(v, &o)| extra[(f + o) as usize][v]).collect()).collect()
    });
    let range = start as usize..end as usize;
    out.joints3d = data.joints3d.as_ref().map(|j| j[range.clone()].to_vec());
    out.extra3d = data.extra3d.as_ref().map(|j| j[range.clone()].to_vec());
    out.params = data.params.as_ref().map(|p| p[range.clone()].to_vec());
    out.frame_time = data.frame_time.as_ref().map(|t| t[range.clone()].to_vec());
    out.metadata.insert(
        "time_offsets".into(),
        format!(
            "frames {}; first frame {start} of the reference view",
            offsets.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(",")
        ),
    );
    out
}
