//! What the body refinement costs: one CMANet estimate (shipped weights) of the benchmark's 2-, 4-
//! and 8-view frames (`benches/estimate.rs`: synthetic, seed 7, sequence 2) with and without the
//! body refinement, the two alternated, the best of 400 calls each. The best call is far less
//! sensitive than the benchmark's mean to other work on a shared machine.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release --no-default-features --example time_body_refinement
//! ```

use std::time::Instant;

use candle_core::Device;
use cmanet::body::BodyModel;
use cmanet::data::synth::{SynthConfig, generate_sequence};
use cmanet::net::{Cmanet, MultiViewFrame, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = BodyModel::open_body()?;
    let mut net = Cmanet::shipped(&Device::Cpu)?;
    for views in [2, 4, 8] {
        let mut config = SynthConfig { frames: 1, ..Default::default() };
        config.rig.min_views = views;
        config.rig.max_views = views;
        let data = generate_sequence(&model, &config, 7, 2)?;
        let frame = MultiViewFrame::from_views(&data.keypoints2d[0], &data.intrinsics);
        let mut best = [f64::INFINITY; 2];
        for _ in 0..400 {
            for (slot, pipeline) in [Pipeline::Full, Pipeline::WithoutBodyRefinement].into_iter().enumerate() {
                net.pipeline = pipeline;
                let start = Instant::now();
                net.estimate(&frame)?;
                best[slot] = best[slot].min(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        println!("{views} views: {:.2} ms, without the body refinement {:.2} ms (best of 400)", best[0], best[1]);
    }
    Ok(())
}
