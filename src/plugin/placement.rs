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
