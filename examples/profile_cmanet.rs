//! Where CMANet's time goes on one 4-view frame (shipped weights), stage by stage, and what
//! calling candle from outside its thread pool costs: a few small operations timed from an
//! ordinary thread and from inside a one-thread rayon pool (see `cmanet::compute`), next to the
//! network's own linear layer on the packed kernel.
//!
//! ```text
//! cargo run --release --no-default-features --example profile_cmanet
//! ```

use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor};
use cmanet::body::{BodyModel, BodyTensors};
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::geometry::axis_angle_to_matrix;
use cmanet::net::body_refinement::{Priors, RefinedBody};
use cmanet::net::input::encode_view;
use cmanet::net::params::PARAM_DIM;
use cmanet::net::screening::screen;
use cmanet::net::{Cmanet, MultiViewFrame, Pipeline, encode_batch};

/// Mean time of `f` over `n` calls, microseconds.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// A few small candle operations of the IEV's size, and the network's own linear layer on loaded
/// (non-variable) weights, which runs on the packed kernel of `cmanet::compute::matmul`.
fn small_ops() -> Vec<(&'static str, f64)> {
    let dev = Device::Cpu;
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let (Ok(linear), Ok(norm), Ok(x)) = (
        candle_nn::linear(128, 384, vb.pp("linear")),
        candle_nn::layer_norm(128, 1e-5, vb.pp("norm")),
        Tensor::randn(0f32, 1.0, (1, 9, 128), &dev),
    ) else {
        return Vec::new();
    };
    let Ok(packed) = cmanet::net::linear::Linear::new(linear.weight().detach(), linear.bias().map(Tensor::detach))
    else {
        return Vec::new();
    };
    let n = 2000;
    vec![
        ("linear 9x128 -> 384", time(n, || drop(linear.forward(&x)))),
        ("  the same, packed kernel", time(n, || drop(packed.forward(&x)))),
        ("layer norm 9x128", time(n, || drop(norm.forward(&x)))),
        ("softmax 9x128", time(n, || drop(candle_nn::ops::softmax_last_dim(&x)))),
        ("gelu (tanh) 9x128", time(n, || drop(x.gelu()))),
        ("add 9x128", time(n, || drop(&x + &x))),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = BodyModel::open_body()?;
    let net = Cmanet::shipped(&Device::Cpu)?;
    let mut config = SynthConfig { frames: 1, ..Default::default() };
    config.rig.min_views = 4;
    config.rig.max_views = 4;
    let data = generate_sequence(&model, &config, 7, 0)?;
    let frame = MultiViewFrame::from_views(&data.keypoints2d[0], &data.intrinsics);
    let n = 300;
    println!("one 4-view frame, {n} runs");
    println!("  estimate (whole call)      {:8.1} us", time(n, || drop(net.estimate(&frame))));
    // The stages, inside the one-thread pool as `estimate` runs them.
    let body = BodyTensors::new(&model, &Device::Cpu, DType::F32)?;
    let stages = cmanet::compute::single_threaded(|| -> candle_core::Result<Vec<(&str, f64)>> {
        let batch = encode_batch(std::slice::from_ref(&frame), &Device::Cpu)?;
        let fwd = net.forward(batch.clone()).map_err(candle_core::Error::wrap)?;
        let (b, v, _) = batch.inputs.dims3()?;
        let params = fwd.irv.params.reshape((b, v, PARAM_DIM))?;
        let confidence = fwd.irv.confidence.reshape((b, v))?;
        Ok(vec![
            ("encode", time(n, || drop(encode_batch(std::slice::from_ref(&frame), &Device::Cpu)))),
            ("forward (IRV, screening, IEV)", time(n, || drop(net.forward(batch.clone())))),
            ("  of which screening", time(n, || drop(screen(&body, &batch, &params, &confidence)))),
        ])
    })?;
    for (name, us) in stages {
        println!("  {name:<27}{us:8.1} us");
    }
    // The body refinement on its own, from the network's body and the PnP-refined cameras.
    let mut unrefined = net.clone();
    unrefined.pipeline = Pipeline::WithoutBodyRefinement;
    let start = unrefined.estimate(&frame)?;
    let sizes: Vec<f64> =
        frame.views.iter().map(|v| v.as_ref().and_then(encode_view).map_or(1.0, |e| e.1.size)).collect();
    let pose = start.body_pose.map(|r| axis_angle_to_matrix(&r.cast::<f64>()));
    let betas = start.betas.map(|b| b as f64);
    let refine = || {
        let (mut body, mut c) = (RefinedBody::new(pose, betas), start.cameras.clone());
        net.refiner.refine(&mut body, &mut c, &frame, &sizes, &Priors::default())
    };
    let report = refine();
    let us = time(n, || {
        refine();
    });
    println!(
        "  {:<27}{us:8.1} us ({} steps, cost {:.1} -> {:.1})",
        "body refinement", report.steps, report.cost_before, report.cost_after
    );
    println!("small candle operations: from an ordinary thread / inside a one-thread pool");
    let outside = small_ops();
    let inside = cmanet::compute::single_threaded(small_ops);
    for ((name, a), (_, b)) in outside.iter().zip(&inside) {
        println!("  {name:<22}{a:8.1} us {b:8.1} us");
    }
    Ok(())
}
