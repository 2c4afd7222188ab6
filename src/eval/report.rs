//! The side-by-side report: every method's metrics per sequence and overall, as a Markdown table or
//! JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::metrics::{Errors, Summary};
use crate::data::{DataError, Mv2d, Mv3d, sequence_files};

/// One method's figures.
#[derive(Clone, Debug, Serialize)]
pub struct MethodReport {
    /// The method's name as given on the command line.
    pub name: String,
    /// Per sequence (file name, summary).
    pub sequences: Vec<(String, Summary)>,
    /// Over all sequences (every frame, view and pair pooled).
    pub overall: Summary,
}

/// The report for several methods on the same sequences.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The methods, in the order given.
    pub methods: Vec<MethodReport>,
}

/// The estimate of `truth_file` by a method whose output is `estimates` (a file, or a folder
/// holding a file of the same name).
fn estimate_path(estimates: &Path, truth_file: &Path) -> PathBuf {
    match (estimates.is_dir(), truth_file.file_name()) {
        (true, Some(name)) => estimates.join(name),
        _ => estimates.to_path_buf(),
    }
}

impl Report {
    /// Measures every `(name, estimates)` method on every sequence in `truth` (file or folder).
    pub fn evaluate(truth: &Path, methods: &[(String, PathBuf)]) -> Result<Self, DataError> {
        let files = sequence_files(truth)?;
        let truths: Vec<Mv2d> = files.iter().map(|f| Mv2d::read(f)).collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for (name, estimates) in methods {
            let mut all = Errors::default();
            let mut sequences = Vec::new();
            for (file, truth) in files.iter().zip(&truths) {
                let estimate = Mv3d::read(&estimate_path(estimates, file))?;
                let errors = Errors::measure(truth, &estimate).map_err(|e| match e {
                    DataError::Mismatch(m) => DataError::Mismatch(format!("{}: {m}", file.display())),
                    other => other,
                })?;
                all.extend(&errors);
                let label = file.file_stem().map_or_else(|| file.display().to_string(), |s| s.to_string_lossy().into());
                sequences.push((label, errors.summary()));
            }
            out.push(MethodReport { name: name.clone(), sequences, overall: all.summary() });
        }
        Ok(Self { methods: out })
    }

    /// Markdown tables: overall first, then per sequence.
    pub fn to_markdown(&self, per_sequence: bool) -> String {
        let mut s = String::new();
        let header = "| method | MPJPE all / limbs (mm) | N-MPJPE all / limbs (mm) | PA-MPJPE all / limbs (mm) | cam rot err mean / median (°) | ms / frame |\n|---|---|---|---|---|---|\n";
        let row = |name: &str, m: &Summary| {
            format!(
                "| {name} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} / {:.2} | {:.2} |\n",
                m.mpjpe_mm[0],
                m.mpjpe_mm[1],
                m.n_mpjpe_mm[0],
                m.n_mpjpe_mm[1],
                m.pa_mpjpe_mm[0],
                m.pa_mpjpe_mm[1],
                m.camera_rotation_deg_mean,
                m.camera_rotation_deg_median,
                m.ms_per_frame
            )
        };
        let frames = self.methods.first().map_or(0, |m| m.overall.frames);
        let sequences = self.methods.first().map_or(0, |m| m.sequences.len());
        let _ = writeln!(s, "Overall ({sequences} sequences, {frames} frames)\n");
        s.push_str(header);
        for m in &self.methods {
            s.push_str(&row(&m.name, &m.overall));
        }
        for m in self.methods.iter().filter(|m| m.overall.unmeasured_keypoints > 0) {
            let _ = writeln!(
                s,
                "\n{}: {} of {} keypoints were not measured (fewer than two views saw them, or no view saw the \
                 person) and are scored where the method filled them in",
                m.name,
                m.overall.unmeasured_keypoints,
                m.overall.frames * crate::keypoints::NUM_KEYPOINTS
            );
        }
        if self.methods.iter().any(|m| m.overall.foot_rotation_deg_median > 0.0) {
            let _ = writeln!(s, "\nFeet, hands and pelvis: median orientation error after the PA alignment (°)\n");
            s.push_str("| method | feet | hands | pelvis |\n|---|---|---|---|\n");
            for m in &self.methods {
                let o = &m.overall;
                let _ = writeln!(
                    s,
                    "| {} | {:.1} | {:.1} | {:.1} |",
                    m.name, o.foot_rotation_deg_median, o.hand_rotation_deg_median, o.pelvis_rotation_deg_median
                );
            }
        }
        if per_sequence {
            for (i, (label, _)) in self.methods.first().map_or(&[][..], |m| &m.sequences[..]).iter().enumerate() {
                let _ = writeln!(s, "\n{label}\n");
                s.push_str(header);
                for m in &self.methods {
                    s.push_str(&row(&m.name, &m.sequences[i].1));
                }
            }
        }
        s
    }
}
