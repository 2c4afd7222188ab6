//! The synthetic multi-view generator: random bodies doing random motions, filmed by random camera
//! rigs, observed through a model of a real 2D keypoint detector. Deterministic by seed.

pub mod animate;
pub mod ground;
pub mod motion;
pub mod random;
