//! Multi-view SMPLify recovers a noise-free synthetic body and its cameras, with and without the
//! true extrinsics, and refuses inputs it cannot fit.

use std::collections::BTreeMap;

use candle_core::Device;
use cmanet::body::{BodyModel, BodyParams, joint_index};
use cmanet::data::{ExtraKeypoints2d, Keypoints3d, Mv2d};
use cmanet::eval::Errors;
use cmanet::fit::{FitError, FitSettings, Fitter};
use cmanet::geometry::{Extrinsics, Intrinsics};
use nalgebra::Vector3;

fn posed(t: usize) -> BodyParams {
    let mut p = BodyParams { global_orient: Vector3::new(0.0, 0.7 + 0.05 * t as f32, 0.0), ..Default::default() };
    p.transl = Vector3::new(0.3, 0.0, -0.2);
    p.betas[0] = 0.6;
    p.betas[1] = -0.4;
    let set = |p: &mut BodyParams, name: &str, v: [f32; 3]| {
        p.set_local_rotation(joint_index(name).unwrap(), Vector3::from(v))
    };
    set(&mut p, "left_hip", [-0.6, 0.0, 0.1]);
    set(&mut p, "left_knee", [0.9, 0.0, 0.0]);
    set(&mut p, "right_knee", [0.2, 0.0, 0.0]);
    set(&mut p, "left_shoulder", [0.0, 0.0, -0.4]);
    set(&mut p, "right_shoulder", [0.0, 0.3, 1.2]);
    set(&mut p, "left_elbow", [0.0, -1.3 + 0.1 * t as f32, 0.0]);
    set(&mut p, "right_elbow", [0.0, 0.5, 0.0]);
    set(&mut p, "spine1", [0.2, 0.1, 0.0]);
    p
}

fn sequence(model: &BodyModel, frames: usize) -> Mv2d {
    sequence_of(model, frames, posed)
}

/// `frames` frames of the body `pose` gives, seen without noise by four cameras, with BlazePose's
/// extra keypoints.
fn sequence_of(model: &BodyModel, frames: usize, pose: impl Fn(usize) -> BodyParams) -> Mv2d {
    let eyes = [[0.5, 1.7, 3.5], [-3.2, 1.0, 1.5], [2.5, 2.6, -2.8], [-1.0, 0.6, -3.8]];
    let target = Vector3::new(0.3, 1.0, -0.2);
    let extrinsics: Vec<Extrinsics> =
        eyes.iter().map(|e| Extrinsics::look_at(&Vector3::from(*e), &target, &Vector3::y(), 0.03)).collect();
    let (w, h) = (1280.0, 720.0);
    let intrinsics = vec![Intrinsics::from_horizontal_fov(60f64.to_radians(), w, h); eyes.len()];
    let mut keypoints2d = Vec::new();
    let mut extra2d = Vec::new();
    let mut joints3d = Vec::new();
    let mut params = Vec::new();
    for t in 0..frames {
        let p = pose(t);
        let posed = model.pose(&p, false).unwrap();
        let kp = posed.keypoints;
        let extra: Vec<ExtraKeypoints2d> = extrinsics
            .iter()
            .zip(&intrinsics)
            .map(|(e, k)| {
                std::array::from_fn(|j| {
                    let px = k.project(&e.to_camera(&posed.extra_keypoints[j].cast::<f64>())).unwrap();
                    [px.x as f32, px.y as f32, 1.0]
                })
            })
            .collect();
        extra2d.push(extra);
        let world: Keypoints3d = std::array::from_fn(|k| [kp[k].x, kp[k].y, kp[k].z]);
        let views = extrinsics
            .iter()
            .zip(&intrinsics)
            .map(|(e, k)| {
                std::array::from_fn(|j| {
                    let px = k.project(&e.to_camera(&kp[j].cast::<f64>())).unwrap();
                    [px.x as f32, px.y as f32, 1.0]
                })
            })
            .collect();
        keypoints2d.push(views);
        joints3d.push(world);
        params.push(p);
    }
    Mv2d {
        fps: 30.0,
        image_size: vec![[w as f32, h as f32]; eyes.len()],
        intrinsics,
        keypoints2d,
        extra2d: Some(extra2d),
        extrinsics: Some(extrinsics),
        extra3d: None,
        frame_time: None,
        joints3d: Some(joints3d),
        params: Some(params),
        metadata: BTreeMap::new(),
    }
}

#[test]
fn fit_recovers_a_noise_free_body_and_its_cameras() {
    let model = BodyModel::open_body().unwrap();
    let data = sequence(&model, 3);
    let fitter = Fitter::new(model, &Device::Cpu, FitSettings::default()).unwrap();

    // Unknown cameras: the extrinsics are removed before fitting.
    let (estimate, objective) =
        fitter.fit_sequence_with_objective(&data.clone().without_ground_truth(), false, &mut |_| {}).unwrap();
    assert_eq!(objective.len(), 3);
    assert!(objective.iter().all(|o| o.is_finite() && *o >= 0.0), "{objective:?}");
    let summary = Errors::measure(&data, &estimate).unwrap().summary();
    println!("uncalibrated: {summary:?}");
    assert!(summary.pa_mpjpe_mm[0] < 15.0, "PA-MPJPE {:.1} mm", summary.pa_mpjpe_mm[0]);
    assert!(summary.mpjpe_mm[1] < 30.0, "MPJPE {:.1} mm", summary.mpjpe_mm[1]);
    assert!(summary.camera_rotation_deg_median < 1.5, "camera error {:.2} deg", summary.camera_rotation_deg_median);
    assert!(estimate.frames.iter().all(|f| f.seconds > 0.0));

    // True cameras kept fixed: the body lands in the calibrated world.
    let estimate = fitter.fit_sequence(&data, true, &mut |_| {}).unwrap();
    let summary = Errors::measure(&data, &estimate).unwrap().summary();
    println!("calibrated: {summary:?}");
    assert!(summary.mpjpe_mm[0] < 15.0, "MPJPE {:.1} mm", summary.mpjpe_mm[0]);
    let truth = data.joints3d.as_ref().unwrap();
    let world_error = estimate.frames[0]
        .joints3d
        .iter()
        .zip(&truth[0])
        .map(|(a, b)| (Vector3::from(*a) - Vector3::from(*b)).norm())
        .fold(0f32, f32::max);
    assert!(world_error < 0.05, "worst world keypoint error {world_error} m");
}

/// With BlazePose's extra keypoints the fit turns the ankles and wrists to them: turned feet and
/// hands come out far closer than the fit of the 17 keypoints alone leaves them (24.9 -> 9.6
/// degrees median when written).
#[test]
fn fit_turns_feet_and_hands_to_the_extra_keypoints() {
    let model = BodyModel::open_body().unwrap();
    let turned = |t: usize| {
        let mut p = posed(t);
        for (name, v) in [
            ("left_ankle", [0.35, 0.3, 0.0]),
            ("right_ankle", [-0.3, -0.25, 0.1]),
            ("left_wrist", [0.2, 0.6, 0.3]),
            ("right_wrist", [-0.3, -0.5, 0.2]),
        ] {
            p.set_local_rotation(joint_index(name).unwrap(), Vector3::from(v));
        }
        p
    };
    let data = sequence_of(&model, 2, turned);
    let median_error = |feet_and_hands: bool| {
        let settings = FitSettings { feet_and_hands, ..Default::default() };
        let fitter = Fitter::new(model.clone(), &Device::Cpu, settings).unwrap();
        let estimate = fitter.fit_sequence(&data, true, &mut |_| {}).unwrap();
        let errors = Errors::measure(&data, &estimate).unwrap();
        let all: Vec<f64> = errors.extremity_rotation.iter().flatten().copied().collect();
        cmanet::eval::metrics::median(&all)
    };
    let (without, with) = (median_error(false), median_error(true));
    println!("feet and hands: {without:.1} -> {with:.1} degrees");
    assert!(without > 15.0, "the 17 keypoints alone cannot turn them: {without:.1}");
    // Not to zero: the solve keeps a prior towards the fit's own rotation (the defaults chosen on
    // noisy detections, `net::ExtremitySettings`).
    assert!(with < 0.5 * without, "turned to the extras: {with:.1}");
}

#[test]
fn fit_refuses_what_it_cannot_fit() {
    let model = BodyModel::open_body().unwrap();
    let mut data = sequence(&model, 1);
    let fitter = Fitter::new(model, &Device::Cpu, FitSettings { iterations: 5, ..Default::default() }).unwrap();
    let stripped = data.clone().without_ground_truth();
    assert!(matches!(fitter.fit_sequence(&stripped, true, &mut |_| {}), Err(FitError::BadInput(_))));
    data.intrinsics.truncate(1);
    data.image_size.truncate(1);
    for f in &mut data.keypoints2d {
        f.truncate(1);
    }
    let err = fitter.fit_sequence(&data, false, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
    // NaN keypoints built in memory are refused with the tensor named, not fitted.
    let mut broken = sequence(fitter.model(), 1).without_ground_truth();
    broken.keypoints2d[0][1][4][0] = f32::NAN;
    let err = fitter.fit_sequence(&broken, false, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("keypoints2d") && err.to_string().contains("not finite"), "{err}");
    // A view that goes dark (every confidence 0) does not stop the fit.
    let mut dark = sequence(fitter.model(), 2).without_ground_truth();
    for f in &mut dark.keypoints2d {
        for k in f[3].iter_mut() {
            *k = [0.0, 0.0, 0.0];
        }
    }
    let out = fitter.fit_sequence(&dark, false, &mut |_| {}).unwrap();
    assert_eq!(out.frames.len(), 2);
    out.validate().unwrap();
    // Keypoints scrambled in one view are explained worse than clean ones: the objective says so.
    let fitter = Fitter::new(fitter.model().clone(), &Device::Cpu, FitSettings::default()).unwrap();
    let clean = sequence(fitter.model(), 2).without_ground_truth();
    let mut scrambled = clean.clone();
    scrambled.keypoints2d[1][0].reverse();
    let (_, clean) = fitter.fit_sequence_with_objective(&clean, false, &mut |_| {}).unwrap();
    let (_, scrambled) = fitter.fit_sequence_with_objective(&scrambled, false, &mut |_| {}).unwrap();
    assert!(scrambled[1] > 5.0 * clean[1], "{scrambled:?} vs {clean:?}");
}
