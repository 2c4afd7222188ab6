//! The CMANet architecture (untrained weights): shapes, any number of views, permutation
//! invariance, masking of missing views, weight files round trip and bad ones are refused.

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use cmanet::body::BodyModel;
use cmanet::data::Keypoints2d;
use cmanet::geometry::{Extrinsics, Intrinsics};
use cmanet::net::{Cmanet, Config, MultiViewFrame, NetError, Pipeline, ViewObservation, WEIGHTS_FORMAT};
use cmanet::tensor_file::TensorWriter;
use nalgebra::Vector3;

/// An untrained network whose zero-initialised layers (the IRV's correction, the IEV's heads and
/// pooling) are random too: a fresh network would give every view the same estimate and make the
/// IEV's attention and masks invisible to these tests.
fn network() -> (Cmanet, VarMap) {
    randomised(&["irv.delta", "iev.camera_head", "iev.body_head", "iev.pool"])
}

/// A network whose layers `layers` (which start at zero) are random.
fn randomised(layers: &[&str]) -> (Cmanet, VarMap) {
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let net = Cmanet::new(vb, &Config::small(), &BodyModel::open_body().unwrap()).unwrap();
    for head in layers {
        for part in ["weight", "bias"] {
            let name = format!("{head}.{part}");
            let shape = varmap.data().lock().unwrap()[&name].shape().clone();
            varmap.set_one(&name, candle_core::Tensor::randn(0f32, 0.05, shape, &Device::Cpu).unwrap()).unwrap();
        }
    }
    (net, varmap)
}

/// A standing body's keypoints seen by `views` cameras around it.
fn frame(views: usize) -> MultiViewFrame {
    let model = BodyModel::open_body().unwrap();
    let kp = model.pose(&Default::default(), false).unwrap().keypoints;
    let k = Intrinsics::from_horizontal_fov(1.0, 1280.0, 720.0);
    let views = (0..views)
        .map(|i| {
            let a = i as f64 * 2.1;
            let eye = Vector3::new(3.0 * a.sin(), 1.2 + 0.2 * i as f64, 3.0 * a.cos());
            let e = Extrinsics::look_at(&eye, &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0);
            let keypoints: Keypoints2d = std::array::from_fn(|j| {
                let p = k.project(&e.to_camera(&kp[j].cast::<f64>())).unwrap();
                [p.x as f32, p.y as f32, 0.9]
            });
            Some(ViewObservation { keypoints, intrinsics: k, extra: None })
        })
        .collect();
    MultiViewFrame { views }
}

/// Equal up to float summation order: `tol` relative to the larger magnitude (at least 1).
fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * x.abs().max(y.abs()).max(1.0))
}

#[test]
fn any_number_of_views_in_any_order() {
    let (net, _) = network();
    for views in [2, 4, 8] {
        let out = net.estimate(&frame(views)).unwrap();
        assert_eq!(out.cameras.len(), views);
        assert!(out.cameras.iter().all(|c| c.is_some()));
        assert!(out.keypoints.iter().flatten().all(|x| x.is_finite()));
        assert!(out.screened_view < views);
    }
    // Reversing the views permutes the cameras and leaves the body alone: up to float summation
    // order for the (randomised) network; within 1 mm for the shipped network with its iterative
    // body refinement, whose Levenberg-Marquardt steps amplify summation-order differences (on a
    // random network's wild bodies by up to centimetres, so that is not what it is tested on).
    let f = frame(4);
    let mut reversed = f.clone();
    reversed.views.reverse();
    let mut net = net;
    net.pipeline = Pipeline::WithoutBodyRefinement;
    let shipped = Cmanet::shipped(&Device::Cpu).unwrap();
    for (net, tol) in [(&net, 1e-4), (&shipped, 1e-3)] {
        let pipeline = net.pipeline;
        let (a, b) = (net.estimate(&f).unwrap(), net.estimate(&reversed).unwrap());
        assert!(close(&a.betas, &b.betas, tol), "{pipeline:?}: {:?} {:?}", a.betas, b.betas);
        let flat = |k: &[[f32; 3]; 17]| k.iter().flatten().copied().collect::<Vec<f32>>();
        assert!(
            close(&flat(&a.keypoints), &flat(&b.keypoints), tol),
            "{pipeline:?}: {:?} {:?}",
            a.keypoints,
            b.keypoints
        );
        let (ca, cb) = (a.cameras[0].unwrap(), b.cameras[3].unwrap());
        assert!((ca.rotation - cb.rotation).abs().max() < 10.0 * tol as f64, "{} vs {}", ca.rotation, cb.rotation);
        let scale = ca.translation.norm().max(1.0);
        assert!(
            (ca.translation - cb.translation).norm() < 10.0 * tol as f64 * scale,
            "{} vs {}",
            ca.translation,
            cb.translation
        );
        assert_eq!(a.screened_view, 3 - b.screened_view);
    }
}

#[test]
fn missing_views_are_masked_and_batches_mix_view_counts() {
    // The network's masking and batching (the body refinement after it is per frame, plain Rust,
    // and amplifies the batch's different float summation on a random network's bodies; its
    // missing-view handling is tested in tests/body_refinement.rs).
    let (mut net, _) = network();
    net.pipeline = Pipeline::WithoutBodyRefinement;
    let three = frame(3);
    let mut with_gap = three.clone();
    with_gap.views.insert(1, None);
    // A view seeing fewer than four keypoints counts as missing too.
    let mut blind = three.views[0].clone().unwrap();
    for k in blind.keypoints.iter_mut().skip(3) {
        k[2] = 0.0;
    }
    with_gap.views.push(Some(blind));
    let out = net.estimate_batch(&[three.clone(), with_gap, frame(6)]).unwrap();
    assert_eq!(out.len(), 3);
    assert!(out[1].cameras[1].is_none() && out[1].cameras[4].is_none());
    assert!(close(&out[0].betas, &out[1].betas, 1e-4));
    let alone = net.estimate(&three).unwrap();
    assert!(close(&alone.betas, &out[0].betas, 1e-4), "batching changes nothing");
    assert_eq!(out[2].cameras.len(), 6);
}

#[test]
fn weights_round_trip_and_bad_files_are_refused() {
    let (net, varmap) = network();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    let mut w = TensorWriter::new();
    w.metadata("format", WEIGHTS_FORMAT).metadata("config", serde_json::to_string(&Config::small()).unwrap());
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let t = data[name].as_tensor();
        w.f32(name, t.dims(), &t.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }
    drop(data);
    w.write(&path).unwrap();
    // Every tensor comes back bit for bit.
    let back = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let want: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(back[name].flatten_all().unwrap().to_vec1::<f32>().unwrap(), want, "{name}");
    }
    // The loaded network (packed inference kernels where the CPU has them) estimates what the
    // trainable one (candle's kernels) does, up to float summation order; the body refinement is
    // left out because it amplifies such differences on a random network's bodies.
    let mut loaded = Cmanet::load(&path, &Device::Cpu).unwrap();
    let mut net = net;
    loaded.pipeline = Pipeline::WithoutBodyRefinement;
    net.pipeline = Pipeline::WithoutBodyRefinement;
    let f = frame(3);
    let (a, b) = (loaded.estimate(&f).unwrap(), net.estimate(&f).unwrap());
    assert!(
        close(a.keypoints.as_flattened(), b.keypoints.as_flattened(), 1e-4),
        "{:?} vs {:?}",
        a.keypoints,
        b.keypoints
    );
    assert!(close(&a.betas, &b.betas, 1e-4));
    assert_eq!(a.screened_view, b.screened_view);

    // A file cut short is an error naming it, not a panic.
    let bytes = std::fs::read(&path).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = Cmanet::load(&truncated, &Device::Cpu).unwrap_err();
    assert!(matches!(err, NetError::Weights { .. }) && err.to_string().contains("truncated.safetensors"), "{err}");

    std::fs::write(&path, b"garbage").unwrap();
    let err = Cmanet::load(&path, &Device::Cpu).unwrap_err();
    assert!(matches!(err, NetError::Weights { .. }), "{err}");
    let mut w = TensorWriter::new();
    w.metadata("format", WEIGHTS_FORMAT).metadata("config", serde_json::to_string(&Config::small()).unwrap());
    w.f32("irv.input.weight", &[2], &[0.0, 1.0]);
    w.write(&path).unwrap();
    let err = Cmanet::load(&path, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("weights.safetensors"), "{err}");
}

/// The network's linear layer on loaded (non-variable) weights runs the packed kernel and computes
/// what candle's `x Wᵀ + b + residual` and activation do, for any number of rows and sizes that are
/// not multiples of the kernel's blocks; with a tracked input it stays candle's, and gradients flow.
#[test]
fn linear_layers_agree_on_both_paths() {
    use candle_core::{Module, Tensor, Var};
    use cmanet::compute::matmul::{Activation, PackedWeights};
    use cmanet::net::linear::Linear;
    let dev = Device::Cpu;
    for (m, k, n) in [(1, 7, 1), (4, 211, 256), (5, 128, 157), (9, 128, 384), (13, 33, 9), (128, 256, 20)] {
        let w = Tensor::randn(0f32, 0.1, (n, k), &dev).unwrap();
        let b = Tensor::randn(0f32, 0.1, n, &dev).unwrap();
        let layer = Linear::new(w.clone(), Some(b.clone())).unwrap();
        assert_eq!(layer.is_packed(), PackedWeights::supported());
        let x = Tensor::randn(0f32, 1.0, (1, m, k), &dev).unwrap();
        let r = Tensor::randn(0f32, 1.0, (1, m, n), &dev).unwrap();
        let plain = x.broadcast_matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap();
        for (residual, act) in [(None, Activation::None), (Some(&r), Activation::Relu), (Some(&r), Activation::None)] {
            let got = layer.forward_fused(&x, residual, act).unwrap();
            let mut want = match residual {
                Some(r) => (&plain + r).unwrap(),
                None => plain.clone(),
            };
            if act == Activation::Relu {
                want = want.relu().unwrap();
            }
            assert_eq!(got.dims(), &[1, m, n]);
            let (got, want) =
                (got.flatten_all().unwrap().to_vec1::<f32>().unwrap(), want.flatten_all().unwrap().to_vec1().unwrap());
            assert!(close(&got, &want, 1e-5), "{m}x{k}->{n}");
        }
        // A non-contiguous input is read in order.
        let xt = Tensor::randn(0f32, 1.0, (k, m), &dev).unwrap().t().unwrap();
        let want: Vec<f32> =
            xt.matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert!(close(&layer.forward(&xt).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap(), &want, 1e-5));
        // A tracked input takes candle's path: the gradient reaches it.
        let v = Var::from_tensor(&x).unwrap();
        let loss = layer.forward(v.as_tensor()).unwrap().sum_all().unwrap();
        let grad = loss.backward().unwrap();
        assert!(grad.get(v.as_tensor()).is_some());
        assert!(layer.forward(&x.narrow(2, 0, k - 1).unwrap()).is_err(), "a wrong input size is an error");
    }
    // Variables (training) are never packed.
    let w = Var::from_tensor(&Tensor::zeros((3, 2), DType::F32, &dev).unwrap()).unwrap();
    assert!(!Linear::new(w.as_tensor().clone(), None).unwrap().is_packed());
}

#[test]
fn a_fresh_iev_keeps_the_cameras_and_fuses_the_score_weighted_mean_body() {
    use cmanet::net::params::{BODY_DIM, CAMERA_DIM, PARAM_DIM};
    // The IRV's views differ (random correction layer); the IEV is fresh.
    let (net, _varmap) = randomised(&["irv.delta"]);
    let fwd = net.forward(cmanet::net::encode_batch(&[frame(3)], &Device::Cpu).unwrap()).unwrap();
    let diff = |a: &candle_core::Tensor, b: &candle_core::Tensor| {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    };
    assert_eq!(diff(&fwd.cameras, &fwd.screened.cameras), 0.0);
    // The views' bodies, weighted by their screening scores.
    let bodies = fwd.irv.params.reshape((3, PARAM_DIM)).unwrap().narrow(1, CAMERA_DIM, BODY_DIM).unwrap();
    let bodies: Vec<Vec<f32>> = bodies.to_vec2().unwrap();
    let scores: Vec<f32> = fwd.screened.scores.flatten_all().unwrap().to_vec1().unwrap();
    let total: f32 = scores.iter().map(|s| s + 1e-6).sum();
    let expected: Vec<f32> = (0..BODY_DIM)
        .map(|k| bodies.iter().zip(&scores).map(|(b, s)| b[k] * (s + 1e-6)).sum::<f32>() / total)
        .collect();
    let body: Vec<f32> = fwd.body.flatten_all().unwrap().to_vec1().unwrap();
    let worst = body.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "{worst}");
    let spread = (0..BODY_DIM).map(|k| (bodies[0][k] - bodies[1][k]).abs()).fold(0f32, f32::max);
    assert!(spread > 1e-3, "the views' bodies differ: {spread}");
}

#[test]
fn nan_keypoints_and_dark_views_are_missing_and_a_frame_nobody_sees_is_an_error() {
    let (net, _varmap) = network();
    let mut f = frame(3);
    // View 1 returns NaN everywhere, view 2 went dark (confidence 0): both count as missing.
    if let Some(v) = f.views[1].as_mut() {
        v.keypoints = [[f32::NAN; 3]; 17];
    }
    if let Some(v) = f.views[2].as_mut() {
        v.keypoints.iter_mut().for_each(|k| k[2] = 0.0);
    }
    let estimate = net.estimate(&f).unwrap();
    assert!(estimate.cameras[0].is_some() && estimate.cameras[1].is_none() && estimate.cameras[2].is_none());
    assert!(estimate.keypoints.iter().flatten().all(|x| x.is_finite()));
    // Nobody sees anything: a typed error naming the frame, in a batch too.
    if let Some(v) = f.views[0].as_mut() {
        v.keypoints.iter_mut().for_each(|k| k[2] = 0.0);
    }
    assert!(matches!(net.estimate(&f), Err(NetError::NoUsableView { frame: 0 })));
    let good = frame(2);
    assert!(matches!(net.estimate_batch(&[good, f]), Err(NetError::NoUsableView { frame: 1 })));
}

#[test]
fn a_sequence_repeats_the_nearest_usable_frame_where_no_view_sees_the_person() {
    use cmanet::data::synth::{SynthConfig, generate_sequence};
    let (net, _varmap) = network();
    let model = BodyModel::open_body().unwrap();
    let mut data = generate_sequence(&model, &SynthConfig { frames: 4, ..Default::default() }, 3, 0)
        .unwrap()
        .without_ground_truth();
    for t in [0, 2] {
        data.keypoints2d[t].iter_mut().flatten().for_each(|k| k[2] = 0.0);
    }
    let out = net.estimate_sequence(&data, &mut |_| {}).unwrap();
    assert_eq!(out.frames.len(), 4);
    assert_eq!(out.metadata["frames_repeated"], "2");
    assert_eq!(out.frames[0].joints3d, out.frames[1].joints3d, "frame 0 takes the first usable frame");
    assert_eq!(out.frames[2].joints3d, out.frames[1].joints3d, "frame 2 repeats frame 1");
    assert_ne!(out.frames[3].joints3d, out.frames[1].joints3d);
    // Nothing usable at all: an error, not a made-up body.
    data.keypoints2d.iter_mut().flatten().flatten().for_each(|k| k[2] = 0.0);
    assert!(matches!(net.estimate_sequence(&data, &mut |_| {}), Err(NetError::NoUsableView { .. })));
}

/// A view from behind whose detector swapped left and right looks like a front view; CMANet tries
/// every view with its labels exchanged and its camera turned half a turn, and keeps that when it
/// fits the fused body clearly better (`camera_refinement::check_left_right`). An asymmetric pose
/// (a raised arm, a bent leg) seen by four views, the one behind the person swapped.
#[test]
fn a_view_from_behind_with_left_and_right_swapped_is_relabelled() {
    use cmanet::body::{BodyParams, joint_index};
    use cmanet::data::labels::flip_left_right;
    use cmanet::eval::metrics::relative_rotation_errors;
    let model = BodyModel::open_body().unwrap();
    let mut params = BodyParams::default();
    for (joint, aa) in [
        ("left_shoulder", [0.0, 0.0, -1.1]),
        ("left_elbow", [0.0, -1.0, 0.0]),
        ("right_hip", [-0.9, 0.0, 0.0]),
        ("right_knee", [1.2, 0.0, 0.0]),
    ] {
        params.set_local_rotation(joint_index(joint).unwrap(), Vector3::from(aa));
    }
    let kp = model.pose(&params, false).unwrap().keypoints;
    let k = Intrinsics::from_horizontal_fov(1.0, 1280.0, 720.0);
    let cameras: Vec<Extrinsics> = [0.4f64, 1.7, -1.4, std::f64::consts::PI]
        .iter()
        .map(|a| {
            let eye = Vector3::new(3.5 * a.sin(), 1.4, 3.5 * a.cos());
            Extrinsics::look_at(&eye, &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0)
        })
        .collect();
    let views = cameras
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let keypoints: Keypoints2d = std::array::from_fn(|j| {
                let p = k.project(&e.to_camera(&kp[j].cast::<f64>())).unwrap();
                [p.x as f32, p.y as f32, 0.9]
            });
            let keypoints = if i == 3 { flip_left_right(&keypoints) } else { keypoints };
            Some(ViewObservation { keypoints, intrinsics: k, extra: None })
        })
        .collect();
    let frame = MultiViewFrame { views };
    let mut net = Cmanet::shipped(&Device::Cpu).unwrap();
    let worst = |e: &cmanet::net::Estimate| -> f64 {
        let estimated: Vec<Extrinsics> = e.cameras.iter().map(|c| c.unwrap()).collect();
        relative_rotation_errors(&estimated, &cameras).into_iter().fold(0.0, f64::max)
    };
    let checked = net.estimate(&frame).unwrap();
    net.pipeline = Pipeline::WithoutLeftRightCheck;
    let unchecked = net.estimate(&frame).unwrap();
    assert_eq!(checked.swapped_views, vec![false, false, false, true]);
    assert!(!unchecked.swapped_views.contains(&true));
    eprintln!("worst relative camera error: {:.1}° checked, {:.1}° unchecked", worst(&checked), worst(&unchecked));
    assert!(worst(&checked) < 20.0, "{}", worst(&checked));
    assert!(worst(&unchecked) > 90.0, "without the check the view from behind is put in front");
}

/// `cmanet::estimate` with `place_in_world`: the uncalibrated estimate, placed by the input's known
/// cameras, lands on the truth in the world (the canonical frame sits at the origin), every other
/// metric is the canonical estimate's, and the settings a method cannot honour are refused.
#[test]
fn an_estimate_placed_by_known_cameras_lands_on_the_truth_in_the_world() {
    use cmanet::data::synth::{SynthConfig, generate_sequence};
    use cmanet::estimate::{EstimateSettings, Estimator, Method};
    let model = BodyModel::open_body().unwrap();
    let data = generate_sequence(&model, &SynthConfig { frames: 12, ..Default::default() }, 11, 0).unwrap();
    let truth = data.joints3d.clone().unwrap();
    let error = |estimate: &cmanet::data::Mv3d| {
        let distances: Vec<f32> = estimate
            .frames
            .iter()
            .zip(&truth)
            .flat_map(|(frame, t)| {
                frame.joints3d.iter().zip(t).map(|(a, b)| (Vector3::from(*a) - Vector3::from(*b)).norm())
            })
            .collect();
        distances.iter().sum::<f32>() / distances.len() as f32
    };
    let canonical = Estimator::new(EstimateSettings::default()).unwrap().estimate(&data, &mut |_| {}).unwrap();
    let placed = Estimator::new(EstimateSettings { place_in_world: true, ..Default::default() })
        .unwrap()
        .estimate(&data, &mut |_| {})
        .unwrap();
    assert_eq!(placed.metadata.get("world").map(String::as_str), Some("known cameras"));
    let (canonical_error, placed_error) = (error(&canonical), error(&placed));
    assert!(placed_error < 0.06, "placed keypoints {placed_error} m from the truth");
    assert!(canonical_error > 0.3, "the canonical frame is not the world ({canonical_error} m)");
    for (a, b) in canonical.frames.iter().zip(&placed.frames) {
        assert_eq!(a.params.body_pose, b.params.body_pose);
        assert_eq!(a.joints3d_cam, b.joints3d_cam);
    }
    let without_cameras = data.clone().without_ground_truth();
    let refused = Estimator::new(EstimateSettings { place_in_world: true, ..Default::default() })
        .unwrap()
        .estimate(&without_cameras, &mut |_| {});
    assert!(refused.is_err_and(|e| e.to_string().contains("cameras")));
    for method in [Method::Fit, Method::Triangulate] {
        let settings = EstimateSettings { method, place_in_world: true, calibrated: true, ..Default::default() };
        assert!(Estimator::new(settings).is_err(), "{method:?} cannot place");
    }
    assert!(Estimator::new(EstimateSettings { method: Method::Dlt, ..Default::default() }).is_err());
    assert!(Estimator::new(EstimateSettings { calibrated: true, ..Default::default() }).is_err());
}
