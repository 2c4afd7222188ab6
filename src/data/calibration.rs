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
    /// Lens distortion coefficients as stored (not applied by this crate).
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
}

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
        let distortion = table.get("distortions").and_then(numbers).unwrap_or_default();
        cams.push(CalibratedCamera { name, size: [size[0], size[1]], intrinsics, distortion, extrinsics });
    }
    if cams.is_empty() {
        return Err(invalid(path, "matrix", "no camera table (a table with `matrix`) in the file"));
    }
    Ok(cams)
}
