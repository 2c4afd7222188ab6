//! [`SyncRecordings`]: the time offsets of recorded views (video files, image sequences) that were
//! not started together, measured once from their first frames off the main thread
//! (`detect::measure_time_offsets`: from two-view reprojection when every camera is known, else
//! from the keypoints' motion) and set as each view's `time_offset`, which the panel shows and
//! lets you change.

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task, futures::check_ready};

use super::capture::{CaptureView, ImageSequence, camera_extrinsics};
use super::messages::{CmanetWarning, warn};
use super::video::VideoFile;
use crate::data::sync::SyncMethod;
use crate::detect::{LandmarkModel, MeasuredOffsets, PoseDetector, SequenceSettings, measure_time_offsets};
use crate::geometry::{Extrinsics, Intrinsics};

/// Insert it to have the recorded views' time offsets measured once and set (see the module's
/// header); it then holds the result.
#[derive(Resource)]
pub struct SyncRecordings {
    /// The largest lag searched, frames of the first view. Default: 10.
    pub max_lag: usize,
    /// Frames of each view detected for it (the first ones). Default: 120.
    pub frames: usize,
    state: SyncState,
}

enum SyncState {
    Waiting,
    Running { views: Vec<Entity>, task: Task<Result<MeasuredOffsets, String>> },
    Done { views: Vec<Entity>, measured: MeasuredOffsets },
    Failed(String),
}

impl Default for SyncRecordings {
    fn default() -> Self {
        Self { max_lag: 10, frames: 120, state: SyncState::Waiting }
    }
}

impl SyncRecordings {
    /// Measured over the first `frames` frames of each view, lags up to `max_lag` frames.
    pub fn new(frames: usize, max_lag: usize) -> Self {
        Self { frames, max_lag, state: SyncState::Waiting }
    }

    /// Each view's measured offset (seconds) and how it was measured, once done.
    pub fn measured(&self) -> Option<(Vec<(Entity, f64)>, SyncMethod)> {
        match &self.state {
            SyncState::Done { views, measured } => {
                Some((views.iter().copied().zip(measured.seconds.iter().copied()).collect(), measured.method))
            }
            _ => None,
        }
    }

    /// Whether the measurement is still to come.
    pub fn pending(&self) -> bool {
        matches!(self.state, SyncState::Waiting | SyncState::Running { .. })
    }

    /// Why it failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        match &self.state {
            SyncState::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What one recorded view is: its file or folder, its rate for folders, its camera if known.
type RecordedView = (Entity, std::path::PathBuf, Option<f64>, Option<(Intrinsics, Extrinsics)>);

/// Starts the measurement once the views are there and placed; sets the offsets when it is done.
#[allow(clippy::type_complexity)] // a Bevy query
pub(crate) fn sync_recordings(
    mut commands: Commands,
    sync: Option<ResMut<SyncRecordings>>,
    mut views: Query<(
        Entity,
        &CaptureView,
        Option<&mut VideoFile>,
        Option<&mut ImageSequence>,
        Option<&GlobalTransform>,
    )>,
    frame: Res<FrameCount>,
) {
    let Some(mut sync) = sync else { return };
    let sync = &mut *sync;
    match &mut sync.state {
        SyncState::Waiting => {
            // Transforms are propagated at the end of the first frame.
            if frame.0 < 2 {
                return;
            }
            let mut recorded: Vec<RecordedView> = views
                .iter()
                .filter_map(|(entity, view, video, sequence, transform)| {
                    let known = |k: Option<Intrinsics>| {
                        let place = transform.filter(|_| view.place_from_transform)?;
                        Some((view.intrinsics.or(k)?, camera_extrinsics(place)))
                    };
                    if let Some(video) = video {
                        Some((entity, video.path.clone(), None, known(video.intrinsics)))
                    } else {
                        let sequence = sequence?;
                        let folder = sequence.frames.first()?.parent()?.to_path_buf();
                        Some((entity, folder, Some(sequence.fps), known(Some(sequence.intrinsics))))
                    }
                })
                .collect();
            if recorded.len() < 2 {
                return;
            }
            recorded.sort_by_key(|v| v.0);
            let cameras: Option<Vec<(Intrinsics, Extrinsics)>> = recorded.iter().map(|v| v.3).collect();
            let paths: Vec<std::path::PathBuf> = recorded.iter().map(|v| v.1.clone()).collect();
            let settings = SequenceSettings {
                model: LandmarkModel::Full,
                fps: recorded.iter().find_map(|v| v.2).unwrap_or(30.0) as f32,
                max_frames: Some(sync.frames),
                ..Default::default()
            };
            let max_lag = sync.max_lag;
            let task = AsyncComputeTaskPool::get().spawn(async move {
                let detector = PoseDetector::load(settings.model).map_err(|e| e.to_string())?;
                measure_time_offsets(&detector, &paths, &settings, cameras, max_lag).map_err(|e| e.to_string())
            });
            sync.state = SyncState::Running { views: recorded.iter().map(|v| v.0).collect(), task };
        }
        SyncState::Running { views: entities, task } => {
            let Some(result) = check_ready(task) else { return };
            let entities = std::mem::take(entities);
            sync.state = match result {
                Ok(measured) => {
                    let mut said = Vec::new();
                    for (&entity, &seconds) in entities.iter().zip(&measured.seconds) {
                        if let Ok((_, _, video, sequence, _)) = views.get_mut(entity) {
                            if let Some(mut video) = video {
                                video.time_offset = seconds;
                            } else if let Some(mut sequence) = sequence {
                                sequence.time_offset = seconds;
                            }
                        }
                        said.push(format!("{entity} {:+.0} ms", seconds * 1e3));
                    }
                    info!("cmanet: time offsets measured ({:?}): {}", measured.method, said.join(", "));
                    SyncState::Done { views: entities, measured }
                }
                Err(e) => {
                    warn(&mut commands, CmanetWarning::Sync { message: e.clone() });
                    SyncState::Failed(e)
                }
            };
        }
        SyncState::Done { .. } | SyncState::Failed(_) => {}
    }
}
