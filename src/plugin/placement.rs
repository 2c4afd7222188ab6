//! Where the estimated body stands in the world. CMANet gives every view's camera relative to the
//! body; a view whose place in the world is known (a Bevy camera's transform, a calibration, or a
//! place held by `CmanetSettings::hold_rig`) therefore also gives the body's place in the world.
//! With several such views the body's place is their confidence-weighted mean, so the order of
//! the views does not matter. Plain nalgebra; no Bevy types.

use nalgebra::{Matrix3, UnitQuaternion, Vector3};

use crate::body::BodyParams;
use crate::geometry::{Extrinsics, matrix_to_axis_angle};

/// One view's evidence for the body's place: the body-to-camera transform CMANet estimated, the
/// camera's known world-to-camera transform, and a weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlacedView {
    /// The estimated body (canonical frame) to camera transform.
    pub body_to_camera: Extrinsics,
    /// The camera's known world to camera transform.
    pub world_to_camera: Extrinsics,
    /// How much to trust this view (its keypoint confidence). Must be positive to count.
    pub weight: f64,
}

/// The body (canonical frame) to world transform implied by the views: the weighted mean of every
/// view's `world_to_camera⁻¹ ∘ body_to_camera` (rotations averaged as quaternions). `None` when
/// no view has a positive weight and finite numbers.
pub fn body_in_world(views: &[PlacedView]) -> Option<Extrinsics> {
    let mut rotations: Vec<(UnitQuaternion<f64>, f64)> = Vec::new();
    let mut translation = Vector3::zeros();
    let mut total = 0.0;
    for view in views {
        let placed = view.world_to_camera.inverse().compose(&view.body_to_camera);
        let finite = placed.rotation.iter().chain(placed.translation.iter()).all(|x| x.is_finite());
        if view.weight.is_nan() || view.weight <= 0.0 || !finite {
            continue;
        }
        rotations.push((UnitQuaternion::from_matrix(&placed.rotation), view.weight));
        translation += placed.translation * view.weight;
        total += view.weight;
    }
    let first = rotations.first()?.0;
    // Sign-align to the first (q and -q are the same rotation), then normalise the weighted sum.
    let sum = rotations.iter().fold(nalgebra::Vector4::zeros(), |acc, (q, w)| {
        let v = q.as_vector();
        acc + if v.dot(first.as_vector()) < 0.0 { -v } else { *v } * *w
    });
    let mean = UnitQuaternion::from_quaternion(nalgebra::Quaternion::from_vector(sum));
    Some(Extrinsics::new(mean.to_rotation_matrix().into_inner(), translation / total))
}

/// The SMPL parameters of the shared body (`body_pose`, `betas`; canonical frame) placed in the
/// world by `body_to_world`. The canonical frame is the body model's own frame (root unrotated,
/// pelvis at its rest joint `pelvis_rest`); SMPL rotates about the pelvis, so
/// `transl = R · pelvis_rest + t − pelvis_rest`.
pub fn params_in_world(canonical: &BodyParams, body_to_world: &Extrinsics, pelvis_rest: &Vector3<f32>) -> BodyParams {
    let r: Matrix3<f64> = body_to_world.rotation;
    let j0 = pelvis_rest.cast::<f64>();
    let mut out = canonical.clone();
    out.global_orient = matrix_to_axis_angle(&r).cast::<f32>();
    out.transl = (r * j0 + body_to_world.translation - j0).cast::<f32>();
    out
}

/// One view's 2D evidence for the body's position: where the camera is, its intrinsics, and the
/// keypoints it saw (pixels and confidence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObservedView {
    /// The camera's known world to camera transform.
    pub world_to_camera: Extrinsics,
    /// The camera's intrinsics.
    pub intrinsics: crate::geometry::Intrinsics,
    /// The detected keypoints: pixel x, pixel y, confidence.
    pub keypoints: crate::data::Keypoints2d,
}

/// The body's world translation `t` (body to world: `X_w = R X_b + t`) that best explains the
/// views' keypoints, given the body's rotation `rotation` and its canonical keypoints: every seen
/// keypoint must lie on its viewing ray, two linear equations each
/// (`[x]_× (R_c (R X + t) + t_c) = 0` with `x` the normalised image point), solved by weighted
/// least squares, then once more with the points that reproject badly down-weighted (Huber).
/// `None` when the views do not pin the position down (fewer than two seen keypoints or a
/// degenerate system).
pub fn body_translation_from_rays(
    rotation: &Matrix3<f64>,
    keypoints: &crate::data::Keypoints3d,
    views: &[ObservedView],
) -> Option<Vector3<f64>> {
    use crate::data::format::MIN_CONFIDENCE;
    use nalgebra::{Matrix3x1, Vector2};
    // Rows (a, b): a · t = b.
    let mut rows: Vec<(Vector3<f64>, f64, f64, usize)> = Vec::new(); // a, b, confidence, observation
    let mut observations: Vec<(Extrinsics, Vector2<f64>, Vector3<f64>)> = Vec::new();
    for view in views {
        let rc = view.world_to_camera.rotation;
        for (k, kp) in view.keypoints.iter().enumerate() {
            let confidence = kp[2] as f64;
            if confidence.is_nan() || confidence < MIN_CONFIDENCE as f64 || !kp[0].is_finite() || !kp[1].is_finite() {
                continue;
            }
            let x = view.intrinsics.normalize(&Vector2::new(kp[0] as f64, kp[1] as f64));
            let point = rotation * Vector3::from(keypoints[k]).cast::<f64>();
            // Camera-frame point: q = Rc t + (Rc p + tc). Equations: q.x - x q.z = 0, q.y - y q.z = 0.
            let offset = rc * point + view.world_to_camera.translation;
            for (row, coordinate) in [(0usize, x.x), (1usize, x.y)] {
                let a: Matrix3x1<f64> = (rc.row(row) - rc.row(2) * coordinate).transpose();
                let b = -(offset[row] - coordinate * offset.z);
                rows.push((a, b, confidence, observations.len()));
            }
            observations.push((view.world_to_camera, x, point));
        }
    }
    if observations.len() < 2 {
        return None;
    }
    let solve = |weights: &dyn Fn(usize) -> f64| -> Option<Vector3<f64>> {
        let mut ata = Matrix3::zeros();
        let mut atb = Vector3::zeros();
        for (a, b, c, o) in &rows {
            let w = c * weights(*o);
            ata += a * a.transpose() * w;
            atb += a * *b * w;
        }
        let t = ata.try_inverse()? * atb;
        t.iter().all(|v| v.is_finite()).then_some(t)
    };
    let first = solve(&|_| 1.0)?;
    // Huber weights on the reprojection error (normalised image units).
    const HUBER: f64 = 0.02;
    let residual = |o: usize| {
        let (camera, x, point) = &observations[o];
        let q = camera.rotation * (point + first) + camera.translation;
        if q.z <= 1e-3 { f64::INFINITY } else { (Vector2::new(q.x / q.z, q.y / q.z) - x).norm() }
    };
    let residuals: Vec<f64> = (0..observations.len()).map(residual).collect();
    solve(&|o| if residuals[o] <= HUBER { 1.0 } else { HUBER / residuals[o] }).or(Some(first))
}
