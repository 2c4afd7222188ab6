//! The synthetic multi-view generator: random bodies doing random motions, filmed by random camera
//! rigs, observed through a model of a real 2D keypoint detector. Deterministic by seed: sequence
//! `index` of `seed` is the same on every run and independent of every other sequence.
//!
//! The pipeline, one file per step: [`shape`] draws the body, [`motion`] the movement (inside the
//! joint limits of [`crate::body::limits`]), [`animate`] poses it and stands it on the floor
//! ([`ground`]), [`rig`] places the cameras, [`detector`] simulates the detector (with [`capsules`]
//! for self-occlusion) and [`sequence`] packages a `cmanet-mv2d` sequence. [`random`] is the
//! generator's own RNG and [`config`] its knobs.

pub mod animate;
pub mod capsules;
pub mod config;
pub mod detector;
pub mod motion;
pub mod random;
pub mod rig;
pub mod sequence;
pub mod shape;

pub use config::{DetectorConfig, RigConfig, SynthConfig};
pub use motion::MotionKind;
pub use sequence::{GENERATOR, SynthError, SyntheticSequence, generate, generate_sequence};
