//! A second crate's view of `cmanet` as a plain library (`default-features = false`: no Bevy, no
//! command line): renders a synthetic four-view frame of the shipped body model, estimates it with
//! the shipped CMANet, and checks the body against the truth (PA-MPJPE) and the cameras (relative
//! rotation error). Exits non-zero when the estimate is off.

use std::process::ExitCode;

use cmanet::data::synth::{RigConfig, SynthConfig, generate_sequence};
use cmanet::eval::metrics::{KeypointSet, pa_mpjpe, relative_rotation_errors};
use cmanet::prelude::*;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consumer (library): {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let body = BodyModel::open_body()?;
    let rig = RigConfig { min_views: 4, max_views: 4, ..Default::default() };
    let config = SynthConfig { frames: 1, rig, ..Default::default() };
    let data = generate_sequence(&body, &config, 2024, 0)?;
    let network = Cmanet::shipped(&Device::Cpu)?;
    let frame = MultiViewFrame::from_views(&data.keypoints2d[0], &data.intrinsics);
    let estimate = network.estimate(&frame)?;
    let truth = data.joints3d.as_ref().ok_or("the synthetic frame has no truth")?;
    let pa = pa_mpjpe(&estimate.keypoints, &truth[0], KeypointSet::Limbs) * 1000.0;
    let cameras = data.cameras().ok_or("the synthetic frame has no cameras")?;
    let estimated: Vec<Extrinsics> =
        estimate.cameras.iter().map(|c| c.ok_or("a view without a camera")).collect::<Result<_, _>>()?;
    let truth_cameras: Vec<Extrinsics> = cameras.iter().map(|c| c.extrinsics).collect();
    let errors = relative_rotation_errors(&estimated, &truth_cameras);
    let worst = errors.iter().copied().fold(0.0, f64::max);
    println!("consumer (library): PA-MPJPE limbs {pa:.1} mm, worst relative camera error {worst:.1} deg");
    if !(pa < 60.0 && worst < 20.0) {
        return Err(format!("estimate off: PA-MPJPE {pa:.1} mm, camera {worst:.1} deg").into());
    }
    Ok(())
}
