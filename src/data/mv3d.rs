//! The `cmanet-mv3d` format: what `cmanet estimate` writes for a `cmanet-mv2d` sequence — 3D
//! keypoints in every camera frame and in the output world, camera poses, SMPL parameters and the
//! wall time of every frame. Contract in shared/DESIGN.md.

use crate::keypoints::KeypointLayout;
use std::collections::BTreeMap;
use std::path::Path;

use super::format::{self, DataError, Keypoints3d};
use nalgebra::Vector3;

use crate::body::{BodyParams, NUM_JOINTS, NUM_KEYPOINTS};
use crate::geometry::Extrinsics;
use crate::tensor_file::{TensorFile, TensorWriter};

/// The `format` metadata value of a `cmanet-mv3d` file.
pub const MV3D_FORMAT: &str = "cmanet-mv3d";

/// One estimated frame: the body and every camera in the output world frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Mv3dFrame {
    /// `[V]` the 17 keypoints in each view's camera frame, metres.
    pub joints3d_cam: Vec<Keypoints3d>,
    /// The 17 keypoints in the output world frame (the calibrated world if the method was given
    /// the true cameras, else the canonical body frame).
    pub joints3d: Keypoints3d,
    /// `[V]` estimated camera poses, output world to camera.
    pub extrinsics: Vec<Extrinsics>,
    /// SMPL parameters in the output world frame.
    pub params: BodyParams,
    /// Wall time spent on this frame, seconds.
    pub seconds: f64,
    /// The subject's bone corrections beyond the betas, per SMPL joint (its bone from the parent,
    /// in the parent's rest frame, metres), when the method estimates them (CMANet); `joints3d`
    /// includes them.
    pub bones: Option<[Vector3<f32>; NUM_JOINTS]>,
    /// Which of the 17 keypoints were measured in this frame, when the method can fail to
    /// (triangulation: fewer than two views saw a keypoint); `None`: all were. An unmeasured
    /// keypoint's place is filled in (the method says how) and is not a result.
    pub measured: Option<[bool; NUM_KEYPOINTS]>,
}

impl Mv3dFrame {
    /// How many of the frame's keypoints were not measured.
    pub fn unmeasured(&self) -> usize {
        self.measured.map_or(0, |m| m.iter().filter(|&&ok| !ok).count())
    }
}

/// An estimated sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Mv3d {
    /// Frames per second (copied from the input).
    pub fps: f32,
    /// `[F]` the frames.
    pub frames: Vec<Mv3dFrame>,
    /// Further string metadata (for instance `method`); the writer adds the header keys.
    pub metadata: BTreeMap<String, String>,
}

impl Mv3d {
    /// Number of views (0 for an empty sequence).
    pub fn num_views(&self) -> usize {
        self.frames.first().map_or(0, |f| f.extrinsics.len())
    }

    /// Checks that every frame has the same views and finite values.
    pub fn validate(&self) -> Result<(), DataError> {
        let v = self.num_views();
        let bad = |key: &str, problem: String| DataError::Invalid { key: key.into(), problem };
        for (t, frame) in self.frames.iter().enumerate() {
            if frame.joints3d_cam.len() != v || frame.extrinsics.len() != v {
                return Err(bad(
                    "joints3d_cam",
                    format!("frame {t} has a different number of views than frame 0 ({v})"),
                ));
            }
            let finite = |k: &Keypoints3d| k.iter().flatten().all(|x| x.is_finite());
            if !finite(&frame.joints3d) {
                return Err(bad("joints3d", format!("frame {t} is not finite")));
            }
            if !frame.joints3d_cam.iter().all(finite) {
                return Err(bad("joints3d_cam", format!("frame {t} is not finite")));
            }
            for (i, e) in frame.extrinsics.iter().enumerate() {
                format::check_extrinsics(e).map_err(|p| bad("extrinsics_R", format!("frame {t} view {i}: {p}")))?;
            }
            if !frame.params.is_finite() {
                return Err(bad("body_pose", format!("frame {t} is not finite")));
            }
            if frame.bones.is_some_and(|b| !b.iter().all(|v| v.iter().all(|x| x.is_finite()))) {
                return Err(bad("bone_corrections", format!("frame {t} is not finite")));
            }
            if !(frame.seconds.is_finite() && frame.seconds >= 0.0) {
                return Err(bad("seconds", format!("frame {t}: {} is not a duration", frame.seconds)));
            }
        }
        Ok(())
    }

    /// Reads and validates a `cmanet-mv3d` file.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let file = TensorFile::read_safetensors(path)?;
        format::check_header(&file, MV3D_FORMAT, &[KeypointLayout::Coco17])?;
        let cam = file.required_float("joints3d_cam", &[None, None, Some(NUM_KEYPOINTS), Some(3)])?;
        let (f, v) = (cam.shape[0], cam.shape[1]);
        let joints = file.required_float("joints3d", &[Some(f), Some(NUM_KEYPOINTS), Some(3)])?;
        let r = file.required_float("extrinsics_R", &[Some(f), Some(v), Some(3), Some(3)])?;
        let t = file.required_float("extrinsics_t", &[Some(f), Some(v), Some(3)])?;
        let seconds = file.required_float("seconds", &[Some(f)])?;
        let params = format::read_params(&file, f)?.ok_or_else(|| file.bad("body_pose", "missing"))?;
        let bones = file.optional_float("bone_corrections", &[Some(f), Some(NUM_JOINTS), Some(3)])?;
        let measured = file.optional_float("joints3d_measured", &[Some(f), Some(NUM_KEYPOINTS)])?;
        let cams: Vec<Keypoints3d> =
            format::chunks::<{ NUM_KEYPOINTS * 3 }>(&cam.data).map(|c| format::to_points(&c)).collect();
        let joints: Vec<Keypoints3d> =
            format::chunks::<{ NUM_KEYPOINTS * 3 }>(&joints.data).map(|c| format::to_points(&c)).collect();
        let extrinsics = format::to_extrinsics(&r.data, &t.data);
        let frames = (0..f)
            .map(|i| Mv3dFrame {
                joints3d_cam: cams[i * v..(i + 1) * v].to_vec(),
                joints3d: joints[i],
                extrinsics: extrinsics[i * v..(i + 1) * v].to_vec(),
                params: params[i].clone(),
                seconds: seconds.data[i],
                bones: bones.map(|b| {
                    std::array::from_fn(|j| {
                        let at = (i * NUM_JOINTS + j) * 3;
                        Vector3::new(b.data[at] as f32, b.data[at + 1] as f32, b.data[at + 2] as f32)
                    })
                }),
                measured: measured.map(|m| std::array::from_fn(|k| m.data[i * NUM_KEYPOINTS + k] > 0.5)),
            })
            .collect();
        let data = Self { fps: format::read_fps(&file)?, frames, metadata: format::extra_metadata(&file) };
        data.validate().map_err(|e| e.in_file(path))?;
        Ok(data)
    }

    /// Writes the sequence as a `cmanet-mv3d` file (validated first; written atomically).
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        self.validate()?;
        let (f, v) = (self.frames.len(), self.num_views());
        let mut w = TensorWriter::new();
        format::write_header(&mut w, MV3D_FORMAT, KeypointLayout::Coco17, self.fps, &self.metadata);
        let flat = |k: &Keypoints3d| k.iter().flatten().copied().collect::<Vec<f32>>();
        let cam: Vec<f32> = self.frames.iter().flat_map(|fr| fr.joints3d_cam.iter().flat_map(flat)).collect();
        w.f32("joints3d_cam", &[f, v, NUM_KEYPOINTS, 3], &cam);
        let joints: Vec<f32> = self.frames.iter().flat_map(|fr| flat(&fr.joints3d)).collect();
        w.f32("joints3d", &[f, NUM_KEYPOINTS, 3], &joints);
        let extrinsics: Vec<Extrinsics> = self.frames.iter().flat_map(|fr| fr.extrinsics.iter().copied()).collect();
        format::write_extrinsics(&mut w, &[f, v], &extrinsics);
        let params: Vec<BodyParams> = self.frames.iter().map(|fr| fr.params.clone()).collect();
        format::write_params(&mut w, &params);
        let seconds: Vec<f64> = self.frames.iter().map(|fr| fr.seconds).collect();
        w.f64("seconds", &[f], &seconds);
        if self.frames.iter().any(|fr| fr.bones.is_some()) {
            let bones: Vec<f32> = self
                .frames
                .iter()
                .flat_map(|fr| {
                    fr.bones.unwrap_or([Vector3::zeros(); NUM_JOINTS]).into_iter().flat_map(|b| [b.x, b.y, b.z])
                })
                .collect();
            w.f32("bone_corrections", &[f, NUM_JOINTS, 3], &bones);
        }
        if self.frames.iter().any(|fr| fr.measured.is_some()) {
            let measured: Vec<f32> = self
                .frames
                .iter()
                .flat_map(|fr| fr.measured.unwrap_or([true; NUM_KEYPOINTS]).map(|ok| if ok { 1.0 } else { 0.0 }))
                .collect();
            w.f32("joints3d_measured", &[f, NUM_KEYPOINTS], &measured);
        }
        Ok(w.write(path)?)
    }
}
