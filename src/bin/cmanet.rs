//! The `cmanet` command: body-model inspection (and, as the crate grows, synthesis, training,
//! estimation, evaluation, detection and export).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cmanet::body::{BodyModel, JOINT_NAMES, NUM_BETAS, open_body_path};

/// Markerless multi-view motion capture: command-line tools.
#[derive(Parser)]
#[command(name = "cmanet", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a body model's size, joints, heights across the first shape component and the
    /// explained variance of its shape space.
    BodyInfo {
        /// Body model: our `.safetensors` layout or an official SMPL `.npz`.
        /// Default: the shipped `assets/body/open_body.safetensors`.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::BodyInfo { model, json } => body_info(model.unwrap_or_else(open_body_path), json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn body_info(path: PathBuf, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let model = BodyModel::load(&path)?;
    let beta0 = |value: f32| {
        let mut betas = [0.0; NUM_BETAS];
        betas[0] = value;
        model.height(&betas)
    };
    let heights = [(-2.0, beta0(-2.0)), (0.0, beta0(0.0)), (2.0, beta0(2.0))];
    if json {
        let report = serde_json::json!({
            "model": model.name,
            "path": path,
            "vertices": model.num_vertices(),
            "faces": model.faces.len(),
            "joints": JOINT_NAMES,
            "height_m": heights.iter().map(|(b, h)| serde_json::json!({"beta0": b, "height": h})).collect::<Vec<_>>(),
            "explained_variance": model.shape_explained_variance,
            "pose_correctives": model.posedirs.is_some(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("model      {} ({})", model.name, path.display());
    println!("vertices   {}", model.num_vertices());
    println!("faces      {}", model.faces.len());
    println!("pose-corrective blend shapes: {}", if model.posedirs.is_some() { "yes" } else { "no" });
    println!("joints     {}", JOINT_NAMES.len());
    for (i, name) in JOINT_NAMES.iter().enumerate() {
        println!("  {i:2} {name}");
    }
    println!("height (T-pose, vertical extent)");
    for (b, h) in heights {
        println!("  betas[0] = {b:+.0}: {h:.3} m");
    }
    match &model.shape_explained_variance {
        Some(ev) => {
            println!("shape space explained variance");
            let mut total = 0.0;
            for (i, r) in ev.iter().enumerate() {
                total += r;
                println!("  beta {i}: {:6.2}%  (cumulative {:6.2}%)", 100.0 * r, 100.0 * total);
            }
        }
        None => println!("shape space explained variance: not recorded in this file"),
    }
    Ok(())
}
