//! VMC streaming without Bevy (`cmanet::stream`): the axes conversion, a pose through the wire and
//! back, the sender and receiver over loopback, a take replayed, and bad packets refused with
//! the good ones kept.

use std::time::{Duration, Instant};

use cmanet::body::{BodyModel, BodyParams, NUM_JOINTS, RestJoints};
use cmanet::data::Take;
use cmanet::stream::{
    FrameSettings, StreamError, VMC_BONE_NAMES, VmcAssembler, VmcBones, VmcFrame, VmcReceiver, VmcSender, encode_frame,
    from_unity_position, from_unity_rotation, replay_take, to_unity_position, to_unity_rotation,
};
use nalgebra::{UnitQuaternion, Vector3};
use rosc::{OscMessage, OscPacket, OscType};

fn rest() -> RestJoints {
    RestJoints::new(&BodyModel::open_body().unwrap())
}

/// A pose with every sent joint turned, a shape away from the mean and a place in the room.
fn pose(seed: u32) -> BodyParams {
    let mut params = BodyParams::default();
    let s = seed as f32;
    for j in 0..22 {
        let a = j as f32 + s;
        params.set_local_rotation(j, Vector3::new((a * 0.7).sin() * 0.6, (a * 1.3).cos() * 0.5, (a * 0.4).sin() * 0.4));
    }
    for (k, b) in params.betas.iter_mut().enumerate() {
        *b = ((k as f32 + s) * 0.9).sin() * 1.5;
    }
    params.transl = Vector3::new(0.3 + 0.01 * s, 0.05, -1.2);
    params
}

fn angle(a: &Vector3<f32>, b: &Vector3<f32>) -> f32 {
    UnitQuaternion::from_scaled_axis(*a).angle_to(&UnitQuaternion::from_scaled_axis(*b))
}

#[test]
fn the_axes_conversion_is_a_change_of_basis_and_its_own_inverse() {
    let q = UnitQuaternion::from_scaled_axis(Vector3::new(0.3, -1.1, 0.7));
    let p = Vector3::new(0.2, -0.5, 1.3);
    // Rotating then converting is converting then rotating with the converted rotation.
    let a = to_unity_position(&(q * p));
    let b = to_unity_rotation(&q) * to_unity_position(&p);
    assert!((a - b).norm() < 1e-6, "{a} vs {b}");
    assert!(from_unity_rotation(&to_unity_rotation(&q)).angle_to(&q) < 1e-6);
    assert_eq!(from_unity_position(&to_unity_position(&p)), p);
    // The body's left (+x in ours) is Unity's -x: a humanoid facing +z there has its right at +x.
    assert_eq!(to_unity_position(&Vector3::new(1.0, 0.0, 0.0)).x, -1.0);
    // Up and forward stay.
    assert_eq!(to_unity_position(&Vector3::new(0.0, 1.0, 2.0)), Vector3::new(0.0, 1.0, 2.0));
}

#[test]
fn a_pose_survives_the_wire_rotations_shape_and_place() {
    let (rest, model) = (rest(), BodyModel::open_body().unwrap());
    for seed in 0..5 {
        let params = pose(seed);
        let frame = VmcFrame::from_params(&params, &rest, 1.5, &FrameSettings::default());
        assert_eq!(frame.bones.len(), 22);
        let bytes = encode_frame(&frame).unwrap();
        let got = VmcAssembler::default().push(&bytes).unwrap().expect("a frame");
        assert_eq!(got.time, 1.5);
        let back = got.to_params(&rest, true);
        for j in 0..22 {
            let e = angle(&back.local_rotation(j), &params.local_rotation(j));
            assert!(e < 1e-5, "joint {j}: {e} rad");
        }
        for k in 0..params.betas.len() {
            assert!(
                (back.betas[k] - params.betas[k]).abs() < 2e-3,
                "beta {k}: {} vs {}",
                back.betas[k],
                params.betas[k]
            );
        }
        // The posed joints agree (the hand tips are not carried: compare the 22 that are).
        let (a, b) = (model.pose(&params, false).unwrap().joints, model.pose(&back, false).unwrap().joints);
        for j in 0..22 {
            assert!((a[j] - b[j]).norm() < 1e-4, "joint {j}: {} vs {}", a[j], b[j]);
        }
    }
}

#[test]
fn without_shape_fitting_the_mean_body_stands_where_the_hips_are() {
    let rest = rest();
    let params = pose(1);
    let frame = VmcFrame::from_params(&params, &rest, 0.0, &FrameSettings::default());
    let back = frame.to_params(&rest, false);
    assert_eq!(back.betas, [0.0; 10]);
    let hips = |p: &BodyParams| rest.joint(0, &p.betas.map(f64::from)).cast::<f32>() + p.transl;
    assert!((hips(&back) - hips(&params)).norm() < 1e-5);
}

#[test]
fn upper_body_only_leaves_the_legs_out_and_standing_still_fixes_the_hips() {
    let rest = rest();
    let params = pose(2);
    let settings = FrameSettings { bones: VmcBones::UpperBody, root_motion: false };
    let frame = VmcFrame::from_params(&params, &rest, 0.0, &settings);
    let names: Vec<&str> = frame.bones.iter().filter_map(|b| VMC_BONE_NAMES[b.joint]).collect();
    assert_eq!(names.len(), 14, "{names:?}");
    assert!(names.contains(&"Hips") && names.contains(&"LeftHand") && !names.iter().any(|n| n.contains("Leg")));
    let hips = frame.bones[0].local.position;
    assert_eq!((hips.x, hips.z), (0.0, 0.0));
    assert!(hips.y > 0.6 && hips.y < 1.3, "hips {hips}");
    let back = frame.to_params(&rest, true);
    assert_eq!(back.local_rotation(4), Vector3::zeros(), "a knee that was not sent rests");
}

#[test]
fn a_frame_goes_from_sender_to_receiver_over_loopback() {
    let rest = rest();
    let mut receiver = VmcReceiver::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let sender = VmcSender::new(&format!("127.0.0.1:{port}")).unwrap();
    let frame = VmcFrame::from_params(&pose(3), &rest, 0.25, &FrameSettings::default());
    let bytes = sender.send(&frame).unwrap();
    assert!(bytes > 1000 && bytes < 4000, "{bytes} bytes");
    let start = Instant::now();
    let got = loop {
        let polled = receiver.poll(16);
        assert!(polled.errors.is_empty(), "{:?}", polled.errors);
        if let Some(frame) = polled.frame {
            break frame;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "nothing arrived");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(got.bones.len(), frame.bones.len());
    for (a, b) in got.bones.iter().zip(&frame.bones) {
        assert_eq!(a.joint, b.joint);
        assert!((a.local.position - b.local.position).norm() < 1e-6);
        assert!(a.local.rotation.angle_to(&b.local.rotation) < 1e-6);
    }
}

#[test]
fn a_take_is_replayed_frame_by_frame() {
    let rest = rest();
    let frames: Vec<BodyParams> = (0..6).map(pose).collect();
    let take = Take { fps: 60.0, seconds: (0..6).map(|i| i as f64 / 60.0).collect(), frames, ..Default::default() };
    let mut receiver = VmcReceiver::bind("127.0.0.1:0").unwrap();
    let sender = VmcSender::new(&format!("127.0.0.1:{}", receiver.local_addr().unwrap().port())).unwrap();
    let sent = replay_take(&take, &sender, &rest, &FrameSettings::default(), false, |_| true).unwrap();
    assert_eq!(sent, 6);
    let polled = receiver.poll(64);
    assert_eq!(polled.packets, 6);
    let last = polled.frame.unwrap().to_params(&rest, true);
    assert!(angle(&last.local_rotation(18), &take.frames[5].local_rotation(18)) < 1e-5);
    // Looping goes on until told to stop.
    let sent = replay_take(&take, &sender, &rest, &FrameSettings::default(), true, |n| n < 14).unwrap();
    assert_eq!(sent, 14);
    // An empty take is refused before anything is sent.
    assert!(matches!(
        replay_take(&Take::default(), &sender, &rest, &FrameSettings::default(), false, |_| true),
        Err(StreamError::Data(_))
    ));
}

fn bone_message(name: &str, args: Vec<OscType>) -> Vec<u8> {
    let mut all = vec![OscType::String(name.into())];
    all.extend(args);
    rosc::encoder::encode(&OscPacket::Message(OscMessage { addr: "/VMC/Ext/Bone/Pos".into(), args: all })).unwrap()
}

#[test]
fn bad_packets_are_errors_and_the_good_state_is_kept() {
    let mut assembler = VmcAssembler::default();
    let floats = |v: [f32; 7]| v.map(OscType::Float).to_vec();
    // Lone messages (no bundle) build up a frame.
    let good = bone_message("LeftLowerArm", floats([0.0, -0.25, 0.0, 0.0, 0.0, 0.38268343, 0.9238795]));
    let frame = assembler.push(&good).unwrap().expect("a frame");
    assert_eq!(frame.bones.len(), 1);
    assert_eq!(frame.bones[0].joint, 18);
    // Not OSC at all.
    assert!(matches!(assembler.push(b"hello, not osc"), Err(StreamError::Malformed { .. })));
    assert!(matches!(assembler.push(&[]), Err(StreamError::Malformed { .. })));
    // The right address with the wrong arguments, a NaN, a zero quaternion.
    let wrong = bone_message("Head", vec![OscType::Int(3)]);
    let nan = bone_message("Head", floats([0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 1.0]));
    let zero = bone_message("Head", floats([0.0; 7]));
    for bad in [wrong, nan, zero] {
        let error = assembler.push(&bad).unwrap_err();
        assert!(error.to_string().contains("/VMC/Ext/Bone/Pos"), "{error}");
    }
    // Unknown bones (fingers) and other addresses are skipped without an error or a frame.
    let finger = bone_message("LeftIndexProximal", floats([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]));
    assert!(assembler.push(&finger).unwrap().is_none());
    let blend = rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: "/VMC/Ext/Blend/Val".into(),
        args: vec![OscType::String("A".into()), OscType::Float(0.5)],
    }))
    .unwrap();
    assert!(assembler.push(&blend).unwrap().is_none());
    // What came before the bad packets is still there.
    assert_eq!(assembler.frame().bones.len(), 1);
    // Non-finite poses cannot be sent.
    let mut frame = assembler.frame();
    frame.bones[0].local.position.x = f32::INFINITY;
    assert!(matches!(encode_frame(&frame), Err(StreamError::Encode(_))));
}

#[test]
fn unusable_addresses_are_errors_naming_them() {
    for address in ["not an address", "127.0.0.1", "127.0.0.1:99999"] {
        let error = VmcSender::new(address).unwrap_err();
        assert!(error.to_string().contains(address), "{error}");
    }
    // A port someone else holds cannot be listened on.
    let taken = VmcReceiver::bind("127.0.0.1:0").unwrap();
    let again = VmcReceiver::bind(&taken.local_addr().unwrap().to_string()).unwrap_err();
    assert!(matches!(again, StreamError::Socket { .. }), "{again}");
    // A target nobody listens on: UDP cannot tell, the send goes out and nothing breaks.
    let closed = VmcReceiver::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let sender = VmcSender::new(&closed.to_string()).unwrap();
    let frame = VmcFrame::from_params(&BodyParams::default(), &rest(), 0.0, &FrameSettings::default());
    for _ in 0..3 {
        let _ = sender.send(&frame); // Ok, or a refused error on some systems: never a panic
    }
    assert_eq!(NUM_JOINTS, VMC_BONE_NAMES.len());
}
