//! Time offsets of recorded views (video files, image folders) that were not started together,
//! measured from what they show: the first frames of every view are detected and
//! `data::sync::synchronise` finds each view's lag to the first, from two-view reprojection when
//! the cameras are known, else from the keypoints' motion (as `cmanet detect --sync`).

use std::path::PathBuf;

use super::DetectError;
use super::pose::PoseDetector;
use super::sequence::{SequenceSettings, detect_views};
use crate::data::sync::{SyncMethod, TimeOffset, synchronise};
use crate::geometry::{Extrinsics, Intrinsics};

/// The measured offsets.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredOffsets {
    /// Each view's offset, seconds: the first view's frame at time `t` shows the instant this view's
    /// frame at `t + seconds` shows (so it is the view's `time_offset`).
    pub seconds: Vec<f64>,
    /// The same in frames of the first view, with how well the views agree there.
    pub offsets: Vec<TimeOffset>,
    /// How they were measured.
    pub method: SyncMethod,
}

/// Measures the time offsets of `views` (folders or video files) over their first
/// `settings.max_frames` frames, lags up to `max_lag` frames. `cameras`, when every view's camera is
/// known (intrinsics for the frames' size and world-to-camera extrinsics), makes the measure the
/// calibrated one.
pub fn measure_time_offsets(
    detector: &PoseDetector,
    views: &[PathBuf],
    settings: &SequenceSettings,
    cameras: Option<Vec<(Intrinsics, Extrinsics)>>,
    max_lag: usize,
) -> Result<MeasuredOffsets, DetectError> {
    let (mut data, _) = detect_views(detector, views, settings, &|| {})?;
    if data.num_frames() < 2 * max_lag.max(1) {
        return Err(DetectError::Sequence(format!(
            "{} frames are too few to measure lags of up to {max_lag} frames (at least {})",
            data.num_frames(),
            2 * max_lag.max(1)
        )));
    }
    if let Some(cameras) = cameras.filter(|c| c.len() == views.len()) {
        data.intrinsics = cameras.iter().map(|c| c.0).collect();
        data.extrinsics = Some(cameras.iter().map(|c| c.1).collect());
    }
    let (offsets, method) = synchronise(&data, max_lag);
    // One frame of the first view: from its timestamps (videos), else the sequence's rate.
    let interval = match &data.frame_time {
        Some(t) if t.len() > 1 => (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64,
        _ => 1.0 / data.fps as f64,
    };
    let seconds = offsets.iter().map(|o| o.frames as f64 * interval).collect();
    Ok(MeasuredOffsets { seconds, offsets, method })
}
