//! Pseudo-labels: estimates of the training sequences made without extrinsics and without ground
//! truth — multi-view SMPLify fits, or the full CMANet pipeline of an earlier network (its
//! geometric refinement included: a network learns from its own refined estimates) — computed
//! once and cached next to the data, with a per-frame trust from the estimate's own final
//! objective.

use std::path::{Path, PathBuf};

use super::data::TrainingSequence;
use crate::data::labels::repair_temporal;
use crate::data::{DataError, Mv3d};
use crate::fit::{FitError, Fitter};
use crate::net::sequence::REFINEMENT_COST_KEY;
use crate::net::{Cmanet, NetError, Subject};

/// What makes the pseudo-labels.
#[derive(Clone, Copy)]
pub enum LabelSource<'a> {
    /// Multi-view SMPLify without extrinsics; the trust comes from its objective.
    Fit(&'a Fitter),
    /// The full CMANet pipeline of the given network (named, for the cache's fingerprint), after
    /// the temporal left/right repair `cmanet estimate` does; the trust comes from its body
    /// refinement's cost.
    Cmanet {
        /// The labelling network.
        network: &'a Cmanet,
        /// What identifies it (for instance its weights file and size).
        name: &'a str,
        /// Whether each sequence is run twice, the second pass knowing from its first frame the
        /// subject's bones the first learned by its last ([`Cmanet::estimate_sequence_knowing`]),
        /// so that early frames' labels carry them too. Default in `cmanet train`: true.
        two_passes: bool,
    },
}

impl LabelSource<'_> {
    /// The cache file suffix: `fit` or `cmanet`.
    fn suffix(&self) -> &'static str {
        match self {
            LabelSource::Fit(_) => "fit",
            LabelSource::Cmanet { .. } => "cmanet",
        }
    }

    /// What the fingerprint remembers of the source.
    fn description(&self) -> String {
        match self {
            LabelSource::Fit(fitter) => format!("{:?}", fitter.settings),
            LabelSource::Cmanet { network, name, two_passes } => {
                let passes = if *two_passes { "two passes " } else { "" };
                format!("cmanet {passes}{name} {:?}", network.refiner.settings)
            }
        }
    }
}

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
        Self::load_or_make(sequence, cache_dir, LabelSource::Fit(fitter))
    }

    /// The cached labels of `sequence` in `cache_dir` when they were made from the same keypoints by
    /// the same source; otherwise makes them with `source` and caches them.
    pub fn load_or_make(
        sequence: &TrainingSequence,
        cache_dir: &Path,
        source: LabelSource<'_>,
    ) -> Result<Self, FitError> {
        let path = cache_path(sequence, cache_dir, source.suffix());
        let fingerprint = fingerprint(sequence, &source.description());
        if let Ok(cached) = Mv3d::read(&path)
            && cached.metadata.get(SOURCE_KEY) == Some(&fingerprint)
            && let Some(objective) = cached.metadata.get(OBJECTIVE_KEY).and_then(|s| parse_objective(s))
            && objective.len() == cached.frames.len()
        {
            return Ok(Self { estimate: cached, objective });
        }
        let (mut estimate, objective) = match source {
            LabelSource::Fit(fitter) => fitter.fit_sequence_with_objective(&sequence.to_mv2d(), false, &mut |_| {})?,
            LabelSource::Cmanet { network, two_passes, .. } => {
                let mut input = sequence.to_mv2d();
                repair_temporal(&mut input);
                let failed = |e: NetError| FitError::BadInput(format!("{}: {e}", sequence.path.display()));
                // With two passes, the second knows from its first frame the bones the first
                // learned by its last.
                let first = network.estimate_sequence(&input, &mut |_| {}).map_err(failed)?;
                let learned = first
                    .frames
                    .last()
                    .and_then(|f| f.bones)
                    .filter(|_| two_passes)
                    .map(|bones| Subject { bones, evidence: first.frames.len() as f32 });
                let estimate = match learned {
                    Some(subject) => network.estimate_sequence_knowing(&input, subject, &mut |_| {}).map_err(failed)?,
                    None => first,
                };
                let objective = estimate
                    .metadata
                    .get(REFINEMENT_COST_KEY)
                    .and_then(|s| parse_objective(s))
                    .filter(|o| o.len() == estimate.frames.len())
                    .ok_or_else(|| FitError::BadInput(format!("{}: no refinement costs", sequence.path.display())))?;
                (estimate, objective)
            }
        };
        estimate.metadata.insert(SOURCE_KEY.into(), fingerprint);
        let text: Vec<String> = objective.iter().map(|o| format!("{o:.6e}")).collect();
        estimate.metadata.insert(OBJECTIVE_KEY.into(), text.join(","));
        estimate.write(&path).map_err(FitError::Data)?;
        Ok(Self { estimate, objective })
    }
}

fn parse_objective(s: &str) -> Option<Vec<f64>> {
    s.split(',').map(|x| x.parse::<f64>().ok().filter(|x| x.is_finite())).collect()
}

/// Where the labels of `sequence` are cached: `<cache_dir>/<file stem>.<suffix>.safetensors`
/// (`fit` or `cmanet`).
pub fn cache_path(sequence: &TrainingSequence, cache_dir: &Path, suffix: &str) -> PathBuf {
    let stem = sequence.path.file_stem().map_or_else(|| "sequence".into(), |s| s.to_string_lossy().into_owned());
    cache_dir.join(format!("{stem}.{suffix}.safetensors"))
}

/// FNV-1a over the keypoints, intrinsics and the source's description: a label is reused only for
/// the same input labelled the same way.
fn fingerprint(sequence: &TrainingSequence, source: &str) -> String {
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
    eat(source.as_bytes());
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
