//! Evaluation: the metrics (defined once, in [`metrics`]), the calibrated triangulation baseline,
//! and the side-by-side report of several methods.

pub mod metrics;
pub(crate) mod profile;
pub(crate) mod report;
pub(crate) mod triangulation;

pub use metrics::{Errors, KeypointSet, Summary};
pub use profile::{ProfileError, measure_profile};
pub use report::{MethodReport, Report};
pub use triangulation::{PLAIN_DLT_MIN_CONFIDENCE, dlt_sequence, triangulate_sequence};
