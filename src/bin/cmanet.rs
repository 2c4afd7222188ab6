//! The `cmanet` command: synthetic data, estimation (baselines), evaluation and body-model
//! inspection, and 2D keypoint detection in image folders (export arrives with its issue).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use cmanet::body::{BodyModel, JOINT_NAMES, KeypointProfile, NUM_BETAS};
use cmanet::compute::ComputeDevice;
use cmanet::data::stick::{StickConfig, generate_stick};
use cmanet::data::synth::{MotionKind, SynthConfig, generate_sequence};
use cmanet::data::{Mv2d, sequence_files};
use cmanet::detect::LandmarkModel;
use cmanet::estimate::{EstimateSettings, Estimator, Method};
use cmanet::eval::Report;
use cmanet::fit::{FitSettings, Fitter};
use cmanet::net::{Cmanet, Config, Pipeline};
use cmanet::train::{LabelSource, PseudoLabels, TrainSettings, labelled_frames, train, training_files};
use indicatif::{ProgressBar, ProgressStyle};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Markerless multi-view motion capture: command-line tools.
#[derive(Parser)]
#[command(name = "cmanet", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Estimation methods (`cmanet::estimate::Method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    /// Multi-view SMPLify: unknown extrinsics (only K) unless `--calibrated`.
    Fit,
    /// Robust weighted DLT from the true cameras (needs `--calibrated`).
    Triangulate,
    /// Plain confidence-weighted DLT from the true cameras, keypoints under confidence 0.3
    /// dropped (needs `--calibrated`): the simplest calibrated baseline.
    Dlt,
    /// CMANet (unknown cameras); weights from `--weights`.
    Cmanet,
}

impl MethodArg {
    fn method(self) -> Method {
        match self {
            MethodArg::Fit => Method::Fit,
            MethodArg::Triangulate => Method::Triangulate,
            MethodArg::Dlt => Method::Dlt,
            MethodArg::Cmanet => Method::Cmanet,
        }
    }
}

/// Synthetic data generators (`cmanet synth --generator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum GeneratorArg {
    /// `data::synth`: our body model.
    BodyModel,
    /// `data::stick`: the independent stick body.
    Stick,
}

/// Pseudo-label sources (`cmanet train --labels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LabelsArg {
    /// Multi-view SMPLify without cameras.
    Fit,
    /// The full CMANet pipeline of `--label-weights`.
    Cmanet,
}

/// Network size presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Preset {
    /// `Config::small()`.
    Small,
    /// `Config::base()`.
    Base,
}

/// Arguments of `cmanet estimate`.
#[derive(clap::Args)]
struct EstimateArgs {
    /// A `cmanet-mv2d` file, or a folder of them.
    #[arg(long)]
    input: PathBuf,
    /// The output file, or (for a folder input) the output folder: one file per input, same name.
    #[arg(long)]
    output: PathBuf,
    /// The method.
    #[arg(long, value_enum, default_value = "cmanet")]
    method: MethodArg,
    /// Use the true cameras from the input (without it, no method reads the extrinsics).
    #[arg(long)]
    calibrated: bool,
    /// CMANet: write the estimate placed in the world of the input's cameras (they are used for
    /// placing only; the estimate is the uncalibrated one). Without it: the canonical frame.
    #[arg(long)]
    place: bool,
    /// Body model (default: the shipped open body).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Files processed in parallel. Default: the number of cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// CMANet weights (`--method cmanet`). Default: `assets/models/cmanet.safetensors`.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Which parts of CMANet run (`--method cmanet`): `full`, or one of the model card's ablations
    /// (`cmanet::net::Pipeline` says what each leaves out).
    #[arg(long, default_value = "full", value_parser = pipeline_parser())]
    pipeline: Pipeline,
    /// Keep the detector's left/right labels as they are. By default `fit` and `cmanet` first
    /// repair frames in which a view's left and right were swapped, from motion continuity
    /// (`data::labels::repair_temporal`); `triangulate` repairs them with the cameras.
    #[arg(long)]
    keep_left_right: bool,
    /// The candle device `cmanet` and `fit` run on: `auto` (a GPU when cmanet was built with
    /// `cuda` or `metal` and one answers, else the CPU), `cpu`, `cuda[:N]`, `metal[:N]`.
    #[arg(long, default_value = "auto")]
    device: ComputeDevice,
    /// A setting of CMANet's body refinement as `NAME=VALUE`, repeatable (`--refine steps=3
    /// --refine prior_weight=3`): the fields of `cmanet::net::body_refinement::BodyRefinementSettings`,
    /// whose docs give the defaults. For trying a setting on a development set without a build.
    #[arg(long = "refine", value_name = "NAME=VALUE")]
    refine: Vec<String>,
    /// Print a JSON summary (files, frames, seconds) at the end.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Train CMANet from multi-view 2D keypoints alone (`cmanet-mv2d` files; any ground truth in
    /// them is dropped on reading). Pseudo-labels are fitted once and cached.
    Train {
        /// A `cmanet-mv2d` file or a folder of them.
        #[arg(long)]
        data: PathBuf,
        /// Output folder: `cmanet.safetensors`, `checkpoint.safetensors`, `curves.csv`.
        #[arg(long)]
        output: PathBuf,
        /// Pseudo-label cache. Default: `<output>/pseudo_labels`.
        #[arg(long)]
        cache: Option<PathBuf>,
        /// What makes the pseudo-labels: `fit` (multi-view SMPLify) or `cmanet` (the full pipeline
        /// of `--label-weights`, its geometric refinement included).
        #[arg(long, value_enum, default_value = "fit")]
        labels: LabelsArg,
        /// The network that makes `--labels cmanet`. Default: the shipped weights.
        #[arg(long)]
        label_weights: Option<PathBuf>,
        /// `--labels cmanet`: passes over each sequence (2: the second starts knowing the
        /// subject's bones the first learned by its end, so early frames' labels carry them).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
        label_passes: u8,
        /// Network size.
        #[arg(long, value_enum, default_value = "small")]
        preset: Preset,
        /// Adam steps of stage 1 (IRV).
        #[arg(long, default_value_t = 24000)]
        stage1_steps: usize,
        /// Adam steps of stage 2 (IEV, IRV frozen).
        #[arg(long, default_value_t = 16000)]
        stage2_steps: usize,
        /// Frames per batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Adam learning rate.
        #[arg(long, default_value_t = 1e-3)]
        learning_rate: f64,
        /// Seed of the batch sampling.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Robust scale of the reprojection losses, a fraction of the person's size.
        #[arg(long, default_value_t = 0.05)]
        robust_scale: f64,
        /// Continue from `<output>/checkpoint.safetensors`.
        #[arg(long)]
        resume: bool,
        /// Start from these weights (variables whose name and shape match), e.g. a new IEV over a
        /// trained IRV with `--stage1-steps 0`.
        #[arg(long)]
        init: Option<PathBuf>,
        /// Body model (default: the shipped open body).
        #[arg(long)]
        model: Option<PathBuf>,
        /// A size of the preset changed, `NAME=VALUE` with the names of `cmanet::net::Config`
        /// (e.g. `iev_iterations=3`, `triangulation=false`); repeatable.
        #[arg(long = "config", value_name = "NAME=VALUE")]
        config_changes: Vec<String>,
    },
    /// Generate synthetic multi-view sequences (`cmanet-mv2d`), deterministic by seed.
    Synth {
        /// Which generator: `body-model` (our body model, the training data's) or `stick` (an
        /// independent stick body, motions, rigs and detector: the generalisation sets).
        #[arg(long, value_enum, default_value = "body-model")]
        generator: GeneratorArg,
        /// Seed: the same seed gives the same files.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Number of sequences.
        #[arg(long, default_value_t = 20)]
        sequences: usize,
        /// Frames per sequence. Default: 60 (`body-model`), 90 (`stick`).
        #[arg(long)]
        frames: Option<usize>,
        /// Fewest cameras per sequence.
        #[arg(long, default_value_t = 2)]
        min_views: usize,
        /// Most cameras per sequence.
        #[arg(long, default_value_t = 8)]
        max_views: usize,
        /// Multiplier of the simulated detector's pixel noise (1 = the default detector).
        #[arg(long, default_value_t = 1.0)]
        noise_scale: f32,
        /// How much the subjects' bones depart from the body model's beyond the betas
        /// (`body-model` only; 0 = not at all, 1 = as people and detectors do; training data).
        #[arg(long, default_value_t = 0.0)]
        bone_variation: f32,
        /// Motion kinds to draw from, comma-separated, taken in turn (`body-model` only; a kind
        /// named twice comes twice as often): `walk`, `run`, `squat`, `jump`, `lunge`, `kick`,
        /// `reach`, `wave`, `pick_up`, `turn`, `sit_to_stand`, `dance` (the twelve everyday kinds,
        /// the default) and `poses` (poses across the joints' ranges; training data).
        #[arg(long, value_delimiter = ',', value_parser = parse_motion)]
        motions: Vec<MotionKind>,
        /// Output folder (files `seq_0000.safetensors`, ...).
        #[arg(long)]
        output: PathBuf,
        /// Leave out the ground truth (true cameras, 3D keypoints, SMPL parameters).
        #[arg(long)]
        no_ground_truth: bool,
        /// Body model (default: the shipped open body).
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Estimate 3D pose (and cameras) from `cmanet-mv2d` files; writes `cmanet-mv3d`.
    Estimate(EstimateArgs),
    /// Measure estimates against the ground truth in `cmanet-mv2d` files, methods side by side.
    Eval {
        /// The ground-truth `cmanet-mv2d` file or folder (needs joints3d and extrinsics).
        #[arg(long)]
        truth: PathBuf,
        /// A method's estimates as `NAME=PATH` (a `cmanet-mv3d` file, or a folder of files named like
        /// the truth files); repeat for several methods.
        #[arg(long = "method", value_parser = parse_method, required = true)]
        methods: Vec<(String, PathBuf)>,
        /// Also print a table for every sequence.
        #[arg(long)]
        per_sequence: bool,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Detect 2D keypoints (BlazePose) in one image folder per view and write a `cmanet-mv2d` file.
    Detect(DetectArgs),
    /// Export a recorded take (`cmanet-take`, or the bodies of a `cmanet-mv3d` estimate) as BVH
    /// and / or as a glTF animation on the open avatar.
    Export {
        /// The take.
        #[arg(long)]
        input: PathBuf,
        /// Write BVH here.
        #[arg(long)]
        bvh: Option<PathBuf>,
        /// Write a binary glTF (the avatar with the take as its animation `take`) here.
        #[arg(long)]
        gltf: Option<PathBuf>,
        /// The avatar to animate. Default: the shipped `assets/avatar/open_body.glb`.
        #[arg(long)]
        avatar: Option<PathBuf>,
        /// Stand the body on the floor and hold its planted feet (`cmanet::ground`; the take's
        /// world must be +y up, as the plugin's takes and `estimate --place-in-world` with a +y-up
        /// calibration are). Takes the plugin recorded with its grounding on are grounded already.
        #[arg(long)]
        ground: bool,
        /// The floor's height (world +y) for `--ground`. Default: estimated from where the feet rest.
        #[arg(long, requires = "ground")]
        floor: Option<f32>,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replay a recorded take (`cmanet-take`, or the bodies of a `cmanet-mv3d` estimate) as VMC
    /// (OSC over UDP) to a receiver such as a VTuber app, at the take's frame rate.
    Stream {
        /// The take.
        #[arg(long)]
        input: PathBuf,
        /// The receiver, `host:port`.
        #[arg(long, default_value = "127.0.0.1:39539")]
        to: String,
        /// Start over at the end, until interrupted.
        #[arg(long = "loop")]
        looping: bool,
        /// Send only the upper body (hips rotation, spine, neck, head, arms, hands).
        #[arg(long)]
        upper_body: bool,
        /// Stand the hips at the origin instead of moving them as the take does.
        #[arg(long)]
        no_root_motion: bool,
        /// Print what was sent as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure a detector's keypoint profile (where it puts each keypoint relative to the body
    /// model's) from `cmanet-mv2d` files with the true cameras and SMPL parameters, such as
    /// `virtual_studio --detections` writes.
    Profile {
        /// The measurements: files or folders of them.
        #[arg(long, num_args = 1.., required = true)]
        input: Vec<PathBuf>,
        /// The `cmanet-keypoint-profile` file to write.
        #[arg(long)]
        output: PathBuf,
        /// The detector's name, recorded in the file.
        #[arg(long)]
        detector: String,
        /// Measurements every keypoint needs at least.
        #[arg(long, default_value_t = 100)]
        min_samples: usize,
        /// Measure only the extra keypoints' offsets and add them to the profile already at
        /// `--output`, whose COCO-17 offsets stay as they are.
        #[arg(long)]
        extras_only: bool,
    },
    /// Copy what a game needs at run time (the networks, the body model, the avatar) into a folder:
    /// put it at `assets/cmanet` beside the game's executable, or name it with `CMANET_ASSETS`.
    Assets {
        /// What to do.
        #[command(subcommand)]
        action: AssetsAction,
    },
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

/// What `cmanet assets` does.
#[derive(Subcommand, Debug)]
enum AssetsAction {
    /// Copy `models/`, `body/` and `avatar/` into DIR.
    Install {
        /// The folder to copy into (created if needed).
        dir: PathBuf,
    },
    /// Print the assets folder in use and where it was searched for.
    Where,
}

fn main() -> ExitCode {
    // Candle splits even 3x3 matrix products over a thread pool, which costs far more than it saves
    // on the small tensors of fitting; the command parallelises over files instead. The global
    // pool is made one-thread before anything uses it, unless the user chose its size.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Fails only if the global pool already exists, which nothing before this line makes.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Assets { action: AssetsAction::Install { dir } } => cmanet::assets::install(&dir)
            .map(|(files, bytes)| {
                println!("copied {files} files ({:.1} MB) into {}", bytes as f64 / 1e6, dir.display());
            })
            .map_err(AnyError::from),
        Command::Assets { action: AssetsAction::Where } => {
            println!("{}", cmanet::assets::search_description());
            Ok(())
        }
        Command::BodyInfo { model, json } => body_info(model.unwrap_or_else(cmanet::assets::body_model), json),
        Command::Synth {
            generator,
            seed,
            sequences,
            frames,
            min_views,
            max_views,
            noise_scale,
            bone_variation,
            motions,
            output,
            no_ground_truth,
            model,
        } => match generator {
            GeneratorArg::Stick => {
                let mut config = StickConfig { min_views, max_views, ..Default::default() };
                config.frames = frames.unwrap_or(config.frames);
                config.noise_sigma *= noise_scale;
                let checked = if !motions.is_empty() || bone_variation != 0.0 {
                    Err("--motions and --bone-variation are for `--generator body-model`; the stick generator has its own"
                        .to_string())
                } else {
                    config.validate()
                };
                checked.map_err(AnyError::from).and_then(|()| {
                    write_sequences("stick", seed, sequences, config.frames, &output, no_ground_truth, |i| {
                        Ok(generate_stick(&config, seed, i)?.data)
                    })
                })
            }
            GeneratorArg::BodyModel => {
                let mut config = SynthConfig { frames: frames.unwrap_or(60), bone_variation, ..Default::default() };
                if !motions.is_empty() {
                    config.motions = motions;
                }
                config.rig.min_views = min_views;
                config.rig.max_views = max_views;
                config.detector.noise_sigma *= noise_scale;
                config.detector.min_noise_px *= noise_scale;
                load_body(model.as_deref()).and_then(|body| {
                    write_sequences("synth", seed, sequences, config.frames, &output, no_ground_truth, |i| {
                        Ok(generate_sequence(&body, &config, seed, i)?)
                    })
                })
            }
        },
        Command::Train {
            data,
            output,
            cache,
            labels,
            label_weights,
            label_passes,
            preset,
            stage1_steps,
            stage2_steps,
            batch,
            learning_rate,
            seed,
            robust_scale,
            resume,
            init,
            model,
            config_changes,
        } => {
            let mut settings = TrainSettings {
                stage1_steps,
                stage2_steps,
                batch_frames: batch,
                learning_rate,
                seed,
                init_from: init,
                ..Default::default()
            };
            settings.stage1.robust_scale = robust_scale;
            settings.stage2.robust_scale = robust_scale;
            let mut config = match preset {
                Preset::Small => Config::small(),
                Preset::Base => Config::base(),
            };
            for change in &config_changes {
                match config.with_change(change) {
                    Ok(changed) => config = changed,
                    Err(problem) => {
                        eprintln!("error: --config {change}: {problem}");
                        std::process::exit(2);
                    }
                }
            }
            let source = match labels {
                LabelsArg::Fit => LabelSourceArg::Fit,
                LabelsArg::Cmanet => {
                    LabelSourceArg::Cmanet(label_weights.unwrap_or_else(cmanet::assets::weights), label_passes == 2)
                }
            };
            train_command(&data, &output, cache, &source, &config, &settings, resume, model)
        }
        Command::Estimate(args) => estimate(args),
        Command::Detect(args) => detect_command(args),
        Command::Export { input, bvh, gltf, avatar, ground, floor, json } => {
            export(&input, bvh, gltf, avatar, ground.then_some(floor), json)
        }
        Command::Stream { input, to, looping, upper_body, no_root_motion, json } => {
            stream(&input, &to, looping, upper_body, !no_root_motion, json)
        }
        Command::Eval { truth, methods, per_sequence, json } => eval(&truth, &methods, per_sequence, json),
        Command::Profile { input, output, detector, min_samples, extras_only } => {
            profile(&input, &output, &detector, min_samples, extras_only)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `--pipeline` values: the names of [`Pipeline::ALL`].
fn pipeline_parser() -> impl clap::builder::TypedValueParser<Value = Pipeline> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Pipeline::ALL.map(Pipeline::name))
        .try_map(|name: String| Pipeline::from_name(&name).ok_or_else(|| format!("unknown pipeline `{name}`")))
}

fn parse_motion(s: &str) -> Result<MotionKind, String> {
    MotionKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = MotionKind::EVERY.iter().map(|k| k.name()).collect();
        format!("`{s}`: not a motion kind (one of {})", names.join(", "))
    })
}

fn parse_method(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok((name.to_string(), PathBuf::from(path))),
        _ => Err(format!("`{s}`: expected NAME=PATH")),
    }
}

fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(what.to_string());
    bar
}

/// Input/output file pairs: a file gives one pair, a folder one pair per `.safetensors` file.
/// Whether two paths name the same file or folder (compared canonicalised when both exist).
fn same_path(a: &Path, b: &Path) -> bool {
    a == b || a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a))
}

fn file_pairs(input: &Path, output: &Path) -> Result<Vec<(PathBuf, PathBuf)>, AnyError> {
    if same_path(input, output) {
        return Err(format!("{}: is the input; refusing to write over it", output.display()).into());
    }
    if !input.is_dir() {
        return Ok(vec![(input.to_path_buf(), output.to_path_buf())]);
    }
    if output.exists() && !output.is_dir() {
        return Err(format!("{}: the input is a folder, so the output must be a folder", output.display()).into());
    }
    std::fs::create_dir_all(output).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(sequence_files(input)?
        .into_iter()
        .map(|f| {
            let name = f.file_name().map(PathBuf::from).unwrap_or_default();
            (f, output.join(name))
        })
        .collect())
}

fn load_body(model: Option<&Path>) -> Result<BodyModel, AnyError> {
    Ok(match model {
        Some(p) => BodyModel::load(p)?,
        None => BodyModel::open_body()?,
    })
}

/// Runs `work(i)` for `i in 0..n` on `jobs` threads; the first error wins.
fn parallel(n: usize, jobs: usize, work: impl Fn(usize) -> Result<(), AnyError> + Sync) -> Result<(), AnyError> {
    cmanet::compute::parallel_map((0..n).collect(), jobs, work)
        .into_iter()
        .try_for_each(|r| r.unwrap_or_else(|| Err("a worker thread panicked".into())))
}

/// Writes `sequences` generated sequences (`generate(i)`, `frames` frames each) as
/// `output/seq_NNNN.safetensors`, in parallel; `label` names the generator in the messages.
#[allow(clippy::too_many_arguments)]
fn write_sequences(
    label: &str,
    seed: u64,
    sequences: usize,
    frames: usize,
    output: &Path,
    no_ground_truth: bool,
    generate: impl Fn(usize) -> Result<Mv2d, AnyError> + Sync,
) -> Result<(), AnyError> {
    std::fs::create_dir_all(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let bar = progress_bar(sequences, label);
    let started = std::time::Instant::now();
    parallel(sequences, cmanet::compute::available_cores(), |i| {
        let data = generate(i)?;
        let data = if no_ground_truth { data.without_ground_truth() } else { data };
        data.write(&output.join(format!("seq_{i:04}.safetensors")))?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    println!(
        "{sequences} {label} sequence(s) x {frames} frames, seed {seed}, in {:.1} s -> {}",
        started.elapsed().as_secs_f64(),
        output.display()
    );
    Ok(())
}

fn estimate(args: EstimateArgs) -> Result<(), AnyError> {
    let EstimateArgs {
        input,
        output,
        method,
        calibrated,
        place,
        model,
        jobs,
        weights,
        pipeline,
        keep_left_right,
        device,
        refine,
        json,
    } = args;
    let (input, output) = (input.as_path(), output.as_path());
    let method = method.method();
    let refinement =
        cmanet::net::body_refinement::BodyRefinementSettings::from_settings(refine.iter().map(String::as_str))
            .map_err(|e| format!("--refine: {e}"))?;
    let settings = EstimateSettings {
        method,
        calibrated,
        place_in_world: place,
        keep_left_right,
        pipeline,
        weights: weights.unwrap_or_else(cmanet::assets::weights),
        body_model: model,
        device,
        refinement,
    };
    // Load once up front: a missing or bad weights file stops the run before any work.
    let estimator = Estimator::new(settings)?;
    let pairs = file_pairs(input, output)?;
    // Every file is read, estimated and written on its own: one that fails is named in the
    // summary at the end, the others are still written.
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    let mut inputs = Vec::with_capacity(pairs.len());
    for (src, dst) in &pairs {
        match Mv2d::read(src) {
            Ok(data) => inputs.push((data, src.clone(), dst.clone())),
            Err(e) => failures.push((src.clone(), e.to_string())),
        }
    }
    let total_frames: usize = inputs.iter().map(|(d, _, _)| d.num_frames()).sum();
    let bar = progress_bar(total_frames, method.name());
    let jobs = jobs.unwrap_or_else(cmanet::compute::available_cores).max(1);
    let started = std::time::Instant::now();
    let outcomes = cmanet::compute::parallel_map((0..inputs.len()).collect(), jobs, |i| {
        let (data, src, dst) = &inputs[i];
        let mut done = 0;
        let result = estimator.estimate(data, &mut |n| {
            bar.inc(n.saturating_sub(done) as u64);
            done = n;
        })?;
        for key in [cmanet::estimate::VIEWS_NEVER_SEEN_KEY, cmanet::estimate::WARNINGS_KEY] {
            if let Some(warning) = result.metadata.get(key) {
                bar.suspend(|| eprintln!("warning: {}: {warning}", src.display()));
            }
        }
        result.write(dst)?;
        Ok::<(), AnyError>(())
    });
    bar.finish_and_clear();
    for ((_, src, _), outcome) in inputs.iter().zip(outcomes) {
        match outcome {
            Some(Ok(())) => {}
            Some(Err(e)) => failures.push((src.clone(), e.to_string())),
            None => failures.push((src.clone(), "a worker thread panicked".into())),
        }
    }
    let written = pairs.len() - failures.len();
    let seconds = started.elapsed().as_secs_f64();
    // Messages that already name the file are not prefixed twice.
    let named = |file: &Path, problem: &str| {
        let shown = file.display().to_string();
        if problem.contains(&shown) { problem.to_string() } else { format!("{shown}: {problem}") }
    };
    if let [(file, problem)] = &failures[..]
        && pairs.len() == 1
    {
        return Err(named(file, problem).into());
    }
    if !failures.is_empty() {
        for (file, problem) in &failures {
            eprintln!("error: {}", named(file, problem));
        }
        return Err(format!(
            "{} of {} file(s) failed (above); {written} written to {}",
            failures.len(),
            pairs.len(),
            output.display()
        )
        .into());
    }
    if json {
        let report = serde_json::json!({"files": inputs.len(), "frames": total_frames, "seconds": seconds,
            "method": method.name(), "calibrated": calibrated});
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} file(s), {total_frames} frames in {seconds:.1} s ({:.1} ms/frame wall, {jobs} job(s)) -> {}",
            inputs.len(),
            1000.0 * seconds / total_frames.max(1) as f64,
            output.display()
        );
    }
    Ok(())
}

/// Where `cmanet train`'s pseudo-labels come from.
enum LabelSourceArg {
    Fit,
    /// The weights, and whether each sequence is labelled in two passes.
    Cmanet(PathBuf, bool),
}

#[allow(clippy::too_many_arguments)]
fn train_command(
    data: &Path,
    output: &Path,
    cache: Option<PathBuf>,
    source: &LabelSourceArg,
    config: &Config,
    settings: &TrainSettings,
    resume: bool,
    model: Option<PathBuf>,
) -> Result<(), AnyError> {
    let body = load_body(model.as_deref())?;
    let sequences = training_files(data)?;
    let cache = cache.unwrap_or_else(|| output.join("pseudo_labels"));
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let bar = progress_bar(sequences.len(), "pseudo-labels");
    let labeller = match source {
        LabelSourceArg::Fit => None,
        LabelSourceArg::Cmanet(weights, two_passes) => {
            let size = std::fs::metadata(weights).map(|m| m.len()).unwrap_or(0);
            Some((
                Cmanet::load(weights, &candle_core::Device::Cpu)?,
                format!("{} ({size} bytes)", weights.display()),
                *two_passes,
            ))
        }
    };
    let labels: Vec<std::sync::Mutex<Option<PseudoLabels>>> = sequences.iter().map(|_| Default::default()).collect();
    parallel(sequences.len(), cmanet::compute::available_cores(), |i| {
        let label = match &labeller {
            None => {
                let fitter = Fitter::new(body.clone(), &candle_core::Device::Cpu, FitSettings::default())?;
                PseudoLabels::load_or_fit(&sequences[i], &cache, &fitter)?
            }
            Some((network, name, two_passes)) => {
                let source = LabelSource::Cmanet { network, name, two_passes: *two_passes };
                PseudoLabels::load_or_make(&sequences[i], &cache, source)?
            }
        };
        if let Ok(mut slot) = labels[i].lock() {
            *slot = Some(label);
        }
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    let labels: Vec<PseudoLabels> = labels.into_iter().filter_map(|m| m.into_inner().ok().flatten()).collect();
    let frames = labelled_frames(&sequences, &labels);
    println!("{} sequences, {} frames, pseudo-labels in {}", sequences.len(), frames.len(), cache.display());
    let bar = progress_bar(settings.stage1_steps + settings.stage2_steps, "train");
    let started = std::time::Instant::now();
    let weights = train(config, &body, &frames, settings, output, resume, &mut |p| {
        let done = if p.stage == 1 { p.step } else { settings.stage1_steps + p.step };
        bar.set_position(done as u64 + 1);
        let [reprojection, keypoints, _, camera, translation, _, _, _] = p.terms;
        bar.set_message(format!(
            "stage {} loss {:.3} (reproj {reprojection:.3} kp {:.1} mm cam {camera:.4} transl {translation:.4})",
            p.stage,
            p.total,
            1000.0 * keypoints
        ));
    })?;
    bar.finish_and_clear();
    println!(
        "trained in {:.1} min -> {} (curves: {})",
        started.elapsed().as_secs_f64() / 60.0,
        weights.display(),
        output.join("curves.csv").display()
    );
    Ok(())
}

fn profile(
    inputs: &[PathBuf],
    output: &Path,
    detector: &str,
    min_samples: usize,
    extras_only: bool,
) -> Result<(), AnyError> {
    let mut sequences = Vec::new();
    for input in inputs {
        let files = if input.is_dir() { sequence_files(input)? } else { vec![input.clone()] };
        for file in files {
            sequences.push(Mv2d::read(&file)?);
        }
    }
    let model = BodyModel::open_body()?;
    let measured = cmanet::eval::measure_profile(&sequences, &model, detector, min_samples)?;
    let profile = if extras_only {
        let extra_offsets =
            Some(measured.extra_offsets.ok_or("--extras-only: the measurements have no extra keypoints")?);
        KeypointProfile { extra_offsets, extra_spread: measured.extra_spread, ..KeypointProfile::read(output)? }
    } else {
        measured
    };
    profile.write(output)?;
    println!("{detector}: {} sequences, at least {} measurements per keypoint", sequences.len(), profile.samples);
    for (k, name) in cmanet::body::KEYPOINT_NAMES.iter().enumerate() {
        let [a, b] = profile.offsets[k].map(|o| o * 1000.0);
        let [ja, jb] = cmanet::body::PROFILE_CARRIERS[k];
        println!(
            "  {name:<15} ({:+6.1}, {:+6.1}, {:+6.1}) mm in joint {ja:>2}'s frame + ({:+6.1}, {:+6.1}, {:+6.1}) mm in {jb:>2}'s, spread {:5.1} mm",
            a.x,
            a.y,
            a.z,
            b.x,
            b.y,
            b.z,
            profile.spread[k] * 1000.0
        );
    }
    if let Some(extra) = &profile.extra_offsets {
        for (e, name) in cmanet::keypoints::EXTRA_NAMES.iter().enumerate() {
            let o = extra[e] * 1000.0;
            let joint = cmanet::keypoints::EXTRA_JOINTS[e];
            println!(
                "  {name:<16} ({:+6.1}, {:+6.1}, {:+6.1}) mm in joint {joint:>2}'s frame, spread {:5.1} mm",
                o.x,
                o.y,
                o.z,
                profile.extra_spread[e] * 1000.0
            );
        }
    }
    println!("-> {}", output.display());
    Ok(())
}

fn eval(truth: &Path, methods: &[(String, PathBuf)], per_sequence: bool, json: bool) -> Result<(), AnyError> {
    let report = Report::evaluate(truth, methods)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_markdown(per_sequence));
    }
    Ok(())
}

fn stream(
    input: &Path,
    to: &str,
    looping: bool,
    upper_body: bool,
    root_motion: bool,
    json: bool,
) -> Result<(), AnyError> {
    use cmanet::stream::{FrameSettings, VmcBones, VmcSender, replay_take};
    let take = cmanet::data::Take::read(input)?;
    let rest = cmanet::body::RestJoints::new(&BodyModel::open_body()?);
    let sender = VmcSender::new(to)?;
    let settings = FrameSettings { bones: if upper_body { VmcBones::UpperBody } else { VmcBones::All }, root_motion };
    if !json {
        let how = if looping { ", looping (Ctrl-C stops)" } else { "" };
        eprintln!(
            "streaming {} ({} frames at {} fps) to {}{how}",
            input.display(),
            take.resampled_len(),
            take.fps,
            sender.target()
        );
    }
    let started = std::time::Instant::now();
    let sent = replay_take(&take, &sender, &rest, &settings, looping, |_| true)?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"frames": sent, "fps": take.fps, "to": sender.target().to_string(), "seconds": seconds})
        );
    } else {
        println!("sent {sent} frames to {} in {seconds:.2} s", sender.target());
    }
    Ok(())
}

fn export(
    input: &std::path::Path,
    bvh: Option<PathBuf>,
    gltf: Option<PathBuf>,
    avatar: Option<PathBuf>,
    ground: Option<Option<f32>>,
    json: bool,
) -> Result<(), AnyError> {
    if bvh.is_none() && gltf.is_none() {
        return Err("nothing to write: pass --bvh and / or --gltf".into());
    }
    // Nothing is written over the input or twice to one file, and nothing at all unless every
    // export could be made.
    for path in bvh.iter().chain(&gltf) {
        if same_path(path, input) {
            return Err(format!("{}: is the input; refusing to write over it", path.display()).into());
        }
    }
    if let (Some(b), Some(g)) = (&bvh, &gltf)
        && same_path(b, g)
    {
        return Err(format!("--bvh and --gltf are the same file {}; give two paths", b.display()).into());
    }
    let mut take = cmanet::data::Take::read(input)?;
    let model = BodyModel::open_body()?;
    let mut floor = None;
    if let Some(floor_height) = ground {
        let settings = cmanet::ground::GroundSettings { floor_height, ..Default::default() };
        let grounded = cmanet::ground::ground_sequence(&model, &take.frames, &take.seconds, settings)
            .ok_or_else(|| format!("{}: the take's bodies cannot be stood on a floor", input.display()))?;
        floor = grounded.first().map(|g| g.floor);
        take.frames = grounded.into_iter().map(|g| g.params).collect();
    }
    let frames = take.resampled_len();
    let mut outputs: Vec<(&PathBuf, Vec<u8>)> = Vec::new();
    if let Some(path) = &bvh {
        outputs.push((path, cmanet::export::write_bvh(&take, &model)?.into_bytes()));
    }
    if let Some(path) = &gltf {
        let avatar = avatar.unwrap_or_else(cmanet::assets::avatar);
        let bytes = std::fs::read(&avatar).map_err(|e| format!("{}: cannot read: {e}", avatar.display()))?;
        let glb = cmanet::export::animated_glb(&take, &model, &bytes).map_err(|e| e.naming_avatar(&avatar))?;
        outputs.push((path, glb));
    }
    for (path, _) in &outputs {
        cmanet::tensor_file::replaceable(path)?;
    }
    for (path, bytes) in outputs {
        cmanet::tensor_file::write_atomically(path, &bytes)?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"frames": frames, "fps": take.fps, "bvh": bvh, "gltf": gltf, "floor": floor})
        );
    } else {
        for path in bvh.iter().chain(&gltf) {
            println!("wrote {} ({frames} frames at {} fps)", path.display(), take.fps);
        }
    }
    Ok(())
}

fn body_info(path: PathBuf, json: bool) -> Result<(), AnyError> {
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

/// World axes of a calibration file (`cmanet detect --world-up`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum WorldUpArg {
    /// z up (Pose2Sim): converted to our +y up.
    Z,
    /// y up: kept.
    Y,
}

/// Arguments of `cmanet detect`.
#[derive(clap::Args)]
struct DetectArgs {
    /// One image folder (frames in file-name order, JPEG or PNG, any size) or video file (MP4 or
    /// MOV with H.264 video; its frames at the container's timestamps) per view, in any mix.
    #[arg(long, num_args = 1.., required = true)]
    views: Vec<PathBuf>,
    /// The `cmanet-mv2d` file to write.
    #[arg(long)]
    output: PathBuf,
    /// The landmark network.
    #[arg(long, value_enum, default_value = "full")]
    model: LandmarkModel,
    /// Also run the landmark network on each crop mirrored and average the two where they agree
    /// (`PoseDetector::mirror_average`): about twice the landmark work.
    #[arg(long)]
    mirror_average: bool,
    /// A Pose2Sim / anipose `calibration.toml` with one camera per view, in view order: intrinsics
    /// (scaled to the images' size) and extrinsics are written. Without it, intrinsics come from
    /// `--fov` and no extrinsics are written.
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// The world axes of the calibration's extrinsics.
    #[arg(long, value_enum, default_value = "z")]
    world_up: WorldUpArg,
    /// Horizontal field of view in degrees for views without calibration (recorded in the file).
    #[arg(long, default_value_t = 60.0)]
    fov: f64,
    /// Frames per second of the sequence (and of image folders' frames). Default: the first view's
    /// mean rate if it is a video, else 30.
    #[arg(long)]
    fps: Option<f32>,
    /// Write PNG overlays of the keypoints to this folder (`view{v}/{frame}.png`).
    #[arg(long)]
    overlays: Option<PathBuf>,
    /// Views processed in parallel. Default: the number of cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// The views are not synchronised: estimate each view's time offset to the first view (lags up
    /// to this many frames; from two-view reprojection with `--calibration`, else from the
    /// keypoints' motion), shift the views and keep the frames all of them have (the offsets are
    /// printed and recorded in the file's metadata).
    #[arg(long, value_name = "MAX_LAG")]
    sync: Option<usize>,
}

fn detect_command(args: DetectArgs) -> Result<(), AnyError> {
    use cmanet::detect::{PoseDetector, SequenceSettings, WorldUp, detect_views, view_frame_count};
    if !(args.fov > 1.0 && args.fov < 179.0) {
        return Err(format!("--fov {}: expected degrees between 1 and 179", args.fov).into());
    }
    let fps = match args.fps {
        Some(fps) if !(fps > 0.0 && fps.is_finite()) => {
            return Err(format!("--fps {fps}: expected a positive number").into());
        }
        Some(fps) => fps,
        None if cmanet::detect::is_video_file(&args.views[0]) => {
            cmanet::detect::VideoReader::open(&args.views[0])?.mean_fps().unwrap_or(30.0) as f32
        }
        None => 30.0,
    };
    let model = args.model;
    let calibration = match &args.calibration {
        Some(path) => Some((path.clone(), cmanet::data::calibration::read_calibration_toml(path)?)),
        None => None,
    };
    let total: usize = args.views.iter().map(|v| view_frame_count(v)).sum::<Result<usize, _>>()?;
    let settings = SequenceSettings {
        model,
        default_hfov: args.fov.to_radians(),
        fps,
        calibration,
        world_up: match args.world_up {
            WorldUpArg::Z => WorldUp::Z,
            WorldUpArg::Y => WorldUp::Y,
        },
        overlays: args.overlays.clone(),
        jobs: args.jobs.unwrap_or_else(cmanet::compute::available_cores),
        max_frames: None,
    };
    let mut detector = PoseDetector::load(model)?;
    detector.mirror_average = args.mirror_average;
    let bar = progress_bar(total, "detect");
    let (data, warning) = detect_views(&detector, &args.views, &settings, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let data = match args.sync {
        Some(max_lag) => {
            use cmanet::data::sync::{SyncMethod, synchronise};
            let (mut offsets, method) = synchronise(&data, max_lag);
            let mut unmeasured = Vec::new();
            for (v, o) in offsets.iter_mut().enumerate() {
                if !o.is_measured(method) {
                    let why = match method {
                        SyncMethod::Calibrated => "no keypoint was seen in both views at any lag",
                        SyncMethod::Motion => {
                            "the views' speeds do not correlate at any lag (too few frames or no motion)"
                        }
                    };
                    let view = args.views.get(v).map_or(String::new(), |p| p.display().to_string());
                    eprintln!("warning: view {v} ({view}): no time offset could be measured: {why}; left at 0");
                    unmeasured.push(format!("view {v} ({view})"));
                    o.frames = 0;
                    continue;
                }
                match method {
                    SyncMethod::Calibrated => println!(
                        "view {v}: offset {:+} frames (median two-view reprojection {:.2} px)",
                        o.frames, o.score
                    ),
                    SyncMethod::Motion => {
                        println!("view {v}: offset {:+} frames (speed correlation {:.2})", o.frames, o.score)
                    }
                }
            }
            let frames: Vec<i64> = offsets.iter().map(|o| o.frames).collect();
            let mut synced = cmanet::data::sync::apply_time_offsets(&data, &frames);
            if !unmeasured.is_empty() {
                synced.metadata.insert("sync_unmeasured".into(), unmeasured.join("; "));
            }
            synced
        }
        None => data,
    };
    data.write(&args.output)?;
    let found: usize = data.keypoints2d.iter().flatten().filter(|k| k.iter().any(|p| p[2] > 0.0)).count();
    println!(
        "{}: {} frames x {} views, a person in {found} of {} images",
        args.output.display(),
        data.num_frames(),
        data.num_views(),
        data.num_frames() * data.num_views()
    );
    Ok(())
}
