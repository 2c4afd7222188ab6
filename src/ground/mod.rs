//! The floor and the feet on it: where the floor is ([`FloorEstimator`], from where the feet rest
//! over time) and which foot is planted ([`ContactTracker`], height above the floor and speed, with
//! hysteresis). Plain Rust on posed bodies' sole points ([`crate::body::FootContacts`]); the studio
//! measures foot skate and floor penetration with it.

mod contact;
mod floor;

pub use contact::{ContactSettings, ContactTracker, FootSample};
pub use floor::FloorEstimator;
