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
