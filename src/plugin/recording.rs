//! Takes: while [`TakeRecorder::recording`] is on, every estimated pose the avatars show (smoothed
//! or raw, as set) is appended to a [`Take`]; [`TakeRecorder::save`] writes it as a `cmanet-take`
//! file with its BVH and glTF exports beside it (the panel has the buttons; `cmanet export` does the
//! same from a file).

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::BodyModel;
use crate::data::Take;
use crate::export::{ExportError, animated_glb, write_bvh};

/// Records what the avatars show.
#[derive(Resource, Clone, Debug, Default)]
pub struct TakeRecorder {
    /// Whether poses are being recorded. Default: false.
    pub recording: bool,
    /// The take so far (times from the app's start).
    pub take: Take,
    seen: u64,
}

impl TakeRecorder {
    /// Starts a new take (the old one is dropped).
    pub fn start(&mut self) {
        self.take = Take { fps: 30.0, ..Default::default() };
        self.recording = true;
    }

    /// Writes the take to `folder/name.safetensors`, `name.bvh` and `name.glb` (the shipped avatar
    /// animated); returns the three paths. A take without frames is an error and writes nothing.
    pub fn save(&self, folder: &Path, name: &str) -> Result<[PathBuf; 3], ExportError> {
        let mut take = self.take.clone();
        take.fps = if take.fps > 0.0 { take.fps } else { 30.0 };
        take.validate()?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ExportError::Io { path, source }
        };
        std::fs::create_dir_all(folder).map_err(io(folder))?;
        let paths = ["safetensors", "bvh", "glb"].map(|ext| folder.join(format!("{name}.{ext}")));
        let model = BodyModel::open_body()?;
        let avatar_path = crate::assets::avatar();
        let avatar = std::fs::read(&avatar_path).map_err(io(&avatar_path))?;
        let bvh = write_bvh(&take, &model)?;
        let glb = animated_glb(&take, &model, &avatar).map_err(|e| e.naming_avatar(&avatar_path))?;
        for path in &paths {
            crate::tensor_file::replaceable(path).map_err(crate::data::DataError::from)?;
        }
        take.write(&paths[0])?;
        crate::tensor_file::write_atomically(&paths[1], bvh.as_bytes()).map_err(crate::data::DataError::from)?;
        crate::tensor_file::write_atomically(&paths[2], &glb).map_err(crate::data::DataError::from)?;
        Ok(paths)
    }
}

/// Appends every new shown pose while recording.
pub(crate) fn record_takes(mut recorder: ResMut<TakeRecorder>, pose: Res<CmanetPose>, settings: Res<CmanetSettings>) {
    if pose.estimates == recorder.seen {
        return;
    }
    recorder.seen = pose.estimates;
    if !recorder.recording {
        return;
    }
    let Some(params) = pose.current(&settings).filter(|p| p.is_finite()).cloned() else { return };
    let time = pose.time;
    let take = &mut recorder.take;
    if take.seconds.last().is_some_and(|&last| time <= last) {
        return; // a time that does not move forward cannot be played back
    }
    take.frames.push(params);
    take.seconds.push(time);
}
