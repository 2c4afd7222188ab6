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

    let out = cmanet(&["eval", "--truth", &s(&val), "--method", &format!("triangulate={}", s(&est)), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let overall = &report["methods"][0]["overall"];
    assert_eq!(overall["frames"], 8);
    let pa = overall["pa_mpjpe_mm"][1].as_f64().unwrap();
    assert!(pa > 0.0 && pa < 200.0, "PA-MPJPE {pa}");
    assert_eq!(overall["camera_rotation_deg_median"], 0.0);

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
    let out = Command::new(&exe).args(["body-info"]).env_remove("CMANET_ASSETS").output().unwrap();
    assert!(!out.status.success());
    let expected = moved.join("assets/body/open_body.safetensors");
    assert!(text(&out).contains(&expected.display().to_string()), "{}", text(&out));

    // Without either, the crate's own files.
    let out = cmanet(&["body-info", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
}
