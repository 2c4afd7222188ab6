//! Benchmarks of the two baselines on synthetic frames (`cmanet synth`'s generator, seed 7):
//! robust triangulation of the 17 keypoints from 4 and 8 calibrated views, and multi-view SMPLify
//! (`fit`, unknown cameras) on one 4-view frame and on a 16-frame chunk (divide by 16 for the
//! per-frame cost of batched fitting). Also the batched body model on its own (`body_forward`):
//! one forward and backward pass of 1 and 64 bodies, the inner step of fitting and training. And
//! CMANet with the shipped weights on 2, 4 and 8 views (and 4 without its body refinement), and
//! batched. And the grounding (`cmanet::ground::Grounder`: floor, contacts, leg IK) on every pose of
//! a synthetic sequence, with and without holding the planted feet.

use std::hint::black_box;

use candle_core::{DType, Device, Tensor, Var};
use cmanet::body::{BodyModel, BodyTensors};
use cmanet::data::Mv2d;
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::fit::{FitSettings, Fitter};
use cmanet::geometry::{TriangulationSettings, triangulate_keypoints};
use cmanet::net::{Cmanet, MultiViewFrame, Pipeline};
use criterion::Criterion;

/// A synthetic sequence seen by exactly `views` cameras, cut to its first `frames` frames.
fn sequence(model: &BodyModel, views: usize, frames: usize) -> Mv2d {
    let mut config = SynthConfig { frames, ..Default::default() };
    config.rig.min_views = views;
    config.rig.max_views = views;
    match generate_sequence(model, &config, 7, 2) {
        Ok(data) => data,
        Err(e) => panic!("synthetic data: {e}"),
    }
}

fn triangulation(c: &mut Criterion, model: &BodyModel) {
    for views in [4, 8] {
        let data = sequence(model, views, 1);
        let projections: Vec<_> = data.cameras().unwrap_or_default().iter().map(|c| c.projection_matrix()).collect();
        let settings = TriangulationSettings::default();
        c.bench_function(&format!("triangulate_17_joints_{views}_views"), |b| {
            b.iter(|| triangulate_keypoints(black_box(&projections), black_box(&data.keypoints2d[0]), &settings))
        });
    }
}

fn fitting(c: &mut Criterion, model: &BodyModel) {
    let fitter = match Fitter::new(model.clone(), &Device::Cpu, FitSettings::default()) {
        Ok(f) => f,
        Err(e) => panic!("fitter: {e}"),
    };
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    for frames in [1, 16] {
        let data = sequence(model, 4, frames).without_ground_truth();
        group.bench_function(format!("fit_4_views_{frames}_frames"), |b| {
            b.iter(|| fitter.fit_sequence(black_box(&data), false, &mut |_| {}).map(|r| r.frames.len()))
        });
    }
    group.finish();
}

/// Keypoints and joints of `batch` posed bodies, and the gradient of their squared sum with
/// respect to the axis-angle pose, the shape and the translation.
fn body_forward(c: &mut Criterion, model: &BodyModel) {
    let dev = Device::Cpu;
    let tensors = match BodyTensors::new(model, &dev, DType::F32) {
        Ok(t) => t,
        Err(e) => panic!("body tensors: {e}"),
    };
    let mut group = c.benchmark_group("body_forward");
    for batch in [1, 64] {
        let var = |shape: &[usize], scale: f64| -> candle_core::Result<Var> {
            Var::from_tensor(&(Tensor::randn(0f32, 1.0, shape, &dev)? * scale)?)
        };
        let step = |pose: &Var, betas: &Var, transl: &Var| -> candle_core::Result<usize> {
            let out = tensors
                .forward_axis_angle(pose.as_tensor(), betas.as_tensor(), transl.as_tensor(), false)
                .map_err(candle_core::Error::wrap)?;
            let loss = (out.keypoints.sqr()?.sum_all()? + out.joints.sqr()?.sum_all()?)?;
            Ok(loss.backward()?.get(pose.as_tensor()).map_or(0, |g| g.elem_count()))
        };
        let vars = (|| {
            Ok::<_, candle_core::Error>((var(&[batch, 24, 3], 0.3)?, var(&[batch, 10], 1.0)?, var(&[batch, 3], 1.0)?))
        })();
        let (pose, betas, transl) = match vars {
            Ok(v) => v,
            Err(e) => panic!("inputs: {e}"),
        };
        group.bench_function(format!("forward_backward_{batch}"), |b| {
            b.iter(|| step(black_box(&pose), black_box(&betas), black_box(&transl)))
        });
    }
    group.finish();
}

/// A multi-view frame of the sequence (every view present).
fn frame_of(data: &Mv2d, t: usize) -> MultiViewFrame {
    MultiViewFrame::from_views(&data.keypoints2d[t], &data.intrinsics)
}

/// CMANet with the shipped weights: one frame of 2, 4 and 8 views (`estimate`), a 4-view frame of a
/// stream (`estimate_after`, the plugin's call), the 4-view frame without the body refinement (its cost is the difference), and a batch
/// of 32 four-view frames in one `estimate_batch` (divide by 32 for the throughput per frame).
fn network(c: &mut Criterion, model: &BodyModel) {
    let mut net = match Cmanet::shipped(&Device::Cpu) {
        Ok(n) => n,
        Err(e) => panic!("shipped network: {e}"),
    };
    for views in [2, 4, 8] {
        let frame = frame_of(&sequence(model, views, 1), 0);
        c.bench_function(&format!("cmanet_{views}_views"), |b| b.iter(|| net.estimate(black_box(&frame)).is_ok()));
    }
    // A frame of a stream: the previous frame's estimate as the temporal prior and the reference of
    // the jump gate, with what the stream learned (subject, rig), as the plugin and `cmanet
    // estimate` run it.
    let stream = sequence(model, 4, 2);
    let first = match net.estimate(&frame_of(&stream, 0)) {
        Ok(e) => e,
        Err(e) => panic!("first frame: {e}"),
    };
    let next = frame_of(&stream, 1);
    c.bench_function("cmanet_4_views_in_a_stream", |b| {
        b.iter(|| net.estimate_after(black_box(&next), Some(&first)).is_ok())
    });
    let frame = frame_of(&sequence(model, 4, 1), 0);
    net.pipeline = Pipeline::WithoutBodyRefinement;
    c.bench_function("cmanet_4_views_without_body_refinement", |b| b.iter(|| net.estimate(black_box(&frame)).is_ok()));
    net.pipeline = Pipeline::Full;
    let data = sequence(model, 4, 32);
    let frames: Vec<MultiViewFrame> = (0..32).map(|t| frame_of(&data, t)).collect();
    c.bench_function("cmanet_batch_32_frames_4_views", |b| b.iter(|| net.estimate_batch(black_box(&frames)).is_ok()));
}

fn grounding(c: &mut Criterion, model: &BodyModel) {
    use cmanet::ground::{GroundSettings, Grounder};
    let Some(poses) = sequence(model, 4, 64).params else { panic!("synthetic data without bodies") };
    // The floor given, or estimated from the feet (the plugin's default: a full window of 600
    // heights sorted every pose).
    for (hold_feet, floor_height, name) in [
        (true, Some(0.0), "ground_pose"),
        (false, Some(0.0), "ground_pose_without_holding_feet"),
        (true, None, "ground_pose_floor_estimated"),
    ] {
        let settings = GroundSettings { floor_height, hold_feet, ..Default::default() };
        c.bench_function(name, |b| {
            let mut grounder = Grounder::new(settings.clone());
            let mut t = 0usize;
            b.iter(|| {
                t += 1;
                black_box(grounder.ground(model, &poses[t % poses.len()], t as f64 / 30.0))
            })
        });
    }
}

fn main() {
    // Candle's thread pool costs more than it saves on fitting's small tensors (see the
    // performance chapter); measure the configuration the CLI runs.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread runs yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    let model = match BodyModel::open_body() {
        Ok(m) => m,
        Err(e) => panic!("body model: {e}"),
    };
    let mut c = Criterion::default().configure_from_args();
    triangulation(&mut c, &model);
    fitting(&mut c, &model);
    body_forward(&mut c, &model);
    network(&mut c, &model);
    grounding(&mut c, &model);
    c.final_summary();
}
