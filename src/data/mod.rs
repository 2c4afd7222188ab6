//! Data: the `cmanet-mv2d` (2D observations in) and `cmanet-mv3d` (estimates out) sequence formats,
//! and the synthetic multi-view generator.

pub mod calibration;
pub mod files;
pub mod format;
pub mod labels;
pub mod mv2d;
pub mod mv3d;
pub mod stick;
pub mod sync;
pub mod synth;
pub mod take;

pub use files::sequence_files;
pub use format::{DataError, ExtraKeypoints2d, ExtraKeypoints3d, Keypoints2d, Keypoints3d};
pub use mv2d::{MV2D_FORMAT, Mv2d};
pub use mv3d::{MV3D_FORMAT, Mv3d, Mv3dFrame};
pub use take::{TAKE_FORMAT, Take};
