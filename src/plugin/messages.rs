//! What the plugin tells the app: [`PoseEstimated`] for every estimated frame (a buffered message),
//! [`ModelLoaded`] once the networks are ready and [`CmanetWarning`] when something goes wrong
//! that the app survives (observer events).

use std::time::Duration;

use bevy::prelude::*;
use nalgebra::Vector3;

use crate::body::{BodyParams, NUM_JOINTS};
use crate::data::{ExtraKeypoints2d, Keypoints2d, Keypoints3d};
use crate::detect::NobodyReason;
use crate::geometry::{Extrinsics, Intrinsics};

/// One view's part of an estimated frame.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewEstimate {
    /// The `CaptureView` entity.
    pub entity: Entity,
    /// The detected 2D keypoints in pixels, left and right as the estimate used them (`None` when
    /// no person was found in the view).
    pub keypoints2d: Option<Keypoints2d>,
    /// The 16 BlazePose keypoints COCO-17 lacks (heels, foot tips, hand points, eye and mouth
    /// corners) in pixels, labelled as `keypoints2d`; `None` when no person was found.
    pub extra2d: Option<ExtraKeypoints2d>,
    /// Width and height of the image the keypoints are in, pixels.
    pub image_size: [u32; 2],
    /// Mean keypoint confidence of the detection, 0 when nothing was found.
    pub confidence: f32,
    /// The intrinsics the view was read with.
    pub intrinsics: Option<Intrinsics>,
    /// The estimated camera, body (canonical frame) to camera (OpenCV axes); `None` when the
    /// network could not use the view.
    pub camera: Option<Extrinsics>,
    /// The estimated camera placed in the world with the estimated body (OpenCV axes: world to
    /// camera); `None` as above.
    pub camera_in_world: Option<Extrinsics>,
    /// The camera's known place in the world (its transform, or the place held by
    /// `CmanetSettings::hold_rig`), world to camera; `None` when unknown.
    pub known_camera: Option<Extrinsics>,
}

/// Where the time of one estimated frame went.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PoseTiming {
    /// 2D keypoint detection, all views.
    pub detection: Duration,
    /// CMANet.
    pub network: Duration,
    /// From the views' capture to the estimate arriving back on the main thread.
    pub latency: Duration,
}

/// The pose of one multi-view frame, as estimated (unsmoothed; the avatar gets the smoothed pose,
/// [`super::CmanetPose`]).
#[derive(Message, Clone, Debug, PartialEq)]
pub struct PoseEstimated {
    /// The app frame (`FrameCount`) at which the views were captured.
    pub frame: u32,
    /// `Time::elapsed_secs_f64` at the capture, seconds.
    pub time: f64,
    /// SMPL parameters in the world: `global_orient` and `transl` place the body in the world
    /// frame of the views (see the plugin chapter), `body_pose` and `betas` are the shared body.
    pub params: BodyParams,
    /// The 24 SMPL joints in the world, metres.
    pub joints: [Vector3<f32>; NUM_JOINTS],
    /// The 17 COCO keypoints in the canonical frame (the body's root frame), metres.
    pub keypoints_canonical: Keypoints3d,
    /// The 17 COCO keypoints in the world, metres.
    pub keypoints: Keypoints3d,
    /// Every view of the frame, sorted by entity.
    pub views: Vec<ViewEstimate>,
    /// Where the time went.
    pub timing: PoseTiming,
}

/// The detector and CMANet are loaded; estimation starts.
#[derive(Event, Clone, Debug, PartialEq)]
pub struct ModelLoaded {
    /// The CMANet weights file.
    pub weights: std::path::PathBuf,
    /// The candle device CMANet runs on (`cpu`, `cuda:0`, `metal:0`; see
    /// `ModelFiles::device`).
    pub device: String,
}

/// A view's image could not be used (empty, unreadable, wrong pixel format): an [`EntityEvent`] on
/// the `CaptureView` entity (observe it there, or globally), triggered once per new problem and
/// logged as a warning.
#[derive(EntityEvent, Clone, Debug, PartialEq)]
pub struct ViewFailed {
    /// The `CaptureView` entity.
    pub entity: Entity,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ViewFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cmanet: view {}: {}", self.entity, self.message)
    }
}

/// An avatar's rig lacks bones; those joints are skipped: an [`EntityEvent`] on the
/// `CmanetAvatar` entity, triggered once per avatar and logged as a warning.
#[derive(EntityEvent, Clone, Debug, PartialEq)]
pub struct MissingBones {
    /// The `CmanetAvatar` entity.
    pub entity: Entity,
    /// The SMPL joints (by SMPL name) that were not found.
    pub joints: Vec<&'static str>,
}

impl std::fmt::Display for MissingBones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cmanet: avatar {} lacks the bones {:?}; they are not driven", self.entity, self.joints)
    }
}

/// Something went wrong that the whole app survives, not about one entity (those are
/// [`ViewFailed`] and [`MissingBones`]); the plugin logs it as a warning too.
#[derive(Event, Clone, Debug, PartialEq)]
pub enum CmanetWarning {
    /// The networks could not be loaded: nothing is estimated.
    ModelFailed {
        /// What went wrong.
        message: String,
    },
    /// Estimation of a frame failed.
    EstimationFailed {
        /// The app frame the views were captured at.
        frame: u32,
        /// What went wrong.
        message: String,
    },
    /// Streaming (VMC) hit a problem: a target that cannot be resolved or reached, a port in
    /// use, a malformed incoming packet. Each distinct problem is told once.
    Streaming {
        /// What went wrong.
        message: String,
    },
    /// The recorded views' time offsets could not be measured (`SyncRecordings`).
    Sync {
        /// What went wrong.
        message: String,
    },
    /// A view has found nobody for [`super::CmanetSettings::no_person_warning_seconds`] or
    /// longer; told once until it finds someone again.
    NoPerson {
        /// The `CaptureView` entity.
        view: Entity,
        /// How long it has found nobody, seconds of capture time.
        seconds: f64,
        /// The likely reason.
        reason: NobodyReason,
    },
    /// A `CmanetAvatar` cannot be driven: its scene failed to load, or it has no bones at all.
    AvatarFailed {
        /// The `CmanetAvatar` entity.
        avatar: Entity,
        /// What is wrong, naming the asset path.
        message: String,
    },
    /// A capture camera's render target could not be read back as it was: it lacked
    /// `TextureUsages::COPY_SRC` (added by the plugin, the view goes on), or the image has not been
    /// in `Assets<Image>` for [`super::TARGET_MISSING_WARNING_SECONDS`] (told once).
    RenderTarget {
        /// The `CaptureView` entity.
        view: Entity,
        /// What was wrong and what the plugin did.
        message: String,
    },
    /// Detection on the GPU ([`super::CmanetSettings::detect_on_gpu`]) cannot be used: the crate
    /// was built without its `wgpu` feature, the networks could not be built on the device, or a
    /// view's target is not 8-bit RGBA. The plugin turns the setting off and detects on the CPU.
    GpuDetection {
        /// What went wrong.
        message: String,
    },
}

impl std::fmt::Display for CmanetWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ModelFailed { message } => write!(f, "cmanet: the networks could not be loaded: {message}"),
            Self::EstimationFailed { frame, message } => write!(f, "cmanet: frame {frame}: {message}"),
            Self::Streaming { message } => write!(f, "cmanet: streaming: {message}"),
            Self::Sync { message } => write!(f, "cmanet: measuring the views' time offsets: {message}"),
            Self::NoPerson { view, seconds, reason } => {
                write!(f, "cmanet: view {view} has found nobody for {seconds:.1} s: {reason}")
            }
            Self::AvatarFailed { avatar, message } => write!(f, "cmanet: avatar {avatar}: {message}"),
            Self::RenderTarget { view, message } => write!(f, "cmanet: view {view}: {message}"),
            Self::GpuDetection { message } => {
                write!(f, "cmanet: detection on the GPU is off, the CPU detects instead: {message}")
            }
        }
    }
}

/// Logs a warning and triggers it for observers.
pub(crate) fn warn<W>(commands: &mut Commands, warning: W)
where
    W: std::fmt::Display + for<'a> Event<Trigger<'a>: Default>,
{
    bevy::log::warn!("{warning}");
    commands.trigger(warning);
}
