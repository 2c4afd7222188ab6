//! Gizmos: the estimated cameras as frusta and the 3D skeleton of the shown pose, each toggled
//! in [`CmanetSettings`].

use bevy::prelude::*;
use nalgebra::Vector2;

use super::inference::CmanetBodyModel;
use super::messages::PoseEstimated;
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::PARENTS;

/// The newest estimate (for drawing and panels).
#[derive(Resource, Clone, Debug, Default)]
pub struct LatestEstimate(pub Option<PoseEstimated>);

/// Keeps the newest [`PoseEstimated`].
pub(crate) fn keep_latest(mut estimates: MessageReader<PoseEstimated>, mut latest: ResMut<LatestEstimate>) {
    if let Some(estimate) = estimates.read().last() {
        latest.0 = Some(estimate.clone());
    }
}

/// Depth at which camera frusta are drawn, metres.
const FRUSTUM_DEPTH: f64 = 0.4;

/// Draws the estimated cameras and the skeleton.
pub(crate) fn draw_gizmos(
    mut gizmos: Gizmos,
    settings: Res<CmanetSettings>,
    latest: Res<LatestEstimate>,
    pose: Res<CmanetPose>,
    body: Option<Res<CmanetBodyModel>>,
) {
    if settings.show_cameras
        && let Some(estimate) = &latest.0
    {
        let colour = Color::srgb(1.0, 0.75, 0.1);
        for view in &estimate.views {
            let (Some(camera), Some(k)) = (view.camera_in_world, view.intrinsics) else { continue };
            let [w, h] = view.image_size.map(f64::from);
            let centre = camera.center();
            let corners: Vec<Vec3> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
                .iter()
                .map(|&(x, y)| {
                    let p = camera.to_world(&k.back_project(&Vector2::new(x, y), FRUSTUM_DEPTH));
                    Vec3::new(p.x as f32, p.y as f32, p.z as f32)
                })
                .collect();
            let c = Vec3::new(centre.x as f32, centre.y as f32, centre.z as f32);
            for i in 0..4 {
                gizmos.line(c, corners[i], colour);
                gizmos.line(corners[i], corners[(i + 1) % 4], colour);
            }
        }
    }
    if settings.show_skeleton
        && let (Some(params), Some(body)) = (pose.current(&settings), body)
        && let Ok(joints) = body.0.forward_kinematics(params)
    {
        let colour = Color::srgb(0.1, 0.8, 1.0);
        for (j, parent) in PARENTS.iter().enumerate() {
            let Some(p) = parent else { continue };
            let a = joints[j].translation;
            let b = joints[*p].translation;
            gizmos.line(Vec3::new(a.x, a.y, a.z), Vec3::new(b.x, b.y, b.z), colour);
        }
    }
}
