//! The fitting objective on candle tensors: observations of a chunk of frames, and the loss —
//! robust confidence-weighted reprojection, pose prior and joint limits, shape prior, depth and
//! temporal smoothness — for all frames at once.

use std::ops::Range;

use candle_core::{D, DType, Device, Result, Tensor};
use nalgebra::Vector2;

use super::FitVars;
use super::init::NormalizedKeypoint;
use super::prior;
use crate::body::{BodyTensors, NUM_BODY_JOINTS, NUM_JOINTS, NUM_KEYPOINTS};
use crate::data::Mv2d;
use crate::data::format::MIN_CONFIDENCE;
use crate::geometry::{Extrinsics, axis_angle_to_matrix_tensor};
use crate::net::params::{BONES_DIM, expand_bones};

/// Loss weights of the fit. Residuals are measured in units of [`RESIDUAL_UNIT`] of the person's
/// size in the image.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Pose prior (squared axis-angle, per-joint stiffness from [`prior`]). Default: 0.01.
    pub pose: f64,
    /// Joint limits (squared excess, radians). Default: 10.
    pub limits: f64,
    /// Shape prior (squared betas). Default: 0.02.
    pub shape: f64,
    /// Keeping every keypoint at least 0.3 m in front of every camera. Default: 100.
    pub depth: f64,
    /// Smoothness of the pose between neighbouring frames (squared change, radians). Default: 3.
    pub temporal: f64,
    /// Smoothness of every camera relative to the body (or, calibrated, of the body in the world)
    /// between neighbouring frames: squared Frobenius change of the rotation plus squared change of
    /// the translation in metres. Keeps a view from flipping to its mirror image for a few frames
    /// (a left/right swap of the detector explains a mirrored camera just as well). Default: 5.
    pub camera_temporal: f64,
    /// Prior holding the subject's bone corrections (when fitted: [`super::FitSettings::bones`])
    /// near zero, per frame and squared metre. Default: 1 (chosen on the stick development set
    /// among 300, 100, 30, 10, 3 and 1: PA-MPJPE limbs 37.0, 32.2, 24.2, 17.7, 14.7, 13.7 mm; the
    /// validation set 14.2-14.3 mm at 3 and 1; plugin-docs: model card).
    pub bones: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { pose: 0.01, limits: 10.0, shape: 0.02, depth: 100.0, temporal: 3.0, camera_temporal: 5.0, bones: 1.0 }
    }
}

pub use crate::geometry::RESIDUAL_UNIT;

/// One chunk of frames' observations, normalised through K, with per-view person sizes.
#[derive(Clone, Debug)]
pub struct Observations {
    /// Frames in the chunk.
    pub frames: usize,
    /// Views.
    pub views: usize,
    /// `[B][V][17]` normalised keypoints and confidences.
    keypoints: Vec<Vec<[NormalizedKeypoint; NUM_KEYPOINTS]>>,
    /// `[B][V]` person size (bounding-box diagonal of the confident keypoints), normalised units.
    sizes: Vec<Vec<f64>>,
}

impl Observations {
    /// The observations of `frames` of `data` (the extrinsics are never read).
    pub fn new(data: &Mv2d, frames: Range<usize>) -> Self {
        let v = data.num_views();
        let keypoints: Vec<Vec<[NormalizedKeypoint; NUM_KEYPOINTS]>> = data.keypoints2d[frames]
            .iter()
            .map(|views| {
                views
                    .iter()
                    .zip(&data.intrinsics)
                    .map(|(kp, k)| {
                        std::array::from_fn(|j| {
                            let [x, y, c] = kp[j];
                            let weight = if c >= MIN_CONFIDENCE { c as f64 } else { 0.0 };
                            NormalizedKeypoint { point: k.normalize(&Vector2::new(x as f64, y as f64)), weight }
                        })
                    })
                    .collect()
            })
            .collect();
        let mut sizes: Vec<Vec<Option<f64>>> =
            keypoints.iter().map(|views| views.iter().map(person_size).collect()).collect();
        // A view with too few keypoints in a frame borrows its median size over the chunk.
        for i in 0..v {
            let mut known: Vec<f64> = sizes.iter().filter_map(|s| s[i]).collect();
            known.sort_by(f64::total_cmp);
            let median = known.get(known.len() / 2).copied().unwrap_or(0.5);
            for s in &mut sizes {
                s[i] = Some(s[i].unwrap_or(median));
            }
        }
        let sizes = sizes.into_iter().map(|s| s.into_iter().map(|x| x.unwrap_or(0.5)).collect()).collect();
        Self { frames: keypoints.len(), views: v, keypoints, sizes }
    }

    /// Keypoint `k` of view `i` in frame `t`.
    pub fn keypoint(&self, t: usize, i: usize, k: usize) -> NormalizedKeypoint {
        self.keypoints[t][i][k]
    }

    /// The person's size in view `i` of frame `t`, normalised units.
    pub fn size(&self, t: usize, i: usize) -> f64 {
        self.sizes[t][i]
    }

    /// The view that sees the torso best in frame `t` (summed torso confidence).
    pub fn best_view(&self, t: usize) -> usize {
        (0..self.views)
            .max_by(|&a, &b| {
                let score = |i: usize| [5, 6, 11, 12].iter().map(|&k| self.keypoints[t][i][k].weight).sum::<f64>();
                score(a).total_cmp(&score(b))
            })
            .unwrap_or(0)
    }
}

/// The person's size ([`crate::geometry::person_size`]) over the keypoints with confidence above
/// 0.2; `None` for fewer than three.
fn person_size(kp: &[NormalizedKeypoint; NUM_KEYPOINTS]) -> Option<f64> {
    crate::geometry::person_size(kp.iter().filter(|k| k.weight > 0.2).map(|k| k.point)).map(|s| s.max(1e-3))
}

/// The objective's constant tensors.
pub struct Objective<'a> {
    body: &'a BodyTensors,
    /// `[B, V, 17, 2]` observed normalised keypoints.
    observed: Tensor,
    /// `[B, V, 17]` confidences (0 = ignored).
    confidence: Tensor,
    /// `[B, V, 1, 1]` residual scale: person size × [`RESIDUAL_UNIT`].
    scale: Tensor,
    /// `[1, V, 3, 3]` and `[1, V, 1, 3]` true cameras, calibrated fits only.
    cameras: Option<(Tensor, Tensor)>,
    limits: (Tensor, Tensor),
    stiffness: Tensor,
    frames: usize,
    views: usize,
}

/// The loss of one evaluation.
pub struct Loss {
    /// Sum over frames, to differentiate.
    pub total: Tensor,
    /// `[B]` each frame's objective.
    pub per_frame: Tensor,
}

impl<'a> Objective<'a> {
    /// The objective for a chunk; `cameras` are the true cameras of a calibrated fit.
    pub fn new(
        body: &'a BodyTensors,
        obs: &Observations,
        cameras: Option<&[Extrinsics]>,
        device: &Device,
    ) -> Result<Self> {
        let (b, v) = (obs.frames, obs.views);
        let mut observed = Vec::with_capacity(b * v * NUM_KEYPOINTS * 2);
        let mut confidence = Vec::with_capacity(b * v * NUM_KEYPOINTS);
        let mut scale = Vec::with_capacity(b * v);
        for t in 0..b {
            for i in 0..v {
                for k in 0..NUM_KEYPOINTS {
                    let kp = obs.keypoint(t, i, k);
                    observed.extend([kp.point.x as f32, kp.point.y as f32]);
                    confidence.push(kp.weight as f32);
                }
                scale.push((obs.size(t, i) * RESIDUAL_UNIT) as f32);
            }
        }
        let cameras = match cameras {
            None => None,
            Some(c) => {
                let r: Vec<f32> = c.iter().flat_map(|e| (0..9).map(|i| e.rotation[(i / 3, i % 3)] as f32)).collect();
                let t: Vec<f32> =
                    c.iter().flat_map(|e| e.translation.iter().map(|&x| x as f32).collect::<Vec<_>>()).collect();
                Some((Tensor::from_vec(r, (1, v, 3, 3), device)?, Tensor::from_vec(t, (1, v, 1, 3), device)?))
            }
        };
        let (lo, hi) = prior::limit_bounds();
        Ok(Self {
            body,
            observed: Tensor::from_vec(observed, (b, v, NUM_KEYPOINTS, 2), device)?,
            confidence: Tensor::from_vec(confidence, (b, v, NUM_KEYPOINTS), device)?,
            scale: Tensor::from_vec(scale, (b, v, 1, 1), device)?,
            cameras,
            limits: (
                Tensor::from_vec(lo.to_vec(), (1, NUM_BODY_JOINTS, 3), device)?,
                Tensor::from_vec(hi.to_vec(), (1, NUM_BODY_JOINTS, 3), device)?,
            ),
            stiffness: Tensor::from_vec(prior::stiffness().to_vec(), (1, NUM_BODY_JOINTS, 3), device)?,
            frames: b,
            views: v,
        })
    }

    /// The keypoints in every camera frame, `[B, V, 17, 3]`, for the current variables, and the
    /// optimised rotations `[B, V or 1, 3, 3]`. `rotation_base` is `[B, V or 1, 3, 3]` (see
    /// [`FitVars::rotation_delta`]).
    pub fn camera_points(&self, vars: &FitVars, rotation_base: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, v) = (self.frames, self.views);
        let dev = self.observed.device();
        let body_rot = axis_angle_to_matrix_tensor(vars.body_pose.as_tensor())?; // [B,23,3,3]
        let delta = axis_angle_to_matrix_tensor(vars.rotation_delta.as_tensor())?; // [B,P,3,3]
        let rotations = delta.matmul(&rotation_base.contiguous()?)?; // [B,P,3,3]
        let betas = vars.betas.as_tensor().broadcast_as((b, vars.betas.dim(1)?))?.contiguous()?;
        let (root, transl) = match self.cameras {
            Some(_) => (rotations.clone(), vars.translation.as_tensor().squeeze(1)?),
            None => (
                Tensor::eye(3, DType::F32, dev)?.reshape((1, 1, 3, 3))?.repeat((b, 1, 1, 1))?,
                Tensor::zeros((b, 3), DType::F32, dev)?,
            ),
        };
        let all = Tensor::cat(&[&root, &body_rot], 1)?;
        let bones = match &vars.bones {
            Some(bones) => Some(
                expand_bones(&bones.as_tensor().reshape((1, BONES_DIM))?)?
                    .broadcast_as((b, NUM_JOINTS, 3))?
                    .contiguous()?,
            ),
            None => None,
        };
        let kp = self
            .body
            .forward_with_bones(&all, &betas, bones.as_ref(), &transl, false)
            .map_err(candle_core::Error::wrap)?
            .keypoints; // [B,17,3]
        let kp = kp.unsqueeze(1)?.broadcast_as((b, v, NUM_KEYPOINTS, 3))?.contiguous()?;
        let (r, t) = match &self.cameras {
            Some((r, t)) => (r.broadcast_as((b, v, 3, 3))?.contiguous()?, t.broadcast_as((b, v, 1, 3))?.contiguous()?),
            None => (rotations.clone(), vars.translation.as_tensor().unsqueeze(2)?),
        };
        Ok((kp.matmul(&r.transpose(2, 3)?.contiguous()?)?.broadcast_add(&t)?, rotations))
    }

    /// The objective at `robust_scale` (a fraction of the person's size in the image).
    pub fn loss(&self, vars: &FitVars, rotation_base: &Tensor, robust_scale: f64, w: &Weights) -> Result<Loss> {
        let (cam, rotations) = self.camera_points(vars, rotation_base)?;
        let z = cam.narrow(3, 2, 1)?;
        let projected = cam.narrow(3, 0, 2)?.broadcast_div(&z.maximum(0.05)?)?;
        let residual = (projected - &self.observed)?.broadcast_div(&self.scale)?;
        let r2 = residual.sqr()?.sum(D::Minus1)?; // [B,V,17]
        let s2 = (robust_scale / RESIDUAL_UNIT).powi(2);
        let robust = ((&r2 * s2)? / (&r2 + s2)?)?;
        let data = (robust * &self.confidence)?.sum(D::Minus1)?.sum(D::Minus1)?; // [B]
        let data = (data / self.views as f64)?;
        let depth = (0.3 - z)?.relu()?.sqr()?.sum(D::Minus1)?.sum(D::Minus1)?.sum(D::Minus1)?;
        let pose = vars.body_pose.as_tensor();
        let prior = pose.sqr()?.broadcast_mul(&self.stiffness)?.sum(D::Minus1)?.sum(D::Minus1)?;
        let (lo, hi) = &self.limits;
        let excess = (pose.broadcast_sub(hi)?.relu()? + lo.broadcast_sub(pose)?.relu()?)?;
        let limits = excess.sqr()?.sum(D::Minus1)?.sum(D::Minus1)?;
        let mut shape = (vars.betas.as_tensor().sqr()?.sum_all()? * w.shape)?;
        if let Some(bones) = &vars.bones {
            shape = (shape + (bones.as_tensor().sqr()?.sum_all()? * w.bones)?)?;
        }
        let mut per_frame = ((data + (depth * w.depth)?)? + (prior * w.pose)?)?;
        per_frame = ((per_frame + (limits * w.limits)?)?.broadcast_add(&shape))?;
        if self.frames > 1 {
            // Each frame pays for its change from the previous one.
            let b = self.frames;
            let change = |x: &Tensor| -> Result<Tensor> {
                let d = (x.narrow(0, 1, b - 1)? - x.narrow(0, 0, b - 1)?)?.sqr()?.flatten_from(1)?.sum(1)?;
                Tensor::cat(&[&Tensor::zeros(1, DType::F32, x.device())?, &d], 0)
            };
            let cameras = (change(&rotations)? + change(vars.translation.as_tensor())?)?;
            per_frame = ((per_frame + (change(pose)? * w.temporal)?)? + (cameras * w.camera_temporal)?)?;
        }
        let total = per_frame.sum_all()?;
        Ok(Loss { total, per_frame })
    }
}
