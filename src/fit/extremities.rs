//! The feet and hands of a fitted chunk turned to BlazePose's extra keypoints (heels, foot tips,
//! hand points): after the fit, each ankle and wrist is solved on its own through the fitted
//! cameras, as CMANet's body refinement does it ([`BodyRefiner::refine_extremities`]); turning
//! them moves none of the 17 keypoints the fit explained.

use nalgebra::{Matrix3, Vector3};

use crate::body::{BodyModel, NUM_BODY_JOINTS};
use crate::data::{Mv2d, Mv3dFrame};
use crate::geometry::{Extrinsics, axis_angle_to_matrix, matrix_to_axis_angle};
use crate::net::body_refinement::{BodyRefiner, RefinedBody};
use crate::net::{MultiViewFrame, extremity_joints};

/// Turns the ankles and wrists of `frames` (the fit of `data`'s frames from `start` on; `sizes`
/// gives frame `t`'s view `i`'s person size in normalised units) to the views' extra keypoints;
/// `previous` is the last turned body before them (the temporal prior), updated. Frames without
/// extras, or a body model without an extra regressor, are left as they are.
pub(super) fn turn_feet_and_hands(
    refiner: &BodyRefiner,
    model: &BodyModel,
    data: &Mv2d,
    start: usize,
    frames: &mut [Mv3dFrame],
    sizes: impl Fn(usize, usize) -> f64,
    previous: &mut Option<RefinedBody>,
) {
    if data.extra2d.is_none() {
        return;
    }
    for (offset, frame) in frames.iter_mut().enumerate() {
        let t = start + offset;
        let observed = MultiViewFrame::from_mv2d(data, t);
        let pose: [Matrix3<f64>; NUM_BODY_JOINTS] =
            std::array::from_fn(|j| axis_angle_to_matrix(&frame.params.body_pose[j].cast::<f64>()));
        let mut body = RefinedBody::new(pose, frame.params.betas.map(f64::from));
        if let Some(bones) = &frame.bones {
            body.bones = std::array::from_fn(|j| bones[j].cast::<f64>());
        }
        // The fit's cameras see the body placed in its world; the refinement's, the canonical body
        // (root unrotated at its rest place): world = G (p - J0) + J0 + transl.
        let global = axis_angle_to_matrix(&frame.params.global_orient.cast::<f64>());
        let pelvis = model.rest_joints(&frame.params.betas).first().copied().unwrap_or_default().cast::<f64>();
        let shift: Vector3<f64> = pelvis + frame.params.transl.cast::<f64>() - global * pelvis;
        let cameras: Vec<Option<Extrinsics>> = frame
            .extrinsics
            .iter()
            .map(|e| Some(Extrinsics::new(e.rotation * global, e.rotation * shift + e.translation)))
            .collect();
        let view_sizes: Vec<f64> = (0..cameras.len()).map(|i| sizes(t, i)).collect();
        let turned = refiner.refine_extremities(&mut body, &cameras, &observed, &view_sizes, previous.as_ref());
        for ((joint, _), turned) in extremity_joints().iter().zip(turned) {
            if turned {
                frame.params.body_pose[joint - 1] = matrix_to_axis_angle(&body.pose[joint - 1]).cast::<f32>();
            }
        }
        *previous = Some(body);
    }
}
