//! CMANet in candle: the cascaded multi-view aggregating network of "Self-learning Canonical Space
//! for Multi-view 3D Human Pose Estimation" (Li, Meng, Wu, Chen, Yang, Shen). Inference only;
//! training lives in `train`.
//!
//! Per view, [`irv::Irv`] estimates that view's camera relative to the body, a body and a confidence
//! from the view's keypoints alone; [`screening`] starts the canonical parameters from the most
//! reliable view; [`iev::Iev`] attends across the views and refines every camera and the shared body.
//! The canonical frame is the body's root frame (shared/DESIGN.md).
//!
//! [`Cmanet::shipped`] loads the weights this crate ships; `train` made them (plugin-docs, model
//! card).

pub mod body_refinement;
pub(crate) mod camera_refinement;
pub(crate) mod config;
pub(crate) mod extremities;
pub(crate) mod iev;
pub mod input;
pub mod irv;
pub mod jumps;
pub mod linear;
pub(crate) mod model;
pub(crate) mod ops;
pub mod params;
pub(crate) mod pipeline;
pub(crate) mod projection;
pub(crate) mod rig;
pub mod screening;
pub(crate) mod sequence;
pub mod triangulation;

pub use config::Config;
pub use extremities::{ExtremitySettings, extremity_joints};
pub use input::{MultiViewFrame, ViewObservation, encode_batch};
pub use jumps::{JumpSettings, gate_jumps};
pub use model::{Cmanet, Estimate, Forward, Learned, NetError, Subject, WEIGHTS_FORMAT};
pub use pipeline::Pipeline;
pub use rig::Rig;
