//! What every example shares: the command line (`--headless --frames N --screenshot PATH
//! --report PATH`), the app (a window with the cmanet panel, or headless on Mesa's software
//! Vulkan), the run's bookkeeping (frames, estimates, inference time) and the JSON report.
#![allow(dead_code)] // each example uses its own part

pub mod feet;

use std::path::PathBuf;
use std::time::Instant;

use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use clap::Parser;
use cmanet::plugin::{CmanetPanelPlugin, PoseEstimated, TakeRecorder};
use serde_json::{Map, Value, json};

/// The options every example takes.
#[derive(Parser, Clone, Debug, Default)]
pub struct ExampleArgs {
    /// Run without a window (Mesa's software Vulkan works).
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many frames, at least 1 (headless runs default to 300).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: Option<u32>,
    /// Save a screenshot of the main view here at the end.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Write a JSON report of the run here at the end.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Headless: at most this many app frames a second, as a display's refresh holds a windowed
    /// app (0: as fast as the app goes).
    #[arg(long, default_value_t = 60.0)]
    pub max_fps: f64,
    /// Headless: draw the main view every frame. By default it is drawn only for the screenshot
    /// (nobody sees it otherwise; on a machine without a GPU the CPU draws it, and the run then
    /// measures the software renderer as much as the plugin).
    #[arg(long)]
    pub draw_every_frame: bool,
    /// Record the whole run as a take and save it here at the end (`NAME.safetensors`, with
    /// `NAME.bvh` and `NAME.glb` beside it).
    #[arg(long)]
    pub take: Option<PathBuf>,
    /// BlazePose's landmark network (default: the plugin's, full; lite is faster, less accurate).
    #[arg(long, value_enum)]
    pub landmarks: Option<cmanet::detect::LandmarkModel>,
    /// Average each crop's landmarks with its mirror image's (`ModelFiles::mirror_average`).
    #[arg(long)]
    pub mirror_average: bool,
    /// A setting of CMANet's body refinement as `NAME=VALUE`, repeatable, as `cmanet estimate
    /// --refine` takes it (the fields of `BodyRefinementSettings`, whose docs give the defaults).
    #[arg(long = "refine", value_name = "NAME=VALUE")]
    pub refine: Vec<String>,
}

impl ExampleArgs {
    /// The landmark network to run: `--landmarks`, or the plugin's default.
    pub fn landmark_model(&self) -> cmanet::detect::LandmarkModel {
        self.landmarks.unwrap_or_else(|| cmanet::plugin::ModelFiles::default().landmark)
    }

    /// The body refinement's settings: the defaults with every `--refine` applied; the error
    /// names the setting that could not be.
    pub fn refinement(&self) -> Result<cmanet::net::body_refinement::BodyRefinementSettings, String> {
        cmanet::net::body_refinement::BodyRefinementSettings::from_settings(self.refine.iter().map(String::as_str))
            .map_err(|e| format!("--refine: {e}"))
    }
}

/// The run: its options, its counts, and what goes into the report.
#[derive(Resource)]
pub struct Run {
    /// The options.
    pub args: ExampleArgs,
    /// The main view's image when headless (screenshots are taken of it).
    pub main_image: Option<Handle<Image>>,
    /// Frames so far.
    pub frames: u32,
    /// Wall clock at the first frame.
    pub started: Option<Instant>,
    /// Detection + network time of every estimate, ms.
    pub inference_ms: Vec<f64>,
    /// Capture-to-estimate latency of every estimate, ms.
    pub latency_ms: Vec<f64>,
    /// Views of the last estimate.
    pub views: usize,
    /// Keys the example adds to the report.
    pub extra: Map<String, Value>,
    finishing: Option<u32>,
    /// Whether something the run was asked to write (report, screenshot, take) could not be: the
    /// process then exits with a failure.
    failed: bool,
}

impl Run {
    /// Frames to run for, if limited.
    pub fn limit(&self) -> Option<u32> {
        self.args.frames.or(self.args.headless.then_some(300))
    }
}

/// Whether a window can be opened here: on Linux and the BSDs, a display server must be named.
fn display_available() -> bool {
    if cfg!(all(unix, not(target_os = "macos"))) {
        ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    } else {
        true
    }
}

/// The example's app: `DefaultPlugins` with a window and the cmanet panel, or headless (also,
/// with a one-line message, when there is no display to open a window on).
pub fn app(mut args: ExampleArgs, title: &str) -> App {
    if !args.headless && !display_available() {
        eprintln!(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): running headless for {} frames; \
             pass --headless to say so, or run under a display or xvfb-run",
            args.frames.unwrap_or(300)
        );
        args.headless = true;
    }
    let assets = AssetPlugin { file_path: cmanet::assets::dir().to_string_lossy().into_owned(), ..default() };
    let mut app = App::new();
    if args.headless {
        app = cmanet::plugin::headless_render_app(assets);
        if args.max_fps > 0.0 {
            use bevy::app::{Plugin, ScheduleRunnerPlugin};
            ScheduleRunnerPlugin::run_loop(std::time::Duration::from_secs_f64(1.0 / args.max_fps)).build(&mut app);
        }
    } else {
        app.add_plugins((
            DefaultPlugins
                .set(WindowPlugin { primary_window: Some(Window { title: title.into(), ..default() }), ..default() })
                .set(assets),
            bevy_egui::EguiPlugin::default(),
            CmanetPanelPlugin,
        ))
        // The panels belong on the main view, not on the first camera spawned (a capture camera
        // would film them): `main_view` marks it.
        .insert_resource(bevy_egui::EguiGlobalSettings { auto_create_primary_context: false, ..default() });
    }
    app.insert_resource(Run {
        args,
        main_image: None,
        frames: 0,
        started: None,
        inference_ms: Vec::new(),
        latency_ms: Vec::new(),
        views: 0,
        extra: Map::new(),
        finishing: None,
        failed: false,
    })
    .add_systems(Startup, |run: Res<Run>, mut recorder: ResMut<TakeRecorder>| {
        if run.args.take.is_some() {
            recorder.start();
        }
    })
    .add_systems(Update, record_estimates)
    .add_systems(Last, finish);
    app
}

/// The main view when headless: drawn only for the screenshot unless `--draw-every-frame`.
#[derive(Component)]
pub struct MainView;

/// Makes `camera` the main view: headless, it renders into an image the screenshot is taken of
/// (only for the screenshot unless `--draw-every-frame`); with a window, it shows the panels.
pub fn main_view(camera: &mut EntityCommands, run: &mut Run, images: &mut Assets<Image>) {
    if run.args.headless {
        let image = cmanet::plugin::capture_target(images, 800, 450);
        run.main_image = Some(image.clone());
        camera.insert((RenderTarget::Image(image.into()), MainView));
        if !run.args.draw_every_frame {
            camera.entry::<Camera>().and_modify(|mut c| c.is_active = false);
        }
    } else {
        camera.insert(bevy_egui::PrimaryEguiContext);
    }
}

fn record_estimates(mut estimates: MessageReader<PoseEstimated>, mut run: ResMut<Run>) {
    for e in estimates.read() {
        run.inference_ms.push((e.timing.detection + e.timing.network).as_secs_f64() * 1000.0);
        run.latency_ms.push(e.timing.latency.as_secs_f64() * 1000.0);
        run.views = e.views.len();
    }
}

/// The `q`-quantile of `values` (0 when empty).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Frames to wait for the screenshot to reach the disk.
const SCREENSHOT_FRAMES: u32 = 60;

fn finish(
    mut commands: Commands,
    mut run: ResMut<Run>,
    mut settings: Option<ResMut<cmanet::plugin::CmanetSettings>>,
    recorder: Option<Res<TakeRecorder>>,
    statuses: Query<&cmanet::plugin::ViewStatus>,
    mut main_views: Query<&mut Camera, With<MainView>>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    let started = *run.started.get_or_insert(now);
    run.frames += 1;
    let Some(limit) = run.limit() else { return };
    // The screenshot is taken a frame after the main view was turned on, so that it has been drawn.
    if run.frames == limit + 1
        && let Some(path) = run.args.screenshot.clone()
    {
        let _ = std::fs::remove_file(&path);
        let shot = match &run.main_image {
            Some(image) => Screenshot::image(image.clone()),
            None => Screenshot::primary_window(),
        };
        commands.spawn(shot).observe(save_to_disk(path));
    }
    if run.frames == limit {
        if run.args.screenshot.is_some() {
            for mut camera in &mut main_views {
                camera.is_active = true;
            }
        }
        run.finishing = Some(run.frames);
        // Measured: estimation stops, and with it the read-backs, so that none is under way when
        // the app exits (Bevy warns about each).
        if let Some(settings) = settings.as_mut() {
            settings.enabled = false;
        }
        if let (Some(path), Some(recorder)) = (run.args.take.clone(), recorder) {
            let folder = path.parent().map(PathBuf::from).unwrap_or_default();
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "take".into());
            match recorder.save(&folder, &name) {
                Ok(paths) => info!("saved the take: {paths:?}"),
                Err(e) => {
                    error!("cannot save the take: {e}");
                    run.failed = true;
                }
            }
            run.extra.insert("take_frames".into(), json!(recorder.take.frames.len()));
        }
        // The figures are those of the `limit` frames, not of the wait for the screenshot.
        let seconds = now.duration_since(started).as_secs_f64().max(1e-9);
        let report = json!({
            "frames": run.frames,
            "views": run.views,
            "estimated_frames": run.inference_ms.len(),
            "fps": run.frames as f64 / seconds,
            "estimates_per_s": run.inference_ms.len() as f64 / seconds,
            "inference_ms_p50": quantile(&run.inference_ms, 0.5),
            "inference_ms_p95": quantile(&run.inference_ms, 0.95),
            "latency_ms_p50": quantile(&run.latency_ms, 0.5),
            // How often the person detector ran, over all views (tracking runs the landmark
            // network alone).
            "detector_runs": statuses.iter().map(|s| s.detector_runs).sum::<usize>(),
        });
        let mut report = report.as_object().cloned().unwrap_or_default();
        report.extend(run.extra.clone());
        if let Some(path) = &run.args.report {
            let text = serde_json::to_string_pretty(&Value::Object(report)).unwrap_or_default();
            if let Err(e) = std::fs::write(path, text) {
                error!("cannot write the report {}: {e}", path.display());
                run.failed = true;
            }
        }
    }
    if let Some(at) = run.finishing {
        let shot_done = run.args.screenshot.as_ref().is_none_or(|p| p.exists());
        // A screenshot is asked for a frame after `at`: an older file is no proof of it.
        let shot_due = run.args.screenshot.is_none() || run.frames > at + 1;
        if (shot_done && shot_due) || run.frames >= at + SCREENSHOT_FRAMES {
            if !shot_done {
                error!("the screenshot was not written");
                run.failed = true;
            }
            exit.write(if run.failed { AppExit::error() } else { AppExit::Success });
        }
    }
}
