//! Turns a motion into SMPL parameters frame by frame: Euler angles clamped to the joint limits and
//! converted to axis-angle, the heading composed into the global orientation, the feet stood on the
//! floor (lowest heel or toe at height 0, plus the motion's flight height) and the motion's anchor
//! point put at its position on the floor.

use nalgebra::{Rotation3, Vector3};

use super::motion::{Motion, MotionFrame};
use crate::body::FootContacts;
use crate::body::limits::{euler_to_axis_angle, euler_to_matrix, joint_limit};
use crate::body::{BodyError, BodyModel, BodyParams, JointTransform, NUM_BETAS, NUM_JOINTS};

/// One animated frame in the world.
#[derive(Clone, Debug)]
pub struct AnimatedFrame {
    /// The SMPL parameters (world frame), within the joint limits.
    pub params: BodyParams,
    /// The 24 SMPL joints, world metres.
    pub joints: Vec<Vector3<f32>>,
    /// World rotation and position of every joint.
    pub joint_transforms: Vec<JointTransform>,
    /// The COCO-17 keypoints, world metres.
    pub keypoints: Vec<Vector3<f32>>,
    /// The 16 extra BlazePose keypoints (`cmanet::keypoints::EXTRA_NAMES`), world metres; empty
    /// when the body model has no extra regressor.
    pub extra_keypoints: Vec<Vector3<f32>>,
    /// Height of the lowest foot point above the floor: 0 on the ground, positive in flight.
    pub lift: f32,
}

/// The SMPL parameters of a motion frame for a body of shape `betas`, without translation: every
/// joint's Euler angles clamped to its limits, the pelvis tilt under the heading.
pub fn frame_params(frame: &MotionFrame, betas: &[f32; NUM_BETAS]) -> BodyParams {
    let mut params = BodyParams { betas: *betas, ..BodyParams::default() };
    for j in 1..NUM_JOINTS {
        let euler = frame.pose.euler[j];
        let euler = joint_limit(j).map_or(euler, |l| l.clamp(&euler));
        params.set_local_rotation(j, euler_to_axis_angle(&euler));
    }
    let heading = Rotation3::from_axis_angle(&Vector3::y_axis(), frame.heading).into_inner();
    let root = heading * euler_to_matrix(&frame.pose.euler[0]);
    params.global_orient = Rotation3::from_matrix_unchecked(root).scaled_axis();
    params
}

/// Animates `frames` frames of `motion` at `fps` for a body of shape `betas`.
pub fn animate(
    model: &BodyModel,
    betas: &[f32; NUM_BETAS],
    motion: &dyn Motion,
    frames: usize,
    fps: f32,
) -> Result<Vec<AnimatedFrame>, BodyError> {
    if !(fps.is_finite() && fps > 0.0) {
        return Err(BodyError::BadInput(format!("frame rate {fps} is not a positive number")));
    }
    let contacts = FootContacts::new(model, betas);
    (0..frames)
        .map(|i| {
            let frame = motion.frame(i as f32 / fps);
            let mut params = frame_params(&frame, betas);
            let posed = model.pose(&params, false)?;
            let feet = contacts.foot_centres(&posed.joint_transforms);
            let anchor =
                posed.joints[0] * frame.anchor.pelvis + feet[0] * frame.anchor.feet[0] + feet[1] * frame.anchor.feet[1];
            let lift = frame.lift.max(0.0);
            let transl = Vector3::new(
                frame.position[0] - anchor.x,
                lift - contacts.lowest(&posed.joint_transforms),
                frame.position[1] - anchor.z,
            );
            params.transl = transl;
            Ok(AnimatedFrame {
                params,
                joints: posed.joints.iter().map(|p| p + transl).collect(),
                joint_transforms: posed
                    .joint_transforms
                    .iter()
                    .map(|t| JointTransform { rotation: t.rotation, translation: t.translation + transl })
                    .collect(),
                keypoints: posed.keypoints.iter().map(|p| p + transl).collect(),
                extra_keypoints: posed.extra_keypoints.iter().map(|p| p + transl).collect(),
                lift,
            })
        })
        .collect()
}
