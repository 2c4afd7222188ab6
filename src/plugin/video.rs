//! [`VideoFile`]: an MP4 / MOV file played as a view at its own timestamps, decoded on a thread of
//! its own into a bounded queue (`detect::VideoStream`); the frame due at the app's clock becomes the
//! view's [`CapturedFrame`], frames the app was too slow to show are dropped, and memory stays flat.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;

use super::capture::{CaptureView, CapturedFrame, CapturedPixels};
use super::messages::{ViewFailed, warn};
use crate::detect::{DecodedFrame, StreamSettings, VideoReader, VideoStream};
use crate::geometry::Intrinsics;

/// The horizontal field of view assumed for a video without intrinsics, degrees.
pub const DEFAULT_VIDEO_HFOV_DEGREES: f64 = 60.0;

/// A frame is due this close before its time, seconds (clocks count in whole nanoseconds: 4 x
/// 1/30 s is 133 333 332 ns, short of frame 4's 0.1333...).
const CLOCK_TOLERANCE: f64 = 1e-6;

/// A video file played as a view (put it next to a [`CaptureView`]).
#[derive(Component)]
pub struct VideoFile {
    /// The file (MP4 or MOV, H.264 video).
    pub path: PathBuf,
    /// Play again from the start after the last frame (otherwise the last frame stays). Default: true.
    pub looping: bool,
    /// Where to start, seconds into the video. Default: 0.
    pub start: f64,
    /// Seconds added to the play time, for cameras that were not started together (as
    /// `ImageSequence::time_offset`). Default: 0.
    pub time_offset: f64,
    /// The camera's intrinsics; `None` assumes a centred camera with a 60-degree horizontal field of
    /// view ([`DEFAULT_VIDEO_HFOV_DEGREES`]). Default: `None`.
    pub intrinsics: Option<Intrinsics>,
    /// Decoded frames held ready at most. Default: 4.
    pub queue: usize,
    /// How long one app frame may wait for a video frame that is due but not decoded yet,
    /// seconds. Waiting keeps the views in step (an estimate from views showing different instants
    /// is wrong) at the cost of the app's frame rate when decoding falls behind; 0 never waits.
    /// Default: 0.1.
    pub max_wait: f64,
    playback: Option<Playback>,
}

/// What a [`VideoFile`] is showing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShownFrame {
    /// The frame's place in the video (presentation order).
    pub index: usize,
    /// Its time in the video, seconds.
    pub seconds: f64,
    /// How many times the video had looped before it.
    pub pass: u32,
    /// Wall time its decoding took, seconds.
    pub decode_seconds: f64,
}

struct Playback {
    reader: VideoReader,
    stream: Mutex<VideoStream>,
    started: f64,
    duration: f64,
    /// The video clock at the start of the stream's first pass (0 unless restarted).
    base: f64,
    /// The video clock of the frame shown last.
    shown_clock: Option<f64>,
    /// The next frame, not due yet.
    ahead: Option<DecodedFrame>,
    shown: Option<ShownFrame>,
    /// Frames shown so far.
    frames_shown: u64,
}

impl VideoFile {
    /// `path` played from its start, looping.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            looping: true,
            start: 0.0,
            time_offset: 0.0,
            intrinsics: None,
            queue: StreamSettings::default().queue,
            max_wait: 0.1,
            playback: None,
        }
    }

    /// The video with these intrinsics.
    pub fn with_intrinsics(mut self, intrinsics: Intrinsics) -> Self {
        self.intrinsics = Some(intrinsics);
        self
    }

    /// The video shifted by `seconds` ([`VideoFile::time_offset`]).
    pub fn with_time_offset(mut self, seconds: f64) -> Self {
        self.time_offset = seconds;
        self
    }

    /// The frame shown last, once one has been.
    pub fn shown(&self) -> Option<ShownFrame> {
        self.playback.as_ref().and_then(|p| p.shown)
    }

    /// Frames shown so far.
    pub fn frames_shown(&self) -> u64 {
        self.playback.as_ref().map_or(0, |p| p.frames_shown)
    }

    /// When playing started (`Time::elapsed_secs_f64`), once it has.
    pub fn started(&self) -> Option<f64> {
        self.playback.as_ref().map(|p| p.started)
    }

    /// The frame (presentation order) due at app time `time` (`Time::elapsed_secs_f64`), once
    /// playing has started: the last frame at or before the video's clock then, counted again
    /// from the start on each loop.
    pub fn frame_at(&self, time: f64) -> Option<usize> {
        let p = self.playback.as_ref()?;
        let mut clock = self.start + (time - p.started) + self.time_offset + CLOCK_TOLERANCE;
        if self.looping && p.duration > 0.0 && clock >= p.duration {
            clock = clock.rem_euclid(p.duration);
        }
        let times = p.reader.timestamps();
        times.partition_point(|&t| t <= clock).checked_sub(1).or((!times.is_empty()).then_some(0))
    }
}

/// A file that could not be opened is not tried again.
#[derive(Component)]
pub(crate) struct VideoFailed;

/// Shows the frame due now of every [`VideoFile`].
#[allow(clippy::type_complexity)] // a Bevy query
pub(crate) fn play_videos(
    mut commands: Commands,
    mut videos: Query<(Entity, &mut VideoFile), (With<CaptureView>, Without<VideoFailed>)>,
    frame: Res<FrameCount>,
    time: Res<Time>,
) {
    let now = time.elapsed_secs_f64();
    for (entity, mut video) in &mut videos {
        let video = &mut *video;
        if video.playback.is_none() {
            match VideoReader::open(&video.path) {
                Ok(reader) => {
                    let duration = reader.duration();
                    let settings = StreamSettings { start: video.start, looping: video.looping, queue: video.queue };
                    video.playback = Some(Playback {
                        reader: reader.clone(),
                        stream: Mutex::new(VideoStream::spawn(reader, settings)),
                        started: now,
                        duration,
                        base: 0.0,
                        shown_clock: None,
                        ahead: None,
                        shown: None,
                        frames_shown: 0,
                    });
                }
                Err(e) => {
                    warn(&mut commands, ViewFailed { entity, message: e.to_string() });
                    commands.entity(entity).try_insert(VideoFailed);
                    continue;
                }
            }
        }
        let Some(playback) = video.playback.as_mut() else { continue };
        // The video's own clock: frames of later passes come after the earlier passes.
        let due = video.start + (now - playback.started) + video.time_offset;
        let duration = playback.duration;
        // The clock went back (a smaller time offset): the frame shown is not due yet, so start
        // decoding again where the clock is now.
        if playback.shown_clock.is_some_and(|shown| shown > due + CLOCK_TOLERANCE) {
            let pass = if video.looping && duration > 0.0 { (due.max(0.0) / duration).floor() } else { 0.0 };
            // From the frame due (the last at or before the clock), not the one after it.
            let position = due.max(0.0) - pass * duration;
            let times = playback.reader.timestamps();
            let start =
                times.partition_point(|&t| t <= position + CLOCK_TOLERANCE).checked_sub(1).map_or(0.0, |i| times[i]);
            let settings = StreamSettings { start, looping: video.looping, queue: video.queue };
            playback.stream = Mutex::new(VideoStream::spawn(playback.reader.clone(), settings));
            playback.base = pass * duration;
            playback.ahead = None;
            playback.shown_clock = None;
        }
        let base = playback.base;
        let on_clock = move |f: &DecodedFrame| base + f.pass as f64 * duration + f.seconds;
        let Ok(stream) = playback.stream.get_mut() else { continue };
        let mut newest = None;
        let deadline = Instant::now() + Duration::from_secs_f64(video.max_wait.clamp(0.0, 10.0));
        loop {
            let next = match playback.ahead.take() {
                Some(f) => f,
                // Until a frame after the one due has come, the frame due may still be on its way.
                None => match stream.next_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Some(Ok(f)) => f,
                    Some(Err(e)) => {
                        // A damaged stretch: said once each, playing goes on after it.
                        warn(&mut commands, ViewFailed { entity, message: e.to_string() });
                        continue;
                    }
                    None => break,
                },
            };
            if on_clock(&next) <= due + CLOCK_TOLERANCE {
                newest = Some(next);
            } else {
                playback.ahead = Some(next);
                break;
            }
        }
        let Some(shown) = newest else { continue };
        playback.shown_clock = Some(on_clock(&shown));
        playback.shown = Some(ShownFrame {
            index: shown.index,
            seconds: shown.seconds,
            pass: shown.pass,
            decode_seconds: shown.decode_seconds,
        });
        playback.frames_shown += 1;
        let intrinsics = video.intrinsics.unwrap_or_else(|| {
            let (w, h) = (shown.image.width() as f64, shown.image.height() as f64);
            Intrinsics::from_horizontal_fov(DEFAULT_VIDEO_HFOV_DEGREES.to_radians(), w, h)
        });
        commands.entity(entity).try_insert(CapturedFrame {
            pixels: CapturedPixels::Rgb(Arc::clone(&shown.image)),
            frame: frame.0,
            time: now,
            instant: Instant::now(),
            intrinsics: Some(intrinsics),
        });
    }
}
