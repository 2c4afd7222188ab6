//! Sequence files on disk: a file, or a folder of `.safetensors` files.

use std::path::{Path, PathBuf};

use super::format::DataError;

/// The sequence files of `path`: the file itself, or the `.safetensors` files of a folder, sorted.
pub fn sequence_files(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| crate::tensor_file::FileError::Io { path: path.into(), source };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DataError::Mismatch(format!("{}: no .safetensors files", path.display())));
    }
    Ok(files)
}
