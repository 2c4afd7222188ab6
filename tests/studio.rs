//! The whole chain, rendered: `.ci/run` runs the `virtual_studio` and `footage` examples headless
//! on Mesa's software Vulkan (a few seconds of frames each), then this test reads their reports,
//! screenshots and recorded take from `$CMANET_STUDIO_OUT`. It fails when nothing was estimated,
//! when the driven avatar is not in the picture, when the studio's accuracy is worse than the
//! bounds below (set from measured runs with a margin, see plugin-docs' studio chapter), or when the
//! take and its exports do not read back.
//!
//! Ignored in a plain `cargo test` (it needs the renders): `.ci/run` runs it with `--ignored`. It
//! also runs the `minimal` example on bad options.

use std::path::{Path, PathBuf};

use cmanet::data::Take;
use cmanet::export::{read_bvh, read_glb_animation};
use serde_json::Value;

/// Bounds on the studio's accuracy (measured over 150 frames: MPJPE 63 mm, PA-MPJPE 22 mm,
/// camera rotation 9.2 deg median; plugin-docs/src/studio.md).
const STUDIO_MPJPE_MM: f64 = 100.0;
const STUDIO_PA_MPJPE_MM: f64 = 35.0;
const STUDIO_CAMERA_DEG: f64 = 15.0;
/// Bound on the footage's camera rotation error against the calibration (measured 15.4 deg).
const FOOTAGE_CAMERA_DEG: f64 = 25.0;

fn out() -> PathBuf {
    PathBuf::from(std::env::var("CMANET_STUDIO_OUT").expect("CMANET_STUDIO_OUT: the folder .ci/run renders into"))
}

fn report(name: &str) -> Value {
    let path = out().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn number(report: &Value, key: &str) -> f64 {
    report[key].as_f64().unwrap_or_else(|| panic!("the report lacks `{key}`: {report}"))
}

/// Pixels of the avatars' skin tone (warm, not saturated like the orange camera gizmos) in the
/// columns `from..to` (fractions of the width).
fn skin_pixels(path: &Path, from: f64, to: f64) -> usize {
    let image = cmanet::detect::RgbImage::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (x0, x1) = ((w as f64 * from) as usize, (w as f64 * to) as usize);
    let px = image.as_raw();
    (0..h)
        .flat_map(|y| (x0..x1).map(move |x| (y * w + x) * 3))
        .filter(|&i| {
            let (r, g, b) = (px[i] as i32, px[i + 1] as i32, px[i + 2] as i32);
            r > 110 && r - b > 15 && r - b < 90 && r >= g
        })
        .count()
}

#[test]
#[ignore = "needs the renders of .ci/run"]
fn the_virtual_studio_estimates_the_performer() {
    let r = report("studio");
    for key in ["frames", "views", "estimated_frames", "fps", "inference_ms_p50", "inference_ms_p95"] {
        number(&r, key);
    }
    assert_eq!(number(&r, "views"), 4.0);
    assert!(number(&r, "estimated_frames") >= 10.0, "{r}");
    assert!(number(&r, "inference_ms_p50") > 0.0);
    assert!(number(&r, "mpjpe_mm") < STUDIO_MPJPE_MM, "{r}");
    assert!(number(&r, "pa_mpjpe_mm") < STUDIO_PA_MPJPE_MM, "{r}");
    assert!(number(&r, "camera_rot_err_deg") < STUDIO_CAMERA_DEG, "{r}");
    // The performer stands left of centre, the driven avatar 1.8 m to its right.
    let shot = out().join("studio.png");
    let performer = skin_pixels(&shot, 0.0, 0.55);
    let avatar = skin_pixels(&shot, 0.55, 1.0);
    assert!(performer > 1500, "the performer is not in the picture ({performer} skin pixels)");
    assert!(avatar > 1500, "the driven avatar is not in the picture ({avatar} skin pixels)");
}

#[test]
#[ignore = "needs the renders of .ci/run"]
fn the_footage_drives_the_avatar() {
    let r = report("footage");
    assert_eq!(number(&r, "views"), 4.0);
    assert!(number(&r, "estimated_frames") >= 10.0, "{r}");
    assert!(number(&r, "camera_rot_err_deg") < FOOTAGE_CAMERA_DEG, "{r}");
    let avatar = skin_pixels(&out().join("footage.png"), 0.0, 1.0);
    assert!(avatar > 800, "the avatar is not in the picture ({avatar} skin pixels)");
}

#[test]
#[ignore = "needs the renders of .ci/run"]
fn the_studio_take_and_its_exports_read_back() {
    let r = report("studio");
    let take = Take::read(&out().join("take.safetensors")).unwrap();
    assert_eq!(take.frames.len() as f64, number(&r, "take_frames"));
    assert!(take.frames.len() >= 10);
    let frames = take.resampled_len();
    let bvh = read_bvh(&std::fs::read_to_string(out().join("take.bvh")).unwrap()).unwrap();
    assert_eq!(bvh.frames.len(), frames);
    let (times, _) = read_glb_animation(&std::fs::read(out().join("take.glb")).unwrap(), "take").unwrap();
    assert_eq!(times.len(), frames);
}

/// An example built next to this test (`target/release/examples/NAME`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let release = exe.parent().and_then(Path::parent).unwrap_or_else(|| panic!("{}", exe.display()));
    release.join("examples").join(name)
}

/// The examples' own failures are failures: `--frames 0` is refused at once (it ran forever), and a
/// report that cannot be written makes the run exit non-zero (it exited 0).
#[test]
#[ignore]
fn the_examples_refuse_bad_options_and_fail_when_their_report_cannot_be_written() {
    let minimal = example("minimal");
    let run = std::process::Command::new(&minimal)
        .args(["--headless", "--frames", "0"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", minimal.display()));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && err.contains("--frames"), "{err}");
    let report = out().join("no-such-folder").join("r.json");
    let run = std::process::Command::new(&minimal)
        .args(["--headless", "--frames", "5", "--report"])
        .arg(&report)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", minimal.display()));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "exited {:?} without its report", run.status);
    assert!(err.contains("cannot write the report"), "{err}");
    // A body refinement setting that does not exist is refused by name before anything opens.
    let studio = example("virtual_studio");
    let run = std::process::Command::new(&studio)
        .args(["--headless", "--frames", "5", "--refine", "no_such_setting=1"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", studio.display()));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && err.contains("no_such_setting") && !err.contains("AdapterInfo"), "{err}");
}
