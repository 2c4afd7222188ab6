//! # cmanet
//!
//! Markerless multi-view motion capture for Bevy. Cameras film a person; the crate finds 2D keypoints
//! in every view and runs CMANet, a network that fuses the views in a canonical SMPL parameter space
//! (Li et al., "Self-learning Canonical Space for Multi-view 3D Human Pose Estimation"), to drive a
//! skinned SMPL-skeleton character without calibrating the cameras.
//!
//! Layers, lowest first (see `shared/DESIGN.md`): [`geometry`], [`body`]; nothing below the plugin
//! imports Bevy.
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
pub mod net;
pub mod placement;
#[cfg(feature = "bevy")]
pub mod plugin;
pub mod tensor_file;
pub mod train;

/// The things most users need, in one import.
pub mod prelude {
    pub use crate::body::{BodyModel, BodyParams, BodyTensors, JOINT_NAMES, KEYPOINT_NAMES};
}
