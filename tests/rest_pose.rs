//! A still rest (T) pose of the shipped avatar, rendered headless by three cameras around it (as a
//! user's first app does), is estimated facing the way it faces. Issue 20 found it turned 17-34
//! degrees in yaw. Renders with Mesa's software Vulkan (`.ci/run` installs it).
//!
//! The bar is the detections themselves: the calibrated, confidence-weighted DLT of the same
//! keypoints with the true cameras, its orientation fitted to the body model's rest keypoints
//! (rigid Procrustes). `cargo test --release --test rest_pose -- --nocapture` prints both per layout.

use bevy::prelude::*;
use cmanet::body::{BodyModel, BodyParams};
use cmanet::geometry::{projection_matrix, rigid_procrustes, triangulate_keypoints_plain};
use cmanet::prelude::*;
use nalgebra::{Matrix3, Rotation3, Vector3};

mod common;
use common::{Layout, film_the_rest_pose};

/// What the app heard.
#[derive(Resource, Default)]
struct Heard {
    poses: Vec<PoseEstimated>,
    warnings: Vec<String>,
}

/// The first `count` estimates every view took part in.
fn estimates(yaw: f32, places: Layout, count: usize) -> Vec<PoseEstimated> {
    let mut app = headless_render_app(AssetPlugin::default());
    // `CMANET_REST_POSE_REFINE="misfit_scale=0.1;steps=3"` tries body refinement settings
    // (`NAME=VALUE`, separated by `;`) without a build.
    let mut plugin = CmanetPlugin::default();
    let settings = std::env::var("CMANET_REST_POSE_REFINE").unwrap_or_default();
    plugin.models.refinement = cmanet::net::body_refinement::BodyRefinementSettings::from_settings(
        settings.split(';').filter(|s| !s.trim().is_empty()),
    )
    .unwrap_or_else(|e| panic!("CMANET_REST_POSE_REFINE: {e}"));
    app.add_plugins(plugin)
        .init_resource::<Heard>()
        .add_observer(|w: On<CmanetWarning>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_observer(|w: On<ViewFailed>, mut heard: ResMut<Heard>| heard.warnings.push(w.event().to_string()))
        .add_systems(Startup, film_the_rest_pose(yaw, places))
        .add_systems(Last, |mut m: MessageReader<PoseEstimated>, mut heard: ResMut<Heard>| {
            heard.poses.extend(m.read().filter(|p| p.views.iter().all(|v| v.keypoints2d.is_some())).cloned())
        });
    app.finish();
    app.cleanup();
    for _ in 0..2000 {
        app.update();
        let heard = app.world().resource::<Heard>();
        assert!(heard.warnings.is_empty(), "{:?}", heard.warnings);
        if heard.poses.len() >= count {
            break;
        }
    }
    let poses = &app.world().resource::<Heard>().poses;
    assert!(poses.len() >= count, "only {} estimates seen by all three views", poses.len());
    poses[..count].to_vec()
}

/// Degrees between two rotations.
fn degrees_between(a: &Matrix3<f64>, b: &Matrix3<f64>) -> f64 {
    cmanet::geometry::rotation_angle_between(a, b).to_degrees()
}

/// The body's orientation by the calibrated DLT of the estimate's own detections (true cameras),
/// the rest pose's keypoints fitted to it.
fn triangulated_orientation(pose: &PoseEstimated, rest: &[Vector3<f64>]) -> Option<Matrix3<f64>> {
    let points = triangulated_keypoints(pose)?;
    let (source, target): (Vec<_>, Vec<_>) = rest.iter().zip(points).filter_map(|(r, p)| Some((*r, p?))).unzip();
    Some(rigid_procrustes(&source, &target, None)?.rotation)
}

/// The calibrated, confidence-weighted DLT of an estimate's detections with the true cameras
/// (keypoints under 0.3 left out); `None` when a view lacks its camera or its detections.
fn triangulated_keypoints(pose: &PoseEstimated) -> Option<[Option<Vector3<f64>>; 17]> {
    let projections: Vec<_> =
        pose.views.iter().map(|v| Some(projection_matrix(&v.intrinsics?, &v.known_camera?))).collect::<Option<_>>()?;
    let keypoints: Vec<_> = pose.views.iter().map(|v| v.keypoints2d).collect::<Option<_>>()?;
    Some(triangulate_keypoints_plain(&projections, &keypoints, 0.3))
}

/// An angle in radians as degrees in (-180, 180].
fn wrapped_degrees(radians: f64) -> f64 {
    let pi = std::f64::consts::PI;
    ((radians + pi).rem_euclid(2.0 * pi) - pi).to_degrees()
}

/// Median of a few numbers.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Filmed from three layouts (around at different heights, a ring at one height, one camera low
/// in front) and four headings, a T-pose's body is estimated facing its way: the orientation of
/// its estimated keypoints within 5 degrees (median over the twelve) and never more than 5 degrees
/// worse than the calibrated triangulation of its own detections. The pelvis alone (the avatar's
/// root, `global_orient`) is less sure: the hips' line is 20 cm long and BlazePose places the hips
/// loosely. With BlazePose full (the default since 2026-12-07) and four refinement steps on the
/// first estimate its median is 9.5 degrees here, the worst case 15.3 (issue 20 asks for 5; not
/// met); the body's median 2.5. Since the prior weakens on the limbs where the network misses
/// (`misfit_scale` 0.15, the default since): 9.6, the worst case 17.8 (its heading 17.6), the body
/// 2.4; since the learned bones are symmetric (`symmetric_bones`): 9.7, the worst case 16.1 (its
/// heading 15.6), the body 2.6. Split, the pelvis's heading is 3.6 degrees off at the median (4.0 since) and
/// its up axis leans up to 9 (a forward tilt of the pelvis turns about the hips' own line, which
/// keypoints barely see). It is held to 25 degrees in every case, under the 34 the issue found.
/// (With lite, the default before: pelvis 10.6-11.1, body 2.7.) In the third layout at heading 1
/// rad the estimate puts the first view's camera on the wrong side and the live left/right repair
/// then exchanges that view's labels, so its "calibrated DLT of the detections" (of the labels the
/// estimate used) is 128 degrees off; the body is placed by the two views that agree
/// (`placement::body_in_world`): 2.8-6.1 degrees. Once the stream has settled
/// (`CMANET_REST_POSE_SETTLE=30`: estimates 30 to 34) that case is 14.7 degrees off and this test
/// fails there (not fixed: the view's camera stays on the wrong side and the others follow it).
/// `CMANET_REST_POSE_JOINTS=1` also prints each case's pelvis, the joints that carry its tilt and the hips' line;
/// `CMANET_REST_POSE_REFINE` sets the body refinement (see `estimates`).
#[test]
fn a_still_t_pose_filmed_by_three_cameras_is_estimated_facing_its_way() {
    let model = BodyModel::open_body().unwrap();
    let posed = model.pose(&BodyParams::default(), false).unwrap();
    let rest: Vec<Vector3<f64>> = posed.keypoints.iter().take(17).map(|p| p.cast::<f64>()).collect();
    let layouts: [Layout; 3] = [
        [(0.4, 3.0, 1.0), (2.5, 3.5, 1.6), (4.4, 2.8, 2.2)],
        [(0.3, 3.2, 1.2), (2.394, 3.2, 1.5), (4.489, 3.2, 1.8)],
        [(0.0, 3.0, 1.5), (2.094, 3.0, 1.5), (4.189, 3.0, 1.5)],
    ];
    // Estimates to let pass first (the stream learns its rig and subject): 0 by default,
    // `CMANET_REST_POSE_SETTLE=30` measures a settled stream.
    let settle: usize = std::env::var("CMANET_REST_POSE_SETTLE").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let (mut bodies, mut pelvises, mut yaws) = (Vec::new(), Vec::new(), Vec::new());
    for (l, places) in layouts.into_iter().enumerate() {
        for yaw in [0.0f32, 1.0, 2.2, 4.0] {
            let truth = Rotation3::from_axis_angle(&Vector3::y_axis(), yaw as f64).into_inner();
            let poses = estimates(yaw, places, settle + 5)[settle..].to_vec();
            let pelvis = median(
                poses
                    .iter()
                    .map(|p| degrees_between(&Rotation3::new(p.params.global_orient.cast()).into_inner(), &truth))
                    .collect(),
            );
            // The pelvis's error split: its heading (yaw) and how far its up axis leans (tilt).
            let pelvis_yaw = median(
                poses
                    .iter()
                    .map(|p| {
                        let forward = Rotation3::new(p.params.global_orient.cast::<f64>()) * Vector3::z();
                        wrapped_degrees(forward.x.atan2(forward.z) - yaw as f64).abs()
                    })
                    .collect(),
            );
            let pelvis_tilt = median(
                poses
                    .iter()
                    .map(|p| {
                        let up = Rotation3::new(p.params.global_orient.cast::<f64>()) * Vector3::y();
                        up.angle(&Vector3::y()).to_degrees()
                    })
                    .collect(),
            );
            let body = median(
                poses
                    .iter()
                    .filter_map(|p| {
                        let target: Vec<Vector3<f64>> = p.keypoints.iter().map(|k| Vector3::from(*k).cast()).collect();
                        rigid_procrustes(&rest, &target, None)
                    })
                    .map(|s| degrees_between(&s.rotation, &truth))
                    .collect(),
            );
            let triangulated = median(
                poses
                    .iter()
                    .filter_map(|p| triangulated_orientation(p, &rest))
                    .map(|r| degrees_between(&r, &truth))
                    .collect(),
            );
            if std::env::var("CMANET_REST_POSE_JOINTS").is_ok() {
                // The last estimate's pelvis and the joints that carry its tilt (axis-angle, degrees).
                let p = &poses[poses.len() - 1];
                let degrees = |v: Vector3<f32>| v.map(|x| x.to_degrees().round());
                let joint = |j: usize| degrees(p.params.body_pose[j - 1]);
                // The hips' line of the calibrated DLT of the detections and of the estimate's own
                // keypoints: how far each turns from the truth's (heading, degrees).
                let dlt_hips = triangulated_keypoints(p).and_then(|points| {
                    let d = points[11]? - points[12]?;
                    Some(wrapped_degrees(d.z.atan2(d.x) + yaw as f64))
                });
                let own: Vec<Vector3<f64>> = p.keypoints.iter().map(|k| Vector3::from(*k).cast()).collect();
                let body_turn =
                    rigid_procrustes(&rest, &own, None).map(|s| s.rotation.transpose() * (own[11] - own[12]));
                println!(
                    "  hips' line heading: DLT of the detections {dlt_hips:.1?} deg (world), estimate in the body's \
                     own frame {:.1?} deg",
                    body_turn.map(|d| d.z.atan2(d.x).to_degrees())
                );
                println!(
                    "  pelvis {:?}, hips {:?} {:?}, spine {:?} {:?} {:?}, knees {:?} {:?}",
                    degrees(p.params.global_orient).as_slice(),
                    joint(1).as_slice(),
                    joint(2).as_slice(),
                    joint(3).as_slice(),
                    joint(6).as_slice(),
                    joint(9).as_slice(),
                    joint(4).as_slice(),
                    joint(5).as_slice()
                );
            }
            println!(
                "layout {l}, heading {yaw:.1} rad: body {body:.1} deg off, pelvis {pelvis:.1} (yaw {pelvis_yaw:.1}, \
                 tilt {pelvis_tilt:.1}); calibrated DLT of the detections {triangulated:.1}"
            );
            assert!(body <= triangulated + 5.0, "layout {l}, heading {yaw}: body {body:.1} vs DLT {triangulated:.1}");
            // The DLT is of the labels the estimate used, so it is no bar where the estimate held a
            // view's camera on the wrong side (the third layout at 1 rad, above): 10 degrees holds
            // every case.
            assert!(body <= 10.0, "layout {l}, heading {yaw}: body {body:.1} degrees off");
            assert!(pelvis <= 25.0, "layout {l}, heading {yaw}: pelvis {pelvis:.1} degrees off");
            bodies.push(body);
            pelvises.push(pelvis);
            yaws.push(pelvis_yaw);
        }
    }
    let (body, pelvis, pelvis_yaw) = (median(bodies.clone()), median(pelvises.clone()), median(yaws));
    println!("median over the twelve: body {body:.1} deg, pelvis {pelvis:.1} deg (yaw {pelvis_yaw:.1})");
    assert!(body <= 5.0, "body median {body:.1} degrees off: {bodies:.1?}");
}
