//! A second crate's view of `cmanet`: a headless Bevy app that adds `CmanetPlugin` with nothing
//! but `cmanet::prelude`, runs frames until the networks are loaded (from the shipped assets,
//! found from outside the crate), feeds two views an empty image and checks that each is reported
//! as a `ViewFailed` on its own entity. Exits non-zero when anything is missing.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use cmanet::prelude::*;

#[derive(Resource, Default)]
struct Heard {
    loaded: bool,
    failed_views: Vec<Entity>,
    warnings: Vec<String>,
}

fn main() -> ExitCode {
    let mut app = headless_app();
    app.add_plugins(CmanetPlugin::default())
        .init_resource::<Heard>()
        .add_observer(|_: On<ModelLoaded>, mut heard: ResMut<Heard>| heard.loaded = true)
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_observer(|w: On<ViewFailed>, mut heard: ResMut<Heard>| heard.failed_views.push(w.event().entity));
    app.finish();
    app.cleanup();
    let started = Instant::now();
    while !app.world().resource::<Heard>().loaded {
        app.update();
        if let Some(warning) = app.world().resource::<Heard>().warnings.first() {
            eprintln!("consumer: {warning}");
            return ExitCode::FAILURE;
        }
        if started.elapsed() > Duration::from_secs(120) {
            eprintln!("consumer: the networks did not load within 120 s");
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let empty = |frame| CapturedFrame {
        pixels: CapturedPixels::Rgba8 { width: 0, height: 0, row_bytes: 0, bgra: false, data: Arc::new(Vec::new()) },
        frame,
        time: 0.0,
        instant: Instant::now(),
        intrinsics: None,
    };
    let views: Vec<Entity> = (0..2).map(|_| app.world_mut().spawn((CaptureView::default(), empty(1))).id()).collect();
    for _ in 0..200 {
        app.update();
        if app.world().resource::<Heard>().failed_views.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut failed, mut views) = (app.world().resource::<Heard>().failed_views.clone(), views);
    failed.sort();
    views.sort();
    if failed != views {
        eprintln!("consumer: expected a ViewFailed on each of {views:?}, heard {failed:?}");
        return ExitCode::FAILURE;
    }
    println!("consumer (bevy): plugin loaded from {}, both empty views reported", cmanet::assets::dir().display());
    ExitCode::SUCCESS
}
