//! The Bevy side of cmanet (feature `bevy`). So far: finding the SMPL joints of a spawned avatar and
//! posing them; `CmanetPlugin` itself arrives with the plugin issue.

pub mod rig;

pub use rig::{AvatarRig, axis_angle_to_quat};
