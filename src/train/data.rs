//! What training reads from a `cmanet-mv2d` file: the 2D keypoints, image sizes and intrinsics of
//! every view, and nothing else. True cameras, 3D keypoints and SMPL parameters are dropped on
//! reading, by construction of the type.

use std::path::{Path, PathBuf};

use crate::data::{DataError, Keypoints2d, Mv2d, sequence_files};
use crate::geometry::Intrinsics;
use crate::net::MultiViewFrame;

/// One training sequence: multi-view 2D observations only.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSequence {
    /// The file it came from.
    pub path: PathBuf,
    /// Frames per second.
    pub fps: f32,
    /// `[V]` image width and height, pixels.
    pub image_size: Vec<[f32; 2]>,
    /// `[V]` intrinsics.
    pub intrinsics: Vec<Intrinsics>,
    /// `[F][V]` keypoints (pixel x, y, confidence).
    pub keypoints2d: Vec<Vec<Keypoints2d>>,
}

impl TrainingSequence {
    /// Reads a `cmanet-mv2d` file, keeping only what training may use.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        Ok(Self::from_observations(path, Mv2d::read(path)?))
    }

    /// Keeps the observations of `data` (the ground truth is dropped here).
    pub fn from_observations(path: &Path, data: Mv2d) -> Self {
        let Mv2d { fps, image_size, intrinsics, keypoints2d, .. } = data.without_ground_truth();
        Self { path: path.to_path_buf(), fps, image_size, intrinsics, keypoints2d }
    }

    /// The sequence as an estimator's input (no ground truth), for instance to fit pseudo-labels.
    pub fn to_mv2d(&self) -> Mv2d {
        Mv2d {
            fps: self.fps,
            image_size: self.image_size.clone(),
            intrinsics: self.intrinsics.clone(),
            keypoints2d: self.keypoints2d.clone(),
            extra2d: None,
            extrinsics: None,
            extra3d: None,
            frame_time: None,
            joints3d: None,
            params: None,
            metadata: Default::default(),
        }
    }

    /// Frame `t` as the network's input.
    pub fn frame(&self, t: usize) -> Option<MultiViewFrame> {
        let views = self.keypoints2d.get(t)?;
        Some(MultiViewFrame::from_views(views, &self.intrinsics))
    }
}

/// The training files of `path` (a file or a folder of `.safetensors` files), read.
pub fn training_files(path: &Path) -> Result<Vec<TrainingSequence>, DataError> {
    sequence_files(path)?.iter().map(|f| TrainingSequence::read(f)).collect()
}
