//! Camera calibrations from other tools: the `calibration.toml` layout that Pose2Sim and anipose
//! write (one table per camera with `name`, `size` = [width, height], `matrix` = K, `distortions`,
//! `rotation` = Rodrigues vector and `translation`, world to camera in OpenCV axes), and the change
//! of world axes from a z-up world (Pose2Sim's) to ours (+y up).

use std::path::{Path, PathBuf};

use nalgebra::{Matrix3, Vector3};

use super::format::DataError;
use crate::geometry::{Extrinsics, Intrinsics, axis_angle_to_matrix};
use crate::tensor_file::FileError;

/// One camera of a calibration file.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratedCamera {
    /// The camera's table name (or its `name` field when present).
    pub name: String,
    /// Width and height in pixels of the images the calibration was made for.
    pub size: [f64; 2],
    /// Pinhole intrinsics at that size.
    pub intrinsics: Intrinsics,
    /// Lens distortion coefficients as stored: none, or OpenCV's `k1 k2 p1 p2 [k3]` (anything
    /// else is refused when read). `cmanet detect` undistorts the keypoints with them
    /// ([`CalibratedCamera::undistort`]).
    pub distortion: Vec<f64>,
    /// World-to-camera pose in the file's world axes and units.
    pub extrinsics: Extrinsics,
}

impl CalibratedCamera {
    /// The intrinsics for images of `width` x `height` pixels (the same view scaled: focal lengths
    /// and principal point scale with the image).
    pub fn intrinsics_for(&self, width: f64, height: f64) -> Intrinsics {
        let (sx, sy) = (width / self.size[0], height / self.size[1]);
        let k = &self.intrinsics;
        Intrinsics { fx: k.fx * sx, fy: k.fy * sy, cx: k.cx * sx, cy: k.cy * sy }
    }

    /// Why images of `width` x `height` pixels cannot be this camera's, if they cannot: their shape
    /// differs from the calibration's by more than [`SHAPE_TOLERANCE`] (rotated or cropped images
    /// would be scaled unevenly; scaled ones are fine).
    pub fn size_mismatch(&self, width: f64, height: f64) -> Option<String> {
        let (sx, sy) = (width / self.size[0], height / self.size[1]);
        ((sx / sy - 1.0).abs() > SHAPE_TOLERANCE).then(|| {
            format!(
                "camera `{}` was calibrated for {} x {} images, these are {width} x {height} (another shape: \
                 rotated or cropped?)",
                self.name, self.size[0], self.size[1]
            )
        })
    }

    /// Whether the calibration has lens distortion to undo.
    pub fn is_distorted(&self) -> bool {
        self.distortion.iter().any(|&d| d != 0.0)
    }

    /// The pixel `pixel` of a `width` x `height` image (the calibration scaled to it) without the
    /// lens distortion: OpenCV's model (`k1 k2 p1 p2 [k3]`) inverted by fixed-point iteration, as
    /// `cv::undistortPoints` does, then projected again with the same intrinsics.
    pub fn undistort(&self, pixel: [f64; 2], width: f64, height: f64) -> [f64; 2] {
        if !self.is_distorted() {
            return pixel;
        }
        let k = self.intrinsics_for(width, height);
        let (xd, yd) = ((pixel[0] - k.cx) / k.fx, (pixel[1] - k.cy) / k.fy);
        let (mut x, mut y) = (xd, yd);
        for _ in 0..20 {
            let (radial, [dx, dy]) = self.lens(x, y);
            (x, y) = ((xd - dx) / radial, (yd - dy) / radial);
        }
        [k.fx * x + k.cx, k.fy * y + k.cy]
    }

    /// The undistorted pixel's distorted place (OpenCV's model forward): what a lens with this
    /// calibration shows of the pinhole pixel `pixel`.
    pub fn distort(&self, pixel: [f64; 2], width: f64, height: f64) -> [f64; 2] {
        let k = self.intrinsics_for(width, height);
        let (x, y) = ((pixel[0] - k.cx) / k.fx, (pixel[1] - k.cy) / k.fy);
        let (radial, [dx, dy]) = self.lens(x, y);
        [k.fx * (x * radial + dx) + k.cx, k.fy * (y * radial + dy) + k.cy]
    }

    /// OpenCV's distortion at the normalised image point (`x`, `y`): the radial factor and the
    /// tangential shift, so that the distorted point is `(x, y) * radial + shift`.
    fn lens(&self, x: f64, y: f64) -> (f64, [f64; 2]) {
        let c = |i: usize| self.distortion.get(i).copied().unwrap_or(0.0);
        let (k1, k2, p1, p2, k3) = (c(0), c(1), c(2), c(3), c(4));
        let r2 = x * x + y * y;
        let radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3));
        (radial, [2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x), p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y])
    }
}

/// How much the shape (width / height) of images may differ from their calibration's, as a
/// fraction: Pose2Sim's sample calibrates 218-pixel-wide frames and a 216-pixel-wide one.
pub const SHAPE_TOLERANCE: f64 = 0.02;

/// The rotation taking our world axes (+y up) to a z-up world's: `X_zup = M X_ours` with
/// x kept, our y = their z, our z = -their y (both right-handed).
pub fn y_up_to_z_up() -> Matrix3<f64> {
    Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0)
}

/// Extrinsics of a z-up world (Pose2Sim's) re-expressed for our +y-up world: `R' = R M`.
pub fn extrinsics_from_z_up(e: &Extrinsics) -> Extrinsics {
    Extrinsics::new(e.rotation * y_up_to_z_up(), e.translation)
}

fn invalid(path: &Path, key: &str, problem: impl Into<String>) -> DataError {
    DataError::InvalidFile { path: PathBuf::from(path), key: key.into(), problem: problem.into() }
}

fn numbers(item: &toml_edit::Item) -> Option<Vec<f64>> {
    item.as_array()?.iter().map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64))).collect()
}

/// Reads a Pose2Sim / anipose `calibration.toml`: every table with a `matrix` key is a camera, in
/// file order.
pub fn read_calibration_toml(path: &Path) -> Result<Vec<CalibratedCamera>, DataError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| DataError::File(FileError::Io { path: path.into(), source }))?;
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        DataError::File(FileError::Container {
            path: path.into(),
            container: "TOML",
            problem: e.to_string().lines().next().unwrap_or_default().to_string(),
        })
    })?;
    let mut cams = Vec::new();
    for (key, item) in doc.iter() {
        let Some(table) = item.as_table() else { continue };
        let Some(matrix) = table.get("matrix") else { continue };
        let rows: Vec<Vec<f64>> = matrix
            .as_array()
            .and_then(|a| a.iter().map(|r| numbers(&toml_edit::Item::Value(r.clone()))).collect::<Option<Vec<_>>>())
            .ok_or_else(|| invalid(path, key, "`matrix` is not a 3x3 array of numbers"))?;
        if rows.len() != 3 || rows.iter().any(|r| r.len() != 3) {
            return Err(invalid(path, key, "`matrix` is not 3x3"));
        }
        let k = Matrix3::from_fn(|i, j| rows[i][j]);
        if k[(0, 1)] != 0.0 || k[(1, 0)] != 0.0 || k[(2, 0)] != 0.0 || k[(2, 1)] != 0.0 || k[(2, 2)] != 1.0 {
            return Err(invalid(path, key, "`matrix` is not a pinhole K without skew"));
        }
        if ![k[(0, 0)], k[(1, 1)]].iter().all(|f| f.is_finite() && *f > 0.0)
            || ![k[(0, 2)], k[(1, 2)]].iter().all(|c| c.is_finite())
        {
            return Err(invalid(path, key, "`matrix`: focal lengths must be positive and the principal point finite"));
        }
        let intrinsics = Intrinsics::from_matrix(&k);
        let size = table
            .get("size")
            .and_then(numbers)
            .filter(|s| s.len() == 2 && s.iter().all(|&v| v > 0.0))
            .ok_or_else(|| invalid(path, key, "`size` must be [width, height]"))?;
        let vec3 = |name: &str| -> Result<Vector3<f64>, DataError> {
            let v = table
                .get(name)
                .and_then(numbers)
                .filter(|v| v.len() == 3 && v.iter().all(|x| x.is_finite()))
                .ok_or_else(|| invalid(path, key, format!("`{name}` must be 3 numbers")))?;
            Ok(Vector3::new(v[0], v[1], v[2]))
        };
        let extrinsics = Extrinsics::new(axis_angle_to_matrix(&vec3("rotation")?), vec3("translation")?);
        let name = table.get("name").and_then(|v| v.as_str()).unwrap_or(key).to_string();
        if table.get("fisheye").and_then(|v| v.as_bool()) == Some(true) {
            return Err(invalid(
                path,
                key,
                "`fisheye = true`: fisheye lenses are not supported (undistort the images and calibrate them as pinhole)",
            ));
        }
        let distortion = match table.get("distortions") {
            None => Vec::new(),
            Some(item) => numbers(item)
                .filter(|d| d.iter().all(|x| x.is_finite()))
                .ok_or_else(|| invalid(path, key, "`distortions` must be numbers"))?,
        };
        if distortion.iter().any(|&d| d != 0.0) && !matches!(distortion.len(), 4 | 5) {
            return Err(invalid(
                path,
                key,
                format!(
                    "{} distortion coefficients: only OpenCV's k1 k2 p1 p2 [k3] (4 or 5) are supported",
                    distortion.len()
                ),
            ));
        }
        cams.push(CalibratedCamera { name, size: [size[0], size[1]], intrinsics, distortion, extrinsics });
    }
    if cams.is_empty() {
        return Err(invalid(path, "matrix", "no camera table (a table with `matrix`) in the file"));
    }
    Ok(cams)
}
