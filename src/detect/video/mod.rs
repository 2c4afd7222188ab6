//! Video files as views: MP4 / MOV files with H.264 video, decoded in-process (OpenH264, built
//! from source by the `openh264` crate; no system ffmpeg), frame by frame in presentation order
//! with the container's timestamps.
//!
//! - [`mp4`] reads the container: the video track's sample table and parameter sets ([`Mp4Track`]).
//! - [`h264`] turns the samples into RGB frames (feature `video`, on by default); [`yuv`] converts
//!   the pictures the `openh264` crate's fast path does not take.
//! - [`reader`] is a file's frames in presentation order, from any start time ([`VideoReader`]).
//! - [`stream`] decodes on a thread of its own into a bounded queue, looping if asked
//!   ([`VideoStream`]): memory does not grow when the consumer is slower than the video.

pub(crate) mod h264;
pub(crate) mod mp4;
pub(crate) mod reader;
pub(crate) mod stream;
#[cfg_attr(not(feature = "video"), allow(dead_code))] // only the decoder calls it
pub(crate) mod yuv;

use std::path::{Path, PathBuf};

pub use mp4::{Mp4Track, Sample};
pub use reader::{DecodedFrame, VideoFrames, VideoReader};
pub use stream::{StreamSettings, VideoStream};

/// What can go wrong reading a video file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The container is damaged or not an MP4 / MOV file.
    #[error("{path}: not a readable MP4/MOV video: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The video track uses a codec other than H.264.
    #[error(
        "{path}: the video is {codec}; only H.264 video can be decoded (re-encode it, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`)"
    )]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec found.
        codec: String,
    },
    /// A frame could not be decoded (damaged data); frames before it were delivered.
    #[error("{path}: frame {frame} ({seconds:.3} s) cannot be decoded: {problem}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The frame, in presentation order.
        frame: usize,
        /// Its time, seconds.
        seconds: f64,
        /// What the decoder said.
        problem: String,
    },
    /// The file ends before all its frames (it was cut short); frames before the cut were delivered.
    #[error("{path}: the file ends after {kept} of its {announced} frames (cut short)")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames present.
        kept: usize,
        /// Frames the file's index announces.
        announced: usize,
    },
    /// The crate was built without H.264 decoding.
    #[error("{path}: cannot decode video: cmanet was built without its `video` feature")]
    NotBuilt {
        /// The file.
        path: PathBuf,
    },
}

/// Whether `path` names a video file by its extension (`.mp4`, `.mov`, `.m4v`, any case).
pub fn is_video_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "mp4" | "mov" | "m4v"))
}
