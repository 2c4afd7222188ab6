//! A [`VmcFrame`] as one OSC bundle, and incoming OSC packets assembled back into frames. The OSC
//! encoding and decoding are `rosc`'s; this file knows VMC's addresses and arguments:
//!
//! | address | arguments |
//! |---|---|
//! | `/VMC/Ext/Root/Pos` | `s` name (`root`), `f` x y z, `f` qx qy qz qw |
//! | `/VMC/Ext/Bone/Pos` | `s` HumanBodyBones name, `f` x y z, `f` qx qy qz qw (local) |
//! | `/VMC/Ext/OK` | `i` 1 (a model is loaded) |
//! | `/VMC/Ext/T` | `f` seconds |
//!
//! A frame is sent as root, bones, then `OK` and `T` (receivers that apply a frame on `OK` or `T`
//! then see its bones). Incoming bundles and lone messages both work: the assembler keeps the
//! newest transform of every bone and yields a frame after every packet that changed one.

use nalgebra::{Quaternion, UnitQuaternion, Vector3};
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

use super::StreamError;
use super::bones::{VMC_BONE_NAMES, joint_of_bone};
use super::frame::{VmcBone, VmcFrame, VmcTransform};
use crate::body::NUM_JOINTS;

/// `/VMC/Ext/Root/Pos`.
pub const ROOT_ADDRESS: &str = "/VMC/Ext/Root/Pos";
/// `/VMC/Ext/Bone/Pos`.
pub const BONE_ADDRESS: &str = "/VMC/Ext/Bone/Pos";
/// `/VMC/Ext/OK`.
pub const OK_ADDRESS: &str = "/VMC/Ext/OK";
/// `/VMC/Ext/T`.
pub const TIME_ADDRESS: &str = "/VMC/Ext/T";

/// The frame as the bytes of one OSC bundle (time tag "immediately").
pub fn encode_frame(frame: &VmcFrame) -> Result<Vec<u8>, StreamError> {
    let transform = |addr: &str, name: &str, t: &VmcTransform| -> Result<OscPacket, StreamError> {
        let (p, q) = (t.position, t.rotation.quaternion().coords);
        let values = [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(StreamError::Encode(format!("{name}: a number is not finite")));
        }
        let mut args = vec![OscType::String(name.into())];
        args.extend(values.map(OscType::Float));
        Ok(OscPacket::Message(OscMessage { addr: addr.into(), args }))
    };
    let mut content = vec![transform(ROOT_ADDRESS, "root", &frame.root)?];
    for bone in &frame.bones {
        let Some(name) = VMC_BONE_NAMES.get(bone.joint).copied().flatten() else { continue };
        content.push(transform(BONE_ADDRESS, name, &bone.local)?);
    }
    content.push(OscPacket::Message(OscMessage { addr: OK_ADDRESS.into(), args: vec![OscType::Int(1)] }));
    content.push(OscPacket::Message(OscMessage { addr: TIME_ADDRESS.into(), args: vec![OscType::Float(frame.time)] }));
    let bundle = OscPacket::Bundle(OscBundle { timetag: OscTime { seconds: 0, fractional: 1 }, content });
    rosc::encoder::encode(&bundle).map_err(|e| StreamError::Encode(e.to_string()))
}

/// Builds frames from incoming packets (see the module).
#[derive(Clone, Debug, Default)]
pub struct VmcAssembler {
    root: VmcTransform,
    bones: [Option<VmcTransform>; NUM_JOINTS],
    time: f32,
}

impl VmcAssembler {
    /// Reads one datagram. Returns the frame as it stands if the packet changed the root or a bone;
    /// a packet that is not OSC or carries a VMC message with wrong arguments is an error (the
    /// well-formed messages before the bad one are kept). Addresses other than VMC's pose ones and
    /// bone names without an SMPL joint (fingers, eyes) are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<VmcFrame>, StreamError> {
        let bad = |problem: String| StreamError::Malformed { from: None, problem };
        let (rest, packet) = rosc::decoder::decode_udp(bytes).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes after the packet", rest.len())));
        }
        let mut changed = false;
        let result = self.packet(&packet, &mut changed, 0);
        let frame = changed.then(|| self.frame());
        result.map(|()| frame).map_err(bad)
    }

    /// The newest state as a frame.
    pub fn frame(&self) -> VmcFrame {
        let bones = (0..NUM_JOINTS).filter_map(|j| Some(VmcBone { joint: j, local: self.bones[j]? })).collect();
        VmcFrame { time: self.time, root: self.root, bones }
    }

    fn packet(&mut self, packet: &OscPacket, changed: &mut bool, depth: usize) -> Result<(), String> {
        match packet {
            OscPacket::Message(message) => self.message(message, changed),
            OscPacket::Bundle(bundle) if depth < 8 => {
                bundle.content.iter().try_for_each(|p| self.packet(p, changed, depth + 1))
            }
            OscPacket::Bundle(_) => Err("bundles nested more than 8 deep".into()),
        }
    }

    fn message(&mut self, message: &OscMessage, changed: &mut bool) -> Result<(), String> {
        match message.addr.as_str() {
            ROOT_ADDRESS | BONE_ADDRESS => {
                let (name, transform) = read_transform(message)?;
                if message.addr == ROOT_ADDRESS {
                    self.root = transform;
                    *changed = true;
                } else if let Some(joint) = joint_of_bone(&name) {
                    self.bones[joint] = Some(transform);
                    *changed = true;
                }
                Ok(())
            }
            TIME_ADDRESS => match message.args.first() {
                Some(OscType::Float(t)) if t.is_finite() => {
                    self.time = *t;
                    Ok(())
                }
                _ => Err(format!("{TIME_ADDRESS} expects one finite float, got {:?}", message.args)),
            },
            _ => Ok(()),
        }
    }
}

/// The name and transform of a `Root/Pos` or `Bone/Pos` message (extra arguments, such as the
/// scale and offset of protocol 2.1's root, are ignored).
fn read_transform(message: &OscMessage) -> Result<(String, VmcTransform), String> {
    let wrong = || format!("{} expects a string and 7 floats, got {:?}", message.addr, message.args);
    let Some(OscType::String(name)) = message.args.first() else { return Err(wrong()) };
    let mut v = [0.0f32; 7];
    for (i, slot) in v.iter_mut().enumerate() {
        match message.args.get(i + 1) {
            Some(OscType::Float(x)) if x.is_finite() => *slot = *x,
            _ => return Err(wrong()),
        }
    }
    let q = Quaternion::new(v[6], v[3], v[4], v[5]);
    if q.norm() < 1e-6 {
        return Err(format!("{} `{name}`: the rotation is a zero quaternion", message.addr));
    }
    let transform =
        VmcTransform { position: Vector3::new(v[0], v[1], v[2]), rotation: UnitQuaternion::from_quaternion(q) };
    Ok((name.clone(), transform))
}
