//! Training CMANet (issue 4, work in progress): the data it may see and the losses, and cached
//! pseudo-labels. The two stages, checkpoints and curves follow.
//!
//! Nothing in training may read 3D ground truth: [`TrainingSequence`] has no field that could hold
//! it, so a loader that forgot to drop it would not compile.

pub mod data;
pub mod losses;
pub mod pseudo;

pub use data::{TrainingSequence, training_files};
pub use pseudo::{PseudoLabels, pseudo_labels};
