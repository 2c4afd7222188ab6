//! The plugin's plain math: placing the estimated body in the world from views with known places
//! (rotation averaging, position from viewing rays) and retargeting onto rigs whose bones are not
//! aligned with the body frame.
#![cfg(feature = "bevy")]

use bevy::prelude::*;
use cmanet::body::{BodyModel, BodyParams, NUM_BETAS, NUM_JOINTS, PARENTS};
use cmanet::data::Keypoints2d;
use cmanet::geometry::{Extrinsics, Intrinsics, axis_angle_to_matrix};
use cmanet::placement::{ObservedView, PlacedView, body_in_world, body_translation_from_rays};
use cmanet::plugin::{BoneRest, CmanetAvatar, bone_transforms};
use nalgebra::{Matrix3, Vector3};

fn camera_ring(n: usize) -> Vec<Extrinsics> {
    (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            Extrinsics::look_at(
                &Vector3::new(3.5 * a.sin(), 1.5, 3.5 * a.cos()),
                &Vector3::new(0.0, 1.0, 0.0),
                &Vector3::y(),
                0.0,
            )
        })
        .collect()
}

fn body_to_world() -> Extrinsics {
    Extrinsics::new(axis_angle_to_matrix(&Vector3::new(0.1, 1.1, -0.05)), Vector3::new(0.3, 0.02, -0.4))
}

#[test]
fn consistent_views_place_the_body_exactly_and_in_any_order() {
    let truth = body_to_world();
    let mut views: Vec<PlacedView> = camera_ring(4)
        .into_iter()
        .enumerate()
        .map(|(i, w)| PlacedView { body_to_camera: w.compose(&truth), world_to_camera: w, weight: 0.5 + i as f64 })
        .collect();
    let a = body_in_world(&views).unwrap();
    views.reverse();
    let b = body_in_world(&views).unwrap();
    for placed in [a, b] {
        assert!((placed.rotation - truth.rotation).norm() < 1e-9);
        assert!((placed.translation - truth.translation).norm() < 1e-9);
    }
    // Views without weight count for nothing; with none left there is no answer.
    views.iter_mut().for_each(|v| v.weight = 0.0);
    assert!(body_in_world(&views).is_none());
}

#[test]
fn disagreeing_views_are_averaged_by_weight() {
    let truth = body_to_world();
    let ring = camera_ring(2);
    let off = Extrinsics::new(axis_angle_to_matrix(&Vector3::new(0.0, 0.2, 0.0)), Vector3::new(0.1, 0.0, 0.0));
    let views = [
        PlacedView { body_to_camera: ring[0].compose(&truth), world_to_camera: ring[0], weight: 1.0 },
        PlacedView { body_to_camera: ring[1].compose(&off.compose(&truth)), world_to_camera: ring[1], weight: 1.0 },
    ];
    let placed = body_in_world(&views).unwrap();
    let angle = cmanet::geometry::rotation_angle_between(&placed.rotation, &truth.rotation);
    assert!((angle - 0.1).abs() < 1e-3, "half of the second view's 0.2 rad: {angle}");
}

#[test]
fn a_view_on_the_wrong_side_does_not_turn_the_body() {
    let truth = body_to_world();
    let ring = camera_ring(3);
    // The third view's estimate puts its camera half a turn about the body's vertical axis from
    // where it is, with the most weight of the three; the two others agree.
    let turned = Extrinsics::new(axis_angle_to_matrix(&Vector3::new(0.0, std::f64::consts::PI, 0.0)), Vector3::zeros());
    let views = [
        PlacedView { body_to_camera: ring[0].compose(&truth), world_to_camera: ring[0], weight: 1.0 },
        PlacedView { body_to_camera: ring[1].compose(&truth), world_to_camera: ring[1], weight: 1.0 },
        PlacedView { body_to_camera: ring[2].compose(&truth).compose(&turned), world_to_camera: ring[2], weight: 1.5 },
    ];
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let placed = body_in_world(&order.map(|i| views[i])).unwrap();
        let angle = cmanet::geometry::rotation_angle_between(&placed.rotation, &truth.rotation);
        assert!(angle < 1e-9, "{angle} rad off");
        assert!((placed.translation - truth.translation).norm() < 1e-9);
    }
    // Without a majority (two views, each its own side) every view counts, as before.
    let placed = body_in_world(&views[1..]).unwrap();
    let angle = cmanet::geometry::rotation_angle_between(&placed.rotation, &truth.rotation);
    assert!(angle > 0.5, "{angle}");
}

/// Two groups of views with the same support (each more than half the weight) count together, so
/// the body does not depend on the order the views come in.
#[test]
fn tied_groups_of_views_place_the_body_whatever_their_order() {
    let truth = body_to_world();
    let ring = camera_ring(4);
    // Four views, each 20 degrees further turned about the body's vertical axis: the second and
    // the third each agree with three views (within 30 degrees), a tie.
    let views: Vec<PlacedView> = (0..4)
        .map(|i| {
            let turn = Extrinsics::new(
                axis_angle_to_matrix(&Vector3::new(0.0, (20.0 * i as f64).to_radians(), 0.0)),
                Vector3::zeros(),
            );
            PlacedView { body_to_camera: ring[i].compose(&truth).compose(&turn), world_to_camera: ring[i], weight: 1.0 }
        })
        .collect();
    let middle = truth
        .compose(&Extrinsics::new(axis_angle_to_matrix(&Vector3::new(0.0, 30f64.to_radians(), 0.0)), Vector3::zeros()));
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
        let placed = body_in_world(&order.map(|i| views[i])).unwrap();
        let angle = cmanet::geometry::rotation_angle_between(&placed.rotation, &middle.rotation);
        assert!(angle < 1e-6, "order {order:?}: {} degrees from the middle", angle.to_degrees());
    }
}

#[test]
fn viewing_rays_recover_the_body_position_despite_an_outlier() {
    let model = BodyModel::open_body().unwrap();
    let posed = model.pose(&BodyParams::default(), false).unwrap();
    let canonical: cmanet::data::Keypoints3d = std::array::from_fn(|k| posed.keypoints[k].into());
    let truth = body_to_world();
    let intrinsics = Intrinsics::from_vertical_fov(0.9, 640.0, 480.0);
    let mut views: Vec<ObservedView> = camera_ring(3)
        .into_iter()
        .map(|w| {
            let keypoints: Keypoints2d = std::array::from_fn(|k| {
                let p = w.to_camera(&truth.to_camera(&Vector3::from(canonical[k]).cast::<f64>()));
                let px = intrinsics.project(&p).unwrap();
                [px.x as f32, px.y as f32, 0.9]
            });
            ObservedView { world_to_camera: w, intrinsics, keypoints }
        })
        .collect();
    views[1].keypoints[9] = [10.0, 10.0, 0.9]; // a wrist detected far off
    views[2].keypoints[3] = [f32::NAN, 5.0, 0.9]; // and a broken one
    let t = body_translation_from_rays(&truth.rotation, &canonical, &views).unwrap();
    assert!((t - truth.translation).norm() < 0.02, "{t:?} vs {:?}", truth.translation);
    assert!(body_translation_from_rays(&truth.rotation, &canonical, &[]).is_none());
}

/// A rig playing the body model's skeleton whose every bone has its own rest orientation (like
/// Mixamo's), described as the plugin measures it.
fn rotated_rig(model: &BodyModel) -> [Option<BoneRest>; NUM_JOINTS] {
    let rest = model.rest_joints(&[0.0; NUM_BETAS]);
    let joint = |j: usize| Vec3::new(rest[j].x, rest[j].y, rest[j].z);
    let orientation = |j: usize| Quat::from_scaled_axis(Vec3::new(0.3 * j as f32, -0.7, 0.2 * (j % 5) as f32));
    std::array::from_fn(|j| {
        let parent = match PARENTS[j] {
            Some(p) => Transform::from_translation(joint(p)).with_rotation(orientation(p)),
            None => Transform::IDENTITY,
        };
        let local = Transform::from_translation(parent.rotation.inverse() * (joint(j) - parent.translation))
            .with_rotation(parent.rotation.inverse() * orientation(j));
        Some(BoneRest { local, orientation: orientation(j), parent })
    })
}

#[test]
fn rigs_with_rotated_bones_are_posed_like_the_body_model() {
    let model = BodyModel::open_body().unwrap();
    let rest = rotated_rig(&model);
    let mut params = BodyParams { global_orient: Vector3::new(0.2, -0.6, 0.1), ..Default::default() };
    for j in 1..NUM_JOINTS {
        params.set_local_rotation(j, Vector3::new(0.1 * (j % 3) as f32, -0.05 * j as f32 % 0.4, 0.07));
    }
    params.transl = Vector3::new(0.2, 0.1, -0.3);
    let avatar = CmanetAvatar { shape: false, ..Default::default() };
    let mean = model.rest_joints(&[0.0; NUM_BETAS]);
    let joints: [Vec3; NUM_JOINTS] = std::array::from_fn(|j| Vec3::new(mean[j].x, mean[j].y, mean[j].z));
    let locals = bone_transforms(&params, &rest, Some(&(joints, joints)), &avatar);
    // Compose the locals down the hierarchy.
    let mut globals = [Transform::IDENTITY; NUM_JOINTS];
    for j in 0..NUM_JOINTS {
        let local = locals[j].unwrap();
        globals[j] = match PARENTS[j] {
            Some(p) => globals[p].mul_transform(local),
            None => local,
        };
    }
    let expected = model.pose(&params, false).unwrap();
    for j in 0..NUM_JOINTS {
        let e = expected.joints[j];
        assert!(globals[j].translation.distance(Vec3::new(e.x, e.y, e.z)) < 1e-4, "joint {j}");
        // The bone turned by the joint's world rotation from its rest orientation.
        let r: Matrix3<f32> = expected.joint_transforms[j].rotation;
        let q = Quat::from_mat3(&Mat3::from_cols_array(&[
            r[(0, 0)],
            r[(1, 0)],
            r[(2, 0)],
            r[(0, 1)],
            r[(1, 1)],
            r[(2, 1)],
            r[(0, 2)],
            r[(1, 2)],
            r[(2, 2)],
        ]));
        let want = q * rest[j].unwrap().orientation;
        assert!(globals[j].rotation.angle_between(want) < 1e-3, "joint {j}");
    }
}

#[test]
fn camera_places_convert_between_bevy_and_opencv() {
    let transform = Transform::from_xyz(1.0, 1.6, 3.0).looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y);
    let extrinsics = cmanet::plugin::camera_extrinsics(&GlobalTransform::from(transform));
    // The point looked at lies straight ahead (+z in OpenCV axes), the sky above is up (-y).
    let ahead = extrinsics.to_camera(&Vector3::new(0.0, 1.0, 0.0));
    assert!(ahead.x.abs() < 1e-5 && ahead.y.abs() < 1e-5 && ahead.z > 3.0);
    assert!(extrinsics.to_camera(&Vector3::new(0.0, 3.0, 0.0)).y < 0.0);
    let back = cmanet::plugin::camera_transform(&extrinsics);
    assert!(back.translation.distance(transform.translation) < 1e-5);
    assert!(back.rotation.angle_between(transform.rotation) < 1e-5);
}
