//! Training CMANet: the data it may see and the losses, cached pseudo-labels, both stages' losses
//! and the training loop with checkpoints and CSV curves (plugin-docs: training, model card).
//!
//! Nothing in training may read 3D ground truth: [`TrainingSequence`] has no field that could hold
//! it, so a loader that forgot to drop it would not compile.

pub(crate) mod data;
pub(crate) mod labelled;
pub mod losses;
pub(crate) mod pseudo;
pub(crate) mod stage1;
pub(crate) mod stage2;
pub(crate) mod trainer;

pub use data::{TrainingSequence, training_files};
pub use labelled::{LabelledFrame, label_batch, labelled_frames};
pub use pseudo::{LabelSource, PseudoLabels, pseudo_labels};
pub use stage1::{LossTerms, LossWeights, stage1_loss};
pub use stage2::stage2_loss;
pub use trainer::{CurvePoint, TrainError, TrainSettings, save_weights, train};
