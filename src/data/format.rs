//! What the two sequence formats share: the error type, the header (format, version, keypoint
//! layout, fps), value checks, and the conversions between flat tensors and keypoints, cameras and
//! SMPL parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nalgebra::{Matrix3, Vector3};

use crate::body::{BodyParams, NUM_BETAS, NUM_BODY_JOINTS, NUM_KEYPOINTS};
use crate::geometry::{Extrinsics, Intrinsics};
use crate::keypoints::{KeypointLayout, NUM_EXTRA_KEYPOINTS};
use crate::tensor_file::{FileError, TensorFile, TensorWriter};

/// The 17 COCO keypoints of one view: pixel x, pixel y, confidence (0 = missing).
pub type Keypoints2d = [[f32; 3]; NUM_KEYPOINTS];

/// The 17 COCO keypoints in 3D, metres.
pub type Keypoints3d = [[f32; 3]; NUM_KEYPOINTS];

/// The 16 BlazePose keypoints COCO-17 lacks, in one image: pixel x, pixel y, confidence.
pub type ExtraKeypoints2d = [[f32; 3]; NUM_EXTRA_KEYPOINTS];

/// The 16 BlazePose keypoints COCO-17 lacks, in 3D, metres.
pub type ExtraKeypoints3d = [[f32; 3]; NUM_EXTRA_KEYPOINTS];

/// The version of both formats this crate reads and writes.
pub const FORMAT_VERSION: &str = "1";

/// Confidence below which an estimator treats a keypoint as missing (the fit and the network
/// share it).
pub const MIN_CONFIDENCE: f32 = 0.05;

/// Frame rate assumed for files whose metadata has none.
pub const DEFAULT_FPS: f32 = 30.0;

/// A sequence file or value that is not what the format promises.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read, or a tensor in it has the wrong shape, dtype or values.
    #[error(transparent)]
    File(#[from] FileError),
    /// In-memory data that breaks an invariant (caught before writing, or after reading).
    #[error("`{key}`: {problem}")]
    Invalid {
        /// The tensor or field.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// A file's invariant broken, with the file named.
    #[error("{path}: `{key}`: {problem}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// The tensor or field.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// Two files that must describe the same sequence do not.
    #[error("{0}")]
    Mismatch(String),
}

impl DataError {
    /// Names `path` in an [`DataError::Invalid`] error.
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Invalid { key, problem } => Self::InvalidFile { path: path.into(), key, problem },
            other => other,
        }
    }
}

/// Fixed-size chunks of a flat tensor.
pub fn chunks<const N: usize>(data: &[f64]) -> impl Iterator<Item = [f64; N]> + '_ {
    data.chunks_exact(N).map(|c| {
        let mut out = [0.0; N];
        out.copy_from_slice(c);
        out
    })
}

/// `3 N` values (at least) as `N` points of three floats.
pub fn to_points<const N: usize>(c: &[f64]) -> [[f32; 3]; N] {
    std::array::from_fn(|k| [c[3 * k] as f32, c[3 * k + 1] as f32, c[3 * k + 2] as f32])
}

/// A row-major 3x3 as intrinsics.
pub fn to_intrinsics(c: &[f64; 9]) -> Intrinsics {
    Intrinsics::from_matrix(&Matrix3::from_row_slice(c))
}

/// Row-major rotations `[N, 3, 3]` and translations `[N, 3]` as extrinsics.
pub fn to_extrinsics(r: &[f64], t: &[f64]) -> Vec<Extrinsics> {
    chunks::<9>(r)
        .zip(chunks::<3>(t))
        .map(|(r, t)| Extrinsics::new(Matrix3::from_row_slice(&r), Vector3::from_row_slice(&t)))
        .collect()
}

/// The rows of a matrix, flattened, as f32.
pub fn matrix_rows(m: &Matrix3<f64>) -> [f32; 9] {
    std::array::from_fn(|i| m[(i / 3, i % 3)] as f32)
}

/// Checks positive focal lengths and finite values.
pub fn check_intrinsics(k: &Intrinsics) -> Result<(), String> {
    if ![k.fx, k.fy, k.cx, k.cy].iter().all(|x| x.is_finite()) {
        return Err("non-finite intrinsics".into());
    }
    if k.fx <= 0.0 || k.fy <= 0.0 {
        return Err(format!("focal lengths fx = {}, fy = {} must be positive", k.fx, k.fy));
    }
    Ok(())
}

/// Checks a proper rotation (orthonormal, determinant +1, within 1e-3) and a finite translation.
pub fn check_extrinsics(e: &Extrinsics) -> Result<(), String> {
    if !e.rotation.iter().chain(e.translation.iter()).all(|x| x.is_finite()) {
        return Err("non-finite extrinsics".into());
    }
    let off = (e.rotation * e.rotation.transpose() - Matrix3::identity()).abs().max();
    let det = e.rotation.determinant();
    if off > 1e-3 || det < 0.0 {
        let reflected = if det < 0.0 { ", a reflection: left and right are mirrored" } else { "" };
        return Err(format!(
            "rotation is not a proper rotation matrix (|R Rᵀ - I| = {off:.2e}, det R = {det:.3}{reflected})"
        ));
    }
    Ok(())
}

/// Checks finite coordinates and confidences in [0, 1].
pub fn check_keypoints2d<const N: usize>(view: &[[f32; 3]; N]) -> Result<(), String> {
    for (k, p) in view.iter().enumerate() {
        if !p.iter().all(|x| x.is_finite()) {
            return Err(format!("keypoint {k} is not finite"));
        }
        if !(0.0..=1.0).contains(&p[2]) {
            return Err(format!("keypoint {k} has confidence {} outside [0, 1]", p[2]));
        }
    }
    Ok(())
}

/// Checks the `format` and `version` metadata and returns the keypoint layout (`coco17` when the
/// file does not say), which must be one of `layouts`.
pub fn check_header(file: &TensorFile, format: &str, layouts: &[KeypointLayout]) -> Result<KeypointLayout, FileError> {
    let meta = file.metadata();
    match meta.get("format") {
        Some(f) if f == format => {}
        Some(f) => return Err(file.bad("__metadata__.format", format!("`{f}`, expected `{format}`"))),
        None => return Err(file.bad("__metadata__.format", format!("missing, expected `{format}`"))),
    }
    if let Some(v) = meta.get("version")
        && v != FORMAT_VERSION
    {
        return Err(file.bad("__metadata__.version", format!("`{v}`, this build reads version {FORMAT_VERSION}")));
    }
    let layout = match meta.get("keypoint_layout") {
        None => KeypointLayout::Coco17,
        Some(l) => KeypointLayout::from_name(l).filter(|l| layouts.contains(l)).ok_or_else(|| {
            let names: Vec<&str> = layouts.iter().map(|l| l.name()).collect();
            file.bad("__metadata__.keypoint_layout", format!("`{l}`, expected `{}`", names.join("` or `")))
        })?,
    };
    Ok(layout)
}

/// The `fps` metadata ([`DEFAULT_FPS`] when absent).
pub fn read_fps(file: &TensorFile) -> Result<f32, FileError> {
    match file.metadata().get("fps") {
        None => Ok(DEFAULT_FPS),
        Some(s) => match s.parse::<f32>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(f),
            _ => Err(file.bad("__metadata__.fps", format!("`{s}` is not a positive frame rate"))),
        },
    }
}

/// Metadata other than the header's own keys.
pub fn extra_metadata(file: &TensorFile) -> BTreeMap<String, String> {
    file.metadata()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "format" | "version" | "keypoint_layout" | "fps"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes the header and the extra metadata.
pub fn write_header(
    w: &mut TensorWriter,
    format: &str,
    layout: KeypointLayout,
    fps: f32,
    extra: &BTreeMap<String, String>,
) {
    for (k, v) in extra {
        w.metadata(k, v.clone());
    }
    w.metadata("format", format).metadata("version", FORMAT_VERSION).metadata("keypoint_layout", layout.name());
    w.metadata("fps", fps.to_string());
}

/// Writes `extrinsics_R` and `extrinsics_t` with leading dimensions `lead` (`[V]` or `[F, V]`).
pub fn write_extrinsics(w: &mut TensorWriter, lead: &[usize], e: &[Extrinsics]) {
    let r: Vec<f32> = e.iter().flat_map(|e| matrix_rows(&e.rotation)).collect();
    let t: Vec<f32> = e.iter().flat_map(|e| e.translation.iter().map(|&x| x as f32)).collect();
    w.f32("extrinsics_R", &[lead, &[3, 3]].concat(), &r);
    w.f32("extrinsics_t", &[lead, &[3]].concat(), &t);
}

/// Reads `global_orient`, `body_pose`, `betas`, `transl` for `f` frames: all four or none.
pub fn read_params(file: &TensorFile, f: usize) -> Result<Option<Vec<BodyParams>>, FileError> {
    let keys = ["global_orient", "body_pose", "betas", "transl"];
    let shapes: [&[Option<usize>]; 4] = [
        &[Some(f), Some(3)],
        &[Some(f), Some(NUM_BODY_JOINTS), Some(3)],
        &[Some(f), Some(NUM_BETAS)],
        &[Some(f), Some(3)],
    ];
    let mut found = Vec::new();
    for (key, shape) in keys.iter().zip(shapes) {
        found.push(file.optional_float(key, shape)?);
    }
    if found.iter().all(|t| t.is_none()) {
        return Ok(None);
    }
    if let Some(i) = found.iter().position(|t| t.is_none()) {
        return Err(file.bad(keys[i], "missing while other SMPL parameters are present"));
    }
    let [Some(go), Some(bp), Some(be), Some(tr)] = [found[0], found[1], found[2], found[3]] else {
        return Ok(None);
    };
    let v3 = |d: &[f64], i: usize| Vector3::new(d[3 * i] as f32, d[3 * i + 1] as f32, d[3 * i + 2] as f32);
    Ok(Some(
        (0..f)
            .map(|t| BodyParams {
                global_orient: v3(&go.data, t),
                body_pose: std::array::from_fn(|j| v3(&bp.data, t * NUM_BODY_JOINTS + j)),
                betas: std::array::from_fn(|b| be.data[t * NUM_BETAS + b] as f32),
                transl: v3(&tr.data, t),
            })
            .collect(),
    ))
}

/// Writes the four SMPL parameter tensors.
pub fn write_params(w: &mut TensorWriter, params: &[BodyParams]) {
    let f = params.len();
    let flat3 = |v: &Vector3<f32>| [v.x, v.y, v.z];
    let go: Vec<f32> = params.iter().flat_map(|p| flat3(&p.global_orient)).collect();
    let bp: Vec<f32> = params.iter().flat_map(|p| p.body_pose.iter().flat_map(flat3)).collect();
    let be: Vec<f32> = params.iter().flat_map(|p| p.betas).collect();
    let tr: Vec<f32> = params.iter().flat_map(|p| flat3(&p.transl)).collect();
    w.f32("global_orient", &[f, 3], &go);
    w.f32("body_pose", &[f, NUM_BODY_JOINTS, 3], &bp);
    w.f32("betas", &[f, NUM_BETAS], &be);
    w.f32("transl", &[f, 3], &tr);
}
