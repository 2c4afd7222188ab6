//! The floor and the feet on it: where the floor is ([`FloorEstimator`], from where the feet rest
//! over time), which foot is planted ([`ContactTracker`], height above the floor and speed, with
//! hysteresis), and a body stood on the floor with its planted feet held by two-bone IK
//! ([`Grounder`], [`reach_ankle`]). Plain Rust on posed bodies' sole points
//! ([`crate::body::FootContacts`]); the plugin grounds the avatar's pose with it, `cmanet export
//! --ground` a take, and the studio measures foot skate and floor penetration with it.

mod contact;
mod floor;
mod grounder;
mod leg_ik;

pub use contact::{ContactSettings, ContactTracker, FootSample};
pub use floor::FloorEstimator;
pub use grounder::{GroundSettings, GroundedPose, Grounder, ground_sequence};
pub use leg_ik::{LEG_JOINTS, reach_ankle};
