//! glTF: the take as an animation clip (`take`) added to a binary glTF avatar whose joints carry
//! SMPL's names (the shipped open avatar by default): per joint a rotation channel (the SMPL local
//! rotation; the avatar's rest frames are the body frame's) and a translation channel (the bone
//! offsets of the take's mean shape, the same in every frame as in the BVH, the pelvis moving with
//! the body). Any engine that plays glTF
//! animations plays it. [`read_glb_animation`] reads such a clip back.

use nalgebra::{UnitQuaternion, Vector3};
use serde_json::{Value, json};

use super::{ExportError, mean_shape};
use crate::body::{BodyModel, JOINT_NAMES, NUM_JOINTS, PARENTS};
use crate::data::Take;
use crate::geometry::axis_angle_to_quaternion;

const JSON_CHUNK: u32 = 0x4E4F_534A;
const BIN_CHUNK: u32 = 0x004E_4942;

fn chunks(glb: &[u8]) -> Result<(Value, Vec<u8>), ExportError> {
    let bad = |p: &str| ExportError::Avatar(p.into());
    let word = |at: usize| -> Result<u32, ExportError> {
        glb.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(|| bad("truncated file"))
    };
    if glb.get(..4) != Some(b"glTF".as_slice()) || word(4)? != 2 {
        return Err(bad("not a binary glTF 2.0 file"));
    }
    let (mut json, mut bin) = (None, Vec::new());
    let mut at = 12;
    while at + 8 <= glb.len() {
        let (length, kind) = (word(at)? as usize, word(at + 4)?);
        let data = glb.get(at + 8..at + 8 + length).ok_or_else(|| bad("truncated chunk"))?;
        match kind {
            JSON_CHUNK => json = Some(serde_json::from_slice::<Value>(data).map_err(|e| bad(&format!("JSON: {e}")))?),
            BIN_CHUNK => bin = data.to_vec(),
            _ => {}
        }
        at += 8 + length;
    }
    Ok((json.ok_or_else(|| bad("no JSON chunk"))?, bin))
}

fn glb(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(json).unwrap_or_default();
    pad4(&mut text, b' ');
    let mut bin = bin.to_vec();
    pad4(&mut bin, 0);
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    for word in [0x4654_6C67u32, 2, total as u32, text.len() as u32, JSON_CHUNK] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(&BIN_CHUNK.to_le_bytes());
    out.extend_from_slice(&bin);
    out
}

/// Pads `bytes` with `fill` to a multiple of 4 (glTF aligns chunks and buffer views so).
fn pad4(bytes: &mut Vec<u8>, fill: u8) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(fill);
    }
}

/// Appends `item` to the top-level array `key` of the glTF JSON (made if missing); its index.
fn push(json: &mut Value, key: &str, item: Value) -> usize {
    if !json[key].is_array() {
        json[key] = json!([]);
    }
    match json[key].as_array_mut() {
        Some(array) => {
            array.push(item);
            array.len() - 1
        }
        None => 0,
    }
}

/// The node index of every SMPL joint in the glTF JSON.
fn joint_nodes(json: &Value) -> Result<[usize; NUM_JOINTS], ExportError> {
    let nodes = json["nodes"].as_array().ok_or_else(|| ExportError::Avatar("no nodes".into()))?;
    let mut out = [usize::MAX; NUM_JOINTS];
    for (j, name) in JOINT_NAMES.iter().enumerate() {
        out[j] = nodes
            .iter()
            .position(|n| n["name"].as_str() == Some(name))
            .ok_or_else(|| ExportError::Avatar(format!("no node named `{name}`")))?;
    }
    Ok(out)
}

/// `avatar` (binary glTF bytes) with the take added as the animation `take`, resampled at the
/// take's frame rate.
pub fn animated_glb(take: &Take, model: &BodyModel, avatar: &[u8]) -> Result<Vec<u8>, ExportError> {
    take.validate()?;
    let (mut json, mut bin) = chunks(avatar)?;
    let nodes = joint_nodes(&json)?;
    let frames = take.resampled();
    let times: Vec<f32> = (0..frames.len()).map(|i| i as f32 / take.fps).collect();
    // One skeleton per take, as in the BVH: the take's mean shape sets every bone's offset.
    let rest = model.rest_joints(&mean_shape(take));
    let mut rotations: Vec<Vec<f32>> = (0..NUM_JOINTS).map(|_| Vec::with_capacity(frames.len() * 4)).collect();
    let mut translations: Vec<Vec<f32>> = (0..NUM_JOINTS).map(|_| Vec::with_capacity(frames.len() * 3)).collect();
    for params in &frames {
        for j in 0..NUM_JOINTS {
            let q: UnitQuaternion<f32> = axis_angle_to_quaternion(&params.local_rotation(j));
            rotations[j].extend_from_slice(&[q.i, q.j, q.k, q.w]);
            let t = match PARENTS[j] {
                Some(p) => rest[j] - rest[p],
                None => rest[0] + params.transl,
            };
            translations[j].extend_from_slice(&[t.x, t.y, t.z]);
        }
    }
    // Append the data and describe it.
    let mut add = |json: &mut Value, data: &[f32], kind: &str, minmax: bool| -> usize {
        pad4(&mut bin, 0);
        let view =
            push(json, "bufferViews", json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": data.len() * 4}));
        bin.extend(data.iter().flat_map(|v| v.to_le_bytes()));
        let width = match kind {
            "SCALAR" => 1,
            "VEC3" => 3,
            _ => 4,
        };
        let mut accessor =
            json!({"bufferView": view, "componentType": 5126, "count": data.len() / width, "type": kind});
        if minmax {
            let (lo, hi) = data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            accessor["min"] = json!([lo]);
            accessor["max"] = json!([hi]);
        }
        push(json, "accessors", accessor)
    };
    let input = add(&mut json, &times, "SCALAR", true);
    let (mut samplers, mut channels) = (Vec::new(), Vec::new());
    for j in 0..NUM_JOINTS {
        for (path, data, kind) in [("rotation", &rotations[j], "VEC4"), ("translation", &translations[j], "VEC3")] {
            let output = add(&mut json, data, kind, false);
            channels.push(json!({"sampler": samplers.len(), "target": {"node": nodes[j], "path": path}}));
            samplers.push(json!({"input": input, "output": output, "interpolation": "LINEAR"}));
        }
    }
    push(&mut json, "animations", json!({"name": "take", "samplers": samplers, "channels": channels}));
    pad4(&mut bin, 0);
    match json["buffers"].as_array_mut().and_then(|b| b.first_mut()) {
        Some(buffer) => buffer["byteLength"] = json!(bin.len()),
        None => json["buffers"] = json!([{"byteLength": bin.len()}]),
    }
    Ok(glb(&json, &bin))
}

/// Reads the animation `name` of a binary glTF back: its key times and, per SMPL joint, the local
/// rotation and translation at every key (joints the clip does not animate keep their node's).
#[allow(clippy::type_complexity)]
pub fn read_glb_animation(
    glb_bytes: &[u8],
    name: &str,
) -> Result<(Vec<f32>, Vec<[(UnitQuaternion<f32>, Vector3<f32>); NUM_JOINTS]>), ExportError> {
    let bad = |p: String| ExportError::Avatar(p);
    let (document, buffers, _) = ::gltf::import_slice(glb_bytes).map_err(|e| bad(e.to_string()))?;
    let animation =
        document.animations().find(|a| a.name() == Some(name)).ok_or_else(|| bad(format!("no animation `{name}`")))?;
    let node_of: Vec<Option<usize>> = JOINT_NAMES
        .iter()
        .map(|n| document.nodes().find(|node| node.name() == Some(n)).map(|node| node.index()))
        .collect();
    let rest: Vec<(UnitQuaternion<f32>, Vector3<f32>)> = node_of
        .iter()
        .map(|n| {
            n.and_then(|i| document.nodes().nth(i)).map_or((UnitQuaternion::identity(), Vector3::zeros()), |node| {
                let (t, r, _) = node.transform().decomposed();
                (UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(r[3], r[0], r[1], r[2])), Vector3::from(t))
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut keys: Vec<[(UnitQuaternion<f32>, Vector3<f32>); NUM_JOINTS]> = Vec::new();
    for channel in animation.channels() {
        let reader = channel.reader(|b| buffers.get(b.index()).map(|d| &d.0[..]));
        let input: Vec<f32> = reader.read_inputs().ok_or_else(|| bad("a channel has no input".into()))?.collect();
        if keys.is_empty() {
            times = input.clone();
            keys = vec![std::array::from_fn(|j| rest[j]); times.len()];
        }
        let Some(j) = node_of.iter().position(|n| *n == Some(channel.target().node().index())) else { continue };
        match reader.read_outputs() {
            Some(::gltf::animation::util::ReadOutputs::Rotations(r)) => {
                for (k, q) in r.into_f32().enumerate().take(keys.len()) {
                    keys[k][j].0 = UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(q[3], q[0], q[1], q[2]));
                }
            }
            Some(::gltf::animation::util::ReadOutputs::Translations(t)) => {
                for (k, t) in t.enumerate().take(keys.len()) {
                    keys[k][j].1 = Vector3::from(t);
                }
            }
            _ => {}
        }
    }
    Ok((times, keys))
}
