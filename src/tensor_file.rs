//! Reading named tensors from safetensors and npz files with errors that name the file and the key.
//!
//! Every file format of the crate (body models, `cmanet-mv2d`, `cmanet-mv3d`, weights, the converted
//! detector networks, checkpoints) reads through here, so a bad file always gets the same kind of
//! one-line message. Readers that hand the bytes on (to candle's `VarBuilder`, or the detector's
//! own loader) read the header with [`safetensors_metadata`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

/// A file that could not be read as the tensors we expect.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read at all.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid container.
    #[error("{path}: not a valid {container} file: {problem}")]
    Container {
        /// The file.
        path: PathBuf,
        /// `safetensors` or `npz`.
        container: &'static str,
        /// What the parser said.
        problem: String,
    },
    /// The file could not be written (nothing at its path was changed).
    #[error("{path}: cannot write: {problem}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A required key is absent.
    #[error("{path}: missing key `{key}`")]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A key is present but its shape, dtype or values are wrong.
    #[error("{path}: key `{key}`: {problem}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// One tensor read from a file, converted to f64 (every dtype we accept converts exactly).
#[derive(Clone, Debug, PartialEq)]
pub struct RawTensor {
    /// The dtype it had in the file.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f64>,
}

impl RawTensor {
    /// The values as f32.
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&x| x as f32).collect()
    }
}

/// The tensors of one file, read into memory, with the file's path for error messages.
#[derive(Debug)]
pub struct TensorFile {
    path: PathBuf,
    tensors: HashMap<String, RawTensor>,
    metadata: HashMap<String, String>,
}

/// The `__metadata__` of a safetensors file's `bytes` (empty when it has none), or what the parser
/// said about a header it could not read.
pub fn safetensors_metadata(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    Ok(header.metadata().clone().unwrap_or_default())
}

/// The multi-index of the row-major flat index `i` in `shape`.
fn unflatten(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &size) in index.iter_mut().zip(shape).rev() {
        *slot = i % size.max(1);
        i /= size.max(1);
    }
    index
}

/// What the axes of the crate's tensors are, for messages.
fn axes(key: &str) -> &'static str {
    match key {
        "keypoints2d" | "extra2d" => "frame, view, keypoint, x / y / confidence",
        "joints3d" | "extra3d" => "frame, keypoint, x / y / z",
        "joints3d_cam" => "frame, view, keypoint, x / y / z",
        "intrinsics" => "view, row, column",
        "extrinsics_R" => "view (or frame, view), row, column",
        "extrinsics_t" => "view (or frame, view), x / y / z",
        "body_pose" => "frame, joint, axis-angle",
        _ => "row-major",
    }
}

/// The largest magnitude a network weight may have (the shipped networks' largest is 2566, in
/// BlazePose's landmark network; CMANet's is 2.1): beyond it a file is taken for damaged.
pub const WEIGHT_LIMIT: f64 = 1e6;

/// Checks every float tensor of a safetensors file's `bytes`: all values finite and at most
/// `limit` in magnitude. The first bad value is named by its tensor and index.
pub fn check_values(bytes: &[u8], limit: f64) -> Result<(), String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    for name in names {
        let view = st.tensor(&name).map_err(|e| format!("`{name}`: {e}"))?;
        if !matches!(view.dtype(), Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64) {
            continue;
        }
        let Some(values) = decode(view.dtype(), view.data()) else { continue };
        if let Some((i, x)) = values.iter().enumerate().find(|(_, x)| !x.is_finite() || x.abs() > limit) {
            let what = if x.is_finite() { format!("{x:e}, beyond {limit:e}") } else { format!("{x}") };
            return Err(format!("tensor `{name}`: value {i} of {} is {what} (a damaged file?)", values.len()));
        }
    }
    Ok(())
}

impl TensorFile {
    /// Reads a safetensors file.
    pub fn read_safetensors(path: &Path) -> Result<Self, FileError> {
        let bytes = std::fs::read(path).map_err(|source| FileError::Io { path: path.into(), source })?;
        let container = |problem: String| FileError::Container { path: path.into(), container: "safetensors", problem };
        let metadata = safetensors_metadata(&bytes).map_err(container)?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| container(e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let data = decode(view.dtype(), view.data()).ok_or_else(|| FileError::BadKey {
                path: path.into(),
                key: name.clone(),
                problem: format!("unsupported dtype {:?}", view.dtype()),
            })?;
            tensors.insert(name, RawTensor { dtype: view.dtype(), shape: view.shape().to_vec(), data });
        }
        Ok(Self { path: path.into(), tensors, metadata })
    }

    /// Reads the arrays of an `.npz` file (numpy's zip of `.npy` files); arrays whose dtype is not
    /// numeric (pickled objects) are skipped, so asking for them reports them missing.
    pub fn read_npz(path: &Path) -> Result<Self, FileError> {
        if let Err(source) = std::fs::metadata(path) {
            return Err(FileError::Io { path: path.into(), source });
        }
        let container = |problem: String| FileError::Container { path: path.into(), container: "npz", problem };
        let npz = candle_core::npy::NpzTensors::new(path).map_err(|e| container(e.to_string()))?;
        let mut tensors = HashMap::new();
        for name in npz.names() {
            let Ok(Some(t)) = npz.get(name) else { continue };
            let shape = t.dims().to_vec();
            let dtype = match t.dtype() {
                candle_core::DType::U8 => Dtype::U8,
                candle_core::DType::U32 => Dtype::U32,
                candle_core::DType::I64 => Dtype::I64,
                candle_core::DType::BF16 => Dtype::BF16,
                candle_core::DType::F16 => Dtype::F16,
                candle_core::DType::F32 => Dtype::F32,
                _ => Dtype::F64,
            };
            let data = t
                .flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F64))
                .and_then(|t| t.to_vec1::<f64>())
                .map_err(|e| container(format!("array `{name}`: {e}")))?;
            tensors.insert(name.clone(), RawTensor { dtype, shape, data });
        }
        Ok(Self { path: path.into(), tensors, metadata: HashMap::new() })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's string metadata (safetensors `__metadata__`).
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// Whether the file has `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// An error about `key` of this file.
    pub fn bad(&self, key: &str, problem: impl Into<String>) -> FileError {
        FileError::BadKey { path: self.path.clone(), key: key.into(), problem: problem.into() }
    }

    /// The tensor `key`, if present, checked against `shape` (`None` entries match any size) and
    /// for finite values.
    pub fn optional(&self, key: &str, shape: &[Option<usize>]) -> Result<Option<&RawTensor>, FileError> {
        let Some(t) = self.tensors.get(key) else { return Ok(None) };
        let matches = t.shape.len() == shape.len() && t.shape.iter().zip(shape).all(|(a, b)| b.is_none_or(|b| *a == b));
        if !matches {
            let want: Vec<String> = shape.iter().map(|d| d.map_or("_".into(), |d| d.to_string())).collect();
            return Err(self.bad(key, format!("shape {:?}, expected [{}]", t.shape, want.join(", "))));
        }
        if let Some(i) = t.data.iter().position(|x| !x.is_finite()) {
            return Err(self.bad(
                key,
                format!(
                    "value {} at index {:?} (shape {:?}: {})",
                    t.data[i],
                    unflatten(i, &t.shape),
                    t.shape,
                    axes(key)
                ),
            ));
        }
        Ok(Some(t))
    }

    /// Like [`TensorFile::optional`], and the tensor must also have a floating-point dtype.
    pub fn optional_float(&self, key: &str, shape: &[Option<usize>]) -> Result<Option<&RawTensor>, FileError> {
        let t = self.optional(key, shape)?;
        if let Some(t) = t
            && !matches!(t.dtype, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
        {
            return Err(self.bad(key, format!("dtype {:?}, expected a floating-point dtype (F32)", t.dtype)));
        }
        Ok(t)
    }

    /// Like [`TensorFile::required`], and the tensor must also have a floating-point dtype.
    pub fn required_float(&self, key: &str, shape: &[Option<usize>]) -> Result<&RawTensor, FileError> {
        self.optional_float(key, shape)?
            .ok_or_else(|| FileError::MissingKey { path: self.path.clone(), key: key.into() })
    }

    /// The tensor `key`, which must be present; see [`TensorFile::optional`].
    pub fn required(&self, key: &str, shape: &[Option<usize>]) -> Result<&RawTensor, FileError> {
        self.optional(key, shape)?.ok_or_else(|| FileError::MissingKey { path: self.path.clone(), key: key.into() })
    }

    /// The tensor `key` as indices: integral values in `0..bound`.
    pub fn indices(
        &self,
        key: &str,
        shape: &[Option<usize>],
        bound: usize,
    ) -> Result<(Vec<usize>, Vec<u32>), FileError> {
        let t = self.required(key, shape)?;
        let mut out = Vec::with_capacity(t.data.len());
        for (i, &x) in t.data.iter().enumerate() {
            if x.fract() != 0.0 || x < 0.0 || x >= bound as f64 {
                return Err(self.bad(key, format!("value {x} at flat index {i} is not an index below {bound}")));
            }
            out.push(x as u32);
        }
        Ok((t.shape.clone(), out))
    }
}

/// A serialised safetensors file with its `__metadata__` entries in key order (`safetensors` writes
/// them in a hash map's order, so the same tensors and metadata gave different bytes every time).
fn with_sorted_metadata(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let bad = |e: &dyn std::fmt::Display| format!("rewriting the header: {e}");
    let n = bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or("no header")? as usize;
    let header = bytes.get(8..8 + n).ok_or("header cut short")?;
    let mut json: serde_json::Value = serde_json::from_slice(header).map_err(|e| bad(&e))?;
    if let Some(serde_json::Value::Object(meta)) = json.get_mut("__metadata__") {
        let mut entries: Vec<(String, serde_json::Value)> = std::mem::take(meta).into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        meta.extend(entries);
    }
    let mut header = serde_json::to_vec(&json).map_err(|e| bad(&e))?;
    // The data starts 8-byte aligned, as safetensors pads it.
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + header.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Named tensors to write into a safetensors file, with string metadata.
#[derive(Clone, Debug, Default)]
pub struct TensorWriter {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl TensorWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a metadata entry.
    pub fn metadata(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds an f32 tensor; `data.len()` must equal the product of `shape`.
    pub fn f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len(), "{name}");
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.tensors.push((name.into(), Dtype::F32, shape.to_vec(), bytes));
        self
    }

    /// Adds an f64 tensor; `data.len()` must equal the product of `shape`.
    pub fn f64(&mut self, name: &str, shape: &[usize], data: &[f64]) -> &mut Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len(), "{name}");
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.tensors.push((name.into(), Dtype::F64, shape.to_vec(), bytes));
        self
    }

    /// Writes the file: first to a temporary file beside it, then renamed over `path`, so an
    /// interrupted write never leaves a half-written file where a good one was.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        let container = |problem: String| FileError::Container { path: path.into(), container: "safetensors", problem };
        let mut views = Vec::with_capacity(self.tensors.len());
        for (name, dtype, shape, bytes) in &self.tensors {
            let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|e| container(format!("tensor `{name}`: {e}")))?;
            views.push((name.clone(), view));
        }
        let bytes = safetensors::serialize(views, Some(self.metadata.clone())).map_err(|e| container(e.to_string()))?;
        let bytes = with_sorted_metadata(bytes).map_err(container)?;
        write_atomically(path, &bytes)
    }
}

/// Whether [`write_atomically`] may write `path`: nothing is there, or a regular file. Check every
/// output with it before writing the first, so a refusal leaves all of them untouched.
pub fn replaceable(path: &Path) -> Result<(), FileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            let what = if meta.file_type().is_symlink() {
                "a symbolic link"
            } else if meta.is_dir() {
                "a folder"
            } else {
                "a FIFO, socket or device"
            };
            Err(FileError::Write {
                path: path.into(),
                problem: format!("it is {what}, not a regular file: refusing to replace it"),
            })
        }
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` so that nothing is ever half-written there: into a temporary file of
/// a name unique to this process and call, in the same folder (created if missing), then renamed
/// over `path`. Only a regular file (or nothing) at `path` is replaced: a symlink, a folder, a
/// FIFO or a device there is refused. The temporary is removed when anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let fail = |problem: String| FileError::Write { path: path.into(), problem };
    replaceable(path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the folder {}: {e}", dir.display())))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.partial", std::process::id(), CALLS.fetch_add(1, Ordering::Relaxed)));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

fn decode(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f64>> {
    fn chunks<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        bytes.chunks_exact(N).map(|c| c.try_into().unwrap_or([0; N]))
    }
    Some(match dtype {
        Dtype::F64 => chunks::<8>(bytes).map(f64::from_le_bytes).collect(),
        Dtype::F32 => chunks::<4>(bytes).map(|b| f32::from_le_bytes(b) as f64).collect(),
        Dtype::F16 => chunks::<2>(bytes).map(|b| half::f16::from_le_bytes(b).to_f64()).collect(),
        Dtype::BF16 => chunks::<2>(bytes).map(|b| half::bf16::from_le_bytes(b).to_f64()).collect(),
        Dtype::I64 => chunks::<8>(bytes).map(|b| i64::from_le_bytes(b) as f64).collect(),
        Dtype::I32 => chunks::<4>(bytes).map(|b| i32::from_le_bytes(b) as f64).collect(),
        Dtype::U32 => chunks::<4>(bytes).map(|b| u32::from_le_bytes(b) as f64).collect(),
        Dtype::I16 => chunks::<2>(bytes).map(|b| i16::from_le_bytes(b) as f64).collect(),
        Dtype::U16 => chunks::<2>(bytes).map(|b| u16::from_le_bytes(b) as f64).collect(),
        Dtype::U8 => bytes.iter().map(|&b| b as f64).collect(),
        Dtype::I8 => bytes.iter().map(|&b| b as i8 as f64).collect(),
        _ => return None,
    })
}
