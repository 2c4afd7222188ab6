//! Training CMANet (issue 4, work in progress): the data it may see and the losses, cached
//! pseudo-labels and stage 1's loss. The training loops, stage 2, checkpoints and curves follow.
//!
//! Nothing in training may read 3D ground truth: [`TrainingSequence`] has no field that could hold
//! it, so a loader that forgot to drop it would not compile.

pub mod data;
pub mod labelled;
pub mod losses;
pub mod pseudo;
pub mod stage1;

pub use data::{TrainingSequence, training_files};
pub use labelled::{LabelledFrame, label_batch, labelled_frames};
pub use pseudo::{PseudoLabels, pseudo_labels};
pub use stage1::{Stage1Loss, Stage1Weights, stage1_loss};
