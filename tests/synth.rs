//! Behaviour of the synthetic multi-view generator: determinism, motions (joint limits, smoothness,
//! feet on the floor, heading), camera rigs, the detector model and the packaged sequences.

use cmanet::body::FootContacts;
use cmanet::body::limits::violation;
use cmanet::body::{BodyModel, BodyParams, KEYPOINT_NAMES, NUM_KEYPOINTS, keypoint_index};
use cmanet::data::Mv2d;
use cmanet::data::synth::animate::AnimatedFrame;
use cmanet::data::synth::capsules::BodyCapsules;
use cmanet::data::synth::detector::{Visibility, detect};
use cmanet::data::synth::random::Rng;
use cmanet::data::synth::rig::{MotionVolume, RigKind};
use cmanet::data::synth::{
    DetectorConfig, GENERATOR, MotionKind, SynthConfig, SynthError, SyntheticSequence, generate, generate_sequence,
};
use cmanet::geometry::{Camera, Extrinsics, Intrinsics};
use nalgebra::{Rotation3, Vector2, Vector3};

fn model() -> BodyModel {
    BodyModel::open_body().expect("the shipped open body model loads")
}

fn only(kind: MotionKind, frames: usize) -> SynthConfig {
    SynthConfig { motions: vec![kind], frames, ..SynthConfig::default() }
}

/// Config whose detector only adds Gaussian noise (no outliers, dropouts or swaps).
fn clean_detector() -> DetectorConfig {
    DetectorConfig {
        outlier_rate: 0.0,
        keypoint_dropout: 0.0,
        view_dropout: 0.0,
        swap_rate: 0.0,
        min_noise_px: 0.0,
        ..DetectorConfig::default()
    }
}

fn true_pixel(camera: &Camera, p: &Vector3<f32>) -> Vector2<f64> {
    camera.project(&p.cast::<f64>()).expect("in front of the camera")
}

/// Pixel errors of visible, reported keypoints, divided by nothing: `(keypoint, error px, confidence)`.
fn visible_errors(seq: &SyntheticSequence) -> Vec<(usize, f64, f32)> {
    let mut out = Vec::new();
    for (f, frame) in seq.frames.iter().enumerate() {
        for (v, camera) in seq.rig.cameras.iter().enumerate() {
            for k in 0..NUM_KEYPOINTS {
                let [x, y, c] = seq.data.keypoints2d[f][v][k];
                if seq.visibility[f][v][k] == Visibility::Visible && c > 0.0 {
                    let truth = true_pixel(camera, &frame.keypoints[k]);
                    out.push((k, (Vector2::new(f64::from(x), f64::from(y)) - truth).norm(), c));
                }
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_the_same_sequence_and_other_seeds_or_indices_do_not() {
    let model = model();
    let config = SynthConfig { frames: 20, ..SynthConfig::default() };
    let a = generate_sequence(&model, &config, 7, 3).unwrap();
    // Generating other sequences in between changes nothing: no hidden state.
    let _ = generate_sequence(&model, &config, 7, 4).unwrap();
    let b = generate_sequence(&model, &config, 7, 3).unwrap();
    assert_eq!(a, b);
    let other_index = generate_sequence(&model, &config, 7, 4).unwrap();
    let other_seed = generate_sequence(&model, &config, 8, 3).unwrap();
    assert_ne!(a.keypoints2d, other_index.keypoints2d);
    assert_ne!(a.keypoints2d, other_seed.keypoints2d);
    assert_ne!(a.params, other_seed.params);
    // Two sequences of the same kind still differ in body, motion and cameras.
    let walk = only(MotionKind::Walk, 20);
    let (w1, w2) = (generate_sequence(&model, &walk, 1, 0).unwrap(), generate_sequence(&model, &walk, 2, 0).unwrap());
    assert_ne!(w1.params.as_ref().unwrap()[0].betas, w2.params.as_ref().unwrap()[0].betas);
    assert_ne!(w1.params.as_ref().unwrap()[5].body_pose, w2.params.as_ref().unwrap()[5].body_pose);
}

#[test]
fn every_kind_appears_in_a_run_of_twelve_sequences() {
    let config = SynthConfig::default();
    let mut kinds: Vec<MotionKind> =
        (0..12).filter_map(|i| cmanet::data::synth::sequence::motion_kind(&config, 99, i)).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), MotionKind::ALL.len());
    assert!(MotionKind::ALL.len() >= 10);
}

#[test]
fn every_motion_kind_stays_within_joint_limits_and_moves_smoothly() {
    let model = model();
    for kind in MotionKind::EVERY {
        for seed in 0..3 {
            let seq = generate(&model, &only(kind, 90), seed, 0).unwrap();
            assert_eq!(seq.kind, kind);
            let mut largest_step = 0.0f32;
            let mut largest_bend = 0.0f32;
            let mut travel = 0.0f32;
            for (i, frame) in seq.frames.iter().enumerate() {
                let v = violation(&frame.params);
                assert!(v <= 1e-4, "{kind} seed {seed} frame {i}: joint limits exceeded by {v} rad");
                for j in 0..frame.joints.len() {
                    if i >= 1 {
                        largest_step = largest_step.max((frame.joints[j] - seq.frames[i - 1].joints[j]).norm());
                        travel = travel.max((frame.joints[j] - seq.frames[0].joints[j]).norm());
                    }
                    if i >= 2 {
                        let second = frame.joints[j] - 2.0 * seq.frames[i - 1].joints[j] + seq.frames[i - 2].joints[j];
                        largest_bend = largest_bend.max(second.norm());
                    }
                }
            }
            // 0.4 m per frame at 30 fps is 12 m/s: faster than any hand or foot in these motions.
            assert!(largest_step < 0.4, "{kind} seed {seed}: a joint jumped {largest_step} m in one frame");
            // 0.25 m per frame² is 225 m/s²: only a jump's landing comes near it.
            assert!(largest_bend < 0.25, "{kind} seed {seed}: a joint's velocity jumped by {largest_bend} m/frame");
            assert!(travel > 0.1, "{kind} seed {seed}: the body hardly moves ({travel} m)");
        }
    }
}

#[test]
fn feet_stay_on_the_floor_except_in_flight() {
    let model = model();
    for kind in MotionKind::EVERY {
        for seed in 0..2 {
            let seq = generate(&model, &only(kind, 90), seed, 0).unwrap();
            let betas = seq.frames[0].params.betas;
            let contacts = FootContacts::new(&model, &betas);
            let rest_ankle = model.rest_joints(&betas)[7].y
                - model.shaped_vertices(&betas).iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
            let mut lowest_ankle = f32::INFINITY;
            for (i, frame) in seq.frames.iter().enumerate() {
                let lowest = contacts.lowest(&frame.joint_transforms);
                assert!(
                    (lowest - frame.lift).abs() < 1e-4,
                    "{kind} frame {i}: lowest foot point at {lowest}, lift {}",
                    frame.lift
                );
                assert!(frame.lift >= 0.0);
                lowest_ankle = lowest_ankle.min(frame.joints[7].y.min(frame.joints[8].y));
            }
            // Some frame has a foot flat on the floor: its ankle is at its standing height.
            assert!(
                (lowest_ankle - rest_ankle).abs() < 0.05,
                "{kind} seed {seed}: lowest ankle {lowest_ankle} m, standing ankle height {rest_ankle} m"
            );
            if !matches!(kind, MotionKind::Run | MotionKind::Jump) {
                assert!(seq.frames.iter().all(|f| f.lift == 0.0), "{kind} left the ground");
            }
        }
    }
    // Runners and jumpers do leave it.
    let jump = generate(&model, &only(MotionKind::Jump, 90), 0, 0).unwrap();
    assert!(jump.frames.iter().any(|f| f.lift > 0.05));
    let run = generate(&model, &only(MotionKind::Run, 60), 0, 0).unwrap();
    assert!(run.frames.iter().any(|f| f.lift > 0.01));
}

#[test]
fn walkers_face_where_they_go() {
    let model = model();
    for kind in [MotionKind::Walk, MotionKind::Run] {
        for seed in 0..4 {
            let seq = generate(&model, &only(kind, 60), seed, 0).unwrap();
            let mut agreement = Vec::new();
            for i in (0..50).step_by(5) {
                let step = seq.frames[i + 10].joints[0] - seq.frames[i].joints[0];
                let step = Vector3::new(step.x, 0.0, step.z);
                let middle = &seq.frames[i + 5].params;
                let forward = Rotation3::from_scaled_axis(middle.global_orient) * Vector3::z();
                let forward = Vector3::new(forward.x, 0.0, forward.z);
                agreement.push(step.normalize().dot(&forward.normalize()));
            }
            let mean = agreement.iter().sum::<f32>() / agreement.len() as f32;
            assert!(mean > 0.9, "{kind} seed {seed}: heading and direction of travel agree only {mean}");
        }
    }
    // Curved paths: the heading changes over a long walk.
    let seq = generate(&model, &only(MotionKind::Walk, 150), 5, 0).unwrap();
    let yaw = |p: &BodyParams| {
        let f = Rotation3::from_scaled_axis(p.global_orient) * Vector3::z();
        f.x.atan2(f.z)
    };
    let turn = (yaw(&seq.frames[149].params) - yaw(&seq.frames[0].params)).abs();
    assert!(turn > 0.05, "the walk went straight ({turn} rad)");
}

#[test]
fn rigs_meet_their_ranges_and_see_the_person() {
    let model = model();
    let config = SynthConfig { frames: 30, ..SynthConfig::default() };
    let rig = &config.rig;
    let (mut kinds, mut sizes, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut in_frame, mut total) = (0usize, 0usize);
    for index in 0..40 {
        let seq = generate(&model, &config, 2024, index).unwrap();
        let volume = MotionVolume::of(&seq.frames);
        let n = seq.rig.cameras.len();
        assert!((rig.min_views..=rig.max_views).contains(&n), "{n} views");
        assert_eq!(seq.data.num_views(), n);
        counts.push(n);
        kinds.push(seq.rig.kind);
        let mut azimuths = Vec::new();
        for camera in &seq.rig.cameras {
            let centre = camera.extrinsics.center();
            let d = (centre - volume.centre.cast::<f64>()).norm() as f32;
            assert!(d >= rig.min_distance - 1e-3 && d <= rig.max_distance + 1e-3, "distance {d}");
            let h = centre.y as f32;
            assert!(h >= rig.min_height - 1e-4 && h <= rig.max_height + 1e-4, "height {h}");
            let hfov = camera.intrinsics.horizontal_fov(camera.image_size.x) as f32;
            assert!(hfov >= rig.min_hfov - 1e-4 && hfov <= rig.max_hfov + 1e-4, "hfov {}", hfov.to_degrees());
            let x_axis = camera.extrinsics.rotation.row(0);
            assert!(x_axis[1].abs() <= rig.max_roll.sin() as f64 + 1e-6, "roll too large");
            let size = [camera.image_size.x as u32, camera.image_size.y as u32];
            assert!(rig.resolutions.contains(&size), "{size:?}");
            sizes.push(size);
            azimuths.push((centre.x - f64::from(volume.centre.x)).atan2(centre.z - f64::from(volume.centre.z)));
            // The camera looks at the person.
            let at = camera.extrinsics.to_camera(&volume.centre.cast::<f64>());
            assert!(at.z > 0.0);
        }
        if seq.rig.kind == RigKind::OneSide {
            // Every azimuth lies within the spread of the first one.
            let spread = azimuths
                .iter()
                .map(|a| {
                    let d = (a - azimuths[0]).rem_euclid(std::f64::consts::TAU);
                    d.min(std::f64::consts::TAU - d)
                })
                .fold(0.0, f64::max);
            assert!(spread <= f64::from(rig.one_side_spread) + 1e-3, "one-sided rig spread {spread}");
        }
        for frame in &seq.visibility {
            for view in frame {
                total += NUM_KEYPOINTS;
                in_frame += view.iter().filter(|v| **v != Visibility::OutOfFrame).count();
            }
        }
        // Ground truth is consistent: the stored keypoints are the posed parameters' keypoints.
        let params = seq.data.params.as_ref().unwrap();
        let joints3d = seq.data.joints3d.as_ref().unwrap();
        let posed = model.pose(&params[7], false).unwrap();
        for (posed, stored) in posed.keypoints.iter().zip(&joints3d[7]) {
            assert!((posed - Vector3::from(*stored)).norm() < 1e-4);
        }
    }
    assert!(kinds.contains(&RigKind::Around) && kinds.contains(&RigKind::OneSide));
    assert!(counts.contains(&rig.min_views) && counts.contains(&rig.max_views), "{counts:?}");
    sizes.sort();
    sizes.dedup();
    assert!(sizes.len() >= 4, "only {sizes:?}");
    let seen = in_frame as f32 / total as f32;
    assert!(seen > 0.95, "only {seen} of the keypoints are in frame");
    // The view count follows the configuration.
    let three = SynthConfig {
        frames: 5,
        rig: cmanet::data::synth::RigConfig { min_views: 3, max_views: 3, ..Default::default() },
        ..SynthConfig::default()
    };
    assert!((0..5).all(|i| generate_sequence(&model, &three, 1, i).unwrap().num_views() == 3));
}

/// One T-pose frame of the mean body and its capsules.
fn t_pose(model: &BodyModel) -> (Vec<AnimatedFrame>, BodyCapsules, f32) {
    let params = BodyParams::default();
    let posed = model.pose(&params, false).unwrap();
    let frame = AnimatedFrame {
        params,
        joints: posed.joints,
        joint_transforms: posed.joint_transforms,
        keypoints: posed.keypoints,
        extra_keypoints: posed.extra_keypoints,
        lift: 0.0,
    };
    let betas = [0.0; 10];
    let height = model.height(&betas);
    (vec![frame; 30], BodyCapsules::new(&model.rest_joints(&betas), height, 1.0).unwrap(), height)
}

fn camera_at(eye: Vector3<f64>, target: Vector3<f64>, hfov_deg: f64) -> Camera {
    Camera {
        intrinsics: Intrinsics::from_horizontal_fov(hfov_deg.to_radians(), 1280.0, 720.0),
        extrinsics: Extrinsics::look_at(&eye, &target, &Vector3::y(), 0.0),
        image_size: Vector2::new(1280.0, 720.0),
    }
}

#[test]
fn hidden_keypoints_get_low_confidence_and_out_of_frame_ones_zero() {
    let model = model();
    let (frames, capsules, height) = t_pose(&model);
    let front = camera_at(Vector3::new(0.0, 1.2, 4.0), Vector3::new(0.0, 0.9, 0.0), 60.0);
    let behind = camera_at(Vector3::new(0.0, 1.2, -4.0), Vector3::new(0.0, 0.9, 0.0), 60.0);
    // Close and narrow, aimed at the head: the legs fall outside the image.
    let head_shot = camera_at(Vector3::new(0.0, 1.5, 1.5), Vector3::new(0.0, 1.5, 0.0), 40.0);
    let config =
        DetectorConfig { keypoint_dropout: 0.0, view_dropout: 0.0, swap_rate: 0.0, ..DetectorConfig::default() };
    let det = detect(&frames, &[front, behind, head_shot], &capsules, height, &config, &mut Rng::new(5));
    let nose = keypoint_index("nose").unwrap();
    for f in 0..frames.len() {
        let [_, _, seen_from_behind] = det.keypoints2d[f][1][nose];
        assert_eq!(det.visibility[f][0][nose], Visibility::Visible);
        assert_eq!(det.visibility[f][1][nose], Visibility::Occluded);
        assert!((0.05..=0.35).contains(&seen_from_behind), "nose seen through the head with {seen_from_behind}");
        for (k, name) in KEYPOINT_NAMES.iter().enumerate() {
            let [x, y, c] = det.keypoints2d[f][2][k];
            if det.visibility[f][2][k] == Visibility::OutOfFrame {
                assert_eq!([x, y, c], [0.0, 0.0, 0.0], "{name} out of frame");
            } else if det.visibility[f][2][k] == Visibility::Occluded {
                assert!(c <= 0.35);
            }
        }
        for ankle in ["left_ankle", "right_ankle", "left_knee"] {
            assert_eq!(det.visibility[f][2][keypoint_index(ankle).unwrap()], Visibility::OutOfFrame);
        }
    }
    let front_confidence: f32 =
        (0..frames.len()).map(|f| det.keypoints2d[f][0][nose][2]).sum::<f32>() / frames.len() as f32;
    assert!(front_confidence > 0.7, "{front_confidence}");

    // Over whole generated sequences: occluded keypoints stay low, out-of-frame ones are zero.
    let config = SynthConfig {
        frames: 30,
        detector: DetectorConfig { swap_rate: 0.0, ..DetectorConfig::default() },
        ..SynthConfig::default()
    };
    let (mut visible, mut occluded) = (Vec::new(), Vec::new());
    for index in 0..12 {
        let seq = generate(&model, &config, 3, index).unwrap();
        for (f, frame) in seq.visibility.iter().enumerate() {
            for (v, view) in frame.iter().enumerate() {
                for (k, vis) in view.iter().enumerate() {
                    let p = seq.data.keypoints2d[f][v][k];
                    match vis {
                        Visibility::OutOfFrame => assert_eq!(p, [0.0, 0.0, 0.0]),
                        Visibility::Occluded => occluded.push(p[2]),
                        Visibility::Visible => visible.push(p[2]),
                    }
                }
            }
        }
    }
    assert!(occluded.iter().all(|&c| c == 0.0 || (0.05..=0.35).contains(&c)));
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert!(
        occluded.len() > 500 && mean(&visible) > 0.7,
        "{} occluded, visible mean {}",
        occluded.len(),
        mean(&visible)
    );
}

#[test]
fn noise_grows_with_sigma_and_confidence_falls_with_error() {
    let model = model();
    let mean_error = |sigma: f32| {
        let config = SynthConfig {
            frames: 30,
            detector: DetectorConfig { noise_sigma: sigma, ..clean_detector() },
            ..SynthConfig::default()
        };
        let errors: Vec<f64> =
            (0..4).flat_map(|i| visible_errors(&generate(&model, &config, 11, i).unwrap())).map(|e| e.1).collect();
        errors.iter().sum::<f64>() / errors.len() as f64
    };
    let (small, large) = (mean_error(0.004), mean_error(0.016));
    assert!(large > 3.0 * small, "error {small} px at sigma 0.004, {large} px at 0.016");

    // Wrists are noisier than shoulders; low confidence goes with large errors.
    let config = SynthConfig { frames: 60, ..SynthConfig::default() };
    let errors: Vec<(usize, f64, f32)> =
        (0..6).flat_map(|i| visible_errors(&generate(&model, &config, 12, i).unwrap())).collect();
    let mean_of = |keep: &dyn Fn(&(usize, f64, f32)) -> bool| {
        let picked: Vec<f64> = errors.iter().filter(|e| keep(e)).map(|e| e.1).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let wrists = mean_of(&|e| e.0 == 9 || e.0 == 10);
    let shoulders = mean_of(&|e| e.0 == 5 || e.0 == 6);
    assert!(wrists > 1.3 * shoulders, "wrists {wrists} px, shoulders {shoulders} px");
    let confident = mean_of(&|e| e.2 > 0.8);
    let doubtful = mean_of(&|e| e.2 < 0.4);
    assert!(doubtful > 3.0 * confident, "error {doubtful} px at low confidence, {confident} px at high");
}

#[test]
fn dropouts_and_swaps_follow_their_rates() {
    let model = model();
    let zeros = |seq: &SyntheticSequence| {
        let mut dropped = 0;
        let mut seen = 0;
        for (f, frame) in seq.visibility.iter().enumerate() {
            for (v, view) in frame.iter().enumerate() {
                for (k, vis) in view.iter().enumerate() {
                    if *vis != Visibility::OutOfFrame {
                        seen += 1;
                        dropped += usize::from(seq.data.keypoints2d[f][v][k][2] == 0.0);
                    }
                }
            }
        }
        dropped as f32 / seen as f32
    };
    let config = SynthConfig {
        frames: 40,
        detector: DetectorConfig { keypoint_dropout: 0.2, ..clean_detector() },
        ..SynthConfig::default()
    };
    let rate = zeros(&generate(&model, &config, 4, 0).unwrap());
    assert!((rate - 0.2).abs() < 0.04, "dropout rate {rate}");
    let config = SynthConfig {
        frames: 10,
        detector: DetectorConfig { view_dropout: 1.0, ..clean_detector() },
        ..SynthConfig::default()
    };
    let seq = generate(&model, &config, 4, 0).unwrap();
    assert!(seq.data.keypoints2d.iter().flatten().flatten().all(|p| *p == [0.0, 0.0, 0.0]));

    // Every frame swapped: the reported left wrist sits where the right wrist is, confidently.
    let config = SynthConfig {
        frames: 20,
        detector: DetectorConfig { swap_rate: 1.0, max_swap_frames: 1, noise_sigma: 0.002, ..clean_detector() },
        ..SynthConfig::default()
    };
    let seq = generate(&model, &config, 6, 0).unwrap();
    let (mut swapped, mut checked) = (0, 0);
    for (f, frame) in seq.frames.iter().enumerate() {
        for (v, camera) in seq.rig.cameras.iter().enumerate() {
            let (l, r) = (keypoint_index("left_ankle").unwrap(), keypoint_index("right_ankle").unwrap());
            if seq.visibility[f][v][l] != Visibility::Visible || seq.visibility[f][v][r] != Visibility::Visible {
                continue;
            }
            let [x, y, c] = seq.data.keypoints2d[f][v][l];
            let at = Vector2::new(f64::from(x), f64::from(y));
            let to_right = (at - true_pixel(camera, &frame.keypoints[r])).norm();
            let to_left = (at - true_pixel(camera, &frame.keypoints[l])).norm();
            checked += 1;
            // Swaps take all pairs or only the legs two times in three.
            if to_right < to_left && c > 0.5 {
                swapped += 1;
            }
        }
    }
    assert!(checked > 50 && swapped as f32 > 0.5 * checked as f32, "{swapped} of {checked} ankles swapped");
}

#[test]
fn sequences_carry_ground_truth_metadata_and_round_trip() {
    let model = model();
    let config = SynthConfig { frames: 12, ..SynthConfig::default() };
    let seq = generate(&model, &config, 31, 2).unwrap();
    let data = seq.data.clone();
    assert_eq!(data.num_frames(), 12);
    assert_eq!(data.fps, 30.0);
    assert!(data.extrinsics.is_some() && data.joints3d.is_some() && data.params.is_some());
    assert_eq!(data.metadata["generator"], GENERATOR);
    assert_eq!(data.metadata["seed"], "31");
    assert_eq!(data.metadata["sequence"], "2");
    assert_eq!(data.metadata["motion"], seq.kind.name());
    assert_eq!(data.metadata["rig"], seq.rig.kind.name());
    data.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq.safetensors");
    data.write(&path).unwrap();
    let back = Mv2d::read(&path).unwrap();
    assert_eq!(back.keypoints2d, data.keypoints2d);
    assert_eq!(back.metadata["motion"], seq.kind.name());
    let bare = data.without_ground_truth();
    assert!(bare.extrinsics.is_none() && bare.joints3d.is_none() && bare.params.is_none());
    assert_eq!(bare.keypoints2d, seq.data.keypoints2d);
    bare.write(&path).unwrap();
    let back = Mv2d::read(&path).unwrap();
    assert!(back.extrinsics.is_none() && back.joints3d.is_none() && back.params.is_none());
}

#[test]
fn bad_configurations_are_errors() {
    let model = model();
    let mut config = SynthConfig::default();
    config.rig.min_views = 5;
    config.rig.max_views = 2;
    assert!(matches!(generate_sequence(&model, &config, 0, 0), Err(SynthError::Config(_))));
    let config = SynthConfig { fps: 0.0, ..SynthConfig::default() };
    assert!(matches!(generate_sequence(&model, &config, 0, 0), Err(SynthError::Config(_))));
    let config = SynthConfig { motions: Vec::new(), ..SynthConfig::default() };
    assert!(matches!(generate_sequence(&model, &config, 0, 0), Err(SynthError::Config(_))));
}
