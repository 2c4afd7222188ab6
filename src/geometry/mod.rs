//! Geometry: rotations and their conversions, the pinhole camera, Procrustes alignment,
//! camera pose from correspondences and triangulation, on the CPU (nalgebra) and, where networks need it, batched on candle tensors.
//!
//! The lowest layer of the crate but for the COCO-17 layout (`crate::keypoints`); it knows nothing
//! about bodies, networks or Bevy.

pub mod camera;
pub mod pnp;
pub mod procrustes;
pub mod rotation;
pub mod triangulate;

pub use camera::*;
pub use pnp::*;
pub use procrustes::*;
pub use rotation::*;
pub use triangulate::*;

#[cfg(test)]
mod test_rng;
