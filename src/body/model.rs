//! The body model: template mesh, shape basis, regressors, skin weights and faces.
//!
//! A [`BodyModel`] is SMPL-compatible: the 24 SMPL joints (see [`crate::body::skeleton`]), pose zero
//! is the T-pose, and joint rest frames are axis-aligned with the body frame (+y up, +z forward, +x
//! the body's left), so a joint's local rotation is the same number in SMPL, in our model and in the
//! avatar glTF. It is either our open model built from MakeHuman's CC0 assets
//! (`assets/body/open_body.safetensors`) or an official SMPL `.npz` the user owns.

use nalgebra::{DMatrix, Vector3};

use super::error::{BodyError, Result};
use super::skeleton::{NUM_BETAS, NUM_JOINTS, NUM_KEYPOINTS};
use crate::keypoints::NUM_EXTRA_KEYPOINTS;

/// A sparse matrix stored row by row: `rows[i]` lists `(column, value)` pairs.
///
/// Used for the joint and keypoint regressors, which touch only a few vertices each.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseRows {
    /// Non-zero entries of every row.
    pub rows: Vec<Vec<(u32, f32)>>,
    /// Number of columns.
    pub cols: usize,
}

impl SparseRows {
    /// Builds from a dense row-major `rows x cols` matrix, keeping entries with `|value| > 0`.
    pub fn from_dense(dense: &[f32], rows: usize, cols: usize) -> Self {
        let rows = (0..rows)
            .map(|r| {
                (0..cols)
                    .filter_map(|c| {
                        let v = dense[r * cols + c];
                        (v != 0.0).then_some((c as u32, v))
                    })
                    .collect()
            })
            .collect();
        Self { rows, cols }
    }

    /// Dense row-major copy.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.rows.len() * self.cols];
        for (r, row) in self.rows.iter().enumerate() {
            for &(c, v) in row {
                dense[r * self.cols + c as usize] += v;
            }
        }
        dense
    }

    /// `self * points`: every row's weighted sum of the points.
    pub fn apply(&self, points: &[Vector3<f32>]) -> Vec<Vector3<f32>> {
        self.rows.iter().map(|row| row.iter().map(|&(c, v)| points[c as usize] * v).sum()).collect()
    }

    /// Sum of every row's values.
    pub fn row_sums(&self) -> Vec<f32> {
        self.rows.iter().map(|r| r.iter().map(|e| e.1).sum()).collect()
    }

    /// Sorted, de-duplicated columns that any row touches.
    pub fn used_columns(&self) -> Vec<u32> {
        let mut cols: Vec<u32> = self.rows.iter().flatten().map(|e| e.0).collect();
        cols.sort_unstable();
        cols.dedup();
        cols
    }
}

/// An SMPL-compatible body model with 24 joints, 10 shape coefficients and COCO-17 keypoints.
#[derive(Clone, Debug)]
pub struct BodyModel {
    /// Short name (`open_body`, or the SMPL file's stem).
    pub name: String,
    /// Template vertices at `betas = 0` in the T-pose, metres, body frame.
    pub v_template: Vec<Vector3<f32>>,
    /// Shape basis, `(3 V) x 10`: row `3 v + axis` is vertex `v`'s offset along `axis` per unit beta.
    pub shapedirs: DMatrix<f32>,
    /// Optional pose-corrective blend shapes, `(3 V) x 207` (SMPL's `posedirs`), driven by the
    /// flattened `R_j - I` of the 23 body joints.
    pub posedirs: Option<DMatrix<f32>>,
    /// Joint regressor, 24 x V.
    pub joint_regressor: SparseRows,
    /// COCO-17 keypoint regressor, 17 x V.
    pub keypoint_regressor: SparseRows,
    /// Regressor of the 16 BlazePose keypoints COCO-17 lacks (`cmanet::keypoints::EXTRA_NAMES`),
    /// 16 x V, when the model has one (the open body does; SMPL files only if they carry an
    /// `extra_regressor` array).
    pub extra_regressor: Option<SparseRows>,
    /// Linear blend skinning weights, V x 24, rows sum to 1.
    pub skin_weights: DMatrix<f32>,
    /// Triangles as vertex indices.
    pub faces: Vec<[u32; 3]>,
    /// Fraction of the shape variance explained by each of the 10 components, when known.
    pub shape_explained_variance: Option<Vec<f32>>,
}

impl BodyModel {
    /// Number of vertices.
    pub fn num_vertices(&self) -> usize {
        self.v_template.len()
    }

    /// Checks the sizes of every part against each other and that the values are finite.
    pub fn validate(&self) -> Result<()> {
        let v = self.num_vertices();
        let bad = |what: String| Err(BodyError::BadInput(what));
        if v == 0 {
            return bad("the template has no vertices".into());
        }
        if self.shapedirs.shape() != (3 * v, NUM_BETAS) {
            return bad(format!("shapedirs is {:?}, expected ({}, {NUM_BETAS})", self.shapedirs.shape(), 3 * v));
        }
        if let Some(p) = &self.posedirs
            && p.shape() != (3 * v, 9 * (NUM_JOINTS - 1))
        {
            return bad(format!("posedirs is {:?}, expected ({}, 207)", p.shape(), 3 * v));
        }
        if self.skin_weights.shape() != (v, NUM_JOINTS) {
            return bad(format!("skin weights are {:?}, expected ({v}, 24)", self.skin_weights.shape()));
        }
        let regressors = [
            Some(("joint regressor", &self.joint_regressor, NUM_JOINTS)),
            Some(("keypoint regressor", &self.keypoint_regressor, NUM_KEYPOINTS)),
            self.extra_regressor.as_ref().map(|r| ("extra keypoint regressor", r, NUM_EXTRA_KEYPOINTS)),
        ];
        for (what, reg, rows) in regressors.into_iter().flatten() {
            if reg.rows.len() != rows || reg.cols != v {
                return bad(format!("{what} is {} x {}, expected {rows} x {v}", reg.rows.len(), reg.cols));
            }
            if reg.rows.iter().flatten().any(|e| e.0 as usize >= v || !e.1.is_finite()) {
                return bad(format!("{what} has an out-of-range column or a non-finite value"));
            }
        }
        if let Some(f) = self.faces.iter().find(|f| f.iter().any(|&i| i as usize >= v)) {
            return bad(format!("face {f:?} indexes past the {v} vertices"));
        }
        let finite = self.v_template.iter().all(|p| p.iter().all(|x| x.is_finite()))
            && self.shapedirs.iter().all(|x| x.is_finite())
            && self.skin_weights.iter().all(|x| x.is_finite())
            && self.posedirs.as_ref().is_none_or(|p| p.iter().all(|x| x.is_finite()));
        if !finite {
            return bad("the model holds non-finite values".into());
        }
        Ok(())
    }

    /// Vertices of the body with shape `betas` in the T-pose: `v_template + shapedirs * betas`.
    pub fn shaped_vertices(&self, betas: &[f32; NUM_BETAS]) -> Vec<Vector3<f32>> {
        let offsets = &self.shapedirs * nalgebra::DVector::from_column_slice(betas);
        self.v_template
            .iter()
            .enumerate()
            .map(|(i, p)| p + Vector3::new(offsets[3 * i], offsets[3 * i + 1], offsets[3 * i + 2]))
            .collect()
    }

    /// Rest joint positions of the body with shape `betas` (the joint regressor on the T-pose mesh).
    pub fn rest_joints(&self, betas: &[f32; NUM_BETAS]) -> Vec<Vector3<f32>> {
        self.joint_regressor.apply(&self.shaped_vertices(betas))
    }

    /// Standing height of the body with shape `betas` in the T-pose: the vertical extent of the mesh.
    pub fn height(&self, betas: &[f32; NUM_BETAS]) -> f32 {
        let vertices = self.shaped_vertices(betas);
        let (lo, hi) =
            vertices.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));
        hi - lo
    }
}
