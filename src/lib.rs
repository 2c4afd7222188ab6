//! # cmanet
//!
//! Markerless multi-view motion capture for Bevy. Cameras film a person; the crate finds 2D keypoints
//! in every view and runs CMANet, a network that fuses the views in a canonical SMPL parameter space
//! (Li et al., "Self-learning Canonical Space for Multi-view 3D Human Pose Estimation"), to drive a
//! skinned SMPL-skeleton character without calibrating the cameras.
//!
//! Layers, lowest first: [`keypoints`] (the COCO-17 layout), [`geometry`], [`body`], [`data`],
//! [`placement`], [`detect`], [`net`], [`fit`], [`eval`], [`train`], [`estimate`], [`export`], [`stream`], then
//! `plugin` (feature `bevy`); nothing below the plugin imports Bevy. The book's architecture
//! chapter (`plugin-docs/src/architecture.md`) shows the layers and the data flow. A Bevy app needs
//! only [`prelude`].
#![warn(missing_docs)]

pub mod assets;
pub mod body;
pub mod compute;
pub mod data;
pub mod detect;
pub mod estimate;
pub mod eval;
pub mod export;
pub mod filter;
pub mod fit;
pub mod geometry;
pub mod ground;
pub mod keypoints;
pub mod net;
pub mod placement;
#[cfg(feature = "bevy")]
pub mod plugin;
pub mod stream;
pub mod tensor_file;
pub mod train;

/// The things most users need, in one import: the body, the estimator, and (feature `bevy`) all a
/// Bevy app needs to capture views, drive avatars and hear what happened.
pub mod prelude {
    pub use crate::body::{BodyModel, BodyParams, BodyTensors, JOINT_NAMES, KEYPOINT_NAMES};
    pub use crate::compute::ComputeDevice;
    pub use crate::data::synth::MotionKind;
    pub use crate::detect::{LandmarkModel, NobodyReason};
    pub use crate::estimate::{EstimateSettings, Estimator, Method};
    pub use crate::geometry::{Extrinsics, Intrinsics};
    pub use crate::net::{Cmanet, Estimate, MultiViewFrame, ViewObservation};
    /// The candle device the networks run on (`Cmanet::shipped(&Device::Cpu)`, or
    /// `ComputeDevice::Auto.device()?`).
    pub use candle_core::Device;

    #[cfg(feature = "egui")]
    pub use crate::plugin::CmanetPanelPlugin;
    #[cfg(all(feature = "bevy", feature = "video"))]
    pub use crate::plugin::VideoFile;
    #[cfg(feature = "bevy")]
    pub use crate::plugin::{
        AVATAR_PATH, AvatarBones, BoneMap, CaptureView, CapturedFrame, CapturedPixels, CmanetAvatar, CmanetPlugin,
        CmanetPose, CmanetSettings, CmanetSystems, CmanetVmcReceiver, CmanetVmcSender, CmanetWarning, ImageSequence,
        MissingBones, ModelFiles, ModelLoaded, Performance, PoseEstimated, TakeRecorder, TestPerformer, ViewEstimate,
        ViewFailed, ViewStatus, VmcStatus, Webcam, camera_extrinsics, camera_transform, capture_target, headless_app,
        headless_render_app,
    };
}
