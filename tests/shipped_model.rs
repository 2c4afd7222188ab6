//! The shipped weights (`assets/models/cmanet.safetensors`) are a trained network: on synthetic
//! sequences it never saw (another seed than training and validation), with unknown cameras, it
//! lands within bounds set from the model card's measurements with a margin, and every pipeline
//! of the ablations runs.

use cmanet::body::BodyModel;
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::eval::metrics::Errors;
use cmanet::net::{Cmanet, Pipeline};

#[test]
fn shipped_weights_estimate_unseen_sequences_with_unknown_cameras() {
    let model = BodyModel::open_body().unwrap();
    let mut net = Cmanet::shipped(&candle_core::Device::Cpu).unwrap();
    let config = SynthConfig { frames: 20, ..Default::default() };
    let sequences: Vec<_> = (0..6).map(|i| generate_sequence(&model, &config, 9, i).unwrap()).collect();
    let mut results = Vec::new();
    for pipeline in Pipeline::ALL {
        net.pipeline = pipeline;
        let mut errors: Option<Errors> = None;
        for truth in &sequences {
            let estimate = net.estimate_sequence(&truth.clone().without_ground_truth(), &mut |_| {}).unwrap();
            let e = Errors::measure(truth, &estimate).unwrap();
            match errors.as_mut() {
                Some(all) => all.extend(&e),
                None => errors = Some(e),
            }
        }
        let summary = errors.unwrap().summary();
        results.push((pipeline, summary.pa_mpjpe_mm[1], summary.camera_rotation_deg_median));
    }
    eprintln!("{results:?}");
    let (_, full_pa, full_cam) = results[0];
    assert!(full_pa < BOUND_PA_MPJPE_LIMBS_MM, "PA-MPJPE limbs {full_pa:.1} mm");
    assert!(full_cam < BOUND_CAMERA_DEG, "camera rotation error {full_cam:.2} deg");
    // Leaving the IEV out costs body accuracy; leaving the body refinement out costs most of it
    // and camera accuracy; leaving the previous frame's prior out costs a little body accuracy.
    // The IEV's share is small once refined: 1.2 mm here since the IEV trained at last
    // (2026-12-08), 0.4 mm before it since the learned bones are symmetric, 0.5 mm since the
    // refinement's prior weakens on the limbs where the network's body misses (`misfit_scale`,
    // the default since 2026-12-07), 1.6 mm with the prior held as it was (the refinement now
    // repairs more of a worse guess). The network alone was 18 mm behind the full pipeline until
    // its IEV trained, 11.6 mm since.
    let (_, without_iev_pa, _) = results[3];
    assert!(without_iev_pa > full_pa + 0.25, "without IEV {without_iev_pa:.2} mm vs full {full_pa:.2} mm");
    let (_, unrefined_pa, unrefined_cam) = results[5];
    assert!(unrefined_pa > full_pa + 8.0, "unrefined body {unrefined_pa:.1} mm vs {full_pa:.1} mm");
    assert!(unrefined_cam > full_cam + 1.0, "unrefined body: cameras {unrefined_cam:.2} deg vs {full_cam:.2} deg");
    let (_, frame_by_frame_pa, _) = results[6];
    assert!(frame_by_frame_pa > full_pa, "frame by frame {frame_by_frame_pa:.1} mm vs {full_pa:.1} mm");
}

/// These six 20-frame sequences measured 13.8 mm PA-MPJPE (limbs) and a median camera rotation
/// error of 2.5 degrees with the shipped weights and the body refinement (25.4 mm and 5.4 degrees
/// without it; 2026-12-08, the network whose IEV trained at last; 13.9 / 2.5 and 32.0 / 4.6 with
/// the one before; `cargo test --release --test shipped_model -- --nocapture` prints every pipeline's
/// figures); the bounds leave a margin for other CPUs' float rounding, not for a worse model.
const BOUND_PA_MPJPE_LIMBS_MM: f64 = 17.0;
/// See [`BOUND_PA_MPJPE_LIMBS_MM`].
const BOUND_CAMERA_DEG: f64 = 4.0;

/// The shipped weights with one value changed in one tensor, as a damaged download would be.
fn damaged_weights(dir: &std::path::Path, value: f32) -> std::path::PathBuf {
    use safetensors::SafeTensors;
    let bytes = std::fs::read(cmanet::assets::weights()).unwrap();
    let metadata = cmanet::tensor_file::safetensors_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let t = st.tensor(n).unwrap();
            (n.clone(), t.dtype(), t.shape().to_vec(), t.data().to_vec())
        })
        .collect();
    let target = tensors.iter_mut().find(|t| t.1 == safetensors::Dtype::F32 && t.3.len() >= 16).unwrap();
    target.3[12..16].copy_from_slice(&value.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let path = dir.join(format!("weights-{value}.safetensors"));
    safetensors::serialize_to_file(views, Some(metadata), &path).unwrap();
    path
}

/// Weights with a NaN, an infinity or a value blown up by 1e20 are refused when loaded, naming
/// the file and the tensor (they gave NaN bodies, reported only as "frame 3 is not finite").
#[test]
fn damaged_weights_are_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    for value in [f32::NAN, f32::INFINITY, 1e20] {
        let path = damaged_weights(dir.path(), value);
        let err = Cmanet::load(&path, &candle_core::Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("tensor `") && err.contains("value 3 of"),
            "{err}"
        );
    }
}

/// The cameras are aligned with the feet's extra keypoints too: feet keypoints that are NaN, far
/// outside the image or confidently misplaced in some views neither panic nor put a NaN anywhere,
/// and a camera stays within bounds of the estimate without them.
#[test]
fn bad_feet_keypoints_leave_every_estimate_finite() {
    let model = BodyModel::open_body().unwrap();
    let net = Cmanet::shipped(&candle_core::Device::Cpu).unwrap();
    let config = SynthConfig { frames: 12, ..Default::default() };
    let truth = generate_sequence(&model, &config, 9, 0).unwrap();
    let mut damaged = truth.clone().without_ground_truth();
    let extra = damaged.extra2d.as_mut().expect("synthetic sequences have the extra keypoints");
    for (f, views) in extra.iter_mut().enumerate() {
        for (v, view) in views.iter_mut().enumerate() {
            for e in [12, 13, 14, 15] {
                view[e] = match (v + f) % 3 {
                    0 => [f32::NAN, f32::NAN, 1.0],
                    1 => [1e9, -1e9, 1.0],
                    _ => [view[e][0] + 200.0, view[e][1] - 150.0, 1.0],
                };
            }
        }
    }
    let estimate = net.estimate_sequence(&damaged, &mut |_| {}).unwrap();
    for frame in &estimate.frames {
        assert!(frame.joints3d.iter().flatten().all(|x| x.is_finite()), "{:?}", frame.joints3d);
        for camera in &frame.extrinsics {
            assert!(camera.rotation.iter().chain(camera.translation.iter()).all(|x| x.is_finite()), "{camera:?}");
        }
    }
    let errors = Errors::measure(&truth, &estimate).unwrap().summary();
    eprintln!(
        "bad feet: PA limbs {:.1} mm, cameras {:.2} deg",
        errors.pa_mpjpe_mm[1], errors.camera_rotation_deg_median
    );
    assert!(errors.pa_mpjpe_mm[1] < 2.0 * BOUND_PA_MPJPE_LIMBS_MM, "{errors:?}");
    assert!(errors.camera_rotation_deg_median < 2.0 * BOUND_CAMERA_DEG, "{errors:?}");
}
