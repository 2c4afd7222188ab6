//! Training: a few Adam steps on the IRV lower its loss on a small pseudo-labelled set; the loop
//! writes curves and checkpoints and resumes from them; training never needs ground truth (the
//! files are written without it).

use candle_core::{DType, Device};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use cmanet::body::{BodyModel, BodyTensors};
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::fit::{FitSettings, Fitter};
use cmanet::net::input::encode_batch;
use cmanet::net::irv::Irv;
use cmanet::net::{Cmanet, Config};
use cmanet::train::{
    LabelledFrame, LossWeights, TrainSettings, TrainingSequence, label_batch, labelled_frames, pseudo_labels,
    stage1_loss, train,
};

/// Two small synthetic sequences written without ground truth, pseudo-labelled.
fn labelled(dir: &std::path::Path) -> (BodyModel, Vec<LabelledFrame>) {
    let dev = Device::Cpu;
    let model = BodyModel::open_body().unwrap();
    let mut config = SynthConfig { frames: 4, ..Default::default() };
    config.rig.min_views = 3;
    config.rig.max_views = 4;
    let mut sequences = Vec::new();
    for i in 0..2 {
        let path = dir.join(format!("seq_{i}.safetensors"));
        generate_sequence(&model, &config, 21, i).unwrap().without_ground_truth().write(&path).unwrap();
        sequences.push(TrainingSequence::read(&path).unwrap());
    }
    let fitter = Fitter::new(
        model.clone(),
        &dev,
        FitSettings { iterations: 60, warm_start_iterations: 10, ..Default::default() },
    )
    .unwrap();
    let labels = pseudo_labels(&sequences, &dir.join("cache"), &fitter, &mut |_| {}).unwrap();
    (model, labelled_frames(&sequences, &labels))
}

#[test]
fn a_few_steps_of_stage_one_lower_its_loss() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    let (model, frames) = labelled(dir.path());
    assert_eq!(frames.len(), 8);

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let irv = Irv::new(vb.pp("irv"), &Config::small()).unwrap();
    let body = BodyTensors::new(&model, &dev, DType::F32).unwrap();
    let inputs: Vec<_> = frames.iter().map(|f| f.frame.clone()).collect();
    let batch = encode_batch(&inputs, &dev).unwrap();
    let refs: Vec<&LabelledFrame> = frames.iter().collect();
    let labels = label_batch(&refs, batch.mask.dim(1).unwrap(), &dev).unwrap();
    let weights = LossWeights::default();
    let mut adam =
        AdamW::new(varmap.all_vars(), ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() }).unwrap();
    let first = stage1_loss(&irv, &body, &batch, &labels, &weights).unwrap();
    let start = first.total.to_scalar::<f32>().unwrap();
    assert!(start.is_finite() && first.reprojection > 0.0 && first.keypoints > 0.0 && first.translation > 0.0);
    for _ in 0..40 {
        let loss = stage1_loss(&irv, &body, &batch, &labels, &weights).unwrap();
        adam.backward_step(&loss.total).unwrap();
    }
    let end = stage1_loss(&irv, &body, &batch, &labels, &weights).unwrap().total.to_scalar::<f32>().unwrap();
    assert!(end < 0.7 * start, "loss {start} -> {end}");
}

#[test]
fn training_writes_curves_and_checkpoints_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (model, frames) = labelled(dir.path());
    let out = dir.path().join("run");
    let settings =
        TrainSettings { stage1_steps: 6, stage2_steps: 4, batch_frames: 4, checkpoint_every: 3, ..Default::default() };
    let mut seen = 0;
    let weights = train(&Config::small(), &model, &frames, &settings, &out, false, &mut |p| {
        assert!(p.total.is_finite());
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, 10);
    let csv = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11, "{csv}");
    assert!(csv.starts_with("stage,step,total"));
    let net = Cmanet::load(&weights, &Device::Cpu).unwrap();
    let estimate = net.estimate(&frames[0].frame).unwrap();
    assert!(estimate.keypoints.iter().flatten().all(|x| x.is_finite()));
    // The last checkpoint was stage 2, step 3: resuming runs only stage 2's last step.
    let mut resumed = Vec::new();
    train(&Config::small(), &model, &frames, &settings, &out, true, &mut |p| resumed.push((p.stage, p.step))).unwrap();
    assert_eq!(resumed, vec![(2, 3)]);
    assert_eq!(std::fs::read_to_string(out.join("curves.csv")).unwrap().lines().count(), 11);
}

/// Settings that cannot train, and resuming without a checkpoint, are refused before anything is
/// written (no NaN weights from a NaN learning rate).
#[test]
fn bad_settings_and_a_missing_checkpoint_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (model, frames) = labelled(dir.path());
    let out = dir.path().join("run");
    let good = TrainSettings { stage1_steps: 1, stage2_steps: 0, batch_frames: 2, ..Default::default() };
    let bad = [
        (TrainSettings { batch_frames: 0, ..good.clone() }, "batch of 0"),
        (TrainSettings { learning_rate: f64::NAN, ..good.clone() }, "learning rate NaN"),
        (TrainSettings { learning_rate: -1e-3, ..good.clone() }, "learning rate -0.001"),
        (TrainSettings { view_dropout: 1.0, ..good.clone() }, "view dropout 1"),
    ];
    for (settings, expected) in bad {
        let err =
            train(&Config::small(), &model, &frames, &settings, &out, false, &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
        assert!(!out.exists(), "nothing written for {expected}");
    }
    let err = train(&Config::small(), &model, &frames, &good, &out, true, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("no checkpoint to resume from"), "{err}");
    assert!(!out.exists());
}

#[test]
fn training_can_start_from_matching_weights() {
    let dir = tempfile::tempdir().unwrap();
    let (model, frames) = labelled(dir.path());
    let first = dir.path().join("first");
    let settings = TrainSettings {
        stage1_steps: 3,
        stage2_steps: 0,
        batch_frames: 4,
        checkpoint_every: 100,
        ..Default::default()
    };
    let trained = train(&Config::small(), &model, &frames, &settings, &first, false, &mut |_| {}).unwrap();
    // No steps at all, started from the first run: the same network.
    let second = dir.path().join("second");
    let copy = TrainSettings { stage1_steps: 0, init_from: Some(trained.clone()), ..settings };
    let copied = train(&Config::small(), &model, &frames, &copy, &second, false, &mut |_| {}).unwrap();
    let a = Cmanet::load(&trained, &Device::Cpu).unwrap().estimate(&frames[0].frame).unwrap();
    let b = Cmanet::load(&copied, &Device::Cpu).unwrap().estimate(&frames[0].frame).unwrap();
    assert_eq!(a, b);
    // A file that is not there is an error, not a silent fresh start.
    let missing = TrainSettings { init_from: Some(dir.path().join("nope.safetensors")), ..copy };
    assert!(train(&Config::small(), &model, &frames, &missing, &second, false, &mut |_| {}).is_err());
}

/// Stage 2 trains every weight of the IEV, not only its output heads: candle-nn's fused layer
/// norm and softmax record no backward pass, and while the IEV used them a training step left
/// its transformer, embeddings and pooling at their initialisation.
#[test]
fn stage_two_reaches_every_weight_of_the_iev() {
    let dir = tempfile::tempdir().unwrap();
    let (model, frames) = labelled(dir.path());
    let config = Config::small();
    let base = TrainSettings {
        stage1_steps: 2,
        stage2_steps: 0,
        batch_frames: 4,
        checkpoint_every: 100,
        ..Default::default()
    };
    let start = train(&config, &model, &frames, &base, &dir.path().join("start"), false, &mut |_| {}).unwrap();
    // From those weights, three stage-2 steps: the zero heads move in the first, what lies
    // below them from the second on.
    let settings = TrainSettings { stage1_steps: 0, stage2_steps: 3, init_from: Some(start.clone()), ..base };
    let trained = train(&config, &model, &frames, &settings, &dir.path().join("trained"), false, &mut |_| {}).unwrap();
    let before = candle_core::safetensors::load(&start, &Device::Cpu).unwrap();
    let after = candle_core::safetensors::load(&trained, &Device::Cpu).unwrap();
    let mut iev: Vec<&String> = before.keys().filter(|k| k.starts_with("iev.")).collect();
    iev.sort();
    assert!(iev.iter().any(|k| k.contains("layer0.qkv")) && iev.iter().any(|k| k.contains("triangulation_embed")));
    // How far a weight moved: its largest change.
    let moved =
        |k: &str| -> f32 { (&before[k] - &after[k]).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap() };
    let unchanged: Vec<&&String> = iev.iter().filter(|k| moved(k) == 0.0).collect();
    assert!(unchanged.is_empty(), "stage 2 left these at their start: {unchanged:?}");
    // The IRV is frozen in stage 2.
    for k in before.keys().filter(|k| k.starts_with("irv.")) {
        assert_eq!(moved(k), 0.0, "{k} changed in stage 2");
    }
}
