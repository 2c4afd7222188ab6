//! The geometric body refinement after the network (`net::body_refinement`): it poses bodies as
//! the body model does, brings a perturbed body and perturbed cameras back onto exact keypoints,
//! leaves a body that already reprojects exactly where it is, and copes with missing, dark and
//! NaN views and with bad input without panicking or producing NaN.

use cmanet::body::{BodyModel, BodyParams, NUM_BETAS, NUM_BODY_JOINTS};
use cmanet::data::Keypoints2d;
use cmanet::geometry::{Extrinsics, Intrinsics, axis_angle_to_matrix};
use cmanet::net::body_refinement::{BodyRefinementSettings, BodyRefiner, Priors, RefinedBody};
use cmanet::net::input::encode_view;
use cmanet::net::{MultiViewFrame, ViewObservation};
use nalgebra::{Matrix3, Vector3};

/// A pose with bent arms and legs and a turned head.
fn pose() -> [Matrix3<f64>; NUM_BODY_JOINTS] {
    let mut p = [Vector3::zeros(); NUM_BODY_JOINTS];
    p[0] = Vector3::new(-0.5, 0.0, 0.1); // left hip
    p[3] = Vector3::new(0.8, 0.0, 0.0); // left knee
    p[4] = Vector3::new(0.6, 0.0, 0.0); // right knee
    p[14] = Vector3::new(0.0, 0.4, 0.0); // head
    p[15] = Vector3::new(0.0, 0.0, -0.9); // left shoulder
    p[16] = Vector3::new(0.0, 0.3, 0.8); // right shoulder
    p[17] = Vector3::new(0.0, -1.2, 0.0); // left elbow
    p[18] = Vector3::new(0.0, 0.9, 0.0); // right elbow
    p.map(|r| axis_angle_to_matrix(&r))
}

fn betas() -> [f64; NUM_BETAS] {
    [0.5, -0.3, 0.2, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0]
}

/// The true body.
fn truth() -> RefinedBody {
    RefinedBody::new(pose(), betas())
}

fn intrinsics() -> Intrinsics {
    Intrinsics::from_horizontal_fov(1.0, 1280.0, 720.0)
}

/// `views` cameras around the body (canonical frame), 3 m away.
fn cameras(views: usize) -> Vec<Option<Extrinsics>> {
    (0..views)
        .map(|i| {
            let a = i as f64 * 2.4 + 0.3;
            let eye = Vector3::new(3.0 * a.sin(), 1.3 + 0.15 * i as f64, 3.0 * a.cos());
            Some(Extrinsics::look_at(&eye, &Vector3::new(0.0, 0.9, 0.0), &Vector3::y(), 0.0))
        })
        .collect()
}

/// The body's exact keypoints seen by `cameras`, and every view's person size.
fn frame(refiner: &BodyRefiner, cameras: &[Option<Extrinsics>]) -> (MultiViewFrame, Vec<f64>) {
    frame_of(refiner, &truth(), cameras)
}

/// `body`'s exact keypoints seen by `cameras`, and every view's person size.
fn frame_of(refiner: &BodyRefiner, body: &RefinedBody, cameras: &[Option<Extrinsics>]) -> (MultiViewFrame, Vec<f64>) {
    let keypoints = refiner.pose(body).keypoints;
    let k = intrinsics();
    let views: Vec<Option<ViewObservation>> = cameras
        .iter()
        .map(|e| {
            let e = e.unwrap();
            let observed: Keypoints2d = std::array::from_fn(|j| {
                let p = k.project(&e.to_camera(&keypoints[j])).unwrap();
                [p.x as f32, p.y as f32, 0.9]
            });
            Some(ViewObservation { keypoints: observed, intrinsics: k, extra: None })
        })
        .collect();
    let sizes = views.iter().map(|v| v.as_ref().and_then(encode_view).map_or(1.0, |e| e.1.size)).collect();
    (MultiViewFrame { views }, sizes)
}

/// Mean pixel distance between where the body's keypoints project and where the views saw them
/// (confident, finite keypoints of views with a camera).
fn reprojection_px(
    refiner: &BodyRefiner,
    body: &RefinedBody,
    cameras: &[Option<Extrinsics>],
    frame: &MultiViewFrame,
) -> f64 {
    let keypoints = refiner.pose(body).keypoints;
    let (mut sum, mut n) = (0.0, 0);
    for (camera, view) in cameras.iter().zip(&frame.views) {
        let (Some(e), Some(v)) = (camera, view) else { continue };
        for (p, o) in keypoints.iter().zip(&v.keypoints) {
            if o[2] > 0.05 && o.iter().all(|x| x.is_finite()) {
                let q = v.intrinsics.project(&e.to_camera(p)).unwrap();
                sum += (q - nalgebra::Vector2::new(o[0] as f64, o[1] as f64)).norm();
                n += 1;
            }
        }
    }
    sum / n as f64
}

/// Mean distance of the canonical keypoints from the true body's, metres.
fn keypoint_error(refiner: &BodyRefiner, body: &RefinedBody) -> f64 {
    let a = refiner.pose(body).keypoints;
    let b = refiner.pose(&truth()).keypoints;
    a.iter().zip(&b).map(|(p, q)| (p - q).norm()).sum::<f64>() / a.len() as f64
}

/// The true pose with every refined joint turned a little, and the betas shifted.
fn perturbed() -> RefinedBody {
    let (pose, betas) = perturbed_parts();
    RefinedBody::new(pose, betas)
}

fn perturbed_parts() -> ([Matrix3<f64>; NUM_BODY_JOINTS], [f64; NUM_BETAS]) {
    let mut p = pose();
    for (j, r) in p.iter_mut().enumerate() {
        let t = j as f64;
        let turn = Vector3::new(0.15 * (1.3 * t).sin(), 0.12 * (0.7 * t).cos(), 0.15 * (2.1 * t).sin());
        *r *= axis_angle_to_matrix(&turn);
    }
    let mut b = betas();
    b[0] += 0.4;
    b[1] -= 0.3;
    (p, b)
}

/// Every camera turned by about 3 degrees and moved by 5 cm.
fn nudged(cameras: &[Option<Extrinsics>]) -> Vec<Option<Extrinsics>> {
    cameras
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.map(|e| {
                let turn = axis_angle_to_matrix(&Vector3::new(0.03, -0.04 * (i as f64 - 1.0), 0.02));
                Extrinsics::new(turn * e.rotation, e.translation + Vector3::new(0.05, -0.03, 0.04))
            })
        })
        .collect()
}

fn refiner() -> BodyRefiner {
    BodyRefiner::new(&BodyModel::open_body().unwrap(), BodyRefinementSettings::default())
}

#[test]
fn poses_bodies_as_the_body_model_does() {
    let model = BodyModel::open_body().unwrap();
    let refiner = refiner();
    let (pose, betas) = perturbed_parts();
    let params = BodyParams {
        body_pose: std::array::from_fn(|j| cmanet::geometry::matrix_to_axis_angle(&pose[j]).cast::<f32>()),
        betas: betas.map(|b| b as f32),
        ..Default::default()
    };
    let expected = model.pose(&params, false).unwrap();
    let posed = refiner.pose(&RefinedBody::new(pose, betas));
    for (a, b) in posed.keypoints.iter().zip(&expected.keypoints) {
        assert!((a - b.cast::<f64>()).norm() < 1e-5, "keypoint {a} vs {b}");
    }
    for (a, b) in posed.joints.iter().zip(&expected.joints) {
        assert!((a - b.cast::<f64>()).norm() < 1e-5, "joint {a} vs {b}");
    }
    // The joints no keypoint depends on (pelvis, ankles, feet, wrists, hands) are not refined.
    let active = refiner.active_joints();
    assert!([3, 12, 15, 16, 18].iter().all(|j| active.contains(j)), "{active:?}");
    assert!([0, 7, 10, 20, 22].iter().all(|j| !active.contains(j)), "{active:?}");
}

#[test]
fn refinement_brings_a_perturbed_body_and_cameras_back_onto_the_keypoints() {
    let refiner = refiner();
    let truth = cameras(4);
    let (frame, sizes) = frame(&refiner, &truth);
    let mut body = perturbed();
    let mut cams = nudged(&truth);
    let before = reprojection_px(&refiner, &body, &cams, &frame);
    let error_before = keypoint_error(&refiner, &body);
    let report = refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    let after = reprojection_px(&refiner, &body, &cams, &frame);
    let error_after = keypoint_error(&refiner, &body);
    eprintln!("{report:?}: {before:.1} px -> {after:.1} px, {error_before:.4} m -> {error_after:.4} m");
    assert_eq!(report.views, 4);
    assert!(report.steps > 0 && report.cost_after < report.cost_before);
    assert!(after < 0.3 * before, "reprojection {before:.1} px -> {after:.1} px");
    assert!(error_after < 0.5 * error_before, "keypoints {error_before:.4} m -> {error_after:.4} m");
    // More steps (and no prior) get closer still.
    let settings = BodyRefinementSettings { steps: 10, start_steps: 10, prior_weight: 1e-3, ..Default::default() };
    let patient = BodyRefiner::new(&BodyModel::open_body().unwrap(), settings);
    let mut body = perturbed();
    let mut cams = nudged(&truth);
    patient.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    let close = reprojection_px(&refiner, &body, &cams, &frame);
    assert!(close < 0.5, "reprojection {close:.2} px after 10 steps per pass");
}

#[test]
fn a_body_that_already_reprojects_exactly_stays_where_it_is() {
    let refiner = refiner();
    let truth = cameras(3);
    let (frame, sizes) = frame(&refiner, &truth);
    let mut body = self::truth();
    let mut cams = truth.clone();
    refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    for (a, b) in body.pose.iter().zip(&self::pose()) {
        assert!((a - b).abs().max() < 1e-5, "{a} vs {b}");
    }
    assert!(body.betas.iter().zip(&self::betas()).all(|(a, b)| (a - b).abs() < 1e-4), "{:?}", body.betas);
    assert!(body.bones.iter().all(|b| b.norm() < 1e-5), "{:?}", body.bones);
    for (a, b) in cams.iter().zip(&truth) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!((a.rotation - b.rotation).abs().max() < 1e-6 && (a.translation - b.translation).norm() < 1e-5);
    }
    // The previous frame's body as a prior changes nothing either when it is the same body.
    let previous = self::truth();
    refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::after(&previous));
    assert!(body.pose.iter().zip(&self::pose()).all(|(a, b)| (a - b).abs().max() < 1e-5));
}

#[test]
fn missing_dark_and_nan_views_keep_their_cameras_and_the_rest_still_refines() {
    let refiner = refiner();
    let truth = cameras(5);
    let (mut frame, mut sizes) = frame(&refiner, &truth);
    frame.views[1] = None; // missing
    if let Some(v) = frame.views[2].as_mut() {
        v.keypoints = [[f32::NAN; 3]; 17]; // NaN everywhere
    }
    if let Some(v) = frame.views[3].as_mut() {
        v.keypoints.iter_mut().for_each(|k| k[2] = 0.0); // dark
    }
    sizes[2] = f64::NAN;
    // View 4 lost half its keypoints to occlusion and one went NaN.
    if let Some(v) = frame.views[4].as_mut() {
        v.keypoints.iter_mut().step_by(2).for_each(|k| k[2] = 0.0);
        v.keypoints[1] = [f32::NAN, 3.0, 0.9];
    }
    let mut body = perturbed();
    let mut cams = nudged(&truth);
    cams[3] = None;
    let start = cams.clone();
    let before = reprojection_px(&refiner, &body, &cams, &frame);
    let report = refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    let after = reprojection_px(&refiner, &body, &cams, &frame);
    assert_eq!(report.views, 2, "{report:?}");
    assert!(after < before, "{before:.1} px -> {after:.1} px");
    assert_eq!(cams[1], start[1]);
    assert_eq!(cams[2], start[2]);
    assert_eq!(cams[3], None);
    assert!(body.is_finite());
    assert!(cams.iter().flatten().all(|c| c.rotation.iter().chain(c.translation.iter()).all(|x| x.is_finite())));
}

#[test]
fn bad_input_leaves_the_estimate_as_it_is() {
    let refiner = refiner();
    let truth = cameras(2);
    let (frame, sizes) = frame(&refiner, &truth);
    let start = perturbed();
    let start_cams = nudged(&truth);
    // A NaN in the network's body, in its betas, in its bones, in the previous body or in a camera.
    let mut body = start;
    body.pose[3][(0, 0)] = f64::NAN;
    let mut cams = start_cams.clone();
    let report = refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    assert_eq!(report.steps, 0);
    assert_eq!(cams, start_cams);
    assert_eq!(body.betas, start.betas);
    let mut body = start;
    body.betas[2] = f64::INFINITY;
    refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    assert_eq!(body.pose, start.pose);
    let mut body = start;
    body.bones[18].x = f64::NAN;
    assert_eq!(refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default()).steps, 0);
    let mut body = start;
    let mut previous = start;
    previous.betas[0] = f64::NAN;
    assert_eq!(refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::after(&previous)).steps, 0);
    assert_eq!(body, start);
    let mut cams = start_cams.clone();
    if let Some(c) = cams[0].as_mut() {
        c.translation.x = f64::NAN;
    }
    let report = refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    assert_eq!(report.views, 1);
    assert!(cams[0].unwrap().translation.x.is_nan(), "a bad camera is left alone");
    assert!(body.is_finite());
    // No view at all, and every view without a camera.
    let mut body = start;
    let report = refiner.refine(&mut body, &mut [], &MultiViewFrame::default(), &[], &Priors::default());
    assert_eq!((report.views, report.steps), (0, 0));
    let report = refiner.refine(&mut body, &mut [None, None], &frame, &sizes, &Priors::default());
    assert_eq!((report.views, report.steps), (0, 0));
    assert_eq!(body, start);
}

/// The body's arms 4 cm longer above the elbow and its hips 2.5 cm wider on each side than the body
/// model makes them: a subject outside the betas' span.
fn long_armed(pose: [Matrix3<f64>; NUM_BODY_JOINTS]) -> RefinedBody {
    let mut body = RefinedBody::new(pose, betas());
    body.bones[18] = Vector3::new(0.04, 0.0, 0.0);
    body.bones[19] = Vector3::new(-0.04, 0.0, 0.0);
    body.bones[1] = Vector3::new(0.025, 0.0, 0.0);
    body.bones[2] = Vector3::new(-0.025, 0.0, 0.0);
    body
}

/// A varied pose for frame `t`.
fn pose_at(t: usize) -> [Matrix3<f64>; NUM_BODY_JOINTS] {
    let mut p = pose();
    let s = t as f64 * 0.37;
    p[15] = axis_angle_to_matrix(&Vector3::new(0.3 * s.sin(), 0.2, -0.9 + 0.5 * s.cos())); // left shoulder
    p[16] = axis_angle_to_matrix(&Vector3::new(0.2, 0.3 * s.cos(), 0.8 - 0.4 * s.sin())); // right shoulder
    p[17] = axis_angle_to_matrix(&Vector3::new(0.0, -1.2 + 0.5 * s.sin(), 0.0)); // left elbow
    p[0] = axis_angle_to_matrix(&Vector3::new(-0.5 + 0.3 * s.cos(), 0.0, 0.1)); // left hip
    p
}

#[test]
fn a_subject_outside_the_betas_is_learned_over_a_sequence() {
    let model = BodyModel::open_body().unwrap();
    // The prior on the limbs held as it is (`misfit_scale` infinite): weakened where the keypoints
    // miss (the default), it lets the limbs take up part of what the bones explain, with the bone
    // corrections and without them (last 10 frames 0.016 against 0.026 m at the default, 0.6x).
    let settings = BodyRefinementSettings {
        bone_prior_weight: 300.0,
        temporal_bone_weight: 300.0,
        misfit_scale: f64::INFINITY,
        ..Default::default()
    };
    let with_bones = BodyRefiner::new(&model, settings.clone());
    let without_bones =
        BodyRefiner::new(&model, BodyRefinementSettings { bone_prior_weight: f64::INFINITY, ..settings });
    let truth = cameras(4);
    let run = |refiner: &BodyRefiner| {
        let mut previous: Option<RefinedBody> = None;
        let mut errors = Vec::new();
        for t in 0..40 {
            let subject = long_armed(pose_at(t));
            let (frame, sizes) = frame_of(refiner, &subject, &truth);
            // The network's guess: the pose a little off, the body model's bones.
            let mut body = RefinedBody::new(pose_at(t), betas());
            body.pose[17] *= axis_angle_to_matrix(&Vector3::new(0.0, 0.1, 0.0));
            if let Some(p) = &previous {
                body.bones = p.bones;
                body.bone_evidence = p.bone_evidence;
            }
            let mut cams = nudged(&truth);
            refiner.refine(
                &mut body,
                &mut cams,
                &frame,
                &sizes,
                &Priors { previous: previous.as_ref(), ..Default::default() },
            );
            let (a, b) = (refiner.pose(&body).keypoints, refiner.pose(&subject).keypoints);
            errors.push(a.iter().zip(&b).map(|(p, q)| (p - q).norm()).sum::<f64>() / a.len() as f64);
            previous = Some(body);
        }
        let body = previous.unwrap();
        (errors[30..].iter().sum::<f64>() / 10.0, body)
    };
    let (error_with, body) = run(&with_bones);
    let (error_without, _) = run(&without_bones);
    eprintln!("last 10 frames: {error_with:.4} m with bone corrections, {error_without:.4} m without");
    // The network's pose error (the left elbow) stays, and the pose prior holds part of what the
    // bones would explain: the corrections head the right way, the keypoints come much closer.
    assert!(error_with < 0.6 * error_without, "{error_with:.4} m vs {error_without:.4} m");
    assert!(
        body.bones[18].x > 0.012 && body.bones[19].x < -0.012,
        "upper arms {:?} {:?}",
        body.bones[18],
        body.bones[19]
    );
    assert!(body.bones[1].x > 0.008 && body.bones[2].x < -0.008, "hips {:?} {:?}", body.bones[1], body.bones[2]);
    assert!(body.bone_evidence >= 40.0);
}

#[test]
fn a_detector_profile_is_explained_and_the_body_reported_as_its_own() {
    use cmanet::body::KeypointProfile;
    let mut profile = KeypointProfile { detector: "test".into(), ..KeypointProfile::none() };
    // Hips 3 cm higher and 2 cm narrower, ankles 3 cm up the shin, as a detector might put them.
    profile.offsets[11][0] = Vector3::new(-0.02, 0.03, 0.0);
    profile.offsets[12][0] = Vector3::new(0.02, 0.03, 0.0);
    profile.offsets[15][0] = Vector3::new(0.0, 0.03, 0.0);
    profile.offsets[16][0] = Vector3::new(0.0, 0.03, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.safetensors");
    profile.write(&path).unwrap();
    let read = KeypointProfile::read(&path).unwrap();
    assert!(read.offsets.iter().flatten().zip(profile.offsets.iter().flatten()).all(|(a, b)| (a - b).norm() < 1e-6));
    // Two steps, as every frame after a stream's first takes: more steps on this first frame let
    // the bone corrections take up part of the offsets with the profile and without it alike
    // (keypoint error 0.033 against 0.038 m at four, 0.020 against 0.030 at two). The limbs'
    // prior held as it is (`misfit_scale` infinite): weakened (the default) it lets the limbs take
    // up part of the offsets too (0.025 against 0.031 m).
    let two_steps = || {
        BodyRefiner::new(
            &BodyModel::open_body().unwrap(),
            BodyRefinementSettings { start_steps: 2, misfit_scale: f64::INFINITY, ..Default::default() },
        )
    };
    let mut with = two_steps();
    with.set_profile(&read);
    let truth = cameras(4);
    // The views see the body through the profile.
    let observed = with.observed_keypoints(&self::truth());
    let own = with.pose(&self::truth()).keypoints;
    assert!((observed[11] - own[11]).norm() > 0.03);
    let k = intrinsics();
    let views: Vec<Option<ViewObservation>> = truth
        .iter()
        .map(|e| {
            let e = e.unwrap();
            let keypoints: Keypoints2d = std::array::from_fn(|j| {
                let p = k.project(&e.to_camera(&observed[j])).unwrap();
                [p.x as f32, p.y as f32, 0.9]
            });
            Some(ViewObservation { keypoints, intrinsics: k, extra: None })
        })
        .collect();
    let sizes: Vec<f64> = views.iter().map(|v| v.as_ref().and_then(encode_view).map_or(1.0, |e| e.1.size)).collect();
    let frame = MultiViewFrame { views };
    let refine = |r: &BodyRefiner| {
        let mut body = perturbed();
        let mut cams = nudged(&truth);
        r.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
        let got = r.pose(&body).keypoints;
        got.iter().zip(&own).map(|(a, b)| (a - b).norm()).sum::<f64>() / got.len() as f64
    };
    let (error_with, error_without) = (refine(&with), refine(&two_steps()));
    eprintln!("keypoint error {error_with:.4} m with the profile, {error_without:.4} m without");
    assert!(error_with < 0.7 * error_without, "{error_with:.4} vs {error_without:.4}");
    // A file that is not a profile is refused with its name.
    let err = KeypointProfile::read(&dir.path().join("missing.safetensors")).unwrap_err().to_string();
    assert!(err.contains("missing.safetensors"), "{err}");
}

/// The true body with its ankles and wrists turned, the frame that sees its 17 keypoints and its
/// extras exactly, and the views' sizes.
fn feet_and_hands_case(
    refiner: &BodyRefiner,
    views: usize,
) -> (RefinedBody, Vec<Option<Extrinsics>>, MultiViewFrame, Vec<f64>) {
    let mut body = truth();
    // Left and right ankle (SMPL 7, 8), left and right wrist (20, 21): index - 1 in the body pose.
    for (joint, turn) in [
        (7, Vector3::new(0.45, 0.1, 0.0)),
        (8, Vector3::new(-0.3, 0.2, 0.1)),
        (20, Vector3::new(0.2, 0.0, 0.5)),
        (21, Vector3::new(-0.4, 0.3, 0.0)),
    ] {
        body.pose[joint - 1] = axis_angle_to_matrix(&turn);
    }
    let cameras = cameras(views);
    let (mut frame, sizes) = frame_of(refiner, &body, &cameras);
    let extras = refiner.extra_keypoints(&body).expect("the open body has extras");
    let k = intrinsics();
    for (view, camera) in frame.views.iter_mut().zip(&cameras) {
        let (Some(view), Some(e)) = (view.as_mut(), camera) else { continue };
        view.extra = Some(std::array::from_fn(|j| {
            let p = k.project(&e.to_camera(&extras[j])).unwrap();
            [p.x as f32, p.y as f32, 0.9]
        }));
    }
    (body, cameras, frame, sizes)
}

fn angle_deg(a: &Matrix3<f64>, b: &Matrix3<f64>) -> f64 {
    nalgebra::Rotation3::from_matrix_unchecked(a.transpose() * b).angle().to_degrees()
}

#[test]
fn ankles_and_wrists_turn_to_the_extra_keypoints() {
    let refiner = BodyRefiner::new(&BodyModel::open_body().unwrap(), BodyRefinementSettings::default());
    let (truth, cameras, frame, sizes) = feet_and_hands_case(&refiner, 4);
    // The network's body: right everywhere but the feet and hands, which hang at rest.
    let mut body = truth;
    for joint in [7, 8, 20, 21] {
        body.pose[joint - 1] = Matrix3::identity();
    }
    let before: Vec<f64> = [7, 8, 20, 21].iter().map(|j| angle_deg(&body.pose[j - 1], &truth.pose[j - 1])).collect();
    let turned = refiner.refine_extremities(&mut body, &cameras, &frame, &sizes, None);
    assert_eq!(turned, [true; 4]);
    for (i, joint) in [7, 8, 20, 21].iter().enumerate() {
        let after = angle_deg(&body.pose[joint - 1], &truth.pose[joint - 1]);
        // The prior towards the start (16 per squared radian) holds them back; the points bring them
        // at least a third of the way.
        assert!(after < 0.67 * before[i], "joint {joint}: {:.1} -> {after:.1} degrees", before[i]);
    }
    for j in (0..NUM_BODY_JOINTS).filter(|j| ![6, 7, 19, 20].contains(j)) {
        assert_eq!(body.pose[j], truth.pose[j], "joint {} moved", j + 1);
    }
    // With a weak prior they come all the way.
    let mut settings = BodyRefinementSettings::default();
    settings.extremities.prior_weight = 1e-3;
    let free = refiner.with_settings(settings);
    let mut body = truth;
    for joint in [7, 8, 20, 21] {
        body.pose[joint - 1] = Matrix3::identity();
    }
    free.refine_extremities(&mut body, &cameras, &frame, &sizes, None);
    for joint in [7, 8, 20, 21] {
        let after = angle_deg(&body.pose[joint - 1], &truth.pose[joint - 1]);
        assert!(after < 1.0, "joint {joint}: {after:.2} degrees with a weak prior");
    }
}

#[test]
fn feet_and_hands_stay_without_extras_and_survive_bad_ones() {
    let refiner = BodyRefiner::new(&BodyModel::open_body().unwrap(), BodyRefinementSettings::default());
    let (truth, cameras, mut frame, sizes) = feet_and_hands_case(&refiner, 3);
    let start = RefinedBody::new([Matrix3::identity(); NUM_BODY_JOINTS], truth.betas);
    // No extras, or switched off: nothing moves.
    let mut bare = frame.clone();
    for view in bare.views.iter_mut().flatten() {
        view.extra = None;
    }
    let mut body = start;
    assert_eq!(refiner.refine_extremities(&mut body, &cameras, &bare, &sizes, None), [false; 4]);
    assert_eq!(body, start);
    let mut settings = BodyRefinementSettings::default();
    settings.extremities.enabled = false;
    assert_eq!(
        refiner.with_settings(settings).refine_extremities(&mut body, &cameras, &frame, &sizes, None),
        [false; 4]
    );
    // NaN and out-of-range extras, a view without a camera, a dark view: no panic, nothing
    // non-finite, the feet still turned from what is left.
    if let Some(view) = frame.views[0].as_mut() {
        view.extra = Some([[f32::NAN, 1.0, 0.9]; 16]);
    }
    frame.views[1] = None;
    let mut cameras = cameras;
    cameras[2] = None;
    let mut body = start;
    refiner.refine_extremities(&mut body, &cameras, &frame, &[f64::NAN, 1.0, 1.0], None);
    assert!(body.is_finite());
}

/// Every name `BodyRefinementSettings::set` lists is one it sets, and it sets what it says.
#[test]
fn refinement_settings_are_set_by_their_names() {
    use cmanet::net::body_refinement::BodyRefinementSettings;
    for name in BodyRefinementSettings::NAMES {
        let mut settings = BodyRefinementSettings::default();
        let value = match name {
            "refine_cameras" | "extremities.enabled" | "symmetric_bones" | "jumps.enabled" => "false",
            "scales" => "0.2,0.1,0.05",
            _ => "7",
        };
        settings.set(name, value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_ne!(settings, BodyRefinementSettings::default(), "{name} changed nothing");
    }
    let mut settings = BodyRefinementSettings::default();
    settings.set("steps", "3").unwrap();
    settings.set("shape_prior_weight", "inf").unwrap();
    settings.set("extremities.scale", "0.08").unwrap();
    assert_eq!((settings.steps, settings.shape_prior_weight, settings.extremities.scale), (3, f64::INFINITY, 0.08));
    assert!(settings.set("scales", "0.1,0").is_err());
    assert!(settings.set("Steps", "3").is_err());
    // `NAME=VALUE`, as the command lines and CMANET_REST_POSE_REFINE take it.
    settings.apply(" misfit_scale = 0.1").unwrap();
    assert_eq!(settings.misfit_scale, 0.1);
    assert!(settings.apply("misfit_scale").is_err_and(|e| e.contains("NAME=VALUE")));
    assert!(settings.apply("misfit_scale=-1").is_err_and(|e| e.contains("misfit_scale")));
    let listed = BodyRefinementSettings::from_settings(["steps=3", "misfit_scale=0.1"]).unwrap();
    assert_eq!((listed.steps, listed.misfit_scale), (3, 0.1));
    assert!(BodyRefinementSettings::from_settings(["steps=3", "nope=1"]).is_err_and(|e| e.contains("nope")));
}

/// A network guess the keypoints contradict (the arms and legs turned three times as far as
/// [`perturbed`] turns them: a pose the network has not learned) is held by the prior towards it;
/// with `misfit_scale` (the default, 0.15) that prior weakens on the limbs and the refinement comes closer to the true
/// body, while a guess that fits stays where it is.
#[test]
fn a_guess_the_keypoints_contradict_is_held_less_with_a_misfit_scale() {
    let model = BodyModel::open_body().unwrap();
    let plain = BodyRefiner::new(
        &model,
        BodyRefinementSettings { misfit_scale: f64::INFINITY, ..BodyRefinementSettings::default() },
    );
    let adaptive = refiner();
    assert!(adaptive.settings.misfit_scale.is_finite(), "the default weakens the prior where the network misses");
    let truth = cameras(4);
    let (frame, sizes) = frame(&plain, &truth);
    let far_off = || {
        let mut p = pose();
        // SMPL's hips, knees, shoulders and elbows (body_pose rows: joint - 1).
        for j in [1usize, 2, 4, 5, 16, 17, 18, 19] {
            let t = j as f64;
            let turn = Vector3::new(0.45 * (1.3 * t).sin(), 0.36 * (0.7 * t).cos(), 0.45 * (2.1 * t).sin());
            p[j - 1] *= axis_angle_to_matrix(&turn);
        }
        RefinedBody::new(p, betas())
    };
    let mut errors = Vec::new();
    for refiner in [&plain, &adaptive] {
        let mut body = far_off();
        let mut cams = truth.clone();
        refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
        errors.push(keypoint_error(refiner, &body));
    }
    eprintln!("keypoint error: prior as it is {:.4} m, with a misfit scale {:.4} m", errors[0], errors[1]);
    assert!(errors[1] < 0.8 * errors[0], "{errors:?}");
    // A guess on the keypoints: nothing to weaken, nothing moves.
    let mut body = self::truth();
    let mut cams = truth.clone();
    adaptive.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
    assert!(body.pose.iter().zip(&self::pose()).all(|(a, b)| (a - b).abs().max() < 1e-5));
}

/// A symmetric subject whose learned bone corrections came out lopsided (the left hip forward and
/// the right one back: the pelvis turned, held by the bones) is filmed for 30 frames:
/// `symmetric_bones` (the default) brings what the stream learns back to mirror images of each
/// other, and the keypoints closer to the truth; without it the running mean holds the lopsided
/// start.
#[test]
fn lopsided_bone_corrections_are_pulled_towards_a_symmetric_subject() {
    let model = BodyModel::open_body().unwrap();
    let symmetric = refiner();
    assert!(symmetric.settings.symmetric_bones, "the default holds the bones symmetric");
    let free = BodyRefiner::new(&model, BodyRefinementSettings { symmetric_bones: false, ..Default::default() });
    let truth = cameras(4);
    let (frame, sizes) = frame(&symmetric, &truth);
    let mirror = Vector3::new(-1.0, 1.0, 1.0);
    let mut results = Vec::new();
    for refiner in [&free, &symmetric] {
        let mut learned = self::truth();
        learned.bones[1] = Vector3::new(0.0, 0.0, 0.03);
        learned.bones[2] = Vector3::new(0.0, 0.0, -0.03);
        learned.bone_evidence = 1.0;
        for _ in 0..30 {
            // The network's guess each frame: the true pose, with what the stream has learned.
            let mut body = self::truth();
            body.bones = learned.bones;
            body.bone_evidence = learned.bone_evidence;
            let mut cams = truth.clone();
            refiner.refine(&mut body, &mut cams, &frame, &sizes, &Priors::default());
            learned = body;
        }
        let asymmetry = (learned.bones[1] - learned.bones[2].component_mul(&mirror)).norm();
        results.push((asymmetry, keypoint_error(refiner, &learned)));
    }
    eprintln!("hips' asymmetry (m) and keypoint error (m): free {:?}, symmetric {:?}", results[0], results[1]);
    assert!(results[1].0 < 0.5 * results[0].0, "{results:?}");
    assert!(results[1].1 < results[0].1, "{results:?}");
}
