//! A video file's frames in presentation order with the container's timestamps, from any start
//! time: decoding begins at the key frame before it and the frames before the start are dropped.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::VideoError;
use super::h264::H264Decoder;
use super::mp4::Mp4Track;
use crate::detect::RgbImage;

/// One decoded frame.
#[derive(Clone, Debug)]
pub struct DecodedFrame {
    /// The pixels.
    pub image: Arc<RgbImage>,
    /// The frame's place in presentation order (0 = the first frame shown).
    pub index: usize,
    /// Its presentation time from the container, seconds (the first frame at or near 0).
    pub seconds: f64,
    /// Wall time spent decoding it (and any frames dropped before it), seconds.
    pub decode_seconds: f64,
    /// How many times a looping [`VideoStream`](super::VideoStream) had played the whole video
    /// before this frame (0 on the first pass, and always 0 from [`VideoReader::frames`]).
    pub pass: u32,
}

/// An opened video file: its track and timestamps. Cheap to clone; each [`VideoReader::frames`]
/// call decodes independently.
#[derive(Clone, Debug)]
pub struct VideoReader {
    track: Arc<Mp4Track>,
    /// Presentation order: the decode-order sample of each shown frame.
    order: Arc<Vec<usize>>,
    /// Presentation times, seconds, increasing.
    times: Arc<Vec<f64>>,
}

impl VideoReader {
    /// Opens an MP4 / MOV file with H.264 video (see [`Mp4Track::open`] for what is refused).
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        let track = Mp4Track::open(path)?;
        let mut order: Vec<usize> = (0..track.samples.len()).collect();
        order.sort_by_key(|&s| (track.samples[s].pts, s));
        let times = order.iter().map(|&s| track.seconds(&track.samples[s])).collect();
        Ok(Self { track: Arc::new(track), order: Arc::new(order), times: Arc::new(times) })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.track.path
    }

    /// Frames present in the file (fewer than announced when it was cut short).
    pub fn frame_count(&self) -> usize {
        self.order.len()
    }

    /// The presentation time of every frame, seconds, increasing.
    pub fn timestamps(&self) -> &[f64] {
        &self.times
    }

    /// The coded width and height (the decoded frames may be cropped smaller).
    pub fn size(&self) -> [u32; 2] {
        self.track.size
    }

    /// The mean frame rate (frames over the span of their timestamps), frames per second.
    pub fn mean_fps(&self) -> Option<f64> {
        let (first, last) = (self.times.first()?, self.times.last()?);
        (self.times.len() > 1 && last > first).then(|| (self.times.len() - 1) as f64 / (last - first))
    }

    /// The length of one pass through the video: the last frame's time plus one mean frame
    /// interval, seconds (what a looping player waits before it starts again).
    pub fn duration(&self) -> f64 {
        let last = self.times.last().copied().unwrap_or(0.0);
        last + self.mean_fps().map_or(0.0, |fps| 1.0 / fps)
    }

    /// The first frame shown at or after `seconds`, in presentation order (`None` past the end).
    pub fn frame_at_or_after(&self, seconds: f64) -> Option<usize> {
        let i = self.times.partition_point(|&t| t < seconds - 1e-9);
        (i < self.times.len()).then_some(i)
    }

    /// The frames from the first one at or after `start` seconds to the end, in presentation
    /// order. A damaged frame is reported as an error item and decoding goes on from the next key
    /// frame; a file cut short ends with [`VideoError::Truncated`] after its last whole frame.
    pub fn frames(&self, start: f64) -> Result<VideoFrames, VideoError> {
        let file = File::open(self.path()).map_err(|source| VideoError::Io { path: self.path().into(), source })?;
        let first = self.frame_at_or_after(start);
        // Decode from the last key frame at or before the first frame wanted.
        let (from, skip_before) = match first {
            Some(p) => {
                let wanted = self.order[p];
                let key = (0..=wanted).rev().find(|&s| self.track.samples[s].sync).unwrap_or(0);
                (key, self.track.samples[wanted].pts)
            }
            None => (self.track.samples.len(), i64::MAX),
        };
        Ok(VideoFrames {
            reader: self.clone(),
            file,
            decoder: None,
            next: from,
            skip_before,
            pending: BinaryHeap::new(),
            ready: VecDeque::new(),
            spent: 0.0,
            finished: false,
        })
    }

    /// The presentation index of the frame at `pts` ticks.
    fn index_of_pts(&self, pts: i64) -> usize {
        let seconds = pts as f64 / self.track.timescale as f64;
        self.times.partition_point(|&t| t < seconds - 1e-9).min(self.times.len().saturating_sub(1))
    }
}

/// The frames of a [`VideoReader`], decoded one after the other (see [`VideoReader::frames`]).
pub struct VideoFrames {
    reader: VideoReader,
    file: File,
    decoder: Option<H264Decoder>,
    /// The next sample to decode, decode order.
    next: usize,
    /// Frames shown before this time (ticks) are decoded but dropped.
    skip_before: i64,
    /// Presentation times of the samples sent whose pictures have not come out yet.
    pending: BinaryHeap<Reverse<i64>>,
    ready: VecDeque<Result<DecodedFrame, VideoError>>,
    spent: f64,
    finished: bool,
}

impl VideoFrames {
    fn damaged(&self, pts: i64, problem: String) -> VideoError {
        let frame = self.reader.index_of_pts(pts);
        VideoError::Damaged {
            path: self.reader.path().to_path_buf(),
            frame,
            seconds: self.reader.times[frame],
            problem,
        }
    }

    /// Pictures that came out take the earliest pending presentation times.
    fn take(&mut self, pictures: Vec<RgbImage>) {
        for image in pictures {
            let Some(Reverse(pts)) = self.pending.pop() else { break };
            if pts < self.skip_before {
                continue;
            }
            let index = self.reader.index_of_pts(pts);
            let decode_seconds = std::mem::take(&mut self.spent);
            let seconds = self.reader.times[index];
            self.ready.push_back(Ok(DecodedFrame { image: Arc::new(image), index, seconds, decode_seconds, pass: 0 }));
        }
    }

    /// Decodes the next sample (or ends the stream), queueing what comes out.
    fn step(&mut self) {
        let track = Arc::clone(&self.reader.track);
        let Some(sample) = track.samples.get(self.next).copied() else {
            self.finished = true;
            let started = Instant::now();
            let flushed = self.decoder.as_mut().map(|d| d.flush()).unwrap_or(Ok(Vec::new()));
            self.spent += started.elapsed().as_secs_f64();
            match flushed {
                Ok(pictures) => self.take(pictures),
                Err(problem) => {
                    let pts = self.pending.peek().map_or(0, |p| p.0);
                    self.ready.push_back(Err(self.damaged(pts, problem)));
                }
            }
            if track.samples.len() < track.announced {
                self.ready.push_back(Err(VideoError::Truncated {
                    path: self.reader.path().to_path_buf(),
                    kept: track.samples.len(),
                    announced: track.announced,
                }));
            }
            return;
        };
        self.next += 1;
        let started = Instant::now();
        let mut bytes = vec![0u8; sample.size as usize];
        let read = self.file.seek(SeekFrom::Start(sample.offset)).and_then(|_| self.file.read_exact(&mut bytes));
        if let Err(source) = read {
            self.finished = true;
            self.ready.push_back(Err(VideoError::Io { path: self.reader.path().to_path_buf(), source }));
            return;
        }
        let decoded = match &mut self.decoder {
            Some(d) => d.decode(&bytes),
            None => match H264Decoder::new(&track) {
                Ok(d) => self.decoder.insert(d).decode(&bytes),
                Err(problem) => Err(problem),
            },
        };
        self.spent += started.elapsed().as_secs_f64();
        match decoded {
            Ok(pictures) => {
                self.pending.push(Reverse(sample.pts));
                self.take(pictures);
            }
            Err(problem) => {
                if cfg!(not(feature = "video")) {
                    self.finished = true;
                    self.ready.push_back(Err(VideoError::NotBuilt { path: self.reader.path().to_path_buf() }));
                    return;
                }
                self.ready.push_back(Err(self.damaged(sample.pts, problem)));
                // Start over at the next key frame with a fresh decoder.
                self.decoder = None;
                self.pending.clear();
                self.next =
                    (self.next..track.samples.len()).find(|&s| track.samples[s].sync).unwrap_or(track.samples.len());
            }
        }
    }
}

impl Iterator for VideoFrames {
    type Item = Result<DecodedFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.finished {
            self.step();
        }
        self.ready.pop_front()
    }
}
