//! Rig memory (`net::rig`): static cameras keep their places relative to each other while the body
//! moves; a view put on the wrong side is found and its place in the rig is where it is restarted;
//! a rig started from a frame with a wrong view corrects itself.

use cmanet::geometry::{Extrinsics, axis_angle_to_matrix, rotation_angle_between};
use cmanet::net::Rig;
use nalgebra::Vector3;

/// Four cameras around the origin, world to camera.
fn rig_cameras() -> Vec<Extrinsics> {
    (0..4)
        .map(|i| {
            let a = i as f64 * 1.6 + 0.2;
            let eye = Vector3::new(3.5 * a.sin(), 1.2 + 0.2 * i as f64, 3.5 * a.cos());
            Extrinsics::look_at(&eye, &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0)
        })
        .collect()
}

/// The body (canonical frame) of frame `t` in the world: turning and walking.
fn body_to_world(t: usize) -> Extrinsics {
    let turn = axis_angle_to_matrix(&Vector3::new(0.0, 0.15 * t as f64, 0.0));
    Extrinsics::new(turn, Vector3::new(0.05 * t as f64, 0.0, 0.0))
}

/// Every camera as CMANet estimates it in frame `t` (body to camera); `flipped` is turned half a
/// turn about the body's vertical.
fn frame(t: usize, flipped: Option<usize>) -> Vec<Option<Extrinsics>> {
    rig_cameras()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut camera = c.compose(&body_to_world(t));
            if flipped == Some(i) {
                let half = Extrinsics::new(
                    axis_angle_to_matrix(&Vector3::new(0.0, std::f64::consts::PI, 0.0)),
                    Vector3::zeros(),
                );
                camera = camera.compose(&half);
            }
            Some(camera)
        })
        .collect()
}

fn angle(a: &Extrinsics, b: &Extrinsics) -> f64 {
    rotation_angle_between(&a.rotation, &b.rotation).to_degrees()
}

#[test]
fn a_flipped_view_is_an_outlier_and_the_rig_knows_where_it_is() {
    let mut rig = Rig::default();
    for t in 0..10 {
        let cameras = frame(t, None);
        let placement = if rig.is_empty() { None } else { rig.place(&cameras) };
        rig.learn(&cameras, placement.as_ref(), 100.0);
    }
    assert!(rig.evidence.iter().all(|e| *e >= 10.0), "{:?}", rig.evidence);
    let cameras = frame(10, Some(2));
    let placement = rig.place(&cameras).expect("three views agree");
    assert_eq!(placement.inliers, vec![true, true, false, true]);
    let truth = frame(10, None);
    let restart = rig.camera_for(2, &placement).unwrap();
    assert!(angle(&restart, &truth[2].unwrap()) < 0.5, "{} deg", angle(&restart, &truth[2].unwrap()));
    // The flipped frame does not move the rig's place of the view.
    let before = rig.cameras[2].unwrap();
    rig.learn(&cameras, Some(&placement), 100.0);
    assert!(angle(&rig.cameras[2].unwrap(), &before) < 1e-6);
}

#[test]
fn a_rig_started_with_a_wrong_view_corrects_itself() {
    let mut rig = Rig::default();
    let first = frame(0, Some(1));
    rig.learn(&first, None, 100.0);
    for t in 1..12 {
        let cameras = frame(t, None);
        let placement = rig.place(&cameras).expect("the other views agree");
        rig.learn(&cameras, Some(&placement), 100.0);
    }
    let cameras = frame(12, None);
    let placement = rig.place(&cameras).unwrap();
    assert!(placement.inliers.iter().all(|i| *i), "{:?}", placement.inliers);
    let view = rig.camera_for(1, &placement).unwrap();
    assert!(angle(&view, &cameras[1].unwrap()) < 0.5);
    // Nothing known, nothing placed.
    assert!(Rig::default().place(&cameras).is_none());
}
