//! Errors of the body layer: every one names the file and, where there is one, the key.

use crate::tensor_file::FileError;

/// What can go wrong loading or using a body model.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The file could not be read as a body model.
    #[error(transparent)]
    File(#[from] FileError),
    /// The inputs given to the model are inconsistent (wrong lengths, non-finite values).
    #[error("bad body model input: {0}")]
    BadInput(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result of the body layer.
pub type Result<T, E = BodyError> = std::result::Result<T, E>;
