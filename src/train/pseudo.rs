//! Pseudo-labels: multi-view SMPLify fits of the training sequences (no extrinsics, no ground
//! truth), computed once and cached next to the data, with a per-frame trust from the fit's own
//! final objective.

use std::path::{Path, PathBuf};

use super::data::TrainingSequence;
use crate::data::{DataError, Mv3d};
use crate::fit::{FitError, Fitter};

/// Metadata key of the cache's fingerprint of the input and the fit settings.
pub const SOURCE_KEY: &str = "pseudo_label_source";
/// Metadata key of the per-frame objectives (comma-separated).
pub const OBJECTIVE_KEY: &str = "fit_objective";

/// One sequence's pseudo-labels.
#[derive(Clone, Debug, PartialEq)]
pub struct PseudoLabels {
    /// The fit, in the canonical frame.
    pub estimate: Mv3d,
    /// Every frame's final objective (lower is better).
    pub objective: Vec<f64>,
}

impl PseudoLabels {
    /// How far each frame's label can be trusted, in [0, 1]: 1 up to the sequence's median
    /// objective, falling linearly to 0 at twice the median.
    pub fn trust(&self) -> Vec<f32> {
        let mut sorted = self.objective.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(1.0).max(1e-9);
        self.objective.iter().map(|o| (2.0 - o / median).clamp(0.0, 1.0) as f32).collect()
    }

    /// The cached labels of `sequence` in `cache_dir` when they were made from the same keypoints
    /// with the same fit settings; otherwise fits them (without extrinsics) and caches them.
    pub fn load_or_fit(sequence: &TrainingSequence, cache_dir: &Path, fitter: &Fitter) -> Result<Self, FitError> {
        let path = cache_path(sequence, cache_dir);
        let source = fingerprint(sequence, fitter);
        if let Ok(cached) = Mv3d::read(&path)
            && cached.metadata.get(SOURCE_KEY) == Some(&source)
            && let Some(objective) = cached.metadata.get(OBJECTIVE_KEY).and_then(|s| parse_objective(s))
            && objective.len() == cached.frames.len()
        {
            return Ok(Self { estimate: cached, objective });
        }
        let (mut estimate, objective) = fitter.fit_sequence_with_objective(&sequence.to_mv2d(), false, &mut |_| {})?;
        estimate.metadata.insert(SOURCE_KEY.into(), source);
        let text: Vec<String> = objective.iter().map(|o| format!("{o:.6e}")).collect();
        estimate.metadata.insert(OBJECTIVE_KEY.into(), text.join(","));
        estimate.write(&path).map_err(FitError::Data)?;
        Ok(Self { estimate, objective })
    }
}

fn parse_objective(s: &str) -> Option<Vec<f64>> {
    s.split(',').map(|x| x.parse::<f64>().ok().filter(|x| x.is_finite())).collect()
}

/// Where the labels of `sequence` are cached: `<cache_dir>/<file stem>.fit.safetensors`.
pub fn cache_path(sequence: &TrainingSequence, cache_dir: &Path) -> PathBuf {
    let stem = sequence.path.file_stem().map_or_else(|| "sequence".into(), |s| s.to_string_lossy().into_owned());
    cache_dir.join(format!("{stem}.fit.safetensors"))
}

/// FNV-1a over the keypoints, intrinsics and fit settings: a label is reused only for the same input
/// fitted the same way.
fn fingerprint(sequence: &TrainingSequence, fitter: &Fitter) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for view in sequence.keypoints2d.iter().flatten() {
        for k in view.iter().flatten() {
            eat(&k.to_le_bytes());
        }
    }
    for k in &sequence.intrinsics {
        for x in [k.fx, k.fy, k.cx, k.cy] {
            eat(&x.to_le_bytes());
        }
    }
    eat(format!("{:?}", fitter.settings).as_bytes());
    format!("{h:016x}")
}

/// Pseudo-labels for every sequence, in order (fitted or read from the cache).
pub fn pseudo_labels(
    sequences: &[TrainingSequence],
    cache_dir: &Path,
    fitter: &Fitter,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<PseudoLabels>, FitError> {
    std::fs::create_dir_all(cache_dir).map_err(|source| {
        FitError::Data(DataError::File(crate::tensor_file::FileError::Io { path: cache_dir.into(), source }))
    })?;
    let mut out = Vec::with_capacity(sequences.len());
    for (i, s) in sequences.iter().enumerate() {
        out.push(PseudoLabels::load_or_fit(s, cache_dir, fitter)?);
        progress(i + 1);
    }
    Ok(out)
}
