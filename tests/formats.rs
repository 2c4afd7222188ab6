//! The `cmanet-mv2d` / `cmanet-mv3d` formats: round trips, and bad files refused with a message that
//! names the tensor and the problem.

use std::collections::BTreeMap;
use std::path::Path;

use cmanet::body::BodyParams;
use cmanet::data::{Mv2d, Mv3d, Mv3dFrame};
use cmanet::geometry::{Extrinsics, Intrinsics};
use cmanet::tensor_file::TensorWriter;
use nalgebra::Vector3;

fn sample() -> Mv2d {
    let (f, v) = (3, 2);
    let intrinsics = vec![Intrinsics::from_horizontal_fov(1.0, 640.0, 480.0); v];
    let extrinsics = (0..v)
        .map(|i| {
            Extrinsics::look_at(
                &Vector3::new(3.0 * i as f64 - 1.0, 1.5, 3.0),
                &Vector3::new(0.0, 1.0, 0.0),
                &Vector3::y(),
                0.0,
            )
        })
        .collect();
    let keypoints2d = (0..f)
        .map(|t| (0..v).map(|i| std::array::from_fn(|k| [k as f32 * 10.0 + i as f32, t as f32, 0.5])).collect())
        .collect();
    let mut params = BodyParams::default();
    params.betas[0] = 0.7;
    params.body_pose[3] = Vector3::new(0.4, 0.0, 0.1);
    Mv2d {
        fps: 25.0,
        image_size: vec![[640.0, 480.0]; v],
        intrinsics,
        keypoints2d,
        extra2d: None,
        extrinsics: Some(extrinsics),
        extra3d: None,
        frame_time: None,
        joints3d: Some(vec![std::array::from_fn(|k| [k as f32, 1.0, 2.0]); f]),
        params: Some(vec![params; f]),
        metadata: BTreeMap::from([("generator".to_string(), "test".to_string())]),
    }
}

#[test]
fn mv2d_round_trips_and_ground_truth_can_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq.safetensors");
    let data = sample();
    data.write(&path).unwrap();
    let back = Mv2d::read(&path).unwrap();
    assert_eq!(back.keypoints2d, data.keypoints2d);
    assert_eq!(back.image_size, data.image_size);
    assert_eq!(back.fps, 25.0);
    assert_eq!(back.metadata.get("generator").map(String::as_str), Some("test"));
    assert_eq!(back.params.as_ref().unwrap()[1].betas[0], 0.7);
    for (a, b) in back.extrinsics.as_ref().unwrap().iter().zip(data.extrinsics.as_ref().unwrap()) {
        assert!((a.rotation - b.rotation).abs().max() < 1e-6 && (a.translation - b.translation).norm() < 1e-6);
    }
    assert!((back.intrinsics[0].fx - data.intrinsics[0].fx).abs() < 1e-3);
    let stripped = data.without_ground_truth();
    stripped.write(&path).unwrap();
    let back = Mv2d::read(&path).unwrap();
    assert!(back.extrinsics.is_none() && back.joints3d.is_none() && back.params.is_none());
}

#[test]
fn blazepose33_files_keep_the_extra_keypoints_and_coco17_readers_still_work() {
    use cmanet::keypoints::{BLAZEPOSE_TO_EXTRA, KeypointLayout, NUM_EXTRA_KEYPOINTS};
    use cmanet::tensor_file::TensorFile;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq33.safetensors");
    let mut data = sample();
    let (f, v) = (data.num_frames(), data.num_views());
    let extra2d: Vec<Vec<_>> = (0..f)
        .map(|t| (0..v).map(|i| std::array::from_fn(|k| [500.0 + k as f32, (t * 10 + i) as f32, 0.25])).collect())
        .collect();
    data.extra2d = Some(extra2d.clone());
    data.extra3d = Some(vec![std::array::from_fn(|k| [k as f32, -1.0, 0.5]); f]);
    assert_eq!(data.layout(), KeypointLayout::BlazePose33);
    data.write(&path).unwrap();
    // On disk: 33 keypoints in BlazePose's order (the left heel is landmark 29).
    let file = TensorFile::read_safetensors(&path).unwrap();
    assert_eq!(file.metadata().get("keypoint_layout").map(String::as_str), Some("blazepose33"));
    let kp = file.required_float("keypoints2d", &[Some(f), Some(v), Some(33), Some(3)]).unwrap();
    assert_eq!(kp.data[3 * BLAZEPOSE_TO_EXTRA[12]], 512.0);
    assert_eq!(kp.data[3 * 11], data.keypoints2d[0][0][5][0] as f64, "left shoulder is landmark 11");
    let back = Mv2d::read(&path).unwrap();
    let same_points = |a: &Mv2d, b: &Mv2d| {
        a.keypoints2d == b.keypoints2d && a.extra2d == b.extra2d && a.joints3d == b.joints3d && a.extra3d == b.extra3d
    };
    assert!(same_points(&back, &data));
    // Dropping the truth drops its extras; the observed extras stay.
    let observed = back.without_ground_truth();
    assert!(observed.extra3d.is_none() && observed.extra2d.as_ref() == Some(&extra2d));
    // Truth without extras keeps its 17 keypoints.
    let mut partial = data.clone();
    partial.extra3d = None;
    partial.write(&path).unwrap();
    let back = Mv2d::read(&path).unwrap();
    assert!(back.extra3d.is_none() && back.joints3d == data.joints3d && back.extra2d == data.extra2d);
    // Without extras the file is coco17, as before.
    let mut coco = data.clone();
    (coco.extra2d, coco.extra3d) = (None, None);
    coco.write(&path).unwrap();
    let file = TensorFile::read_safetensors(&path).unwrap();
    assert_eq!(file.metadata().get("keypoint_layout").map(String::as_str), Some("coco17"));
    assert!(same_points(&Mv2d::read(&path).unwrap(), &coco));
    // Shapes that disagree with the layout, and layouts nobody knows, are refused by name.
    let mut w = TensorWriter::new();
    w.metadata("format", "cmanet-mv2d").metadata("keypoint_layout", "blazepose33");
    w.f32("keypoints2d", &[f, v, 17, 3], &vec![0.5; f * v * 17 * 3]);
    w.f32("image_size", &[v, 2], &data.image_size.concat());
    let k: Vec<f32> = data
        .intrinsics
        .iter()
        .flat_map(|k| k.matrix().transpose().iter().map(|&x| x as f32).collect::<Vec<_>>())
        .collect();
    w.f32("intrinsics", &[v, 3, 3], &k);
    w.write(&path).unwrap();
    let e = read_error(&path);
    assert!(e.contains("keypoints2d") && e.contains("33"), "{e}");
    let mut w = TensorWriter::new();
    w.metadata("format", "cmanet-mv2d").metadata("keypoint_layout", "openpose25");
    w.f32("keypoints2d", &[f, v, 17, 3], &vec![0.5; f * v * 17 * 3]);
    w.write(&path).unwrap();
    let e = read_error(&path);
    assert!(e.contains("keypoint_layout") && e.contains("openpose25") && e.contains("blazepose33"), "{e}");
    // An extra keypoint out of range is located like the others.
    let mut bad = data.clone();
    bad.extra2d.as_mut().unwrap()[2][1][NUM_EXTRA_KEYPOINTS - 1][2] = 2.0;
    let e = bad.write(&path).expect_err("bad confidence written").to_string();
    assert!(e.contains("frame 2 view 1 extra keypoint 15"), "{e}");
}

#[test]
fn mv3d_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("est.safetensors");
    let frame = Mv3dFrame {
        joints3d_cam: vec![[[0.1, 0.2, 3.0]; 17]; 2],
        joints3d: [[0.0, 1.0, 0.0]; 17],
        extrinsics: vec![Extrinsics::default(); 2],
        params: BodyParams::default(),
        seconds: 0.012,
        bones: None,
        measured: None,
    };
    let data = Mv3d { fps: 30.0, frames: vec![frame; 4], metadata: BTreeMap::new() };
    data.write(&path).unwrap();
    let back = Mv3d::read(&path).unwrap();
    assert_eq!(back, data);
    // Which keypoints were measured survives the round trip.
    let mut partly = data.clone();
    let mut measured = [true; 17];
    measured[9] = false;
    partly.frames[2].measured = Some(measured);
    partly.write(&path).unwrap();
    let back = Mv3d::read(&path).unwrap();
    assert_eq!(back.frames[2].measured, Some(measured));
    assert_eq!(back.frames[0].measured, Some([true; 17]));
    assert_eq!(back.frames[2].unmeasured(), 1);
}

/// Writes a mv2d file from `sample()` with one tensor replaced (or removed when `data` is empty).
fn write_with(path: &Path, key: &str, shape: &[usize], data: &[f32], format: &str) {
    let good = sample();
    let (f, v) = (good.num_frames(), good.num_views());
    let mut w = TensorWriter::new();
    w.metadata("format", format).metadata("version", "1");
    let kp: Vec<f32> = good.keypoints2d.iter().flatten().flat_map(|k| k.iter().flatten().copied()).collect();
    let k: Vec<f32> = good
        .intrinsics
        .iter()
        .flat_map(|k| k.matrix().transpose().iter().map(|&x| x as f32).collect::<Vec<_>>())
        .collect();
    let tensors: [(&str, Vec<usize>, Vec<f32>); 3] = [
        ("keypoints2d", vec![f, v, 17, 3], kp),
        ("image_size", vec![v, 2], good.image_size.concat()),
        ("intrinsics", vec![v, 3, 3], k),
    ];
    for (name, s, d) in tensors {
        if name == key {
            if !data.is_empty() {
                w.f32(name, shape, data);
            }
        } else {
            w.f32(name, &s, &d);
        }
    }
    if !tensors_contains(key) && !data.is_empty() {
        w.f32(key, shape, data);
    }
    w.write(path).unwrap();
}

fn tensors_contains(key: &str) -> bool {
    ["keypoints2d", "image_size", "intrinsics"].contains(&key)
}

fn read_error(path: &Path) -> String {
    let err = Mv2d::read(path).expect_err("bad file accepted").to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

#[test]
fn bad_mv2d_files_are_refused_with_the_tensor_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let (f, v) = (3, 2);
    let mut kp = vec![0.5f32; f * v * 17 * 3];

    kp[2] = 1.5;
    write_with(&path, "keypoints2d", &[f, v, 17, 3], &kp, "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("keypoints2d") && e.contains("confidence"), "{e}");

    kp[2] = 0.5;
    // Frame 1, view 1, keypoint 9, y: located as such (it was a flat index).
    kp[((v + 1) * 17 + 9) * 3 + 1] = f32::NAN;
    write_with(&path, "keypoints2d", &[f, v, 17, 3], &kp, "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("keypoints2d") && e.contains("NaN at index [1, 1, 9, 1]") && e.contains("frame, view"), "{e}");

    write_with(&path, "keypoints2d", &[f, v, 16, 3], &vec![0.5; f * v * 16 * 3], "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("keypoints2d") && e.contains("shape"), "{e}");

    let mut k = vec![0f32; v * 9];
    for i in 0..v {
        k[i * 9..i * 9 + 9].copy_from_slice(&[-500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]);
    }
    write_with(&path, "intrinsics", &[v, 3, 3], &k, "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("intrinsics") && e.contains("positive"), "{e}");

    write_with(&path, "image_size", &[], &[], "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("missing key `image_size`"), "{e}");

    write_with(&path, "extrinsics_R", &[v, 3, 3], &[2.0; 18], "cmanet-mv2d");
    let e = read_error(&path);
    assert!(e.contains("extrinsics"), "{e}");

    write_with(&path, "none", &[], &[], "cmanet-mv3d");
    let e = read_error(&path);
    assert!(e.contains("format") && e.contains("cmanet-mv2d"), "{e}");

    std::fs::write(&path, b"not a safetensors file").unwrap();
    let e = read_error(&path);
    assert!(e.contains("not a valid safetensors"), "{e}");
    let e = read_error(&dir.path().join("absent.safetensors"));
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn integer_tensors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("int.safetensors");
    let (f, v) = (1, 2);
    let kp: Vec<u8> = (0..f * v * 17 * 3).flat_map(|_| 0.5f32.to_le_bytes()).collect();
    let sizes: Vec<u8> = (0..v * 2).flat_map(|_| 640i64.to_le_bytes()).collect();
    let k: Vec<u8> =
        (0..v).flat_map(|_| [500f32, 0., 320., 0., 500., 240., 0., 0., 1.]).flat_map(|x| x.to_le_bytes()).collect();
    use safetensors::{Dtype, tensor::TensorView};
    let tensors = [
        ("keypoints2d", TensorView::new(Dtype::F32, vec![f, v, 17, 3], &kp).unwrap()),
        ("image_size", TensorView::new(Dtype::I64, vec![v, 2], &sizes).unwrap()),
        ("intrinsics", TensorView::new(Dtype::F32, vec![v, 3, 3], &k).unwrap()),
    ];
    let meta = std::collections::HashMap::from([("format".to_string(), "cmanet-mv2d".to_string())]);
    std::fs::write(&path, safetensors::serialize(tensors, Some(meta)).unwrap()).unwrap();
    let e = read_error(&path);
    assert!(e.contains("image_size") && e.contains("dtype"), "{e}");
}

/// The same tensors and metadata give the same bytes (safetensors itself writes the metadata in a
/// hash map's order), and the file still reads back.
#[test]
fn written_files_are_reproducible() {
    use cmanet::tensor_file::TensorFile;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| {
        let mut w = TensorWriter::new();
        for key in ["format", "config", "seed", "steps", "data", "notes", "version"] {
            w.metadata(key, format!("value of {key}"));
        }
        w.f32("b", &[2], &[1.0, 2.0]).f32("a", &[1, 3], &[3.0, 4.0, 5.0]);
        let path = dir.path().join(name);
        w.write(&path).unwrap();
        path
    };
    let (first, second) = (write("first.safetensors"), write("second.safetensors"));
    assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
    let file = TensorFile::read_safetensors(&first).unwrap();
    assert_eq!(file.metadata()["seed"], "value of seed");
    assert_eq!(file.metadata().len(), 7);
}

/// Files are written through a temporary of their own in the same folder and renamed over a
/// regular file only: a symlink, a folder or a FIFO at the output path is refused and left as it
/// was, a write that cannot be made says "cannot write" and leaves no temporary behind, and two
/// writers of one path at once both succeed (they shared one `.partial` name).
#[test]
fn writes_replace_regular_files_only_and_never_leave_a_temporary() {
    use cmanet::tensor_file::write_atomically;
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, b"keep me").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let folder = dir.path().join("folder.safetensors");
    std::fs::create_dir(&folder).unwrap();
    let fifo = dir.path().join("fifo.safetensors");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for (path, says) in [(&link, "symbolic link"), (&folder, "a folder"), (&fifo, "FIFO")] {
        let err = sample().write(path).unwrap_err().to_string();
        assert!(err.contains("cannot write") && err.contains(says), "{err}");
    }
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"keep me");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    // A folder that cannot be made (its parent is a file).
    let err = write_atomically(&elsewhere.join("out.bin"), b"x").unwrap_err().to_string();
    assert!(err.contains("cannot write") && err.contains("elsewhere.txt"), "{err}");
    // Concurrent writers of one path.
    let out = dir.path().join("out.safetensors");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| sample().write(&out).unwrap());
        }
    });
    assert_eq!(Mv2d::read(&out).unwrap().keypoints2d, sample().keypoints2d);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A reflected camera rotation is named as one (det R = -1: left and right mirrored).
#[test]
fn a_reflected_rotation_says_so() {
    let mirror = nalgebra::Matrix3::from_diagonal(&Vector3::new(-1.0, 1.0, 1.0));
    let err = cmanet::data::format::check_extrinsics(&Extrinsics::new(mirror, Vector3::zeros())).unwrap_err();
    assert!(err.contains("det R = -1.000") && err.contains("reflection"), "{err}");
}
