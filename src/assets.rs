//! Where the shipped files are: the trained weights, the converted detector networks and their
//! keypoint profiles, the open body model, the avatar and the real sample. Every path to a shipped
//! file is built here.
//!
//! The folder is found once per process, first match wins:
//! 1. the folder named by the environment variable [`ASSETS_ENV`] (`CMANET_ASSETS`), as given
//!    (set but empty counts as unset);
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
    if let Some(dir) = assets_env() {
        return dir;
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

/// The folder [`ASSETS_ENV`] names, if it is set and not empty.
fn assets_env() -> Option<PathBuf> {
    std::env::var_os(ASSETS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
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

/// What a game needs at run time, as folders of the assets folder: the networks and their
/// profiles, the body model, the avatar (the samples stay behind).
pub const RUNTIME_FOLDERS: [&str; 3] = ["models", "body", "avatar"];

/// The places the search of [`dir`] looks at, in order, as a sentence for error messages.
pub fn search_description() -> String {
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf));
    let beside = exe_dir.map_or_else(
        || "beside the executable (unknown)".to_string(),
        |d| format!("{} or {}", d.join("assets/cmanet").display(), d.join("assets").display()),
    );
    format!(
        "the assets folder is {}; searched: ${ASSETS_ENV} ({}), then {beside} (with models/), then {}",
        dir().display(),
        assets_env().map_or("unset".into(), |v| v.display().to_string()),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets").display()
    )
}

/// Copies [`RUNTIME_FOLDERS`] from [`dir`] into `to` (created if needed; existing files of the
/// same names are replaced), so that a game carries them: install into `assets/cmanet` beside
/// the executable, or anywhere [`ASSETS_ENV`] will name. Returns the files copied and their bytes.
/// An error names the file that could not be read or written.
pub fn install(to: &Path) -> Result<(usize, u64), String> {
    let from = dir();
    if to.canonicalize().ok().is_some_and(|t| from.canonicalize().ok().as_deref() == Some(t.as_path())) {
        return Err(format!("{}: is the assets folder itself", to.display()));
    }
    let (mut files, mut bytes) = (0usize, 0u64);
    for folder in RUNTIME_FOLDERS {
        let source = from.join(folder);
        if !source.is_dir() {
            return Err(format!("{}: cannot read: not a folder ({})", source.display(), search_description()));
        }
        copy_folder(&source, &to.join(folder), &mut files, &mut bytes)?;
    }
    Ok((files, bytes))
}

fn copy_folder(from: &Path, to: &Path, files: &mut usize, bytes: &mut u64) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: cannot write: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: cannot read: {e}", from.display()))?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_folder(&path, &target, files, bytes)?;
        } else {
            *bytes += std::fs::copy(&path, &target)
                .map_err(|e| format!("{} -> {}: cannot write: {e}", path.display(), target.display()))?;
            *files += 1;
        }
    }
    Ok(())
}
