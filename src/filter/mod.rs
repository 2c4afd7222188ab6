//! Temporal smoothing of estimates (plain Rust, no Bevy): the One Euro filter (Casiez, Roussel and
//! Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter for Noisy Input in Interactive Systems",
//! CHI 2012) for vectors and for rotations, and a filter for a whole body pose. The plugin's
//! smoothing knobs are [`OneEuroSettings`].

pub(crate) mod one_euro;
pub(crate) mod pose;

pub use one_euro::{FilterError, OneEuroRotation, OneEuroSettings, OneEuroVector};
pub use pose::PoseFilter;
