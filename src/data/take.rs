//! The `cmanet-take` format: a recorded performance, one SMPL body per frame in the world frame,
//! with the time of every frame. The plugin records takes; `cmanet export` turns them (or any
//! `cmanet-mv3d` estimate) into BVH and glTF animations. Contract in shared/DESIGN.md.

use crate::keypoints::KeypointLayout;
use std::collections::BTreeMap;
use std::path::Path;

use super::format::{self, DataError};
use super::mv3d::{MV3D_FORMAT, Mv3d};
use crate::body::BodyParams;
use crate::tensor_file::{TensorFile, TensorWriter};

/// The `format` metadata value of a `cmanet-take` file.
pub const TAKE_FORMAT: &str = "cmanet-take";

/// A recorded performance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Take {
    /// Nominal frames per second (exporters resample to it).
    pub fps: f32,
    /// `[F]` the body of every frame, world frame.
    pub frames: Vec<BodyParams>,
    /// `[F]` the time of every frame, seconds from the start, increasing.
    pub seconds: Vec<f64>,
    /// Further string metadata.
    pub metadata: BTreeMap<String, String>,
}

/// The fraction of a frame interval by which a take's last time may fall short of a frame and
/// still count it ([`Take::resampled_len`]).
pub const FRAME_TOLERANCE: f64 = 0.01;

impl Take {
    /// Checks that there is at least one frame, times increase and every number is finite.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |key: &str, problem: String| DataError::Invalid { key: key.into(), problem };
        if self.frames.is_empty() {
            return Err(bad("body_pose", "the take has no frames".into()));
        }
        if self.seconds.len() != self.frames.len() {
            return Err(bad("seconds", format!("{} times for {} frames", self.seconds.len(), self.frames.len())));
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(bad("fps", format!("{} is not a positive frame rate", self.fps)));
        }
        for (t, frame) in self.frames.iter().enumerate() {
            if !frame.is_finite() {
                return Err(bad("body_pose", format!("frame {t} is not finite")));
            }
        }
        for (t, pair) in self.seconds.windows(2).enumerate() {
            if pair[1].is_nan() || pair[1] <= pair[0] {
                return Err(bad("seconds", format!("frame {} does not come after frame {t}", t + 1)));
            }
        }
        if let Some(t) = self.seconds.iter().position(|s| !s.is_finite()) {
            return Err(bad("seconds", format!("frame {t} is not finite")));
        }
        Ok(())
    }

    /// Reads a `cmanet-take` file, or the bodies of a `cmanet-mv3d` estimate (timed by its fps).
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let file = TensorFile::read_safetensors(path)?;
        if file.metadata().get("format").map(String::as_str) == Some(MV3D_FORMAT) {
            let mv3d = Mv3d::read(path)?;
            // Keypoint-only estimates (triangulation) store rest bodies as placeholders: a take of
            // them would be a frozen T-pose.
            if let Some(none) = mv3d.metadata.get("smpl_params").filter(|v| v.starts_with("none")) {
                let method = mv3d.metadata.get("method").map_or("unknown", String::as_str);
                let problem = format!(
                    "this estimate (method {method}) has no SMPL body parameters ({none}); only an estimate by \
                     cmanet or fit can be played as a take"
                );
                return Err(DataError::Invalid { key: "smpl_params".into(), problem }.in_file(path));
            }
            let fps = mv3d.fps;
            let take = Self {
                fps,
                seconds: (0..mv3d.frames.len()).map(|i| i as f64 / fps as f64).collect(),
                frames: mv3d.frames.into_iter().map(|f| f.params).collect(),
                metadata: mv3d.metadata,
            };
            take.validate().map_err(|e| e.in_file(path))?;
            return Ok(take);
        }
        format::check_header(&file, TAKE_FORMAT, &[KeypointLayout::Coco17])?;
        let seconds = file.required_float("seconds", &[None])?;
        let f = seconds.shape[0];
        let frames = format::read_params(&file, f)?.ok_or_else(|| file.bad("body_pose", "missing"))?;
        let take = Self {
            fps: format::read_fps(&file)?,
            frames,
            seconds: seconds.data.clone(),
            metadata: format::extra_metadata(&file),
        };
        take.validate().map_err(|e| e.in_file(path))?;
        Ok(take)
    }

    /// Writes the take (validated first; written atomically).
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        self.validate()?;
        let mut w = TensorWriter::new();
        format::write_header(&mut w, TAKE_FORMAT, KeypointLayout::Coco17, self.fps, &self.metadata);
        format::write_params(&mut w, &self.frames);
        w.f64("seconds", &[self.seconds.len()], &self.seconds);
        Ok(w.write(path)?)
    }

    /// The body at `t` seconds: linear in translation and shape, spherical in rotations, clamped
    /// to the first and last frames.
    pub fn sample(&self, t: f64) -> BodyParams {
        let last = self.frames.len() - 1;
        let i = self.seconds.partition_point(|&s| s <= t);
        if i == 0 {
            return self.frames[0].clone();
        }
        if i > last {
            return self.frames[last].clone();
        }
        let (a, b) = (&self.frames[i - 1], &self.frames[i]);
        let w = ((t - self.seconds[i - 1]) / (self.seconds[i] - self.seconds[i - 1])) as f32;
        a.interpolate(b, w)
    }

    /// How many frames [`Take::resampled`] gives: one every `1 / fps` s from the first time to
    /// the last. A last time within [`FRAME_TOLERANCE`] of a frame before its instant counts that
    /// frame: times that jitter by a microsecond or were stored as f32 keep their last frame.
    pub fn resampled_len(&self) -> usize {
        let (start, end) = (self.seconds[0], self.seconds[self.seconds.len() - 1]);
        ((end - start) * self.fps as f64 + FRAME_TOLERANCE).floor() as usize + 1
    }

    /// The take resampled at its `fps` from its first to its last time: what exporters write.
    pub fn resampled(&self) -> Vec<BodyParams> {
        let start = self.seconds[0];
        (0..self.resampled_len()).map(|i| self.sample(start + i as f64 / self.fps as f64)).collect()
    }
}
