//! The training loop: stage 1 (IRV) then stage 2 (IEV, IRV frozen) with Adam on random batches of
//! pseudo-labelled frames, a checkpoint every so often (training resumes from it), the loss curves
//! as CSV, and the final weights.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};

use super::labelled::{LabelledFrame, label_batch};
use super::stage1::{LossWeights, stage1_loss};
use super::stage2::stage2_loss;
use crate::body::{BodyModel, BodyTensors};
use crate::data::synth::random::Rng;
use crate::net::input::encode_batch;
use crate::net::irv::Irv;
use crate::net::{Cmanet, Config, NetError, WEIGHTS_FORMAT};
use crate::tensor_file::{FileError, TensorWriter};

/// What can stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Nothing to train on, or settings that cannot work.
    #[error("cannot train: {0}")]
    BadInput(String),
    /// The network failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// The body model failed.
    #[error(transparent)]
    Body(#[from] crate::body::BodyError),
}

/// The recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    /// Adam steps of stage 1. Default: 24000.
    pub stage1_steps: usize,
    /// Adam steps of stage 2. Default: 16000.
    pub stage2_steps: usize,
    /// Frames per batch. Default: 32.
    pub batch_frames: usize,
    /// Adam learning rate at the start of each stage; it follows a cosine down to 2% of it by the
    /// stage's end. Default: 1e-3.
    pub learning_rate: f64,
    /// Probability that a training frame keeps only a random subset (two or more) of its views.
    /// Default: 0.5.
    pub view_dropout: f64,
    /// Seed of the batch sampling. Default: 0.
    pub seed: u64,
    /// Steps between checkpoints. Default: 250.
    pub checkpoint_every: usize,
    /// Weights to start from: every variable whose name and shape match is loaded, the others
    /// keep their initialisation (for example a new IEV over a trained IRV). Ignored when resuming
    /// from a checkpoint. Default: none.
    pub init_from: Option<PathBuf>,
    /// Stage-1 loss weights. Default: [`LossWeights::default`].
    pub stage1: LossWeights,
    /// Stage-2 loss weights. Default: [`LossWeights::default`].
    pub stage2: LossWeights,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            stage1_steps: 24000,
            stage2_steps: 16000,
            batch_frames: 32,
            learning_rate: 1e-3,
            view_dropout: 0.5,
            seed: 0,
            checkpoint_every: 250,
            init_from: None,
            stage1: LossWeights::default(),
            stage2: LossWeights::default(),
        }
    }
}

impl TrainSettings {
    /// Refuses settings that cannot train: a batch of no frames, a learning rate or a robust scale
    /// that is not a positive number, a view dropout outside [0, 1).
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::BadInput(what));
        if self.batch_frames == 0 {
            return bad("a batch of 0 frames: at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!("learning rate {}: expected a positive number", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.view_dropout) {
            return bad(format!("view dropout {}: expected a fraction in [0, 1)", self.view_dropout));
        }
        for (stage, w) in [(1, &self.stage1), (2, &self.stage2)] {
            if !(w.robust_scale.is_finite() && w.robust_scale > 0.0) {
                return bad(format!("stage {stage} robust scale {}: expected a positive number", w.robust_scale));
            }
        }
        Ok(())
    }
}

/// One point of the loss curves.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    /// 1 or 2.
    pub stage: u8,
    /// Step within the stage.
    pub step: usize,
    /// The weighted total.
    pub total: f32,
    /// The loss terms, unweighted.
    pub terms: [f32; 8],
}

/// Header of `curves.csv`: stage, step, the weighted total and the unweighted terms in the order
/// of [`CurvePoint::terms`].
pub const CURVES_HEADER: &str =
    "stage,step,total,reprojection,keypoints,smpl,camera,translation,views,confidence,bones";

/// Writes every variable of `varmap` as a weights file with `config` and extra metadata.
pub fn save_weights(varmap: &VarMap, config: &Config, path: &Path, extra: &[(&str, String)]) -> Result<(), TrainError> {
    let mut w = TensorWriter::new();
    let config_json = serde_json::to_string(config).map_err(|e| TrainError::BadInput(e.to_string()))?;
    w.metadata("format", WEIGHTS_FORMAT).metadata("config", config_json);
    for (k, v) in extra {
        w.metadata(k, v.clone());
    }
    let data = varmap.data().lock().map_err(|_| TrainError::BadInput("weights are locked".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let t = data[name].as_tensor();
        w.f32(name, t.dims(), &t.flatten_all()?.to_vec1::<f32>()?);
    }
    drop(data);
    Ok(w.write(path)?)
}

fn vars_with_prefix(varmap: &VarMap, prefix: &str) -> Vec<Var> {
    let Ok(data) = varmap.data().lock() else { return Vec::new() };
    let mut named: Vec<(&String, &Var)> = data.iter().filter(|(n, _)| n.starts_with(prefix)).collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

/// The learning rate at `progress` (0..1) through a stage: a cosine from `start` to 2% of it.
pub fn cosine_rate(start: f64, progress: f64) -> f64 {
    let floor = 0.02 * start;
    floor + (start - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos())
}

/// With probability `p`, the frame with a random subset of two or more of its views (labels
/// kept in step); otherwise the frame as it is.
fn drop_views(frame: &LabelledFrame, p: f64, rng: &mut Rng) -> LabelledFrame {
    let v = frame.frame.views.len();
    if v <= 2 || rng.uniform() >= p {
        return frame.clone();
    }
    let keep = 2 + rng.below(v - 1); // 2..=v
    let mut order: Vec<usize> = (0..v).collect();
    for i in (1..v).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut kept: Vec<usize> = order[..keep].to_vec();
    kept.sort_unstable();
    frame.with_views(&kept)
}

/// Loads every variable of `varmap` that `path` holds with the same shape.
fn load_matching(varmap: &VarMap, path: &Path) -> Result<(), TrainError> {
    let file = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| TrainError::BadInput(format!("{}: {e}", path.display())))?;
    let data = varmap.data().lock().map_err(|_| TrainError::BadInput("weights are locked".into()))?;
    for (name, var) in data.iter() {
        if let Some(t) = file.get(name)
            && t.dims() == var.dims()
        {
            var.set(t)?;
        }
    }
    Ok(())
}

/// Where training resumes: (stage, step) of the checkpoint in `out_dir`, if any.
fn checkpoint_position(path: &Path) -> Option<(u8, usize)> {
    let bytes = std::fs::read(path).ok()?;
    let meta = crate::tensor_file::safetensors_metadata(&bytes).ok()?;
    Some((meta.get("stage")?.parse().ok()?, meta.get("step")?.parse().ok()?))
}

/// Trains CMANet on `frames`, writing `checkpoint.safetensors`, `curves.csv` and finally
/// `cmanet.safetensors` into `out_dir`; with `resume`, starts from the checkpoint there.
/// `progress` sees every curve point. Returns the path of the final weights. Candle's kernels run
/// inline on one thread ([`crate::compute::single_threaded`]).
pub fn train(
    config: &Config,
    model: &BodyModel,
    frames: &[LabelledFrame],
    settings: &TrainSettings,
    out_dir: &Path,
    resume: bool,
    progress: &mut (dyn FnMut(&CurvePoint) + Send),
) -> Result<PathBuf, TrainError> {
    crate::compute::single_threaded(|| {
        if frames.is_empty() {
            return Err(TrainError::BadInput("no training frames".into()));
        }
        settings.check()?;
        let checkpoint = out_dir.join("checkpoint.safetensors");
        if resume && checkpoint_position(&checkpoint).is_none() {
            return Err(TrainError::BadInput(format!(
                "{}: no checkpoint to resume from (missing, or not one this trainer wrote)",
                checkpoint.display()
            )));
        }
        let device = Device::Cpu;
        std::fs::create_dir_all(out_dir).map_err(|source| FileError::Io { path: out_dir.into(), source })?;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let net = Cmanet::new(vb.clone(), config, model)?;
        let irv = Irv::new(vb.pp("irv"), config)?;
        let body = BodyTensors::new(model, &device, DType::F32)?;
        let curves = out_dir.join("curves.csv");
        let mut start = (1u8, 0usize);
        if resume && let Some(position) = checkpoint_position(&checkpoint) {
            varmap.load(&checkpoint)?;
            start = position;
        } else if let Some(init) = &settings.init_from {
            load_matching(&varmap, init)?;
        }
        // Keep the curve rows up to the checkpoint; later ones are recomputed.
        let kept: Vec<String> = std::fs::read_to_string(&curves)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter(|l| {
                let mut f = l.split(',');
                let stage: u8 = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let step: usize = f.next().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
                resume && (stage, step) < start
            })
            .map(String::from)
            .collect();
        let io = |source| FileError::Io { path: curves.clone(), source };
        let mut csv = std::fs::File::create(&curves).map_err(io)?;
        writeln!(csv, "{CURVES_HEADER}").map_err(io)?;
        for l in &kept {
            writeln!(csv, "{l}").map_err(io)?;
        }
        let mut rng = Rng::new(settings.seed ^ (start.0 as u64) << 32 ^ start.1 as u64);
        let params = ParamsAdamW { lr: settings.learning_rate, weight_decay: 0.0, ..Default::default() };
        for stage in [1u8, 2] {
            let steps = if stage == 1 { settings.stage1_steps } else { settings.stage2_steps };
            if stage < start.0 {
                continue;
            }
            let first = if stage == start.0 { start.1 } else { 0 };
            let prefix = if stage == 1 { "irv." } else { "iev." };
            let mut adam = AdamW::new(vars_with_prefix(&varmap, prefix), params.clone())?;
            for step in first..steps {
                let progress_in_stage = step as f64 / steps.max(1) as f64;
                adam.set_learning_rate(cosine_rate(settings.learning_rate, progress_in_stage));
                let picked: Vec<LabelledFrame> = (0..settings.batch_frames.max(1))
                    .map(|_| drop_views(&frames[rng.below(frames.len())], settings.view_dropout, &mut rng))
                    .collect();
                let picked: Vec<&LabelledFrame> = picked.iter().collect();
                let inputs: Vec<_> = picked.iter().map(|f| f.frame.clone()).collect();
                let batch = encode_batch(&inputs, &device)?;
                let labels = label_batch(&picked, batch.mask.dim(1)?, &device)?;
                let loss = if stage == 1 {
                    stage1_loss(&irv, &body, &batch, &labels, &settings.stage1)?
                } else {
                    stage2_loss(&net.forward_with_frozen_irv(batch)?, &body, &labels, &settings.stage2)?
                };
                adam.backward_step(&loss.total)?;
                let point = CurvePoint {
                    stage,
                    step,
                    total: loss.total.to_scalar()?,
                    terms: [
                        loss.reprojection,
                        loss.keypoints,
                        loss.smpl,
                        loss.camera,
                        loss.translation,
                        loss.views,
                        loss.confidence,
                        loss.bones,
                    ],
                };
                let p = &point;
                let terms: Vec<String> = p.terms.iter().map(|t| t.to_string()).collect();
                writeln!(csv, "{},{},{},{}", p.stage, p.step, p.total, terms.join(",")).map_err(io)?;
                progress(p);
                if (step + 1) % settings.checkpoint_every.max(1) == 0 {
                    save_weights(
                        &varmap,
                        config,
                        &checkpoint,
                        &[("stage", stage.to_string()), ("step", (step + 1).to_string())],
                    )?;
                }
            }
        }
        let weights = out_dir.join("cmanet.safetensors");
        save_weights(&varmap, config, &weights, &[])?;
        Ok(weights)
    })
}
