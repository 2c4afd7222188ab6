//! Exports of recorded takes ([`crate::data::Take`]) to formats other tools read: BVH (the SMPL
//! skeleton with the take's bone offsets, ZXY Euler channels, metres, +y up, so Blender imports
//! it upright) and glTF (an animation clip added to the open avatar). Plain Rust, no Bevy.

pub(crate) mod bvh;
pub(crate) mod gltf;

pub use bvh::{Bvh, read_bvh, write_bvh};
pub use gltf::{animated_glb, read_glb_animation};

/// What can go wrong exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The take could not be read or is not valid.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The body model failed.
    #[error(transparent)]
    Body(#[from] crate::body::BodyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The avatar file is not a usable binary glTF.
    #[error("avatar: {0}")]
    Avatar(String),
    /// A BVH text could not be parsed.
    #[error("BVH line {line}: {problem}")]
    Bvh {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

impl ExportError {
    /// The error with the avatar's file named, when the avatar was what failed.
    pub fn naming_avatar(self, avatar: &std::path::Path) -> Self {
        match self {
            Self::Avatar(problem) => Self::Avatar(format!("{}: {problem}", avatar.display())),
            other => other,
        }
    }
}

/// The take's mean shape: both exporters build their one skeleton (bone offsets) from it.
pub fn mean_shape(take: &crate::data::Take) -> [f32; crate::body::NUM_BETAS] {
    let n = take.frames.len().max(1) as f32;
    std::array::from_fn(|k| take.frames.iter().map(|f| f.betas[k]).sum::<f32>() / n)
}
