//! Behaviour of the body model: the shipped open model, the CPU and candle paths, the loaders.

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use cmanet::body::{BodyError, BodyModel, BodyParams, BodyTensors, JOINT_NAMES, NUM_BETAS, joint_index};
use cmanet::tensor_file::FileError;
use nalgebra::Vector3;

fn open_body() -> BodyModel {
    BodyModel::open_body().expect("the shipped open body model loads")
}

/// A deterministic pseudo-random number in [-1, 1).
fn noise(seed: u64) -> f32 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0xD1B5_4A32_D192_ED03);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

fn random_params(seed: u64, angle: f32) -> BodyParams {
    let mut p = BodyParams::default();
    for j in 0..24 {
        let s = seed * 1000 + j as u64 * 3;
        p.set_local_rotation(j, Vector3::new(noise(s), noise(s + 1), noise(s + 2)) * angle);
    }
    for (i, b) in p.betas.iter_mut().enumerate() {
        *b = 1.5 * noise(seed * 7 + 500 + i as u64);
    }
    p.transl = Vector3::new(noise(seed + 90), noise(seed + 91), noise(seed + 92));
    p
}

fn max_distance(a: &[Vector3<f32>], b: &[Vector3<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f32::max)
}

#[test]
fn open_body_is_a_plausible_adult_in_the_t_pose() {
    let model = open_body();
    assert!(model.num_vertices() > 5000 && model.faces.len() > 10000);
    let height = model.height(&[0.0; NUM_BETAS]);
    assert!((1.5..1.95).contains(&height), "height {height}");
    let j = model.rest_joints(&[0.0; NUM_BETAS]);
    let at = |name: &str| j[joint_index(name).unwrap()];
    // Body frame: +y up, +x the body's left.
    assert!(at("left_hip").x > 0.0 && at("right_hip").x < 0.0);
    assert!(at("left_shoulder").x > 0.0 && at("right_shoulder").x < 0.0);
    assert!(at("head").y > at("neck").y && at("neck").y > at("pelvis").y && at("pelvis").y > at("left_knee").y);
    // T-pose: the arms are horizontal, straight out along +-x.
    for (a, b) in [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow")] {
        let d = (at(b) - at(a)).normalize();
        assert!(d.x.abs() > 0.98, "{a}->{b} direction {d:?}");
    }
    // Feet on the ground.
    let lowest = model.v_template.iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
    assert!(lowest.abs() < 0.01, "lowest vertex at {lowest}");
    // The first shape component changes the body visibly.
    let mut betas = [0.0; NUM_BETAS];
    betas[0] = 2.0;
    let tall = model.height(&betas);
    betas[0] = -2.0;
    let short = model.height(&betas);
    assert!((tall - short).abs() > 0.05, "{tall} vs {short}");
    let ev = model.shape_explained_variance.as_ref().expect("explained variance recorded");
    assert!(ev.windows(2).all(|w| w[0] >= w[1]) && ev.iter().sum::<f32>() <= 1.0 + 1e-5);
}

#[test]
fn pose_zero_joints_equal_the_regressor_on_the_template() {
    let model = open_body();
    let params = BodyParams::default();
    let posed = model.pose(&params, true).unwrap();
    let regressed = model.joint_regressor.apply(&model.v_template);
    assert!(max_distance(&posed.joints, &regressed) < 1e-6);
    // Skinning at pose zero returns the template, and keypoints are the regressor on it.
    let vertices = posed.vertices.unwrap();
    assert!(max_distance(&vertices, &model.v_template) < 1e-5);
    assert!(max_distance(&posed.keypoints, &model.keypoint_regressor.apply(&model.v_template)) < 1e-5);
}

#[test]
fn skin_weights_are_normalised_with_at_most_four_influences() {
    let model = open_body();
    for v in 0..model.num_vertices() {
        let row = model.skin_weights.row(v);
        assert!((row.sum() - 1.0).abs() < 1e-5, "vertex {v}");
        assert!(row.iter().filter(|w| **w > 0.0).count() <= 4);
        assert!(row.iter().all(|w| *w >= 0.0));
    }
    for s in model.joint_regressor.row_sums().iter().chain(&model.keypoint_regressor.row_sums()) {
        assert!((s - 1.0).abs() < 1e-4);
    }
}

#[test]
fn a_right_angle_at_the_elbow_moves_the_wrist_in_front_of_it() {
    let model = open_body();
    let (elbow, wrist) = (joint_index("left_elbow").unwrap(), joint_index("left_wrist").unwrap());
    let rest = model.rest_joints(&[0.0; NUM_BETAS]);
    let forearm = (rest[wrist] - rest[elbow]).norm();
    let mut params = BodyParams::default();
    // Rotating -90 degrees about +y takes +x (the left forearm in the T-pose) to +z (forward).
    params.set_local_rotation(elbow, Vector3::new(0.0, -std::f32::consts::FRAC_PI_2, 0.0));
    let posed = model.pose(&params, true).unwrap();
    let expected = rest[elbow]
        + Vector3::new(0.0, 0.0, 1.0) * forearm
        + (rest[wrist] - rest[elbow]).component_mul(&Vector3::new(0.0, 1.0, 0.0));
    assert!(
        (posed.joints[wrist] - expected).norm() < 0.01 * forearm + 1e-3,
        "{:?} vs {expected:?}",
        posed.joints[wrist]
    );
    assert!((posed.joints[elbow] - rest[elbow]).norm() < 1e-6, "the elbow itself stays");
    // The skin follows: the wrist keypoint regressed from the skinned mesh stays near the joint.
    let kp = posed.keypoints[9];
    assert!((kp - posed.joints[wrist]).norm() < 0.03, "wrist keypoint {kp:?} joint {:?}", posed.joints[wrist]);
    // Vertices far down the forearm moved forward; the upper arm did not.
    let vertices = posed.vertices.unwrap();
    let hand_vertex = (0..model.num_vertices())
        .max_by(|&a, &b| model.skin_weights[(a, wrist)].total_cmp(&model.skin_weights[(b, wrist)]))
        .unwrap();
    assert!(vertices[hand_vertex].z > model.v_template[hand_vertex].z + 0.5 * forearm);
    let shoulder = joint_index("left_shoulder").unwrap();
    let upper_vertex = (0..model.num_vertices())
        .max_by(|&a, &b| model.skin_weights[(a, shoulder)].total_cmp(&model.skin_weights[(b, shoulder)]))
        .unwrap();
    assert!((vertices[upper_vertex] - model.v_template[upper_vertex]).norm() < 1e-4);
}

fn batch(params: &[BodyParams], dtype: DType) -> (Tensor, Tensor, Tensor) {
    let dev = Device::Cpu;
    let b = params.len();
    let pose: Vec<f32> = params
        .iter()
        .flat_map(|p| (0..24).flat_map(|j| p.local_rotation(j).iter().copied().collect::<Vec<_>>()))
        .collect();
    let betas: Vec<f32> = params.iter().flat_map(|p| p.betas).collect();
    let transl: Vec<f32> = params.iter().flat_map(|p| p.transl.iter().copied().collect::<Vec<_>>()).collect();
    let t = |v: Vec<f32>, s: &[usize]| Tensor::from_vec(v, s, &dev).unwrap().to_dtype(dtype).unwrap();
    (t(pose, &[b, 24, 3]), t(betas, &[b, 10]), t(transl, &[b, 3]))
}

fn rows3(t: &Tensor, b: usize) -> Vec<Vector3<f32>> {
    let v: Vec<f32> =
        t.narrow(0, b, 1).unwrap().to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    v.chunks_exact(3).map(|p| Vector3::new(p[0], p[1], p[2])).collect()
}

#[test]
fn candle_batch_matches_the_cpu_path() {
    let model = open_body();
    let tensors = BodyTensors::new(&model, &Device::Cpu, DType::F32).unwrap();
    let params: Vec<BodyParams> = (1..4).map(|s| random_params(s, 0.6)).collect();
    let (pose, betas, transl) = batch(&params, DType::F32);
    let out = tensors.forward_axis_angle(&pose, &betas, &transl, true).unwrap();
    for (b, p) in params.iter().enumerate() {
        let cpu = model.pose(p, true).unwrap();
        assert!(max_distance(&rows3(&out.joints, b), &cpu.joints) < 1e-4);
        // World rotations, row by row.
        let rows: Vec<Vector3<f32>> = cpu
            .joint_transforms
            .iter()
            .flat_map(|t| t.rotation.row_iter().map(|r| r.transpose()).collect::<Vec<_>>())
            .collect();
        assert!(max_distance(&rows3(&out.joint_rotations, b), &rows) < 1e-5);
        assert!(max_distance(&rows3(&out.keypoints, b), &cpu.keypoints) < 1e-4);
        assert!(max_distance(&rows3(out.vertices.as_ref().unwrap(), b), cpu.vertices.as_ref().unwrap()) < 1e-4);
    }
}

#[test]
fn candle_gradients_match_finite_differences() {
    let model = open_body();
    let tensors = BodyTensors::new(&model, &Device::Cpu, DType::F64).unwrap();
    let params = vec![random_params(11, 0.5), random_params(12, 0.5)];
    let (pose, betas, transl) = batch(&params, DType::F64);
    let dev = Device::Cpu;
    // A fixed random weighting of joints, keypoints and vertices makes a scalar loss.
    let weights = |n: usize, seed: u64| {
        Tensor::from_vec((0..n).map(|i| noise(seed + i as u64) as f64).collect::<Vec<_>>(), n, &dev).unwrap()
    };
    let v = model.num_vertices();
    let (wj, wk, wv) = (weights(2 * 24 * 3, 1), weights(2 * 17 * 3, 2), weights(2 * v * 3, 3));
    let loss = |pose: &Tensor, betas: &Tensor, transl: &Tensor| -> Tensor {
        let out = tensors.forward_axis_angle(pose, betas, transl, true).unwrap();
        let term = |t: &Tensor, w: &Tensor| (t.flatten_all().unwrap() * w).unwrap().sum_all().unwrap();
        let total = (term(&out.joints, &wj) + term(&out.keypoints, &wk)).unwrap();
        (total + (term(out.vertices.as_ref().unwrap(), &wv) * 1e-3).unwrap()).unwrap()
    };
    let (pv, bv, tv) =
        (Var::from_tensor(&pose).unwrap(), Var::from_tensor(&betas).unwrap(), Var::from_tensor(&transl).unwrap());
    let grads = loss(pv.as_tensor(), bv.as_tensor(), tv.as_tensor()).backward().unwrap();
    let eps = 1e-6;
    let check = |var: &Var, which: usize, indices: &[usize]| {
        let g: Vec<f64> = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        for &i in indices {
            let shifted = |delta: f64| {
                let mut x = base.clone();
                x[i] += delta;
                let x = Tensor::from_vec(x, var.as_tensor().dims(), &dev).unwrap();
                let args = match which {
                    0 => (x, betas.clone(), transl.clone()),
                    1 => (pose.clone(), x, transl.clone()),
                    _ => (pose.clone(), betas.clone(), x),
                };
                loss(&args.0, &args.1, &args.2).to_scalar::<f64>().unwrap()
            };
            let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            assert!(
                (fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                "input {which} index {i}: autograd {} vs finite difference {fd}",
                g[i]
            );
        }
    };
    check(&pv, 0, &[0, 1, 2, 5 * 3 + 1, 18 * 3 + 2, 24 * 3 + 13 * 3, 24 * 3 + 20 * 3 + 1]);
    check(&bv, 1, &[0, 1, 4, 9, 10 + 3]);
    check(&tv, 2, &[0, 4]);
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cmanet-body-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes a tiny model in the official SMPL `.npz` layout: `v` vertices spread over the joints.
fn write_tiny_smpl(path: &Path, omit: Option<&str>, kintree_u32: bool) {
    let dev = Device::Cpu;
    let v = 48usize;
    let f64s = |n: usize, seed: u64| (0..n).map(|i| noise(seed + i as u64) as f64 * 0.1).collect::<Vec<f64>>();
    let v_template = Tensor::from_vec(f64s(v * 3, 10), (v, 3), &dev).unwrap();
    let shapedirs = Tensor::from_vec(f64s(v * 3 * 12, 20), (v, 3, 12), &dev).unwrap();
    let posedirs = Tensor::from_vec(f64s(v * 3 * 207, 30), (v, 3, 207), &dev).unwrap();
    let mut jreg = vec![0f64; 24 * v];
    let mut weights = vec![0f64; v * 24];
    for i in 0..v {
        jreg[(i % 24) * v + i] = 0.5; // every joint averages two vertices
        weights[i * 24 + i % 24] = 0.7;
        weights[i * 24 + (i + 5) % 24] = 0.3;
    }
    let jreg = Tensor::from_vec(jreg, (24, v), &dev).unwrap();
    let weights = Tensor::from_vec(weights, (v, 24), &dev).unwrap();
    let parents: [i64; 24] = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21];
    let mut table: Vec<i64> = parents.to_vec();
    table.extend(0..24);
    let kintree = if kintree_u32 {
        let t: Vec<u32> = table.iter().map(|&x| if x < 0 { u32::MAX } else { x as u32 }).collect();
        Tensor::from_vec(t, (2, 24), &dev).unwrap()
    } else {
        Tensor::from_vec(table, (2, 24), &dev).unwrap()
    };
    let faces: Vec<u32> = (0..v as u32 - 2).flat_map(|i| [i, i + 1, i + 2]).collect();
    let faces = Tensor::from_vec(faces, (v - 2, 3), &dev).unwrap();
    let all = [
        ("v_template", v_template),
        ("shapedirs", shapedirs),
        ("posedirs", posedirs),
        ("J_regressor", jreg),
        ("weights", weights),
        ("kintree_table", kintree),
        ("f", faces),
    ];
    let kept: Vec<(&str, Tensor)> = all.into_iter().filter(|(k, _)| Some(*k) != omit).collect();
    Tensor::write_npz(&kept, path).unwrap();
}

#[test]
fn an_official_smpl_npz_goes_through_the_same_code() {
    for kintree_u32 in [false, true] {
        let path = temp_path(&format!("tiny_smpl_{kintree_u32}.npz"));
        write_tiny_smpl(&path, None, kintree_u32);
        let model = BodyModel::load(&path).unwrap();
        assert_eq!(model.num_vertices(), 48);
        assert_eq!(model.faces.len(), 46);
        assert!(model.posedirs.is_some());
        assert_eq!(model.shapedirs.shape(), (144, 10), "the first 10 of 12 components");
        assert!((model.shapedirs[(5, 3)] - noise(20 + 5 * 12 + 3) * 0.1).abs() < 1e-6);
        // The CPU and candle paths agree with pose correctives on.
        let tensors = BodyTensors::new(&model, &Device::Cpu, DType::F32).unwrap();
        let params = vec![random_params(3, 0.7)];
        let (pose, betas, transl) = batch(&params, DType::F32);
        let out = tensors.forward_axis_angle(&pose, &betas, &transl, true).unwrap();
        let cpu = model.pose(&params[0], true).unwrap();
        assert!(max_distance(&rows3(out.vertices.as_ref().unwrap(), 0), cpu.vertices.as_ref().unwrap()) < 1e-4);
        assert!(max_distance(&rows3(&out.keypoints, 0), &cpu.keypoints) < 1e-4);
        // The correctives matter: without them the mesh differs.
        let mut plain = model.clone();
        plain.posedirs = None;
        let without = plain.pose(&params[0], true).unwrap();
        assert!(max_distance(without.vertices.as_ref().unwrap(), cpu.vertices.as_ref().unwrap()) > 1e-3);
    }
}

#[test]
fn bad_body_files_are_refused_naming_the_file_and_key() {
    // Missing file.
    let missing = temp_path("does_not_exist.safetensors");
    let err = BodyModel::load(&missing).unwrap_err();
    assert!(matches!(err, BodyError::File(FileError::Io { .. })), "{err}");
    assert!(err.to_string().contains("does_not_exist.safetensors"));
    // Garbage bytes.
    for name in ["garbage.safetensors", "garbage.npz"] {
        let path = temp_path(name);
        std::fs::write(&path, b"this is not a tensor file").unwrap();
        let err = BodyModel::load(&path).unwrap_err();
        assert!(matches!(err, BodyError::File(FileError::Container { .. })), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // Truncated copy of the real model.
    let bytes = std::fs::read(cmanet::assets::body_model()).unwrap();
    let path = temp_path("truncated.safetensors");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(BodyModel::load(&path).unwrap_err(), BodyError::File(FileError::Container { .. })));
    // SMPL files with a key missing, or a key of the wrong shape.
    for key in ["v_template", "J_regressor", "weights", "kintree_table", "f", "shapedirs"] {
        let path = temp_path(&format!("without_{key}.npz"));
        write_tiny_smpl(&path, Some(key), false);
        let err = BodyModel::load(&path).unwrap_err();
        match &err {
            BodyError::File(FileError::MissingKey { key: k, .. }) => assert_eq!(k, key),
            other => panic!("expected a missing `{key}`, got {other}"),
        }
        assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
    }
    let path = temp_path("bad_weights.npz");
    write_tiny_smpl(&path, None, false);
    let tensors = Tensor::read_npz(&path).unwrap();
    let mut replaced: Vec<(String, Tensor)> = tensors.into_iter().filter(|(k, _)| k != "weights").collect();
    replaced.push(("weights".into(), Tensor::zeros((48, 23), DType::F64, &Device::Cpu).unwrap()));
    let refs: Vec<(&str, &Tensor)> = replaced.iter().map(|(k, t)| (k.as_str(), t)).collect();
    Tensor::write_npz(&refs, &path).unwrap();
    let err = BodyModel::load(&path).unwrap_err();
    assert!(matches!(&err, BodyError::File(FileError::BadKey { key, .. }) if key == "weights"), "{err}");
    assert!(JOINT_NAMES.len() == 24);
}

#[test]
fn the_extra_keypoints_sit_where_blazepose_puts_them() {
    use cmanet::keypoints::{EXTRA_FLIP, EXTRA_NAMES, NUM_EXTRA_KEYPOINTS};
    let model = open_body();
    let posed = model.pose(&BodyParams::default(), false).unwrap();
    assert_eq!(posed.extra_keypoints.len(), NUM_EXTRA_KEYPOINTS);
    let extra = |name: &str| posed.extra_keypoints[EXTRA_NAMES.iter().position(|n| *n == name).unwrap()];
    let joint = |name: &str| posed.joints[joint_index(name).unwrap()];
    let coco = |k: usize| posed.keypoints[k];
    for (side, sign) in [("left", 1.0f32), ("right", -1.0)] {
        let (heel, tip, ankle) =
            (extra(&format!("{side}_heel")), extra(&format!("{side}_foot_index")), joint(&format!("{side}_ankle")));
        // Feet point forward (+z): the heel behind and below the ankle, the toe tip on the floor in front.
        assert!(heel.z < ankle.z - 0.02 && heel.y < ankle.y && heel.y < 0.06, "{side} heel {heel:?}, ankle {ankle:?}");
        assert!((0.12..0.25).contains(&(tip.z - ankle.z)) && tip.y < 0.04, "{side} foot tip {tip:?}");
        assert!((0.18..0.30).contains(&(tip - heel).norm()), "{side} foot length {}", (tip - heel).norm());
        // T-pose hands: the knuckles beyond the wrist along the arm, the index in front of the
        // pinky, the thumb in front of both.
        let wrist = joint(&format!("{side}_wrist"));
        let [pinky, index, thumb] = ["pinky", "index", "thumb"].map(|h| extra(&format!("{side}_{h}")));
        for p in [pinky, index, thumb] {
            assert!(sign * (p.x - wrist.x) > 0.04 && sign * (p.x - wrist.x) < 0.14, "{side} hand point {p:?}");
        }
        assert!(
            index.z > pinky.z + 0.03 && thumb.z > index.z,
            "{side}: pinky {pinky:?} index {index:?} thumb {thumb:?}"
        );
        // Face: inner eye corners nearer the midline than the outer ones, the mouth below the nose.
        let (inner, outer) = (extra(&format!("{side}_eye_inner")), extra(&format!("{side}_eye_outer")));
        assert!(sign * inner.x > 0.0 && sign * outer.x > sign * inner.x + 0.01);
        let mouth = extra(&format!("mouth_{side}"));
        assert!(mouth.y < coco(0).y - 0.02 && sign * mouth.x > 0.01 && sign * mouth.x < 0.04, "{side} mouth {mouth:?}");
    }
    // Mirror images: left and right differ only in the sign of x.
    for (k, &m) in EXTRA_FLIP.iter().enumerate() {
        let (a, b) = (posed.extra_keypoints[k], posed.extra_keypoints[m]);
        assert!((a - Vector3::new(-b.x, b.y, b.z)).norm() < 0.003, "{} vs {}", EXTRA_NAMES[k], EXTRA_NAMES[m]);
    }
    // They follow the shape: a taller body has longer feet and hands further out.
    let mut tall = BodyParams::default();
    tall.betas[0] = 2.0;
    let tall = model.pose(&tall, false).unwrap();
    let foot = |p: &[Vector3<f32>]| (p[14] - p[12]).norm();
    assert!(foot(&tall.extra_keypoints) > foot(&posed.extra_keypoints) + 0.005);
    assert!(tall.extra_keypoints[8].x > posed.extra_keypoints[8].x + 0.02);
}

#[test]
fn the_extra_keypoints_follow_the_ankles_and_wrists() {
    let model = open_body();
    let rest = model.pose(&BodyParams::default(), false).unwrap();
    let ankle = joint_index("left_ankle").unwrap();
    let wrist = joint_index("left_wrist").unwrap();
    let mut p = BodyParams::default();
    p.set_local_rotation(ankle, Vector3::new(0.5, 0.0, 0.0));
    p.set_local_rotation(wrist, Vector3::new(0.0, 0.0, -0.6));
    let posed = model.pose(&p, false).unwrap();
    let angle = |a: Vector3<f32>, b: Vector3<f32>| a.angle(&b).to_degrees();
    // The foot (heel to toe tip) turns with the ankle; the other foot does not move.
    let turned = angle(
        rest.extra_keypoints[14] - rest.extra_keypoints[12],
        posed.extra_keypoints[14] - posed.extra_keypoints[12],
    );
    assert!((turned - 0.5f32.to_degrees()).abs() < 3.0, "foot turned {turned} degrees");
    let still = (rest.extra_keypoints[15] - posed.extra_keypoints[15]).norm();
    assert!(still < 1e-5, "the right foot moved {still} m");
    // The hand's knuckles turn about the wrist with it.
    let w = rest.joints[wrist];
    let turned = angle(rest.extra_keypoints[8] - w, posed.extra_keypoints[8] - w);
    assert!((turned - 0.6f32.to_degrees()).abs() < 4.0, "index knuckle turned {turned} degrees");
}

#[test]
fn the_extra_levers_give_the_posed_extra_keypoints() {
    use cmanet::body::{RestJoints, extra_levers};
    let model = open_body();
    let rest = RestJoints::new(&model);
    let levers = extra_levers(&model, &rest).expect("the open body has an extra regressor");
    for seed in 0..4 {
        let p = random_params(seed, 0.6);
        let posed = model.pose(&p, false).unwrap();
        let betas = p.betas.map(f64::from);
        for (k, row) in levers.iter().enumerate() {
            let point: Vector3<f64> = row
                .iter()
                .map(|l| {
                    let a = l.point + l.point_dirs.iter().zip(&betas).map(|(d, b)| d * *b).sum::<Vector3<f64>>();
                    let g = &posed.joint_transforms[l.joint];
                    g.rotation.cast::<f64>() * a + g.translation.cast::<f64>() * l.weight
                })
                .sum();
            let err = (point - posed.extra_keypoints[k].cast::<f64>()).norm();
            assert!(err < 1e-4, "seed {seed} extra {k}: {err} m");
        }
    }
}
