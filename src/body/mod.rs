//! The body: the SMPL 24-joint kinematic tree, an SMPL-compatible body model, forward kinematics and
//! linear blend skinning on the CPU and batched on candle tensors, and the model loaders.
//!
//! Two models go through the same code: our open model built from MakeHuman's CC0 assets
//! (`assets/body/open_body.safetensors`, built by `tools/build_body.py`) and an official SMPL `.npz`
//! a licensed user already has.

pub mod batched;
pub mod bones;
pub mod error;
pub mod kinematics;
pub mod levers;
pub mod limits;
pub mod load;
pub mod model;
pub mod params;
pub mod profile;
pub mod skeleton;
pub mod soles;

pub use batched::{BatchedBody, BodyTensors};
pub use bones::ADAPTED_BONES;
pub use error::BodyError;
pub use kinematics::{JointTransform, PosedBody};
pub use levers::{KeypointLever, RestJoints, extra_levers, keypoint_levers};
pub use load::BODY_FORMAT;
pub use model::{BodyModel, SparseRows};
pub use params::BodyParams;
pub use profile::{KeypointProfile, PROFILE_CARRIERS, PROFILE_FORMAT};
pub use skeleton::*;
pub use soles::FootContacts;
