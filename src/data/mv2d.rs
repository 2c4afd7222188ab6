//! The `cmanet-mv2d` format: one multi-view sequence of 2D keypoint observations (the input of every
//! estimation method), with optional ground truth for measuring only. Contract in shared/DESIGN.md.

use std::collections::BTreeMap;
use std::path::Path;

use super::format::{self, DataError, ExtraKeypoints2d, ExtraKeypoints3d, Keypoints2d, Keypoints3d};
use crate::body::{BodyParams, NUM_KEYPOINTS};
use crate::geometry::{Camera, Extrinsics, Intrinsics};
use crate::keypoints::{KeypointLayout, NUM_BLAZEPOSE_KEYPOINTS, join_blazepose, split_blazepose};
use crate::tensor_file::{TensorFile, TensorWriter};

/// The `format` metadata value of a `cmanet-mv2d` file.
pub const MV2D_FORMAT: &str = "cmanet-mv2d";

/// One multi-view sequence of 2D observations: `F` frames seen by `V` static cameras.
#[derive(Clone, Debug, PartialEq)]
pub struct Mv2d {
    /// Frames per second. Default in files without it: 30.
    pub fps: f32,
    /// `[V]` image width and height, pixels.
    pub image_size: Vec<[f32; 2]>,
    /// `[V]` pinhole intrinsics.
    pub intrinsics: Vec<Intrinsics>,
    /// `[F][V]` the 17 COCO keypoints of each view: pixel x, pixel y, confidence (0 = missing).
    pub keypoints2d: Vec<Vec<Keypoints2d>>,
    /// `[F][V]` the 16 BlazePose keypoints COCO-17 lacks (heels, foot tips, hand points, eye and
    /// mouth corners), as `keypoints2d`, when the source gave them (`cmanet detect`, the
    /// generators). A file with them is written in the `blazepose33` layout. Default: `None`.
    pub extra2d: Option<Vec<Vec<ExtraKeypoints2d>>>,
    /// `[V]` true world-to-camera poses of the static rig, if known. Only calibrated methods and
    /// measurements may read them.
    pub extrinsics: Option<Vec<Extrinsics>>,
    /// `[F]` ground-truth COCO-17 keypoints in world metres (only for measuring).
    pub joints3d: Option<Vec<Keypoints3d>>,
    /// `[F]` ground-truth extra keypoints in world metres (only for measuring; only with
    /// `extra2d`). Default: `None`.
    pub extra3d: Option<Vec<ExtraKeypoints3d>>,
    /// `[F]` ground-truth SMPL parameters in the world (only for measuring).
    pub params: Option<Vec<BodyParams>>,
    /// `[F]` when each frame was taken, seconds from the start, increasing (from the first view's
    /// video timestamps, which may come at a variable rate); `None` means frame `i` at `i / fps`.
    /// Default: `None`.
    pub frame_time: Option<Vec<f64>>,
    /// Further string metadata (the writer adds `format`, `version`, `keypoint_layout`, `fps`).
    pub metadata: BTreeMap<String, String>,
}

impl Mv2d {
    /// Number of frames `F`.
    pub fn num_frames(&self) -> usize {
        self.keypoints2d.len()
    }

    /// Number of views `V`.
    pub fn num_views(&self) -> usize {
        self.intrinsics.len()
    }

    /// The sequence without anything only measurements may use: true cameras, 3D keypoints and
    /// SMPL parameters.
    pub fn without_ground_truth(mut self) -> Self {
        self.extrinsics = None;
        self.joints3d = None;
        self.extra3d = None;
        self.params = None;
        self
    }

    /// The file's keypoint layout: `blazepose33` when it has the extra keypoints.
    pub fn layout(&self) -> KeypointLayout {
        if self.extra2d.is_some() { KeypointLayout::BlazePose33 } else { KeypointLayout::Coco17 }
    }

    /// The true cameras, when the file has extrinsics.
    pub fn cameras(&self) -> Option<Vec<Camera>> {
        let extrinsics = self.extrinsics.as_ref()?;
        Some(
            extrinsics
                .iter()
                .zip(&self.intrinsics)
                .zip(&self.image_size)
                .map(|((e, k), s)| Camera {
                    intrinsics: *k,
                    extrinsics: *e,
                    image_size: nalgebra::Vector2::new(s[0] as f64, s[1] as f64),
                })
                .collect(),
        )
    }

    /// Checks the invariants a file must satisfy (shapes agree, values finite and in range).
    pub fn validate(&self) -> Result<(), DataError> {
        let (f, v) = (self.num_frames(), self.num_views());
        let bad = |key: &str, problem: String| DataError::Invalid { key: key.into(), problem };
        if v == 0 {
            return Err(bad("intrinsics", "no views".into()));
        }
        if self.image_size.len() != v {
            return Err(bad("image_size", format!("{} views, intrinsics has {v}", self.image_size.len())));
        }
        for (i, s) in self.image_size.iter().enumerate() {
            if !(s[0] > 0.0 && s[1] > 0.0 && s[0].is_finite() && s[1].is_finite()) {
                return Err(bad("image_size", format!("view {i}: size {s:?} is not positive")));
            }
        }
        for (i, k) in self.intrinsics.iter().enumerate() {
            format::check_intrinsics(k).map_err(|p| bad("intrinsics", format!("view {i}: {p}")))?;
        }
        for (t, frame) in self.keypoints2d.iter().enumerate() {
            if frame.len() != v {
                return Err(bad("keypoints2d", format!("frame {t} has {} views, expected {v}", frame.len())));
            }
            for (i, view) in frame.iter().enumerate() {
                format::check_keypoints2d(view).map_err(|p| bad("keypoints2d", format!("frame {t} view {i}: {p}")))?;
            }
        }
        if let Some(extra) = &self.extra2d {
            if extra.len() != f {
                return Err(bad("keypoints2d", format!("extras for {} frames, expected {f}", extra.len())));
            }
            for (t, frame) in extra.iter().enumerate() {
                if frame.len() != v {
                    return Err(bad(
                        "keypoints2d",
                        format!("frame {t} has extras for {} views, expected {v}", frame.len()),
                    ));
                }
                for (i, view) in frame.iter().enumerate() {
                    format::check_keypoints2d(view)
                        .map_err(|p| bad("keypoints2d", format!("frame {t} view {i} extra {p}")))?;
                }
            }
        }
        if let Some(e) = &self.extrinsics {
            if e.len() != v {
                return Err(bad("extrinsics_R", format!("{} views, expected {v}", e.len())));
            }
            for (i, e) in e.iter().enumerate() {
                format::check_extrinsics(e).map_err(|p| bad("extrinsics_R", format!("view {i}: {p}")))?;
            }
        }
        if let Some(j) = &self.joints3d
            && j.len() != f
        {
            return Err(bad("joints3d", format!("{} frames, expected {f}", j.len())));
        }
        match (&self.extra3d, &self.joints3d, &self.extra2d) {
            (Some(e), Some(_), Some(_)) if e.len() != f => {
                return Err(bad("joints3d", format!("extras for {} frames, expected {f}", e.len())));
            }
            (Some(_), None, _) => return Err(bad("joints3d", "extra 3D keypoints without the COCO-17 ones".into())),
            (Some(_), _, None) => return Err(bad("joints3d", "extra 3D keypoints without extra 2D ones".into())),
            _ => {}
        }
        if let Some(p) = &self.params {
            if p.len() != f {
                return Err(bad("body_pose", format!("{} frames, expected {f}", p.len())));
            }
            if let Some(t) = p.iter().position(|p| !p.is_finite()) {
                return Err(bad("body_pose", format!("frame {t} is not finite")));
            }
        }
        if let Some(t) = &self.frame_time {
            if t.len() != f {
                return Err(bad("frame_time", format!("{} frames, expected {f}", t.len())));
            }
            if let Some(i) = t.iter().position(|t| !t.is_finite()) {
                return Err(bad("frame_time", format!("frame {i} is not finite")));
            }
            if let Some(i) = t.windows(2).position(|w| w[1] <= w[0]) {
                return Err(bad("frame_time", format!("frame {} does not come after frame {i}", i + 1)));
            }
        }
        if !(self.fps > 0.0 && self.fps.is_finite()) {
            return Err(bad("fps", format!("{} is not a positive frame rate", self.fps)));
        }
        Ok(())
    }

    /// Reads and validates a `cmanet-mv2d` file.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let file = TensorFile::read_safetensors(path)?;
        let layout = format::check_header(&file, MV2D_FORMAT, &[KeypointLayout::Coco17, KeypointLayout::BlazePose33])?;
        let kp = file.required_float("keypoints2d", &[None, None, Some(layout.len()), Some(3)])?;
        let (f, v) = (kp.shape[0], kp.shape[1]);
        if v == 0 {
            return Err(file.bad("keypoints2d", "no views").into());
        }
        let sizes = file.required_float("image_size", &[Some(v), Some(2)])?;
        let k = file.required_float("intrinsics", &[Some(v), Some(3), Some(3)])?;
        let (keypoints2d, extra2d) = match layout {
            KeypointLayout::Coco17 => {
                (by_view(format::chunks::<{ NUM_KEYPOINTS * 3 }>(&kp.data).map(|c| format::to_points(&c)), v), None)
            }
            KeypointLayout::BlazePose33 => {
                let (coco, extra) = split_all(&kp.data);
                (by_view(coco.into_iter(), v), Some(by_view(extra.into_iter(), v)))
            }
        };
        let extrinsics = match (
            file.optional_float("extrinsics_R", &[Some(v), Some(3), Some(3)])?,
            file.optional_float("extrinsics_t", &[Some(v), Some(3)])?,
        ) {
            (Some(r), Some(t)) => Some(format::to_extrinsics(&r.data, &t.data)),
            (None, None) => None,
            (Some(_), None) => return Err(file.bad("extrinsics_t", "missing while extrinsics_R is present").into()),
            (None, Some(_)) => return Err(file.bad("extrinsics_R", "missing while extrinsics_t is present").into()),
        };
        // A blazepose33 file's truth may hold the 17 COCO keypoints only.
        let joints = file.optional_float("joints3d", &[Some(f), None, Some(3)])?;
        let (joints3d, extra3d) = match joints {
            None => (None, None),
            Some(t) if t.shape[1] == NUM_KEYPOINTS => {
                (Some(format::chunks::<{ NUM_KEYPOINTS * 3 }>(&t.data).map(|c| format::to_points(&c)).collect()), None)
            }
            Some(t) if t.shape[1] == NUM_BLAZEPOSE_KEYPOINTS && layout == KeypointLayout::BlazePose33 => {
                let (coco, extra) = split_all(&t.data);
                (Some(coco), Some(extra))
            }
            Some(t) => {
                return Err(file
                    .bad(
                        "joints3d",
                        format!("{} keypoints per frame; a {} file has {}", t.shape[1], layout.name(), layout.len()),
                    )
                    .into());
            }
        };
        let params = format::read_params(&file, f)?;
        let frame_time = file.optional_float("frame_time", &[Some(f)])?.map(|t| t.data.clone());
        let data = Self {
            fps: format::read_fps(&file)?,
            image_size: format::chunks::<2>(&sizes.data).map(|c| [c[0] as f32, c[1] as f32]).collect(),
            intrinsics: format::chunks::<9>(&k.data).map(|c| format::to_intrinsics(&c)).collect(),
            keypoints2d,
            extra2d,
            extrinsics,
            joints3d,
            extra3d,
            params,
            frame_time,
            metadata: format::extra_metadata(&file),
        };
        if let Some(i) =
            k.data.chunks(9).position(|c| c[1].abs() > 1e-6 || c[3] != 0.0 || c[6] != 0.0 || c[7] != 0.0 || c[8] != 1.0)
        {
            return Err(file
                .bad("intrinsics", format!("view {i}: not a pinhole K without skew (bottom row 0 0 1)"))
                .into());
        }
        data.validate().map_err(|e| e.in_file(path))?;
        Ok(data)
    }

    /// Writes the sequence as a `cmanet-mv2d` file (validated first; written atomically).
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        self.validate()?;
        let (f, v) = (self.num_frames(), self.num_views());
        let mut w = TensorWriter::new();
        let layout = self.layout();
        format::write_header(&mut w, MV2D_FORMAT, layout, self.fps, &self.metadata);
        let kp: Vec<f32> = match &self.extra2d {
            None => self.keypoints2d.iter().flatten().flat_map(|k| k.iter().flatten().copied()).collect(),
            Some(extra) => self
                .keypoints2d
                .iter()
                .flatten()
                .zip(extra.iter().flatten())
                .flat_map(|(c, e)| join_blazepose(c, e).into_iter().flatten())
                .collect(),
        };
        w.f32("keypoints2d", &[f, v, layout.len(), 3], &kp);
        w.f32("image_size", &[v, 2], &self.image_size.concat());
        let k: Vec<f32> = self.intrinsics.iter().flat_map(|k| format::matrix_rows(&k.matrix())).collect();
        w.f32("intrinsics", &[v, 3, 3], &k);
        if let Some(e) = &self.extrinsics {
            format::write_extrinsics(&mut w, &[v], e);
        }
        if let Some(j) = &self.joints3d {
            // Truth without extras keeps 17 keypoints per frame, whatever the layout.
            let (flat, k): (Vec<f32>, usize) = match &self.extra3d {
                None => (j.iter().flat_map(|k| k.iter().flatten().copied()).collect(), NUM_KEYPOINTS),
                Some(extra) => (
                    j.iter().zip(extra).flat_map(|(c, e)| join_blazepose(c, e).into_iter().flatten()).collect(),
                    NUM_BLAZEPOSE_KEYPOINTS,
                ),
            };
            w.f32("joints3d", &[f, k, 3], &flat);
        }
        if let Some(p) = &self.params {
            format::write_params(&mut w, p);
        }
        if let Some(t) = &self.frame_time {
            w.f64("frame_time", &[f], t);
        }
        Ok(w.write(path)?)
    }
}

/// Splits flat blazepose33 rows into COCO-17 and extra keypoints.
fn split_all(data: &[f64]) -> (Vec<Keypoints2d>, Vec<ExtraKeypoints2d>) {
    format::chunks::<{ NUM_BLAZEPOSE_KEYPOINTS * 3 }>(data).map(|c| split_blazepose(&format::to_points(&c))).unzip()
}

/// Groups per-(frame, view) rows into frames of `v` views.
fn by_view<T: Clone>(rows: impl Iterator<Item = T>, v: usize) -> Vec<Vec<T>> {
    rows.collect::<Vec<_>>().chunks(v).map(|c| c.to_vec()).collect()
}
