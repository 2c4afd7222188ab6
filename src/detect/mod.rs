//! Image to 2D body keypoints: MediaPipe BlazePose (pose detector plus the lite or full landmark
//! model, Apache-2.0, converted by `tools/convert_blazepose.py`) ported to Rust, with person ROI
//! tracking and the mapping of its 33 landmarks to COCO-17.
//!
//! - [`graph`] runs the converted TFLite graphs ([`Network`]); [`kernels`] holds the numeric kernels
//!   (direct depthwise convolution, `gemm` for the rest).
//! - [`pose`] is the MediaPipe pipeline around them: letterboxed detection with SSD anchors and
//!   weighted NMS, the rotated ROI, the 256x256 crop, landmark decoding with heatmap refinement,
//!   projection back to the image and tracking ([`PoseDetector`], [`PoseTracker`]).
//! - [`nobody`] tells why a view shows nobody ([`nobody_reason`]: dark, featureless, too small).
//! - [`image`] is the input image type ([`RgbImage`], JPEG/PNG decoding).
//! - [`video`] reads MP4/MOV files with H.264 video ([`VideoReader`], [`VideoStream`]).
//! - [`webcam`] reads cameras on a thread of their own ([`WebcamStream`]; devices with the `webcam`
//!   feature, [`FakeCamera`] for tests).
//! - [`sequence`] turns one image folder or video file per view into a `cmanet-mv2d` sequence
//!   ([`detect_views`]).
//!
//! - [`gpu`] (feature `wgpu`) runs the same networks as WGSL compute shaders on a wgpu device, the
//!   network inputs cropped straight from a texture ([`gpu::GpuPoseDetector`]).
//!
//! Single-threaded, CPU, `f32` (but for [`gpu`]). Nothing here imports Bevy.

#[cfg(feature = "wgpu")]
pub mod gpu;
pub(crate) mod graph;
pub(crate) mod image;
pub mod kernels;
pub(crate) mod nobody;
pub(crate) mod offsets;
pub(crate) mod pose;
pub(crate) mod sequence;
pub mod video;
pub mod webcam;
#[cfg(feature = "webcam")]
pub(crate) mod webcam_device;

use std::path::PathBuf;

pub use graph::{Network, Output};
pub use image::RgbImage;
pub use nobody::{
    DARK_BRIGHTNESS, FEATURELESS_SPREAD, NobodyReason, SMALL_PERSON_SHARE, brightness, candidate_reason, nobody_reason,
};
pub use offsets::{MeasuredOffsets, measure_time_offsets};
pub use pose::{
    BLAZEPOSE_TO_COCO, Detection, LANDMARK_OUTPUTS, Landmark, LandmarkModel, MIRROR_AGREEMENT, NUM_LANDMARKS, Pose,
    PoseDetector, PoseFinder, PoseTracker, Roi, merge_mirrored,
};
pub use sequence::{
    COCO_EDGES, SequenceSettings, WorldUp, detect_views, draw_keypoints, frame_files, view_frame_count,
};
pub use video::{
    DecodedFrame, Mp4Track, StreamSettings, VideoError, VideoFrames, VideoReader, VideoStream, is_video_file,
};
pub use webcam::{
    DeviceChoice, DeviceInfo, FakeCamera, FrameSource, OpenCamera, WebcamError, WebcamFrame, WebcamSettings,
    WebcamStream, list_devices, open_device,
};

/// What can go wrong when loading a model or detecting a pose.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A video file could not be read or decoded.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file is not a converted BlazePose network this code can run.
    #[error("{path}: not a usable BlazePose model: {problem}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An image file could not be decoded (or written).
    #[error("{path}: cannot decode image: {problem}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        problem: String,
    },
    /// The image has no pixels.
    #[error("empty image")]
    EmptyImage,
    /// The image is smaller than the detector can use.
    #[error("image {width}x{height} is too small (at least {min}x{min} pixels)")]
    ImageTooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The minimum side.
        min: u32,
    },
    /// The pixel buffer has a channel count other than 1, 3 or 4.
    #[error("images need 1, 3 or 4 channels, got {0}")]
    Channels(usize),
    /// The pixel buffer's length does not match width x height x channels.
    #[error("pixel buffer has {got} bytes, expected {expected}")]
    BufferSize {
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A network input of the wrong size.
    #[error("network input has {got} values, expected shape {expected:?}")]
    InputSize {
        /// The expected NHWC shape.
        expected: Vec<usize>,
        /// The number of values given.
        got: usize,
    },
    /// A candle error (converting outputs to tensors).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Bad input to a multi-view run (no folders, no images, a calibration that does not fit).
    #[error("{0}")]
    Sequence(String),
    /// A frame whose pixels stayed on the GPU was asked for its pixels.
    #[error("the frame's pixels stayed on the GPU (it was detected there)")]
    NoPixels,
    /// A broken invariant inside the interpreter (a bug, reported instead of panicking).
    #[error("internal error: {0}")]
    Internal(String),
}
