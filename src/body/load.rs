//! Loading body models: our open model (`open_body.safetensors`) and official SMPL `.npz` files.

use std::path::Path;

use nalgebra::{DMatrix, Vector3};

use super::error::{BodyError, Result};
use super::model::{BodyModel, SparseRows};
use super::skeleton::{
    JOINT_NAMES, LIMB_KEYPOINT_JOINTS, LIMB_KEYPOINTS, NUM_BETAS, NUM_JOINTS, NUM_KEYPOINTS, PARENTS,
};
use crate::keypoints::NUM_EXTRA_KEYPOINTS;
use crate::tensor_file::{FileError, TensorFile};

/// The `format` value in the metadata of our body-model files.
pub const BODY_FORMAT: &str = "cmanet-body";

/// SMPL mesh vertices (6890-vertex topology) at the nose, right eye, left eye, right ear and left
/// ear, as used by the SMPL-X project's `vertex_ids`.
const SMPL_FACE_VERTICES: [(usize, u32); 5] = [(0, 332), (2, 6260), (1, 2800), (4, 583), (3, 4071)];

impl BodyModel {
    /// Loads the open body model shipped with the crate.
    pub fn open_body() -> Result<Self> {
        Self::load(&crate::assets::body_model())
    }

    /// Loads a body model: `.npz` files as official SMPL, anything else as our safetensors layout.
    pub fn load(path: &Path) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("npz") => Self::load_smpl_npz(path),
            _ => Self::load_safetensors(path),
        }
    }

    /// Loads our safetensors layout (`format = cmanet-body`), as written by `tools/build_body.py`.
    pub fn load_safetensors(path: &Path) -> Result<Self> {
        let file = TensorFile::read_safetensors(path)?;
        if let Some(format) = file.metadata().get("format")
            && format != BODY_FORMAT
        {
            return Err(file.bad("__metadata__", format!("format is `{format}`, expected `{BODY_FORMAT}`")).into());
        }
        let v_template = read_vertices(&file, "v_template")?;
        let v = v_template.len();
        let shapedirs = file.required("shapedirs", &[Some(v), Some(3), Some(NUM_BETAS)])?;
        let skin = file.required("skin_weights", &[Some(v), Some(NUM_JOINTS)])?;
        let (_, faces) = file.indices("faces", &[None, Some(3)], v)?;
        let parents = file.required("parents", &[Some(NUM_JOINTS)])?;
        check_parents(&file, "parents", &parents.data)?;
        let model = BodyModel {
            name: file.metadata().get("name").cloned().unwrap_or_else(|| stem(path)),
            v_template,
            shapedirs: DMatrix::from_row_slice(3 * v, NUM_BETAS, &shapedirs.to_f32()),
            posedirs: None,
            joint_regressor: read_sparse(&file, "joint_regressor", NUM_JOINTS, v)?,
            keypoint_regressor: read_sparse(&file, "keypoint_regressor", NUM_KEYPOINTS, v)?,
            extra_regressor: match file.optional("extra_regressor_rows", &[None])? {
                Some(_) => Some(read_sparse(&file, "extra_regressor", NUM_EXTRA_KEYPOINTS, v)?),
                None => None,
            },
            skin_weights: DMatrix::from_row_slice(v, NUM_JOINTS, &skin.to_f32()),
            faces: faces.chunks_exact(3).map(|f| [f[0], f[1], f[2]]).collect(),
            shape_explained_variance: file
                .optional("shape_explained_variance", &[Some(NUM_BETAS)])?
                .map(|t| t.to_f32()),
        };
        finish(model, path)
    }

    /// Loads an official SMPL model saved as `.npz` (keys `v_template`, `shapedirs`, `posedirs`,
    /// `J_regressor`, `weights`, `kintree_table`, `f`).
    ///
    /// The first 10 shape components are used (fewer are padded with zeros). `posedirs` is optional.
    /// COCO-17 keypoints come from an optional `keypoint_regressor` [17, V] array; otherwise, on
    /// SMPL's 6890-vertex mesh, from the usual nose, eye and ear vertices; on any other mesh the five
    /// face keypoints fall back to the head joint. Limb keypoints are the corresponding joints.
    /// The 16 extra BlazePose keypoints come from an optional `extra_regressor` [16, V] array
    /// (none otherwise: feet and hands are then not observed).
    pub fn load_smpl_npz(path: &Path) -> Result<Self> {
        let file = TensorFile::read_npz(path)?;
        let v_template = read_vertices(&file, "v_template")?;
        let v = v_template.len();
        let shapedirs_raw = file.required("shapedirs", &[Some(v), Some(3), None])?;
        let components = shapedirs_raw.shape[2];
        let mut shapedirs = DMatrix::zeros(3 * v, NUM_BETAS);
        for row in 0..3 * v {
            for c in 0..components.min(NUM_BETAS) {
                shapedirs[(row, c)] = shapedirs_raw.data[row * components + c] as f32;
            }
        }
        let posedirs = file
            .optional("posedirs", &[Some(v), Some(3), Some(9 * (NUM_JOINTS - 1))])?
            .map(|p| DMatrix::from_row_slice(3 * v, 9 * (NUM_JOINTS - 1), &p.to_f32()));
        let j_regressor = file.required("J_regressor", &[Some(NUM_JOINTS), Some(v)])?;
        let joint_regressor = SparseRows::from_dense(&j_regressor.to_f32(), NUM_JOINTS, v);
        let weights = file.required("weights", &[Some(v), Some(NUM_JOINTS)])?;
        let kintree = file.required("kintree_table", &[Some(2), Some(NUM_JOINTS)])?;
        check_parents(&file, "kintree_table", &kintree.data[..NUM_JOINTS])?;
        let (_, faces) = file.indices("f", &[None, Some(3)], v)?;
        let keypoint_regressor = match file.optional("keypoint_regressor", &[Some(NUM_KEYPOINTS), Some(v)])? {
            Some(k) => SparseRows::from_dense(&k.to_f32(), NUM_KEYPOINTS, v),
            None => default_keypoint_regressor(&joint_regressor, v),
        };
        let model = BodyModel {
            name: stem(path),
            v_template,
            shapedirs,
            posedirs,
            joint_regressor,
            keypoint_regressor,
            extra_regressor: file
                .optional("extra_regressor", &[Some(NUM_EXTRA_KEYPOINTS), Some(v)])?
                .map(|k| SparseRows::from_dense(&k.to_f32(), NUM_EXTRA_KEYPOINTS, v)),
            skin_weights: DMatrix::from_row_slice(v, NUM_JOINTS, &weights.to_f32()),
            faces: faces.chunks_exact(3).map(|f| [f[0], f[1], f[2]]).collect(),
            shape_explained_variance: None,
        };
        finish(model, path)
    }
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read_vertices(file: &TensorFile, key: &str) -> Result<Vec<Vector3<f32>>, FileError> {
    let t = file.required(key, &[None, Some(3)])?;
    if t.shape[0] == 0 {
        return Err(file.bad(key, "no vertices"));
    }
    Ok(t.data.chunks_exact(3).map(|p| Vector3::new(p[0] as f32, p[1] as f32, p[2] as f32)).collect())
}

fn check_parents(file: &TensorFile, key: &str, parents: &[f64]) -> Result<(), FileError> {
    for (j, (&got, want)) in parents.iter().zip(PARENTS).enumerate() {
        // The root's entry is -1 or, in SMPL's uint32 tables, 2^32 - 1: anything but a joint index.
        let ok = match want {
            None => got < 0.0 || got >= NUM_JOINTS as f64,
            Some(p) => got == p as f64,
        };
        if !ok {
            return Err(
                file.bad(key, format!("parent of joint {j} ({}) is {got}, expected SMPL's tree", JOINT_NAMES[j]))
            );
        }
    }
    Ok(())
}

fn read_sparse(file: &TensorFile, prefix: &str, rows: usize, cols: usize) -> Result<SparseRows, FileError> {
    let (row_key, col_key, value_key) =
        (format!("{prefix}_rows"), format!("{prefix}_cols"), format!("{prefix}_values"));
    let (shape, r) = file.indices(&row_key, &[None], rows)?;
    let (_, c) = file.indices(&col_key, &[Some(shape[0])], cols)?;
    let values = file.required(&value_key, &[Some(shape[0])])?;
    let mut out = SparseRows { rows: vec![Vec::new(); rows], cols };
    for ((r, c), v) in r.iter().zip(&c).zip(&values.data) {
        out.rows[*r as usize].push((*c, *v as f32));
    }
    if let Some(i) = out.rows.iter().position(|row| row.is_empty()) {
        return Err(file.bad(&value_key, format!("row {i} has no entries")));
    }
    Ok(out)
}

fn default_keypoint_regressor(joints: &SparseRows, v: usize) -> SparseRows {
    let head = joints.rows[15].clone();
    let mut rows = vec![Vec::new(); NUM_KEYPOINTS];
    for (k, vertex) in SMPL_FACE_VERTICES {
        rows[k] = if v == 6890 { vec![(vertex, 1.0)] } else { head.clone() };
    }
    for (k, j) in LIMB_KEYPOINTS.iter().zip(LIMB_KEYPOINT_JOINTS) {
        rows[*k] = joints.rows[j].clone();
    }
    SparseRows { rows, cols: v }
}

fn finish(model: BodyModel, path: &Path) -> Result<BodyModel> {
    model.validate().map_err(|e| match e {
        BodyError::BadInput(problem) => {
            BodyError::File(FileError::Container { path: path.into(), container: "body model", problem })
        }
        other => other,
    })?;
    Ok(model)
}
