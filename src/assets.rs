//! Where the shipped files are: the trained weights, the converted detector networks and their
//! keypoint profiles, the open body model, the avatar and the real sample. Every path to a shipped
//! file is built here.
//!
//! The folder is found once per process, first match wins:
//! 1. the folder named by the environment variable [`ASSETS_ENV`] (`CMANET_ASSETS`), as given;
//! 2. `assets/cmanet/` or `assets/` next to the running executable, if it holds `models/` — a built
//!    game moved to another machine carries the files there (copy this crate's `assets/models` and
//!    `assets/body`);
//! 3. this crate's own `assets/` folder where it was built (a path or git dependency, `cargo run`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable that names the assets folder, overriding the search.
pub const ASSETS_ENV: &str = "CMANET_ASSETS";

/// The folder the shipped files are read from (see the module's documentation for the search).
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(find)
}

fn find() -> PathBuf {
    if let Some(dir) = std::env::var_os(ASSETS_ENV) {
        return PathBuf::from(dir);
    }
    let beside_executable = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .map(|exe_dir| [exe_dir.join("assets/cmanet"), exe_dir.join("assets")])
        .into_iter()
        .flatten()
        .find(|dir| dir.join("models").is_dir());
    beside_executable.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// The converted networks and keypoint profiles: `models/`.
pub fn models_dir() -> PathBuf {
    dir().join("models")
}

/// The trained CMANet weights: `models/cmanet.safetensors`.
pub fn weights() -> PathBuf {
    models_dir().join("cmanet.safetensors")
}

/// The open body model: `body/open_body.safetensors`.
pub fn body_model() -> PathBuf {
    dir().join("body/open_body.safetensors")
}

/// The avatar the exports pose: `avatar/open_body.glb`.
pub fn avatar() -> PathBuf {
    dir().join("avatar/open_body.glb")
}

/// The real multi-view sample (the Pose2Sim demo): `samples/pose2sim_demo/`.
pub fn pose2sim_sample() -> PathBuf {
    dir().join("samples/pose2sim_demo")
}
