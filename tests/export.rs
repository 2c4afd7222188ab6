//! Takes: the `cmanet-take` format round-trips, and exported BVH and glTF files read back give the
//! same joint positions as the body model for every frame; both keep one skeleton per take and play
//! in the take's own time; bad input is a clear error.

use cmanet::body::{BodyModel, BodyParams, NUM_BETAS, NUM_JOINTS};
use cmanet::data::Take;
use cmanet::data::synth::MotionKind;
use cmanet::data::synth::animate::animate;
use cmanet::data::synth::motion::{MotionContext, sample};
use cmanet::data::synth::random::Rng;
use cmanet::export::{animated_glb, read_bvh, read_glb_animation, write_bvh};
use nalgebra::{Isometry3, Translation3, Vector3};

fn avatar() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/avatar/open_body.glb")).unwrap()
}

/// Two seconds of a synthetic dance at 30 fps, for a body of a non-mean shape.
fn take(model: &BodyModel) -> Take {
    let mut betas = [0.0; NUM_BETAS];
    betas[0] = 1.2;
    betas[2] = -0.7;
    let rest = model.rest_joints(&betas);
    let context = MotionContext { duration: 2.0, leg_length: rest[1].y, volume: None };
    let motion = sample(MotionKind::Dance, &mut Rng::new(5), &context);
    let frames = animate(model, &betas, motion.as_ref(), 60, 30.0).unwrap();
    Take {
        fps: 30.0,
        frames: frames.into_iter().map(|f| f.params).collect(),
        seconds: (0..60).map(|i| i as f64 / 30.0).collect(),
        metadata: Default::default(),
    }
}

#[test]
fn takes_round_trip_and_bad_takes_are_refused() {
    let model = BodyModel::open_body().unwrap();
    let take = take(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("take.safetensors");
    take.write(&path).unwrap();
    assert_eq!(Take::read(&path).unwrap(), take);
    let mut bad = take.clone();
    bad.seconds[10] = bad.seconds[9];
    assert!(bad.write(&path).unwrap_err().to_string().contains("seconds"));
    let mut bad = take.clone();
    bad.frames[3].transl.x = f32::NAN;
    assert!(bad.write(&path).is_err());
    std::fs::write(&path, b"garbage").unwrap();
    assert!(Take::read(&path).is_err());
}

/// A take whose last time falls a microsecond short of its frame, or whose times went through
/// f32, keeps its last frame (it was dropped); one that ends half a frame early does not get one.
#[test]
fn jittered_and_f32_times_keep_the_last_frame() {
    let model = BodyModel::open_body().unwrap();
    let take = take(&model);
    assert_eq!(take.resampled_len(), 60);
    let mut jittered = take.clone();
    *jittered.seconds.last_mut().unwrap() -= 1e-6;
    assert_eq!(jittered.resampled_len(), 60);
    let mut stored = take.clone();
    stored.seconds = stored.seconds.iter().map(|&s| (s as f32 + 1000.0) as f64).collect();
    assert_eq!(stored.resampled_len(), 60, "{:?}", &stored.seconds[58..]);
    let mut short = take.clone();
    *short.seconds.last_mut().unwrap() -= 0.5 / 30.0;
    assert_eq!(short.resampled_len(), 59);
    assert_eq!(short.resampled().len(), 59);
}

#[test]
fn bvh_reads_back_to_the_body_models_joints() {
    let model = BodyModel::open_body().unwrap();
    let take = take(&model);
    let text = write_bvh(&take, &model).unwrap();
    let bvh = read_bvh(&text).unwrap();
    assert_eq!(bvh.names.len(), NUM_JOINTS);
    assert_eq!(bvh.frames.len(), take.frames.len());
    assert!((bvh.frame_time - 1.0 / 30.0).abs() < 1e-7);
    for (f, params) in take.frames.iter().enumerate() {
        let expected = model.pose(params, false).unwrap().joints;
        let got = bvh.joint_positions(f);
        for (name, g) in bvh.names.iter().zip(&got) {
            let e = expected[cmanet::body::joint_index(name).unwrap()];
            let d = (g - e.cast::<f64>()).norm();
            assert!(d < 1e-4, "frame {f} {name}: {d} m");
        }
    }
    // Upright: the head is above the pelvis in the first frame (Blender imports +y up as up).
    let p = bvh.joint_positions(0);
    let head = bvh.names.iter().position(|n| n == "head").unwrap();
    assert!(p[head].y > p[0].y + 0.3);
    assert!(read_bvh("HIERARCHY\nROOT a\n{\nCHANNELS 2 Xposition\n").is_err());
}

/// Global joint positions from local (rotation, translation) pairs.
fn chain(locals: &[(nalgebra::UnitQuaternion<f32>, Vector3<f32>); NUM_JOINTS]) -> Vec<Vector3<f32>> {
    let mut globals: Vec<Isometry3<f32>> = Vec::with_capacity(NUM_JOINTS);
    for (j, (r, t)) in locals.iter().enumerate() {
        let local = Isometry3::from_parts(Translation3::from(*t), *r);
        let global = match cmanet::body::PARENTS[j] {
            Some(p) => globals[p] * local,
            None => local,
        };
        globals.push(global);
    }
    globals.iter().map(|g| g.translation.vector).collect()
}

#[test]
fn gltf_reads_back_to_the_body_models_joints() {
    let model = BodyModel::open_body().unwrap();
    let take = take(&model);
    let bytes = animated_glb(&take, &model, &avatar()).unwrap();
    let (times, keys) = read_glb_animation(&bytes, "take").unwrap();
    assert_eq!(times.len(), take.frames.len());
    assert!((times[1] - 1.0 / 30.0).abs() < 1e-6);
    for (f, params) in take.frames.iter().enumerate() {
        let expected = model.pose(params, false).unwrap().joints;
        let got = chain(&keys[f]);
        for j in 0..NUM_JOINTS {
            assert!((got[j] - expected[j]).norm() < 1e-4, "frame {f} joint {j}");
        }
    }
    // The avatar itself (mesh, skin) is still there: gltf imports it with its skin.
    let (document, _, _) = gltf::import_slice(&bytes).unwrap();
    assert!(document.skins().count() >= 1 && document.meshes().count() >= 1);
    assert!(animated_glb(&take, &model, b"not a glb").is_err());
    let empty = Take { fps: 30.0, frames: vec![BodyParams::default()], seconds: vec![0.0], ..Default::default() };
    assert_eq!(read_glb_animation(&animated_glb(&empty, &model, &avatar()).unwrap(), "take").unwrap().0.len(), 1);
}

/// A take whose shape drifts from frame to frame and whose estimates came at an uneven 4 a second
/// exports with one skeleton (the mean shape: every bone the same length in every frame, in both
/// formats) and plays as long as it was recorded.
#[test]
fn exports_keep_one_skeleton_and_the_takes_own_time() {
    let model = BodyModel::open_body().unwrap();
    let mut take = take(&model);
    // 13 estimates over 3.1 s, irregular gaps, the shape changing throughout.
    take.seconds = vec![0.0, 0.21, 0.52, 0.74, 1.0, 1.3, 1.49, 1.77, 2.02, 2.24, 2.56, 2.8, 3.1];
    take.frames.truncate(take.seconds.len());
    for (f, frame) in take.frames.iter_mut().enumerate() {
        frame.betas[0] = -1.0 + 0.25 * f as f32;
    }
    let mean_rest = model.rest_joints(&cmanet::export::mean_shape(&take));
    let resampled = (3.1f64 * 30.0).floor() as usize + 1;

    let bytes = animated_glb(&take, &model, &avatar()).unwrap();
    let (times, keys) = read_glb_animation(&bytes, "take").unwrap();
    assert_eq!(times.len(), resampled);
    assert!((times[times.len() - 1] - 3.1).abs() < 1.0 / 30.0, "lasts {} s", times[times.len() - 1]);
    for j in 1..NUM_JOINTS {
        let parent = cmanet::body::PARENTS[j].unwrap();
        let length = (mean_rest[j] - mean_rest[parent]).norm();
        for (f, key) in keys.iter().enumerate() {
            assert!(
                (key[j].1.norm() - length).abs() < 1e-5,
                "glTF frame {f} joint {j}: {} vs {length}",
                key[j].1.norm()
            );
        }
    }

    let bvh = read_bvh(&write_bvh(&take, &model).unwrap()).unwrap();
    assert_eq!(bvh.frames.len(), resampled);
    assert!(((bvh.frames.len() - 1) as f64 * bvh.frame_time - 3.1).abs() < 1.0 / 30.0);
    for f in [0, resampled / 2, resampled - 1] {
        let p = bvh.joint_positions(f);
        for (j, name) in bvh.names.iter().enumerate().skip(1) {
            let k = cmanet::body::joint_index(name).unwrap();
            let parent = cmanet::body::PARENTS[k].unwrap();
            let pj = bvh.names.iter().position(|n| n == cmanet::body::JOINT_NAMES[parent]).unwrap();
            let length = (mean_rest[k] - mean_rest[parent]).norm() as f64;
            assert!(((p[j] - p[pj]).norm() - length).abs() < 1e-4, "BVH frame {f} {name}");
        }
    }
}
