//! The training losses vanish at the truth, grow away from it, ignore what they must ignore and
//! carry gradients.

use candle_core::{DType, Device, Tensor, Var};
use cmanet::body::{BodyModel, BodyParams, BodyTensors, joint_index};
use cmanet::geometry::{Extrinsics, axis_angle_to_matrix};
use cmanet::train::losses::{camera_keypoints, reprojection, smpl_agreement, view_agreement};
use nalgebra::{Matrix3, Vector3};

fn mat(m: &Matrix3<f32>) -> Vec<f32> {
    (0..9).map(|i| m[(i / 3, i % 3)]).collect()
}

#[test]
fn reprojection_is_zero_at_the_truth_and_pulls_towards_it() {
    let dev = Device::Cpu;
    let model = BodyModel::open_body().unwrap();
    let body = BodyTensors::new(&model, &dev, DType::F32).unwrap();
    let mut params = BodyParams { global_orient: Vector3::new(0.0, 0.8, 0.1), ..Default::default() };
    params.transl = Vector3::new(0.2, 0.0, -0.3);
    params.betas[0] = 0.5;
    params.set_local_rotation(joint_index("left_knee").unwrap(), Vector3::new(1.0, 0.0, 0.0));
    params.set_local_rotation(joint_index("right_elbow").unwrap(), Vector3::new(0.0, 1.2, 0.0));
    let kp = model.pose(&params, false).unwrap().keypoints;
    let cam = Extrinsics::look_at(&Vector3::new(1.0, 1.5, 3.5), &Vector3::new(0.2, 1.0, -0.3), &Vector3::y(), 0.0);
    // Body-to-camera in the canonical frame: X_c = R_cam (G (p - J0) + J0 + transl) + t_cam.
    let g = axis_angle_to_matrix(&params.global_orient);
    let j0 = model.rest_joints(&params.betas)[0];
    let r = cam.rotation.cast::<f32>() * g;
    let t = cam.rotation.cast::<f32>() * (j0 - g * j0 + params.transl) + cam.translation.cast::<f32>();
    let observed: Vec<f32> = kp
        .iter()
        .flat_map(|p| {
            let q = cam.to_camera(&p.cast::<f64>());
            [(q.x / q.z) as f32, (q.y / q.z) as f32]
        })
        .collect();
    let observed = Tensor::from_vec(observed, (1, 17, 2), &dev).unwrap();
    let confidence = Tensor::from_vec(vec![0.9f32; 17], (1, 17), &dev).unwrap();
    let sizes = Tensor::new(&[0.5f32], &dev).unwrap();
    let pose: Vec<f32> = params.body_pose.iter().flat_map(|v| mat(&axis_angle_to_matrix(v))).collect();
    let pose = Tensor::from_vec(pose, (1, 23, 3, 3), &dev).unwrap();
    let betas = Tensor::from_vec(params.betas.to_vec(), (1, 10), &dev).unwrap();
    let rotation = Tensor::from_vec(mat(&r), (1, 3, 3), &dev).unwrap();
    let loss = |translation: &Tensor| {
        let camera = camera_keypoints(&body, &rotation, translation, &pose, &betas).unwrap();
        reprojection(&camera, &observed, &confidence, &sizes, 0.05).unwrap()
    };
    let truth = Tensor::from_vec(vec![t.x, t.y, t.z], (1, 3), &dev).unwrap();
    let at_truth = loss(&truth).to_scalar::<f32>().unwrap();
    assert!(at_truth < 1e-6, "{at_truth}");
    let moved = Var::from_vec(vec![t.x + 0.05, t.y, t.z], (1, 3), &dev).unwrap();
    let off = loss(moved.as_tensor());
    assert!(off.to_scalar::<f32>().unwrap() > 0.01);
    let grad = off.backward().unwrap().get(moved.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
    assert!(grad[0][0] > 0.0, "moving back along x lowers the loss: {grad:?}");
    // Keypoints below the confidence threshold do not count.
    let unsure = Tensor::from_vec(vec![0.3f32; 17], (1, 17), &dev).unwrap();
    let camera = camera_keypoints(&body, &rotation, moved.as_tensor(), &pose, &betas).unwrap();
    assert!(reprojection(&camera, &observed, &unsure, &sizes, 0.05).unwrap().to_scalar::<f32>().unwrap() < 1e-6);
}

#[test]
fn agreement_losses() {
    let dev = Device::Cpu;
    let a = Tensor::randn(0f32, 1.0, (2, 23, 3, 3), &dev).unwrap();
    let b = Tensor::randn(0f32, 1.0, (2, 23, 3, 3), &dev).unwrap();
    let betas = Tensor::zeros((2, 10), DType::F32, &dev).unwrap();
    let trust = Tensor::new(&[1f32, 0.0], &dev).unwrap();
    let same = smpl_agreement(&a, &betas, &a, &betas, &trust, 0.1).unwrap().to_scalar::<f32>().unwrap();
    assert!(same.abs() < 1e-9);
    let differ = smpl_agreement(&a, &betas, &b, &betas, &trust, 0.1).unwrap().to_scalar::<f32>().unwrap();
    assert!(differ > 1.0);
    // Only the trusted sample counts: changing the untrusted label changes nothing.
    let mixed = Tensor::cat(&[&b.narrow(0, 0, 1).unwrap(), &a.narrow(0, 1, 1).unwrap()], 0).unwrap();
    let partly = smpl_agreement(&a, &betas, &mixed, &betas, &trust, 0.1).unwrap().to_scalar::<f32>().unwrap();
    assert!((partly - differ).abs() < 1e-4 * differ, "{partly} vs {differ}");

    // Views of one frame: identical views agree; a missing view may say anything.
    let view = a.narrow(0, 0, 1).unwrap().unsqueeze(1).unwrap();
    let other = b.narrow(0, 0, 1).unwrap().unsqueeze(1).unwrap();
    let three = Tensor::cat(&[&view, &view, &other], 1).unwrap(); // [1,3,23,3,3]
    let present = Tensor::new(&[[1f32, 1.0, 0.0]], &dev).unwrap();
    assert!(view_agreement(&three, &present).unwrap().to_scalar::<f32>().unwrap() < 1e-9);
    let all = Tensor::new(&[[1f32, 1.0, 1.0]], &dev).unwrap();
    assert!(view_agreement(&three, &all).unwrap().to_scalar::<f32>().unwrap() > 0.1);
}

#[test]
fn translation_code_inverts_the_decoding_and_code_agreement_is_huber() {
    use cmanet::net::params::{PARAM_DIM, decode};
    use cmanet::train::losses::{CODE_HUBER, code_agreement, keypoint_agreement, translation_code};
    let dev = Device::Cpu;
    // Three views: different rotations, codes, centres and sizes.
    let mut rows = Vec::new();
    let codes = [[0.05f32, -0.02, 0.3], [-0.1, 0.08, -0.4], [0.0, 0.0, 0.0]];
    for (i, code) in codes.iter().enumerate() {
        let r = axis_angle_to_matrix(&Vector3::new(0.3 * i as f32, 1.0 - 0.6 * i as f32, 0.2));
        let mut p = vec![0f32; PARAM_DIM];
        p[..6].copy_from_slice(&[r[(0, 0)], r[(1, 0)], r[(2, 0)], r[(0, 1)], r[(1, 1)], r[(2, 1)]]);
        p[6..9].copy_from_slice(code);
        rows.extend(p);
    }
    let params = Tensor::from_vec(rows, (3, PARAM_DIM), &dev).unwrap();
    let centres = Tensor::new(&[[0.1f32, -0.2], [-0.3, 0.05], [0.0, 0.0]], &dev).unwrap();
    let sizes = Tensor::new(&[0.4f32, 0.9, 0.2], &dev).unwrap();
    let decoded = decode(&params, &centres, &sizes).unwrap();
    let back = translation_code(&decoded.rotation, &decoded.translation, &centres, &sizes).unwrap();
    let back: Vec<Vec<f32>> = back.to_vec2().unwrap();
    for (b, c) in back.iter().zip(&codes) {
        for k in 0..3 {
            assert!((b[k] - c[k]).abs() < 1e-4, "{back:?} vs {codes:?}");
        }
    }
    // Huber: quadratic near zero, linear far away, zero weight ignores a view.
    let label = Tensor::zeros((1, 3), DType::F32, &dev).unwrap();
    let one = Tensor::new(&[1f32], &dev).unwrap();
    let loss = |x: f32| {
        let code = Tensor::new(&[[0f32, 0.0, x]], &dev).unwrap();
        code_agreement(&code, &label, &one, &one).unwrap().to_scalar::<f32>().unwrap()
    };
    assert!((loss(0.1) - 0.005).abs() < 1e-6);
    let slope = loss(3.0) - loss(2.0);
    assert!((slope - CODE_HUBER as f32).abs() < 1e-5, "{slope}");
    let code = Tensor::new(&[[5f32, 5.0, 5.0]], &dev).unwrap();
    let ignored = code_agreement(&code, &label, &one, &Tensor::new(&[0f32], &dev).unwrap()).unwrap();
    assert_eq!(ignored.to_scalar::<f32>().unwrap(), 0.0);
    // Keypoint agreement is the mean distance in metres.
    let a = Tensor::zeros((1, 17, 3), DType::F32, &dev).unwrap();
    let b = (Tensor::ones((1, 17, 3), DType::F32, &dev).unwrap() * (0.02 / 3f64.sqrt())).unwrap();
    let d = keypoint_agreement(&a, &b, &one).unwrap().to_scalar::<f32>().unwrap();
    assert!((d - 0.02).abs() < 1e-5, "{d}");
}
