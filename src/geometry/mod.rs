//! Geometry: rotations and their conversions, on the CPU (nalgebra) and batched on candle tensors.
//!
//! This is the lowest layer of the crate; it knows nothing about bodies, networks or Bevy.

pub mod rotation;

pub use rotation::*;
