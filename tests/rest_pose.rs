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

/// The estimate's pelvis (its `global_orient`) as a rotation.
fn pelvis_rotation(pose: &PoseEstimated) -> Matrix3<f64> {
    Rotation3::new(pose.params.global_orient.cast::<f64>()).into_inner()
}

/// The estimate's 17 keypoints (world), in f64.
fn estimated_keypoints(pose: &PoseEstimated) -> Vec<Vector3<f64>> {
    pose.keypoints.iter().map(|k| Vector3::from(*k).cast()).collect()
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
/// in front) and four headings, a T-pose's body is estimated facing its way, in the stream's first
/// five estimates and again once it has settled (estimates 30 to 34, when it has learned its rig
/// and subject): the orientation of its estimated keypoints within 5 degrees (median over the
/// twelve) and never more than 5 degrees worse than the calibrated triangulation of its own
/// detections, nor more than 10 degrees off. Since the cameras are also aligned with the feet's
/// extra keypoints (2026-12-07, latest; `Pipeline::WithoutFeetInCameras` is the before) the body's
/// median is 2.2 degrees first and 2.0 settled, the worst case 8.3 and 8.4. Before, the settled
/// stream failed: a T-pose's 17 keypoints are nearly planar, and a camera turned the other way
/// about the body's vertical axis sees them alike, so in the second layout at heading 1 rad the
/// third view's camera went 35-50 degrees off at the fifth estimate and stayed there (the body
/// 17.1 degrees off settled); the feet, which point forward, tell the two apart.
///
/// The pelvis (the avatar's root, `global_orient`) faces the body's way too: its heading (the yaw
/// the issue found 17-34 degrees off) is asserted within 5 degrees at the median, first and
/// settled (2.8 and 3.8 since the jump gate, 2026-12-08; 4.5 first before the feet). Its forward
/// tilt is less sure: a tilt of the pelvis turns about the hips' own line, which keypoints barely
/// see, and the network answers a still T-pose with the everyday motions' tilt (plugin-docs,
/// model card, "The pelvis"), so the pelvis as a whole is 8.9 degrees off at the median (mostly
/// that tilt) and is held to 25 degrees in every case. In the third layout at heading 1 rad the
/// "calibrated DLT of the detections" (of the labels the estimate used, after the live left/right
/// repair) is 19-23 degrees off: the DLT is no bar there, and the body is placed by the views that
/// agree (`placement::body_in_world`); that case's first pelvis heading is the worst, 14.6 degrees
/// (6.1 without the jump gate, `CMANET_REST_POSE_REFINE=jumps.enabled=false`; settled 3.8 and 4.8).
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
    // Two windows of five estimates: the stream's first (it has learned nothing yet) and, once it has
    // settled (learned its rig and subject), estimates 30 to 34.
    let windows: [(&str, usize); 2] = [("first", 0), ("settled", 30)];
    let (mut bodies, mut pelvises, mut yaws) = (Vec::new(), Vec::new(), Vec::new());
    let (mut settled_bodies, mut settled_yaws) = (Vec::new(), Vec::new());
    for (l, places) in layouts.into_iter().enumerate() {
        for yaw in [0.0f32, 1.0, 2.2, 4.0] {
            let truth = Rotation3::from_axis_angle(&Vector3::y_axis(), yaw as f64).into_inner();
            let stream = estimates(yaw, places, 35);
            for (window, start) in windows {
                let poses = stream[start..start + 5].to_vec();
                // The median over the window of what `f` measures in each estimate that has it.
                let median_of =
                    |f: &dyn Fn(&PoseEstimated) -> Option<f64>| median(poses.iter().filter_map(f).collect());
                let pelvis = median_of(&|p| Some(degrees_between(&pelvis_rotation(p), &truth)));
                // The pelvis's error split: its heading (yaw) and how far its up axis leans (tilt).
                let pelvis_yaw = median_of(&|p| {
                    let forward = pelvis_rotation(p) * Vector3::z();
                    Some(wrapped_degrees(forward.x.atan2(forward.z) - yaw as f64).abs())
                });
                let pelvis_tilt =
                    median_of(&|p| Some((pelvis_rotation(p) * Vector3::y()).angle(&Vector3::y()).to_degrees()));
                let body = median_of(&|p| {
                    rigid_procrustes(&rest, &estimated_keypoints(p), None).map(|s| degrees_between(&s.rotation, &truth))
                });
                let triangulated =
                    median_of(&|p| triangulated_orientation(p, &rest).map(|r| degrees_between(&r, &truth)));
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
                    let own = estimated_keypoints(p);
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
                    "layout {l}, heading {yaw:.1} rad, {window}: body {body:.1} deg off, pelvis {pelvis:.1} (yaw \
                 {pelvis_yaw:.1}, tilt {pelvis_tilt:.1}); calibrated DLT of the detections {triangulated:.1}"
                );
                assert!(
                    body <= triangulated + 5.0,
                    "layout {l}, heading {yaw}, {window}: body {body:.1} vs DLT {triangulated:.1}"
                );
                // The DLT is of the labels the estimate used, so it is no bar where the estimate held a
                // view's camera on the wrong side (the third layout at 1 rad, above): 10 degrees holds
                // every case.
                assert!(body <= 10.0, "layout {l}, heading {yaw}, {window}: body {body:.1} degrees off");
                assert!(pelvis <= 25.0, "layout {l}, heading {yaw}, {window}: pelvis {pelvis:.1} degrees off");
                if start == 0 {
                    bodies.push(body);
                    pelvises.push(pelvis);
                    yaws.push(pelvis_yaw);
                } else {
                    settled_bodies.push(body);
                    settled_yaws.push(pelvis_yaw);
                }
            }
        }
    }
    let (body, pelvis, pelvis_yaw) = (median(bodies.clone()), median(pelvises.clone()), median(yaws.clone()));
    let (settled, settled_yaw) = (median(settled_bodies.clone()), median(settled_yaws.clone()));
    println!(
        "median over the twelve: body {body:.1} deg, pelvis {pelvis:.1} deg (yaw {pelvis_yaw:.1}); settled: body \
         {settled:.1} deg (pelvis yaw {settled_yaw:.1})"
    );
    assert!(body <= 5.0, "body median {body:.1} degrees off: {bodies:.1?}");
    assert!(settled <= 5.0, "settled body median {settled:.1} degrees off: {settled_bodies:.1?}");
    // The yaw the issue found (17-34 degrees): the avatar's root faces the body's way.
    assert!(pelvis_yaw <= 5.0, "pelvis heading median {pelvis_yaw:.1} degrees off: {yaws:.1?}");
    assert!(settled_yaw <= 5.0, "settled pelvis heading median {settled_yaw:.1} degrees off: {settled_yaws:.1?}");
}
