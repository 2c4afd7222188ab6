//! Gizmos: the estimated cameras as frusta (orange; their known places grey) and the 3D skeleton
//! of the shown pose, each toggled in [`CmanetSettings`]. They are drawn on their own render layer,
//! [`GIZMO_LAYER`], which every camera that is not a capture view is given, so the capture
//! cameras never film them.

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use nalgebra::{Vector2, Vector3};

use super::inference::CmanetBodyModel;
use super::messages::PoseEstimated;
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::PARENTS;

/// The render layer of the plugin's gizmos.
pub const GIZMO_LAYER: usize = 27;

/// The plugin's gizmo group (its config sets line width and render layers).
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct CmanetGizmos;

/// Puts the plugin's gizmos on [`GIZMO_LAYER`].
pub(crate) fn configure_gizmos(mut store: ResMut<GizmoConfigStore>) {
    let (config, _) = store.config_mut::<CmanetGizmos>();
    config.render_layers = RenderLayers::layer(GIZMO_LAYER);
    config.line.width = 2.5;
}

/// Lets every camera that is not a capture view see [`GIZMO_LAYER`] as well as its own layers.
#[allow(clippy::type_complexity)]
pub(crate) fn show_gizmos_to_viewers(
    mut commands: Commands,
    cameras: Query<(Entity, Option<&RenderLayers>), (With<Camera>, Without<super::CaptureView>)>,
) {
    for (entity, layers) in &cameras {
        if layers.is_none_or(|l| !l.intersects(&RenderLayers::layer(GIZMO_LAYER))) {
            let layers = layers.cloned().unwrap_or_default().with(GIZMO_LAYER);
            commands.entity(entity).try_insert(layers);
        }
    }
}

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
    mut gizmos: Gizmos<CmanetGizmos>,
    settings: Res<CmanetSettings>,
    latest: Res<LatestEstimate>,
    pose: Res<CmanetPose>,
    body: Option<Res<CmanetBodyModel>>,
) {
    if settings.show_cameras
        && let Some(estimate) = &latest.0
    {
        let estimated = Color::srgb(1.0, 0.75, 0.1);
        let known = Color::srgb(0.45, 0.45, 0.5);
        for view in &estimate.views {
            let Some(k) = view.intrinsics else { continue };
            let [w, h] = view.image_size.map(f64::from);
            for (camera, colour) in [(view.known_camera, known), (view.camera_in_world, estimated)] {
                let Some(camera) = camera else { continue };
                let to_vec3 = |p: Vector3<f64>| Vec3::new(p.x as f32, p.y as f32, p.z as f32);
                let corners: Vec<Vec3> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
                    .iter()
                    .map(|&(x, y)| to_vec3(camera.to_world(&k.back_project(&Vector2::new(x, y), FRUSTUM_DEPTH))))
                    .collect();
                let c = to_vec3(camera.center());
                for i in 0..4 {
                    gizmos.line(c, corners[i], colour);
                    gizmos.line(corners[i], corners[(i + 1) % 4], colour);
                }
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
