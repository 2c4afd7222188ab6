//! The `cmanet` command end to end on a tiny synthetic set: synth -> estimate -> eval, and bad input
//! refused with a one-line error and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

fn cmanet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmanet")).args(args).output().expect("the cmanet binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn synth_estimate_eval_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (val, est, bare) = (dir.path().join("val"), dir.path().join("tri"), dir.path().join("bare"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = cmanet(&["synth", "--seed", "3", "--sequences", "2", "--frames", "4", "--output", &s(&val)]);
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<_> = std::fs::read_dir(&val).unwrap().collect();
    assert_eq!(files.len(), 2);

    // Triangulation needs the true cameras.
    let out = cmanet(&["estimate", "--input", &s(&val), "--output", &s(&est), "--method", "triangulate"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--calibrated"), "{}", text(&out));
    let out =
        cmanet(&["estimate", "--input", &s(&val), "--output", &s(&est), "--method", "triangulate", "--calibrated"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(est.join("seq_0001.safetensors").exists());
    // An output that is the input (folder, or one file, however spelled) is refused, the input kept.
    let first = val.join("seq_0001.safetensors");
    let before = std::fs::read(&first).unwrap();
    let same_file = format!("{}/../{}/seq_0001.safetensors", s(&val), val.file_name().unwrap().to_str().unwrap());
    for (input, output) in [(s(&val), s(&val)), (s(&first), same_file)] {
        let out =
            cmanet(&["estimate", "--input", &input, "--output", &output, "--method", "triangulate", "--calibrated"]);
        assert!(!out.status.success());
        assert!(text(&out).contains("is the input"), "{}", text(&out));
    }
    assert_eq!(std::fs::read(&first).unwrap(), before, "the input is untouched");
    // A triangulation has keypoints only: exporting it as a take is refused by name, nothing written.
    let bvh = dir.path().join("tri.bvh");
    let out = cmanet(&["export", "--input", &s(&est.join("seq_0001.safetensors")), "--bvh", &s(&bvh)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no SMPL body parameters") && text(&out).contains("seq_0001"), "{}", text(&out));
    assert!(!bvh.exists());

    let out = cmanet(&["eval", "--truth", &s(&val), "--method", &format!("triangulate={}", s(&est)), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let overall = &report["methods"][0]["overall"];
    assert_eq!(overall["frames"], 8);
    let pa = overall["pa_mpjpe_mm"][1].as_f64().unwrap();
    assert!(pa > 0.0 && pa < 200.0, "PA-MPJPE {pa}");
    assert_eq!(overall["camera_rotation_deg_median"], 0.0);
    assert_eq!(overall["unmeasured_keypoints"], 0);

    // A folder run goes through every file: an unreadable one and one that cannot be estimated are
    // each named at the end (non-zero exit), the good ones are written (one bad file stopped it).
    let mixed = dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(&first, mixed.join("a_good.safetensors")).unwrap();
    std::fs::copy(val.join("seq_0000.safetensors"), mixed.join("d_good.safetensors")).unwrap();
    std::fs::write(mixed.join("b_broken.safetensors"), b"not a tensor file").unwrap();
    cmanet::data::Mv2d::read(&first)
        .unwrap()
        .without_ground_truth()
        .write(&mixed.join("c_no_cameras.safetensors"))
        .unwrap();
    let mixed_out = dir.path().join("mixed_out");
    let out = cmanet(&[
        "estimate",
        "--input",
        &s(&mixed),
        "--output",
        &s(&mixed_out),
        "--method",
        "triangulate",
        "--calibrated",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("b_broken.safetensors") && said.contains("c_no_cameras.safetensors"), "{said}");
    assert!(said.contains("2 of 4 file(s) failed") && said.contains("2 written"), "{said}");
    assert!(mixed_out.join("a_good.safetensors").exists() && mixed_out.join("d_good.safetensors").exists());
    assert!(!mixed_out.join("b_broken.safetensors").exists() && !mixed_out.join("c_no_cameras.safetensors").exists());

    // A view that never sees the person is named (a warning and the output's metadata: its camera
    // is a placeholder); a frame nobody sees is marked unmeasured; a file nobody sees in is refused
    // (fit returned its starting pose).
    let blind = dir.path().join("blind");
    std::fs::create_dir_all(&blind).unwrap();
    let mut data = cmanet::data::Mv2d::read(&first).unwrap();
    for frame in data.keypoints2d.iter_mut() {
        frame[1].iter_mut().for_each(|k| k[2] = 0.0);
    }
    data.keypoints2d[2].iter_mut().flatten().for_each(|k| k[2] = 0.0);
    data.write(&blind.join("seq_0001.safetensors")).unwrap();
    let blind_est = dir.path().join("blind_est.safetensors");
    let out = cmanet(&["estimate", "--input", &s(&blind.join("seq_0001.safetensors")), "--output", &s(&blind_est)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("warning") && text(&out).contains("view 1: never saw the person"), "{}", text(&out));
    let estimate = cmanet::data::Mv3d::read(&blind_est).unwrap();
    assert!(estimate.metadata.get("views_never_seen").is_some_and(|m| m.starts_with("view 1:")));
    assert_eq!(estimate.frames[2].unmeasured(), 17);
    assert_eq!(estimate.frames[1].unmeasured(), 0);
    data.keypoints2d.iter_mut().flatten().flatten().for_each(|k| k[2] = 0.0);
    let nobody = dir.path().join("nobody.safetensors");
    data.write(&nobody).unwrap();
    let out = cmanet(&["estimate", "--input", &s(&nobody), "--output", &s(&blind_est), "--method", "fit"]);
    assert!(!out.status.success() && text(&out).contains("no view saw the person"), "{}", text(&out));

    // Degenerate input: a focal length of 1e30 is refused naming the view; keypoints far off the
    // image and a view whose keypoints all sit on one point are set aside with a warning (they gave
    // absurd bodies without a word).
    let mut data = cmanet::data::Mv2d::read(&first).unwrap();
    data.intrinsics[1].fx = 1e30;
    let odd = dir.path().join("odd.safetensors");
    data.write(&odd).unwrap();
    let odd_est = dir.path().join("odd_est.safetensors");
    let out = cmanet(&["estimate", "--input", &s(&odd), "--output", &s(&odd_est)]);
    assert!(!out.status.success() && text(&out).contains("view 1: focal length"), "{}", text(&out));
    let mut data = cmanet::data::Mv2d::read(&first).unwrap();
    for frame in data.keypoints2d.iter_mut() {
        frame[0].iter_mut().for_each(|k| (k[0], k[1]) = (100.0, 100.0));
        frame[1][9] = [1e6, -1e6, 0.9];
    }
    data.write(&odd).unwrap();
    let out = cmanet(&["estimate", "--input", &s(&odd), "--output", &s(&odd_est)]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("keypoints far off the image set aside") && said.contains("on one point set aside"),
        "{said}"
    );
    assert!(said.contains("view 0: never saw the person"), "{said}");
    let estimate = cmanet::data::Mv3d::read(&odd_est).unwrap();
    assert!(
        estimate.metadata.get("warnings").is_some_and(|w| w.contains("4 keypoints far off")),
        "{:?}",
        estimate.metadata
    );

    // A keypoint only one view sees cannot be triangulated: marked unmeasured in the estimate (it
    // was written as a result), counted and said by eval.
    let holes = dir.path().join("holes");
    std::fs::create_dir_all(&holes).unwrap();
    let mut data = cmanet::data::Mv2d::read(&first).unwrap();
    for view in data.keypoints2d[1].iter_mut().skip(1) {
        view[9][2] = 0.0;
    }
    data.write(&holes.join("seq_0001.safetensors")).unwrap();
    let holes_est = dir.path().join("holes_tri");
    let out = cmanet(&[
        "estimate",
        "--input",
        &s(&holes),
        "--output",
        &s(&holes_est),
        "--method",
        "triangulate",
        "--calibrated",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let estimate = cmanet::data::Mv3d::read(&holes_est.join("seq_0001.safetensors")).unwrap();
    let measured = estimate.frames[1].measured.unwrap();
    assert!(!measured[9] && measured.iter().filter(|m| **m).count() == 16, "{measured:?}");
    assert!(estimate.frames[0].measured.is_some_and(|m| m.iter().all(|m| *m)));
    let out = cmanet(&["eval", "--truth", &s(&holes), "--method", &format!("holes={}", s(&holes_est))]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("holes: 1 of 68 keypoints were not measured"), "{}", text(&out));

    // The default method is the shipped CMANet (unknown cameras), with or without the left/right
    // repair.
    for extra in [&[][..], &["--keep-left-right"][..]] {
        let (val_s, net_s) = (s(&val), s(&dir.path().join(format!("net{}", extra.len()))));
        let mut args = vec!["estimate", "--input", &val_s, "--output", &net_s];
        args.extend_from_slice(extra);
        let out = cmanet(&args);
        assert!(out.status.success(), "{}", text(&out));
        let out = cmanet(&["eval", "--truth", &s(&val), "--method", &format!("cmanet={net_s}"), "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let overall = &report["methods"][0]["overall"];
        assert_eq!(overall["frames"], 8);
        assert!(overall["camera_rotation_deg_median"].as_f64().unwrap() < 30.0, "{overall}");
    }

    // Without ground truth the files still estimate, but a calibrated method is refused.
    let out = cmanet(&[
        "synth",
        "--seed",
        "3",
        "--sequences",
        "1",
        "--frames",
        "2",
        "--no-ground-truth",
        "--output",
        &s(&bare),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cmanet(&[
        "estimate",
        "--input",
        &s(&bare),
        "--output",
        &s(&dir.path().join("x")),
        "--method",
        "triangulate",
        "--calibrated",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("true cameras"), "{}", text(&out));
}

#[test]
fn bad_input_gets_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"definitely not safetensors").unwrap();
    let out = cmanet(&["estimate", "--input", bad.to_str().unwrap(), "--output", "/dev/null", "--method", "fit"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.trim_end().lines().count() == 1, "{err}");
    assert!(err.contains("bad.safetensors") && err.contains("not a valid safetensors"), "{err}");
    let out = cmanet(&["eval", "--truth", dir.path().join("missing").to_str().unwrap(), "--method", "fit=x"]);
    assert_eq!(out.status.code(), Some(1));
}

/// `--refine NAME=VALUE` changes CMANet's body refinement for one run: the defaults spelled out give
/// the default run, no refinement steps give another, and a bad name, value or method is refused
/// by name before any work.
#[test]
fn refinement_settings_are_tried_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let data = dir.path().join("data");
    let out = cmanet(&["synth", "--seed", "6", "--sequences", "1", "--frames", "5", "--output", &s(&data)]);
    assert!(out.status.success(), "{}", text(&out));
    let pa = |name: &str, refine: &[&str]| -> f64 {
        let est = dir.path().join(name);
        let mut args = vec!["estimate", "--input", data.to_str().unwrap(), "--output", est.to_str().unwrap()];
        args.extend(refine.iter().flat_map(|r| ["--refine", *r]));
        let out = cmanet(&args);
        assert!(out.status.success(), "{}", text(&out));
        let out = cmanet(&["eval", "--truth", &s(&data), "--method", &format!("m={}", s(&est)), "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["methods"][0]["overall"]["pa_mpjpe_mm"][0].as_f64().unwrap()
    };
    let default = pa("default", &[]);
    assert_eq!(pa("spelled", &["steps=2", "start_steps = 4", "scales=0.1,0.05"]), default);
    let unrefined = pa("unrefined", &["steps=0", "start_steps=0"]);
    assert!(unrefined > default + 1.0, "no refinement steps {unrefined:.1} mm vs {default:.1} mm");

    let refused = dir.path().join("refused");
    for (refine, method, says) in [
        ("nonsense=1", "cmanet", "no refinement setting `nonsense` (known: prior_weight"),
        ("steps=-1", "cmanet", "steps: `-1` is not a whole number"),
        ("prior_weight=NaN", "cmanet", "prior_weight: `NaN` is not a number >= 0"),
        ("steps", "cmanet", "expected NAME=VALUE"),
        ("steps=3", "fit", "the body refinement's settings are cmanet's (fit has none)"),
    ] {
        let out = cmanet(&[
            "estimate",
            "--input",
            &s(&data),
            "--output",
            &s(&refused),
            "--method",
            method,
            "--refine",
            refine,
        ]);
        assert_eq!(out.status.code(), Some(1), "{refine}: {}", text(&out));
        assert!(text(&out).contains(says), "{refine}: {}", text(&out));
        assert!(!refused.exists(), "nothing is written when a setting is refused");
    }
}

#[test]
fn devices_are_chosen_by_name_and_a_missing_gpu_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (data, est) = (dir.path().join("data"), dir.path().join("est"));
    let out = cmanet(&["synth", "--seed", "5", "--sequences", "1", "--frames", "3", "--output", &s(&data)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cmanet(&["estimate", "--input", &s(&data), "--output", &s(&est), "--device", "cpu"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(est.join("seq_0000.safetensors").exists());
    if !cfg!(feature = "cuda") {
        let refused = dir.path().join("refused");
        let out = cmanet(&["estimate", "--input", &s(&data), "--output", &s(&refused), "--device", "cuda:1"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("cuda:1") && text(&out).contains("`cuda` feature"), "{}", text(&out));
        assert!(!refused.exists(), "nothing is written when the device is refused");
    }
    let out = cmanet(&["estimate", "--input", &s(&data), "--output", &s(&est), "--device", "gpu"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a device"), "{}", text(&out));
}

#[test]
fn synth_draws_the_motions_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("poses");
    let out = cmanet(&[
        "synth",
        "--seed",
        "2",
        "--sequences",
        "2",
        "--frames",
        "3",
        "--motions",
        "poses,walk",
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let mut motions: Vec<String> = (0..2)
        .map(|i| {
            let data = cmanet::data::Mv2d::read(&out_dir.join(format!("seq_{i:04}.safetensors"))).unwrap();
            data.metadata["motion"].clone()
        })
        .collect();
    motions.sort();
    assert_eq!(motions, ["poses", "walk"]);
    let out = cmanet(&["synth", "--motions", "moonwalk", "--output", out_dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("moonwalk") && text(&out).contains("sit_to_stand"), "{}", text(&out));
    let out = cmanet(&["synth", "--generator", "stick", "--motions", "walk", "--output", out_dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--generator body-model"), "{}", text(&out));
}

#[test]
fn train_then_estimate_with_the_trained_network() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (data, run, est) = (dir.path().join("data"), dir.path().join("run"), dir.path().join("est"));
    let out = cmanet(&["synth", "--seed", "4", "--sequences", "1", "--frames", "3", "--output", &s(&data)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cmanet(&[
        "train",
        "--data",
        &s(&data),
        "--output",
        &s(&run),
        "--stage1-steps",
        "3",
        "--stage2-steps",
        "2",
        "--batch",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(run.join("cmanet.safetensors").exists() && run.join("curves.csv").exists());
    assert!(run.join("pseudo_labels/seq_0000.fit.safetensors").exists());
    let weights = s(&run.join("cmanet.safetensors"));
    let out =
        cmanet(&["estimate", "--input", &s(&data), "--output", &s(&est), "--method", "cmanet", "--weights", &weights]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cmanet(&["eval", "--truth", &s(&data), "--method", &format!("cmanet={}", s(&est)), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    // A missing weights file is a one-line error before any work.
    let out =
        cmanet(&["estimate", "--input", &s(&data), "--output", &s(&est), "--method", "cmanet", "--weights", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

/// `cmanet::assets` finds the shipped files through `CMANET_ASSETS` first, then beside the
/// executable (a built tool moved elsewhere), then in the crate: the error for a missing body
/// model names the folder it looked in.
#[test]
fn shipped_files_are_found_by_override_then_beside_the_executable() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cmanet"))
        .args(["body-info"])
        .env("CMANET_ASSETS", dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("nowhere/body/open_body.safetensors"), "{}", text(&out));

    // A copy of the command with an `assets/models` folder (but no body) beside it looks there.
    let moved = dir.path().join("moved");
    std::fs::create_dir_all(moved.join("assets/models")).unwrap();
    let exe = moved.join("cmanet");
    std::fs::copy(env!("CARGO_BIN_EXE_cmanet"), &exe).unwrap();
    let expected = moved.join("assets/body/open_body.safetensors");
    // Set but empty counts as unset (it once made the search look in the working directory).
    for env in [None, Some("")] {
        let mut command = Command::new(&exe);
        command.args(["body-info"]).env_remove("CMANET_ASSETS");
        if let Some(value) = env {
            command.env("CMANET_ASSETS", value);
        }
        let out = command.output().unwrap();
        assert!(!out.status.success());
        assert!(text(&out).contains(&expected.display().to_string()), "{env:?}: {}", text(&out));
    }

    // Without either, the crate's own files.
    let out = cmanet(&["body-info", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// `cmanet assets install DIR` copies what a game needs; a copy of the command moved beside that
/// folder (`assets/cmanet/`) finds it there and `assets where` says so; installing into the assets
/// folder itself is refused.
#[test]
fn assets_install_copies_what_a_moved_game_needs() {
    let dir = tempfile::tempdir().unwrap();
    let game = dir.path().join("game");
    let installed = game.join("assets/cmanet");
    let out = cmanet(&["assets", "install", installed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    for file in ["models/cmanet.safetensors", "body/open_body.safetensors", "avatar/open_body.glb"] {
        assert!(installed.join(file).is_file(), "{file} not installed: {}", text(&out));
    }
    assert!(!installed.join("samples").exists(), "the real sample stays behind");
    let exe = game.join("cmanet");
    std::fs::copy(env!("CARGO_BIN_EXE_cmanet"), &exe).unwrap();
    let out = Command::new(&exe).args(["body-info"]).env_remove("CMANET_ASSETS").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(&exe).args(["assets", "where"]).env_remove("CMANET_ASSETS").output().unwrap();
    assert!(out.status.success() && text(&out).contains(&installed.display().to_string()), "{}", text(&out));
    let own = cmanet::assets::dir();
    let out = cmanet(&["assets", "install", own.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("is the assets folder itself"), "{}", text(&out));
}

/// A take of 12 frames at 30 fps with every sent joint turned, a shape and a moving place.
fn stream_test_take(dir: &Path) -> (cmanet::data::Take, std::path::PathBuf) {
    use cmanet::body::BodyParams;
    use nalgebra::Vector3;
    let frames: Vec<BodyParams> = (0..12)
        .map(|i| {
            let mut p = BodyParams::default();
            for j in 0..22 {
                let a = (i * 22 + j) as f32;
                p.set_local_rotation(j, Vector3::new((a * 0.37).sin() * 0.7, (a * 0.91).cos() * 0.6, (a * 0.23).sin()));
            }
            p.betas[0] = 0.8;
            p.betas[3] = -1.1;
            p.transl = Vector3::new(0.1 * i as f32, 0.02, -0.5);
            p
        })
        .collect();
    let take = cmanet::data::Take {
        fps: 30.0,
        seconds: (0..12).map(|i| i as f64 / 30.0).collect(),
        frames,
        ..Default::default()
    };
    let path = dir.join("take.safetensors");
    take.write(&path).unwrap();
    (take, path)
}

/// Starts a Python receiver script from tools/ on a free port, streams `take` to it with
/// `cmanet stream`, and returns the JSON it wrote.
fn stream_to_python(script: &str, port_arg: &str, dir: &Path, take: &Path, frames: usize) -> serde_json::Value {
    use std::io::{BufRead, BufReader};
    let json = dir.join(format!("{script}.json"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools").join(script);
    let mut python = Command::new("python3")
        .args([script.to_str().unwrap(), "--port", port_arg, "--frames", &frames.to_string(), "--timeout", "60"])
        .args(["--json", json.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut first = String::new();
    BufReader::new(python.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
    let Some(port) = first.trim().strip_prefix("listening on 127.0.0.1:").map(str::to_string) else {
        let out = python.wait_with_output().unwrap();
        panic!("the receiver did not start (see .ci/run for its pip packages): {first}{}", text(&out));
    };
    let out = cmanet(&["stream", "--input", take.to_str().unwrap(), "--to", &format!("127.0.0.1:{port}")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("sent {frames} frames")), "{}", text(&out));
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

/// `cmanet stream` read back by an independent OSC decoder: `tools/vmc_receive.py` on python-osc
/// (`.ci/run` installs it). Addresses, type tags, bone names, and every rotation converted back by
/// the documented rule (Unity `(x, y, z, w)` is ours `(x, -y, -z, w)`) against the take's.
#[test]
fn stream_sends_a_take_that_python_osc_reads_back() {
    use cmanet::body::{BodyModel, RestJoints};
    use cmanet::stream::VMC_BONE_NAMES;
    use nalgebra::{Quaternion, UnitQuaternion, Vector3};

    let dir = tempfile::tempdir().unwrap();
    let (take, take_path) = stream_test_take(dir.path());
    let received = stream_to_python("vmc_receive.py", "0", dir.path(), &take_path, 12);
    let received: Vec<Vec<serde_json::Value>> = serde_json::from_value(received).unwrap();
    assert_eq!(received.len(), 12, "one bundle per frame");

    let rest = RestJoints::new(&BodyModel::open_body().unwrap());
    let names: Vec<&str> = VMC_BONE_NAMES.iter().flatten().copied().collect();
    for (f, messages) in received.iter().enumerate() {
        let params = &take.frames[f];
        let addresses: Vec<&str> = messages.iter().map(|m| m["address"].as_str().unwrap()).collect();
        assert_eq!(addresses[0], "/VMC/Ext/Root/Pos");
        assert_eq!(&addresses[addresses.len() - 2..], ["/VMC/Ext/OK", "/VMC/Ext/T"]);
        assert_eq!(addresses.iter().filter(|a| **a == "/VMC/Ext/Bone/Pos").count(), 22);
        let mut seen = Vec::new();
        for m in messages {
            let (address, types, args) = (m["address"].as_str().unwrap(), m["types"].as_str().unwrap(), &m["args"]);
            match address {
                "/VMC/Ext/OK" => assert_eq!((types, args[0].as_i64()), ("i", Some(1))),
                "/VMC/Ext/T" => {
                    assert_eq!(types, "f");
                    assert!((args[0].as_f64().unwrap() - f as f64 / 30.0).abs() < 1e-5);
                }
                _ => {
                    assert_eq!(types, "sfffffff", "{address}");
                    let v: Vec<f32> = (1..8).map(|i| args[i].as_f64().unwrap() as f32).collect();
                    let name = args[0].as_str().unwrap();
                    if address == "/VMC/Ext/Root/Pos" {
                        assert_eq!((name, v.as_slice()), ("root", &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0][..]));
                        continue;
                    }
                    seen.push(name.to_string());
                    let j = VMC_BONE_NAMES.iter().position(|n| *n == Some(name)).expect("a known bone");
                    let ours = UnitQuaternion::from_quaternion(Quaternion::new(v[6], v[3], -v[4], -v[5]));
                    let truth = UnitQuaternion::from_scaled_axis(params.local_rotation(j));
                    assert!(ours.angle_to(&truth) < 1e-4, "frame {f} {name}: {}", ours.angle_to(&truth));
                    if j == 0 {
                        let pelvis = rest.joint(0, &params.betas.map(f64::from)).cast::<f32>() + params.transl;
                        let ours = Vector3::new(-v[0], v[1], v[2]);
                        assert!((ours - pelvis).norm() < 1e-4, "frame {f} hips {ours} vs {pelvis}");
                    }
                }
            }
        }
        assert_eq!(seen, names, "bone names, SMPL order");
    }
}

/// The book's recipe for a receiver that is not ours: vmcp, a third-party VMC protocol library
/// (`tools/vmc_receive_vmcp.py`; `.ci/run` installs it), parses the stream into typed VMC events.
/// Its bone names must be Unity's HumanBodyBones and `OK` a known model state, or it fails.
#[test]
fn stream_is_read_by_a_third_party_vmc_library() {
    use cmanet::stream::VMC_BONE_NAMES;
    use nalgebra::{Quaternion, UnitQuaternion};

    let dir = tempfile::tempdir().unwrap();
    let (take, take_path) = stream_test_take(dir.path());
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let received = stream_to_python("vmc_receive_vmcp.py", &port.to_string(), dir.path(), &take_path, 12);
    let frames = received.as_array().expect("a list of frames");
    assert_eq!(frames.len(), 12);
    let mut names: Vec<&str> = VMC_BONE_NAMES.iter().flatten().copied().collect();
    names.sort();
    for (f, frame) in frames.iter().enumerate() {
        assert_eq!(frame["state"], "LOADED");
        assert_eq!(frame["root"], serde_json::json!([0.0, 0.0, 0.0]));
        assert!((frame["time"].as_f64().unwrap() - f as f64 / 30.0).abs() < 1e-5);
        let bones = frame["bones"].as_object().unwrap();
        let mut got: Vec<&str> = bones.keys().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, names);
        for (name, joint) in [("Hips", 0), ("LeftLowerArm", 18), ("RightUpperLeg", 2)] {
            let q: Vec<f32> = (0..4).map(|i| bones[name]["rotation"][i].as_f64().unwrap() as f32).collect();
            let ours = UnitQuaternion::from_quaternion(Quaternion::new(q[3], q[0], -q[1], -q[2]));
            let truth = UnitQuaternion::from_scaled_axis(take.frames[f].local_rotation(joint));
            assert!(ours.angle_to(&truth) < 1e-4, "frame {f} {name}");
        }
    }
}

/// `export` creates its output folders, never writes over its input or twice to one file, and
/// writes nothing when one of the exports cannot be made.
#[test]
fn export_creates_folders_and_never_overwrites_what_it_should_not() {
    let dir = tempfile::tempdir().unwrap();
    let (_, take) = stream_test_take(dir.path());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let before = std::fs::read(&take).unwrap();

    let nested = dir.path().join("a/b/take.bvh");
    let out = cmanet(&["export", "--input", &s(&take), "--bvh", &s(&nested)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(nested.exists());

    let out = cmanet(&["export", "--input", &s(&take), "--bvh", &s(&take)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is the input"), "{}", text(&out));
    assert_eq!(std::fs::read(&take).unwrap(), before, "the input is untouched");

    let both = dir.path().join("both.out");
    let out = cmanet(&["export", "--input", &s(&take), "--bvh", &s(&both), "--gltf", &s(&both)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("same file"), "{}", text(&out));
    assert!(!both.exists());

    // A bad avatar fails the glTF: the BVH of the same run is not written either.
    let (bvh, glb, avatar) = (dir.path().join("x.bvh"), dir.path().join("x.glb"), dir.path().join("bad.glb"));
    std::fs::write(&avatar, b"not a glb").unwrap();
    let out = cmanet(&["export", "--input", &s(&take), "--bvh", &s(&bvh), "--gltf", &s(&glb), "--avatar", &s(&avatar)]);
    assert!(!out.status.success());
    assert!(!bvh.exists() && !glb.exists(), "{}", text(&out));
    assert!(text(&out).contains("bad.glb"), "the avatar's error names it: {}", text(&out));
}

/// `export --ground` stands a sunken, drifting take on the floor and holds its planted feet with
/// the legs; without it the take is exported as it is; without `--floor` the floor is found where
/// the feet rest.
#[test]
fn export_ground_stands_the_take_on_the_floor() {
    use cmanet::body::{BodyModel, BodyParams, FootContacts};
    use nalgebra::Vector3;
    let dir = tempfile::tempdir().unwrap();
    let model = BodyModel::open_body().unwrap();
    let frames: Vec<BodyParams> = (0..30)
        .map(|i| {
            let mut p = BodyParams::default();
            p.set_local_rotation(1, Vector3::new(-0.3, 0.0, 0.0));
            p.set_local_rotation(4, Vector3::new(0.4, 0.0, 0.0));
            let lowest = FootContacts::new(&model, &p.betas).lowest(&model.forward_kinematics(&p).unwrap());
            // 5 cm through the floor at 0, drifting 2 mm a frame.
            p.transl = Vector3::new(0.002 * i as f32, -0.05 - lowest, 0.0);
            p
        })
        .collect();
    let take = cmanet::data::Take {
        fps: 30.0,
        seconds: (0..30).map(|i| i as f64 / 30.0).collect(),
        frames: frames.clone(),
        ..Default::default()
    };
    let path = dir.path().join("sunken.safetensors");
    take.write(&path).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (plain, grounded) = (dir.path().join("plain.bvh"), dir.path().join("grounded.bvh"));
    let out = cmanet(&["export", "--input", &s(&path), "--bvh", &s(&plain)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cmanet(&["export", "--input", &s(&path), "--bvh", &s(&grounded), "--ground", "--floor", "0", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["floor"], 0.0);
    let read = |p: &Path| cmanet::export::read_bvh(&std::fs::read_to_string(p).unwrap()).unwrap();
    let (plain, grounded) = (read(&plain), read(&grounded));
    for f in 1..30 {
        // The root's Yposition: 5 cm higher, the feet on the floor.
        let rise = grounded.frames[f][1] - plain.frames[f][1];
        assert!((rise - 0.05).abs() < 0.005, "frame {f}: raised {rise}");
    }
    // The planted feet are held: the legs turn while the drifting body moves on.
    assert_ne!(plain.frames[29][3..], grounded.frames[29][3..]);
    let found = dir.path().join("found.bvh");
    let out = cmanet(&["export", "--input", &s(&path), "--bvh", &s(&found), "--ground", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let floor = report["floor"].as_f64().unwrap();
    assert!((floor + 0.05).abs() < 1e-3, "the floor where the feet rest: {floor}");
    let out = cmanet(&["export", "--input", &s(&path), "--bvh", &s(&dir.path().join("x.bvh")), "--floor", "0"]);
    assert!(!out.status.success(), "--floor needs --ground");
}
