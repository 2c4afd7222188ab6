//! BVH: the SMPL skeleton (joint names as in SMPL, offsets from the body model for the take's mean
//! shape, metres, +y up) and one line of channels per frame: the pelvis's position, then every
//! joint's local rotation as `Zrotation Xrotation Yrotation` degrees (R = Rz · Rx · Ry). A reader
//! for the same subset checks the writer (and reads other tools' files with the usual channels).

use nalgebra::{Matrix3, Rotation3, Vector3};

use super::{ExportError, mean_shape};
use crate::body::{BodyModel, JOINT_NAMES, NUM_JOINTS, PARENTS};
use crate::data::Take;

/// The take as BVH text, resampled at its frame rate.
pub fn write_bvh(take: &Take, model: &BodyModel) -> Result<String, ExportError> {
    take.validate()?;
    let rest = model.rest_joints(&mean_shape(take));
    let children = |j: usize| (0..NUM_JOINTS).filter(move |&c| PARENTS[c] == Some(j));
    let mut order = Vec::new();
    let mut text = String::from("HIERARCHY\n");
    fn joint(
        j: usize,
        depth: usize,
        rest: &[Vector3<f32>],
        children: &dyn Fn(usize) -> Vec<usize>,
        text: &mut String,
        order: &mut Vec<usize>,
    ) {
        let pad = "  ".repeat(depth);
        let offset = match PARENTS[j] {
            Some(p) => rest[j] - rest[p],
            None => Vector3::zeros(),
        };
        order.push(j);
        if PARENTS[j].is_none() {
            text.push_str(&format!("ROOT {}\n{pad}{{\n", JOINT_NAMES[j]));
            text.push_str(&format!("{pad}  OFFSET 0.000000 0.000000 0.000000\n"));
            text.push_str(&format!("{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"));
        } else {
            text.push_str(&format!("{pad}JOINT {}\n{pad}{{\n", JOINT_NAMES[j]));
            text.push_str(&format!("{pad}  OFFSET {:.6} {:.6} {:.6}\n", offset.x, offset.y, offset.z));
            text.push_str(&format!("{pad}  CHANNELS 3 Zrotation Xrotation Yrotation\n"));
        }
        let kids = children(j);
        if kids.is_empty() {
            let tip = offset * 0.5;
            text.push_str(&format!(
                "{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {:.6} {:.6} {:.6}\n{pad}  }}\n",
                tip.x, tip.y, tip.z
            ));
        }
        for c in kids {
            joint(c, depth + 1, rest, children, text, order);
        }
        text.push_str(&format!("{pad}}}\n"));
    }
    joint(0, 0, &rest, &|j| children(j).collect(), &mut text, &mut order);
    let frames = take.resampled();
    text.push_str(&format!("MOTION\nFrames: {}\nFrame Time: {:.8}\n", frames.len(), 1.0 / take.fps as f64));
    for params in &frames {
        let pelvis = rest[0] + params.transl;
        let mut line = format!("{:.6} {:.6} {:.6}", pelvis.x, pelvis.y, pelvis.z);
        for &j in &order {
            let m = crate::geometry::axis_angle_to_matrix(&params.local_rotation(j).cast::<f64>());
            let [z, x, y] = zxy_degrees(&m);
            line.push_str(&format!(" {z:.6} {x:.6} {y:.6}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Euler angles (degrees) `[z, x, y]` with `m = Rz(z) · Rx(x) · Ry(y)`.
pub fn zxy_degrees(m: &Matrix3<f64>) -> [f64; 3] {
    let sx = m[(2, 1)].clamp(-1.0, 1.0);
    let x = sx.asin();
    let (z, y) = if sx.abs() < 1.0 - 1e-9 {
        ((-m[(0, 1)]).atan2(m[(1, 1)]), (-m[(2, 0)]).atan2(m[(2, 2)]))
    } else {
        // Gimbal lock: only z + y (or z - y) is defined; put it all in z.
        (m[(1, 0)].atan2(m[(0, 0)]), 0.0)
    };
    [z.to_degrees(), x.to_degrees(), y.to_degrees()]
}

/// A parsed BVH file: the joints in file order and every frame's channel values.
#[derive(Clone, Debug, PartialEq)]
pub struct Bvh {
    /// Joint names (End Sites excluded).
    pub names: Vec<String>,
    /// Every joint's parent index.
    pub parents: Vec<Option<usize>>,
    /// Every joint's offset from its parent.
    pub offsets: Vec<Vector3<f64>>,
    /// Every joint's channel names, in order.
    pub channels: Vec<Vec<String>>,
    /// Seconds per frame.
    pub frame_time: f64,
    /// Every frame's channel values, joints in file order.
    pub frames: Vec<Vec<f64>>,
}

impl Bvh {
    /// The world position of every joint in frame `f`.
    pub fn joint_positions(&self, f: usize) -> Vec<Vector3<f64>> {
        let values = &self.frames[f];
        let mut at = 0;
        let mut globals: Vec<(Matrix3<f64>, Vector3<f64>)> = Vec::with_capacity(self.names.len());
        for j in 0..self.names.len() {
            let mut position = self.offsets[j];
            let mut rotation = Matrix3::identity();
            for channel in &self.channels[j] {
                let v = values.get(at).copied().unwrap_or(0.0);
                at += 1;
                let axis = |a: Vector3<f64>| {
                    Rotation3::from_axis_angle(&nalgebra::Unit::new_normalize(a), v.to_radians()).into_inner()
                };
                match channel.as_str() {
                    "Xposition" => position.x = v,
                    "Yposition" => position.y = v,
                    "Zposition" => position.z = v,
                    "Xrotation" => rotation *= axis(Vector3::x()),
                    "Yrotation" => rotation *= axis(Vector3::y()),
                    "Zrotation" => rotation *= axis(Vector3::z()),
                    _ => {}
                }
            }
            let global = match self.parents[j] {
                Some(p) => (globals[p].0 * rotation, globals[p].0 * position + globals[p].1),
                None => (rotation, position),
            };
            globals.push(global);
        }
        globals.into_iter().map(|(_, p)| p).collect()
    }
}

/// Parses BVH text (hierarchy with `ROOT` / `JOINT` / `End Site`, then `MOTION`).
pub fn read_bvh(text: &str) -> Result<Bvh, ExportError> {
    let mut bvh =
        Bvh { names: vec![], parents: vec![], offsets: vec![], channels: vec![], frame_time: 0.0, frames: vec![] };
    let mut stack: Vec<Option<usize>> = Vec::new(); // joint per open brace (None: End Site)
    let mut pending: Option<Option<usize>> = None;
    let mut lines = text.lines().enumerate();
    let bad = |line: usize, problem: &str| ExportError::Bvh { line: line + 1, problem: problem.into() };
    let number = |line: usize, s: &str| s.parse::<f64>().map_err(|_| bad(line, &format!("`{s}` is not a number")));
    for (n, line) in lines.by_ref() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] | ["HIERARCHY"] => {}
            ["ROOT" | "JOINT", name] => {
                let parent = stack.iter().rev().flatten().next().copied();
                bvh.names.push(name.to_string());
                bvh.parents.push(parent);
                bvh.offsets.push(Vector3::zeros());
                bvh.channels.push(Vec::new());
                pending = Some(Some(bvh.names.len() - 1));
            }
            ["End", "Site"] => pending = Some(None),
            ["{"] => stack.push(pending.take().ok_or_else(|| bad(n, "`{` without a joint"))?),
            ["}"] => {
                stack.pop().ok_or_else(|| bad(n, "unbalanced `}`"))?;
            }
            ["OFFSET", x, y, z] => {
                if let Some(Some(j)) = stack.last() {
                    bvh.offsets[*j] = Vector3::new(number(n, x)?, number(n, y)?, number(n, z)?);
                }
            }
            ["CHANNELS", count, names @ ..] => {
                let Some(Some(j)) = stack.last() else { return Err(bad(n, "CHANNELS outside a joint")) };
                if count.parse::<usize>().ok() != Some(names.len()) {
                    return Err(bad(n, "channel count does not match"));
                }
                bvh.channels[*j] = names.iter().map(|s| s.to_string()).collect();
            }
            ["MOTION"] => break,
            _ => return Err(bad(n, &format!("unexpected `{line}`"))),
        }
    }
    let mut count = None;
    let width: usize = bvh.channels.iter().map(Vec::len).sum();
    for (n, line) in lines {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Frames:") {
            count = Some(v.trim().parse::<usize>().map_err(|_| bad(n, "bad frame count"))?);
        } else if let Some(v) = line.strip_prefix("Frame Time:") {
            bvh.frame_time = number(n, v.trim())?;
        } else if !line.is_empty() {
            let values = line.split_whitespace().map(|s| number(n, s)).collect::<Result<Vec<f64>, _>>()?;
            if values.len() != width {
                return Err(bad(n, &format!("{} values, expected {width}", values.len())));
            }
            bvh.frames.push(values);
        }
    }
    if count != Some(bvh.frames.len()) {
        return Err(bad(0, &format!("`Frames:` says {count:?}, the file has {}", bvh.frames.len())));
    }
    Ok(bvh)
}
