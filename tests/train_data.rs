//! Training reads observations only: files with and without ground truth give the same training
//! data, and training data carries none.

use cmanet::body::BodyModel;
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::train::{TrainingSequence, training_files};

#[test]
fn training_sees_the_same_data_with_or_without_ground_truth() {
    let model = BodyModel::open_body().unwrap();
    let config = SynthConfig { frames: 3, ..Default::default() };
    let data = generate_sequence(&model, &config, 11, 0).unwrap();
    assert!(data.extrinsics.is_some() && data.joints3d.is_some() && data.params.is_some());
    let dir = tempfile::tempdir().unwrap();
    let (full, bare) = (dir.path().join("a/seq.safetensors"), dir.path().join("b/seq.safetensors"));
    data.write(&full).unwrap();
    data.clone().without_ground_truth().write(&bare).unwrap();
    let (a, b) = (TrainingSequence::read(&full).unwrap(), TrainingSequence::read(&bare).unwrap());
    assert_eq!(a.keypoints2d, b.keypoints2d);
    assert_eq!(a.intrinsics, b.intrinsics);
    let back = a.to_mv2d();
    assert!(back.extrinsics.is_none() && back.joints3d.is_none() && back.params.is_none());
    let frame = a.frame(2).unwrap();
    assert_eq!(frame.views.len(), data.num_views());
    assert!(a.frame(3).is_none());
    assert_eq!(training_files(&dir.path().join("b")).unwrap().len(), 1);
}

#[test]
fn pseudo_labels_are_fitted_once_and_cached() {
    use candle_core::Device;
    use cmanet::fit::{FitSettings, Fitter};
    use cmanet::train::{PseudoLabels, pseudo_labels};

    let model = BodyModel::open_body().unwrap();
    let mut config = SynthConfig { frames: 4, ..Default::default() };
    config.rig.min_views = 3;
    config.rig.max_views = 3;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data/seq_0000.safetensors");
    generate_sequence(&model, &config, 5, 0).unwrap().write(&file).unwrap();
    let sequence = TrainingSequence::read(&file).unwrap();
    let settings = FitSettings { iterations: 40, warm_start_iterations: 10, ..Default::default() };
    let fitter = Fitter::new(model, &Device::Cpu, settings).unwrap();
    let cache = dir.path().join("cache");
    let first = pseudo_labels(std::slice::from_ref(&sequence), &cache, &fitter, &mut |_| {}).unwrap();
    let cached = cache.join("seq_0000.fit.safetensors");
    let written = std::fs::metadata(&cached).unwrap().modified().unwrap();
    assert_eq!(first[0].estimate.frames.len(), 4);
    assert_eq!(first[0].objective.len(), 4);
    let trust = first[0].trust();
    assert!(trust.iter().all(|t| (0.0..=1.0).contains(t)) && trust.contains(&1.0), "{trust:?}");
    // Again: read from the cache, not refitted.
    let again = PseudoLabels::load_or_fit(&sequence, &cache, &fitter).unwrap();
    assert_eq!(again.objective.len(), 4);
    assert_eq!(std::fs::metadata(&cached).unwrap().modified().unwrap(), written);
    for (a, b) in again.objective.iter().zip(&first[0].objective) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
    }
    // Different keypoints: the cache is stale and the labels are fitted anew.
    let mut changed = sequence.clone();
    changed.keypoints2d[0][0][0][0] += 5.0;
    let refit = PseudoLabels::load_or_fit(&changed, &cache, &fitter).unwrap();
    assert_ne!(
        refit.estimate.metadata.get("pseudo_label_source"),
        first[0].estimate.metadata.get("pseudo_label_source")
    );
}
