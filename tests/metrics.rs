//! The metrics on hand-made cases whose answers are known.

use cmanet::data::Keypoints3d;
use cmanet::eval::KeypointSet;
use cmanet::eval::metrics::{median, mpjpe, n_mpjpe, pa_mpjpe, relative_rotation_errors};
use cmanet::geometry::{Extrinsics, axis_angle_to_matrix};
use nalgebra::Vector3;

fn skeleton() -> Keypoints3d {
    std::array::from_fn(|k| {
        let k = k as f32;
        [0.1 * (k * 1.7).sin(), 1.0 + 0.05 * k - 0.3 * (k * 0.9).cos(), 0.2 * (k * 0.5).cos()]
    })
}

fn map(k: &Keypoints3d, f: impl Fn(Vector3<f32>) -> Vector3<f32>) -> Keypoints3d {
    std::array::from_fn(|i| {
        let p = f(Vector3::from(k[i]));
        [p.x, p.y, p.z]
    })
}

#[test]
fn mpjpe_ignores_translation_but_not_scale_or_rotation() {
    let truth = skeleton();
    let moved = map(&truth, |p| p + Vector3::new(1.0, -2.0, 3.0));
    assert!(mpjpe(&moved, &truth, KeypointSet::All) < 1e-6);
    // Every keypoint but the hips moved 3 cm along x: the roots (hip midpoints) stay, so MPJPE over
    // the 17 keypoints is 15/17 * 3 cm.
    let mut shifted = truth;
    for (k, p) in shifted.iter_mut().enumerate() {
        if k != 11 && k != 12 {
            p[0] += 0.03;
        }
    }
    let e = mpjpe(&shifted, &truth, KeypointSet::All);
    assert!((e - 0.03 * 15.0 / 17.0).abs() < 1e-6, "{e}");
    // Limbs: 10 of the 12 moved.
    let e = mpjpe(&shifted, &truth, KeypointSet::Limbs);
    assert!((e - 0.03 * 10.0 / 12.0).abs() < 1e-6, "{e}");
    // Scaled about the root: MPJPE sees it, N-MPJPE does not.
    let root = (Vector3::from(truth[11]) + Vector3::from(truth[12])) * 0.5;
    let scaled = map(&truth, |p| root + (p - root) * 1.2);
    assert!(mpjpe(&scaled, &truth, KeypointSet::All) > 0.01);
    assert!(n_mpjpe(&scaled, &truth, KeypointSet::All) < 1e-6);
    // Rotated: MPJPE and N-MPJPE see it, PA-MPJPE does not.
    let r = axis_angle_to_matrix(&Vector3::new(0.2, 1.0, -0.3));
    let rotated = map(&truth, |p| r * p * 0.8 + Vector3::new(0.5, 0.0, 0.0));
    assert!(n_mpjpe(&rotated, &truth, KeypointSet::All) > 0.01);
    assert!(pa_mpjpe(&rotated, &truth, KeypointSet::All) < 1e-5);
    assert!(pa_mpjpe(&rotated, &truth, KeypointSet::Limbs) < 1e-5);
}

#[test]
fn camera_error_is_the_angle_of_the_relative_rotation() {
    let cam = |aa: [f64; 3]| Extrinsics::new(axis_angle_to_matrix(&Vector3::from(aa)), Vector3::zeros());
    let truth = [cam([0.0, 0.0, 0.0]), cam([0.0, 1.0, 0.0]), cam([0.3, 0.0, 0.2])];
    // The same rig turned as a whole has no relative error.
    let g = axis_angle_to_matrix(&Vector3::new(0.4, -0.2, 1.1));
    let turned: Vec<Extrinsics> = truth.iter().map(|e| Extrinsics::new(e.rotation * g, e.translation)).collect();
    assert!(relative_rotation_errors(&turned, &truth).iter().all(|&e| e < 1e-6));
    // Camera 1 off by 10 degrees about its y axis: pairs (0,1) and (1,2) are 10 degrees off.
    let mut off = truth;
    off[1] = cam([0.0, 1.0 + 10f64.to_radians(), 0.0]);
    let errors = relative_rotation_errors(&off, &truth);
    assert_eq!(errors.len(), 3);
    assert!((errors[0] - 10.0).abs() < 1e-6 && errors[1] < 1e-6 && (errors[2] - 10.0).abs() < 1e-6, "{errors:?}");
    assert!((median(&errors) - 10.0).abs() < 1e-9);
}
