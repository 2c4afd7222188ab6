//! Multi-view SMPLify: fits the canonical parameters — every view's camera pose relative to the body,
//! one shared `body_pose` and `betas` — to the 2D keypoints of all views, knowing only the
//! intrinsics. With the true cameras (`calibrated`), the cameras stay fixed and the body's global
//! orientation and translation are fitted instead.
//!
//! How (Bogo et al. 2016, "Keep it SMPL", extended to several uncalibrated views):
//! 1. Every view is placed around a template body from its own torso and head keypoints
//!    ([`init::place_camera`], several starts).
//! 2. All frames of a chunk are fitted at once with candle autograd and Adam: a confidence-weighted
//!    Geman–McClure reprojection term whose scale anneals from coarse to fine, joint limits and a pose
//!    prior ([`prior`]), a shape prior (one `betas` per chunk), a depth term keeping the body in front of
//!    every camera, and temporal smoothness of the pose between neighbouring frames.
//! 3. Warm start: frames that ended in a poor local minimum (objective well above the median) are
//!    fitted again from the nearest well-fitted frame's solution, and keep whichever ends lower.
//!
//! It is the calibrated-free baseline and the pseudo-label generator for training, so it prefers
//! dependable to fast; the time per frame is measured and written with the result.
//! 4. With BlazePose's extra keypoints, the ankles and wrists are turned to them through the fitted
//!    cameras ([`FitSettings::feet_and_hands`]).

mod extremities;
pub(crate) mod init;
pub(crate) mod objective;
pub mod prior;

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use nalgebra::{Matrix3, Vector3};

use crate::body::bones::{apply_bones, keypoint_joint_weights};
use crate::body::{
    ADAPTED_BONES, BodyError, BodyModel, BodyParams, BodyTensors, NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS,
    NUM_KEYPOINTS, PosedBody,
};
use crate::data::{DataError, Mv2d, Mv3d, Mv3dFrame};
use crate::geometry::{Extrinsics, axis_angle_to_matrix_tensor, matrix_to_axis_angle};
use crate::net::body_refinement::{BodyRefinementSettings, BodyRefiner};
use extremities::turn_feet_and_hands;
use init::{NormalizedKeypoint, place_camera};
use objective::{Objective, Observations, Weights};

/// What can stop a fit.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// The input cannot be fitted (too few views, no extrinsics for a calibrated fit, ...).
    #[error("cannot fit: {0}")]
    BadInput(String),
    /// The body model failed.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Reading or writing a sequence failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Knobs of the fit. `Default` is the setting every figure in the docs was measured with.
#[derive(Clone, Debug, PartialEq)]
pub struct FitSettings {
    /// Adam iterations of the main fit. Default: 600.
    pub iterations: usize,
    /// Adam iterations of each warm-started refit of poorly fitted frames. Default: 200.
    pub warm_start_iterations: usize,
    /// Adam learning rate for rotations (radians per step, roughly). Default: 0.06.
    pub learning_rate: f64,
    /// Robust scale at the start and end of the annealing, in units of the person's size in the
    /// image. Default: 0.5 and 0.03.
    pub robust_scale: (f64, f64),
    /// Loss weights. Default: [`Weights::default`].
    pub weights: Weights,
    /// Frames fitted together in one batch. Default: 64.
    pub chunk_frames: usize,
    /// Fit the subject's bone corrections beyond the betas (hips, knees, ankles, shoulders,
    /// elbows, wrists, head: [`crate::body::ADAPTED_BONES`]), one set per chunk held by
    /// [`Weights::bones`], as CMANet's body refinement does. Default: true.
    pub bones: bool,
    /// Turn the ankles and wrists to BlazePose's extra keypoints (heels, foot tips, hand points)
    /// when the input has them, after the fit, as CMANet does (`net::ExtremitySettings::default`).
    /// Default: true.
    pub feet_and_hands: bool,
}

impl Default for FitSettings {
    fn default() -> Self {
        Self {
            iterations: 600,
            warm_start_iterations: 200,
            learning_rate: 0.06,
            robust_scale: (0.5, 0.03),
            weights: Weights::default(),
            chunk_frames: 64,
            bones: true,
            feet_and_hands: true,
        }
    }
}

/// The multi-view fitter: a body model on a device and the settings.
pub struct Fitter {
    model: BodyModel,
    /// How much of each keypoint each joint carries, to move posed keypoints by bone corrections.
    keypoint_weights: [[f64; NUM_JOINTS]; NUM_KEYPOINTS],
    tensors: BodyTensors,
    device: Device,
    /// The settings in use.
    pub settings: FitSettings,
    template: [Vector3<f64>; NUM_KEYPOINTS],
    rest_pelvis: Vector3<f64>,
    /// Turns the feet and hands after the fit.
    extremities: BodyRefiner,
}

/// The bone corrections of [`ADAPTED_BONES`] (metres, each in its parent's rest frame).
type Bones = [Vector3<f32>; ADAPTED_BONES.len()];

/// The bone corrections' Adam step as a fraction of the rotations' learning rate.
const BONE_STEP: f64 = 0.05;

/// The corrections of [`ADAPTED_BONES`] among a frame's bone corrections (zero when it has none).
fn adapted(bones: Option<&[Vector3<f32>; NUM_JOINTS]>) -> Bones {
    std::array::from_fn(|i| bones.map_or(Vector3::zeros(), |b| b[ADAPTED_BONES[i]]))
}

/// A frame whose objective exceeds this multiple of the chunk's median is refitted from a
/// neighbour's solution.
pub const POOR_FIT_RATIO: f64 = 1.5;

/// The pose every fit starts from: T-pose with the arms lowered to the sides.
pub fn initial_body_pose() -> [Vector3<f32>; NUM_BODY_JOINTS] {
    let mut pose = [Vector3::zeros(); NUM_BODY_JOINTS];
    pose[15] = Vector3::new(0.0, 0.0, -1.1); // left shoulder
    pose[16] = Vector3::new(0.0, 0.0, 1.1); // right shoulder
    pose
}

impl Fitter {
    /// A fitter for `model` on `device`.
    pub fn new(model: BodyModel, device: &Device, settings: FitSettings) -> Result<Self, FitError> {
        let tensors = BodyTensors::new(&model, device, DType::F32)?;
        let params = BodyParams { body_pose: initial_body_pose(), ..Default::default() };
        let posed = model.pose(&params, false)?;
        let template = std::array::from_fn(|k| posed.keypoints[k].cast::<f64>());
        let rest_pelvis = model.rest_joints(&params.betas)[0].cast::<f64>();
        let keypoint_weights = keypoint_joint_weights(&model);
        let extremities = BodyRefiner::new(&model, BodyRefinementSettings::default());
        Ok(Self {
            model,
            keypoint_weights,
            tensors,
            device: device.clone(),
            settings,
            template,
            rest_pelvis,
            extremities,
        })
    }

    /// The body model.
    pub fn model(&self) -> &BodyModel {
        &self.model
    }

    /// Fits a whole sequence. With `calibrated`, the true cameras (the file's extrinsics) are kept
    /// fixed and the output is in the calibrated world; otherwise the extrinsics are never read and
    /// the output is in the canonical (body) frame of every frame. `progress` is called with the
    /// number of frames done.
    pub fn fit_sequence(
        &self,
        data: &Mv2d,
        calibrated: bool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Mv3d, FitError> {
        Ok(self.fit_sequence_with_objective(data, calibrated, progress)?.0)
    }

    /// [`Fitter::fit_sequence`], also returning every frame's final objective: how well the fit
    /// explains the keypoints (robust reprojection plus priors), a measure of how far a fitted
    /// frame can be trusted, for instance as a pseudo-label.
    /// Candle's kernels run inline on one thread ([`crate::compute::single_threaded`]).
    pub fn fit_sequence_with_objective(
        &self,
        data: &Mv2d,
        calibrated: bool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<(Mv3d, Vec<f64>), FitError> {
        crate::compute::single_threaded(|| self.fit_sequence_here(data, calibrated, progress))
    }

    fn fit_sequence_here(
        &self,
        data: &Mv2d,
        calibrated: bool,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<(Mv3d, Vec<f64>), FitError> {
        if data.num_views() < 2 {
            return Err(FitError::BadInput(format!("{} view(s); fitting needs at least 2", data.num_views())));
        }
        // Sequences built in memory (not read from a file) get the same checks: no NaN keypoint
        // or impossible confidence reaches the optimiser.
        data.validate()?;
        let cameras = if calibrated {
            Some(data.extrinsics.clone().ok_or_else(|| {
                FitError::BadInput("--calibrated needs the true cameras (extrinsics_R/t) in the input".into())
            })?)
        } else {
            None
        };
        let mut frames = Vec::with_capacity(data.num_frames());
        let mut objective = Vec::with_capacity(data.num_frames());
        let mut betas_prev: Option<([f32; NUM_BETAS], Bones)> = None;
        let mut turned_before = None;
        for start in (0..data.num_frames()).step_by(self.settings.chunk_frames.max(1)) {
            let end = (start + self.settings.chunk_frames.max(1)).min(data.num_frames());
            let t0 = Instant::now();
            let obs = Observations::new(data, start..end);
            let (mut chunk, cost) = self.fit_chunk(&obs, cameras.as_deref(), betas_prev)?;
            objective.extend(cost);
            if self.settings.feet_and_hands {
                let sizes = |t: usize, i: usize| obs.size(t - start, i);
                turn_feet_and_hands(&self.extremities, &self.model, data, start, &mut chunk, sizes, &mut turned_before);
            }
            let per_frame = t0.elapsed().as_secs_f64() / (end - start) as f64;
            for f in &mut chunk {
                f.seconds = per_frame;
            }
            betas_prev = chunk.last().map(|f| (f.params.betas, adapted(f.bones.as_ref())));
            frames.extend(chunk);
            progress(end);
        }
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert("method".into(), if calibrated { "fit-calibrated" } else { "fit" }.to_string());
        metadata.insert("world".into(), if calibrated { "calibrated" } else { "canonical" }.to_string());
        Ok((Mv3d { fps: data.fps, frames, metadata }, objective))
    }

    /// Initial cameras (body-to-camera, uncalibrated) for every frame and view of a chunk; a view
    /// that cannot be placed in a frame borrows its placement from the nearest frame where it could.
    fn place_all(&self, obs: &Observations) -> Vec<Vec<Extrinsics>> {
        let (b, v) = (obs.frames, obs.views);
        let mut placed: Vec<Vec<Option<(Extrinsics, f64)>>> = vec![vec![None; v]; b];
        for (t, row) in placed.iter_mut().enumerate() {
            for (i, slot) in row.iter_mut().enumerate() {
                let observed: [NormalizedKeypoint; NUM_KEYPOINTS] = std::array::from_fn(|k| obs.keypoint(t, i, k));
                *slot = place_camera(&self.template, &observed, obs.size(t, i)).map(|p| (p.extrinsics, p.cost));
            }
        }
        let fallback =
            Extrinsics::look_at(&Vector3::new(0.0, 1.0, 4.0), &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0);
        (0..b)
            .map(|t| {
                (0..v)
                    .map(|i| {
                        (0..b)
                            .filter_map(|s| placed[s][i].map(|p| (s.abs_diff(t), p.0)))
                            .min_by_key(|(d, _)| *d)
                            .map_or(fallback, |(_, e)| e)
                    })
                    .collect()
            })
            .collect()
    }

    fn fit_chunk(
        &self,
        obs: &Observations,
        cameras: Option<&[Extrinsics]>,
        betas_prev: Option<([f32; NUM_BETAS], Bones)>,
    ) -> Result<(Vec<Mv3dFrame>, Vec<f64>), FitError> {
        let b = obs.frames;
        let placements = self.place_all(obs);
        // Starting values, per frame: body-to-camera for every view (uncalibrated), or the body's
        // world pose from the best-placed view (calibrated).
        let mut start = Start::new(b, obs.views, betas_prev, cameras.is_some(), self.settings.bones);
        match cameras {
            None => start.cameras = placements,
            Some(true_cams) => {
                for (t, placed) in placements.iter().enumerate() {
                    let i = obs.best_view(t);
                    // Template point p lands at world = G p + c; SMPL puts it at G (p - J0) + J0 + transl.
                    let to_world = true_cams[i].inverse().compose(&placed[i]);
                    start.global[t] = to_world.rotation;
                    start.offset[t] = to_world.translation - self.rest_pelvis + to_world.rotation * self.rest_pelvis;
                }
            }
        }
        let objective = Objective::new(&self.tensors, obs, cameras, &self.device)?;
        let first = self.run(&objective, &start, self.settings.iterations, self.settings.robust_scale.0)?;
        // Warm start: frames that ended in a poor local minimum (objective well above the chunk's
        // median) start again from the nearest well-fitted frame's solution, twice at most.
        let mut result = first;
        for _ in 0..2 {
            let Some(restart) = result.restart_from_neighbours() else { break };
            let second = self.run(
                &objective,
                &restart,
                self.settings.warm_start_iterations,
                self.settings.robust_scale.1 * 2.0,
            )?;
            result = result.best_of(second);
        }
        let cost = result.cost.clone();
        Ok((result.into_frames(&self.model, &self.keypoint_weights, cameras), cost))
    }

    /// Adam on the objective from `start` for `iterations` steps, the robust scale annealing
    /// geometrically from `scale_from` to the final scale.
    fn run(&self, objective: &Objective, start: &Start, iterations: usize, scale_from: f64) -> Result<Start, FitError> {
        let vars = start.to_vars(&self.device)?;
        let base = start.rotation_base(&self.device)?;
        let lr = self.settings.learning_rate;
        let adam = |v: Vec<Var>, lr: f64| AdamW::new(v, ParamsAdamW { lr, weight_decay: 0.0, ..Default::default() });
        let mut optimisers = vec![
            adam(vec![vars.body_pose.clone()], lr)?,
            adam(vec![vars.betas.clone()], lr)?,
            adam(vec![vars.rotation_delta.clone()], lr * 0.5)?,
            adam(vec![vars.translation.clone()], lr * 2.0)?,
        ];
        if let Some(bones) = &vars.bones {
            // Bone corrections are centimetres: a step of a few millimetres.
            optimisers.push(adam(vec![bones.clone()], lr * BONE_STEP)?);
        }
        let scale_to = self.settings.robust_scale.1;
        for it in 0..iterations {
            let progress = it as f64 / iterations.max(2).saturating_sub(1) as f64;
            let anneal = (progress / 0.7).min(1.0);
            let scale = scale_from * (scale_to / scale_from).powf(anneal);
            let loss = objective.loss(&vars, &base, scale, &self.settings.weights)?;
            let grads = loss.total.backward()?;
            for o in &mut optimisers {
                o.step(&grads)?;
            }
        }
        let loss = objective.loss(&vars, &base, scale_to, &self.settings.weights)?;
        start.updated(&vars, &loss.per_frame)
    }
}

/// Parameters of one chunk of frames, on the CPU: the starting point and the result of a run.
#[derive(Clone, Debug)]
struct Start {
    /// `[B]` body pose.
    body_pose: Vec<[Vector3<f32>; NUM_BODY_JOINTS]>,
    /// Shared shape.
    betas: [f32; NUM_BETAS],
    /// Shared bone corrections of [`ADAPTED_BONES`], when fitted.
    bones: Option<Bones>,
    /// `[B][V]` body-to-camera (uncalibrated only).
    cameras: Vec<Vec<Extrinsics>>,
    /// `[B]` body-to-world rotation (calibrated only).
    global: Vec<Matrix3<f64>>,
    /// `[B]` SMPL translation of the body in the world (calibrated only).
    offset: Vec<Vector3<f64>>,
    /// `[B]` final objective per frame (after a run).
    cost: Vec<f64>,
    /// Whether the cameras are the true ones (the body's world pose is fitted instead).
    calibrated: bool,
}

/// The optimised variables of a run.
pub struct FitVars {
    /// `[B, 23, 3]` axis-angle.
    pub body_pose: Var,
    /// `[1, 10]`.
    pub betas: Var,
    /// `[B, V, 3]` (uncalibrated: per camera) or `[B, 1, 3]` (calibrated: the body's global
    /// rotation): axis-angle increments applied on the left of the starting rotations.
    pub rotation_delta: Var,
    /// `[B, V, 3]` camera translations (uncalibrated) or `[B, 1, 3]` body offsets (calibrated).
    pub translation: Var,
    /// `[1, 13, 3]` the bone corrections of [`ADAPTED_BONES`] (metres), when fitted.
    pub bones: Option<Var>,
}

impl Start {
    fn new(b: usize, v: usize, previous: Option<([f32; NUM_BETAS], Bones)>, calibrated: bool, bones: bool) -> Self {
        Self {
            body_pose: vec![initial_body_pose(); b],
            betas: previous.map(|p| p.0).unwrap_or_default(),
            bones: bones.then(|| previous.map(|p| p.1).unwrap_or_default()),
            cameras: vec![vec![Extrinsics::default(); v]; b],
            global: vec![Matrix3::identity(); b],
            offset: vec![Vector3::zeros(); b],
            cost: vec![f64::INFINITY; b],
            calibrated,
        }
    }

    /// `[B, V or 1, 3, 3]` the rotations the deltas apply to.
    fn rotation_base(&self, device: &Device) -> candle_core::Result<Tensor> {
        let mats: Vec<Matrix3<f64>> = if self.calibrated {
            self.global.clone()
        } else {
            self.cameras.iter().flatten().map(|e| e.rotation).collect()
        };
        let per = if self.calibrated { 1 } else { self.cameras[0].len() };
        let flat: Vec<f32> = mats.iter().flat_map(|m| (0..9).map(move |i| m[(i / 3, i % 3)] as f32)).collect();
        Tensor::from_vec(flat, (self.body_pose.len(), per, 3, 3), device)
    }

    fn to_vars(&self, device: &Device) -> candle_core::Result<FitVars> {
        let b = self.body_pose.len();
        let pose: Vec<f32> = self.body_pose.iter().flat_map(|p| p.iter().flat_map(|v| [v.x, v.y, v.z])).collect();
        let translations: Vec<f32> = if self.calibrated {
            self.offset.iter().flat_map(|t| [t.x as f32, t.y as f32, t.z as f32]).collect()
        } else {
            self.cameras
                .iter()
                .flatten()
                .flat_map(|e| e.translation.iter().map(|&x| x as f32).collect::<Vec<_>>())
                .collect()
        };
        let per = translations.len() / (3 * b);
        Ok(FitVars {
            body_pose: Var::from_tensor(&Tensor::from_vec(pose, (b, NUM_BODY_JOINTS, 3), device)?)?,
            betas: Var::from_tensor(&Tensor::from_vec(self.betas.to_vec(), (1, NUM_BETAS), device)?)?,
            rotation_delta: Var::zeros((b, per, 3), DType::F32, device)?,
            translation: Var::from_tensor(&Tensor::from_vec(translations, (b, per, 3), device)?)?,
            bones: match &self.bones {
                Some(bones) => {
                    let flat: Vec<f32> = bones.iter().flat_map(|v| [v.x, v.y, v.z]).collect();
                    Some(Var::from_tensor(&Tensor::from_vec(flat, (1, ADAPTED_BONES.len(), 3), device)?)?)
                }
                None => None,
            },
        })
    }

    /// The state after a run: variables read back, rotation increments folded into the rotations.
    fn updated(&self, vars: &FitVars, per_frame: &Tensor) -> Result<Self, FitError> {
        let mut out = self.clone();
        let b = self.body_pose.len();
        let pose: Vec<f32> = vars.body_pose.flatten_all()?.to_vec1()?;
        for (t, p) in out.body_pose.iter_mut().enumerate() {
            *p = std::array::from_fn(|j| Vector3::from_row_slice(&pose[(t * NUM_BODY_JOINTS + j) * 3..][..3]));
        }
        let betas: Vec<f32> = vars.betas.flatten_all()?.to_vec1()?;
        out.betas.copy_from_slice(&betas);
        if let (Some(bones), Some(var)) = (&mut out.bones, &vars.bones) {
            let flat: Vec<f32> = var.flatten_all()?.to_vec1()?;
            *bones = std::array::from_fn(|i| Vector3::from_row_slice(&flat[i * 3..][..3]));
        }
        let deltas = axis_angle_to_matrix_tensor(vars.rotation_delta.as_tensor())?;
        let rot: Vec<f32> = deltas.matmul(&self.rotation_base(per_frame.device())?)?.flatten_all()?.to_vec1()?;
        let trans: Vec<f32> = vars.translation.flatten_all()?.to_vec1()?;
        let m = |i: usize| Matrix3::from_fn(|r, c| rot[i * 9 + r * 3 + c] as f64);
        let v = |i: usize| Vector3::new(trans[i * 3] as f64, trans[i * 3 + 1] as f64, trans[i * 3 + 2] as f64);
        if self.calibrated {
            for t in 0..b {
                out.global[t] = m(t);
                out.offset[t] = v(t);
            }
        } else {
            let per = self.cameras[0].len();
            for t in 0..b {
                for i in 0..per {
                    out.cameras[t][i] = Extrinsics::new(m(t * per + i), v(t * per + i));
                }
            }
        }
        out.cost = per_frame.to_dtype(DType::F64)?.to_vec1()?;
        Ok(out)
    }

    /// Frames whose objective exceeds [`POOR_FIT_RATIO`] times the median restart from the nearest
    /// frame below it (earlier frames preferred on ties); `None` when every frame is fine or none is.
    fn restart_from_neighbours(&self) -> Option<Self> {
        let b = self.cost.len();
        let mut sorted = self.cost.clone();
        sorted.sort_by(f64::total_cmp);
        let threshold = sorted[b / 2] * POOR_FIT_RATIO;
        let good: Vec<usize> = (0..b).filter(|&t| self.cost[t] <= threshold).collect();
        if good.len() == b || good.is_empty() {
            return None;
        }
        let mut out = self.clone();
        for t in (0..b).filter(|&t| self.cost[t] > threshold) {
            let Some(&s) = good.iter().min_by_key(|&&s| (s.abs_diff(t), s > t)) else { continue };
            out.body_pose[t] = self.body_pose[s];
            out.cameras[t] = self.cameras[s].clone();
            out.global[t] = self.global[s];
            out.offset[t] = self.offset[s];
        }
        Some(out)
    }

    /// Per frame, whichever of `self` and `other` has the lower objective (shape from the better
    /// total).
    fn best_of(mut self, other: Self) -> Self {
        let (mine, theirs): (f64, f64) = (self.cost.iter().sum(), other.cost.iter().sum());
        if theirs < mine {
            self.betas = other.betas;
            self.bones = other.bones;
        }
        for t in 0..self.body_pose.len() {
            if other.cost[t] < self.cost[t] {
                self.body_pose[t] = other.body_pose[t];
                self.cameras[t] = other.cameras[t].clone();
                self.global[t] = other.global[t];
                self.offset[t] = other.offset[t];
                self.cost[t] = other.cost[t];
            }
        }
        self
    }

    fn into_frames(
        self,
        model: &BodyModel,
        keypoint_weights: &[[f64; NUM_JOINTS]; NUM_KEYPOINTS],
        cameras: Option<&[Extrinsics]>,
    ) -> Vec<Mv3dFrame> {
        let bones: Option<[Vector3<f32>; NUM_JOINTS]> = self.bones.map(|adapted_bones| {
            let mut all = [Vector3::zeros(); NUM_JOINTS];
            for (i, &joint) in ADAPTED_BONES.iter().enumerate() {
                all[joint] = adapted_bones[i];
            }
            all
        });
        (0..self.body_pose.len())
            .map(|t| {
                let (global, transl) = match cameras {
                    Some(_) => (self.global[t], self.offset[t]),
                    None => (Matrix3::identity(), Vector3::zeros()),
                };
                let params = BodyParams {
                    global_orient: matrix_to_axis_angle(&global.cast::<f32>()),
                    body_pose: self.body_pose[t],
                    betas: self.betas,
                    transl: transl.cast::<f32>(),
                };
                let keypoints = match model.pose(&params, false) {
                    Ok(mut posed) => {
                        if let Some(bones) = &bones {
                            let PosedBody { joint_transforms, joints, keypoints, .. } = &mut posed;
                            apply_bones(joint_transforms, joints, keypoints, bones, keypoint_weights);
                        }
                        posed.keypoints
                    }
                    Err(_) => vec![Vector3::zeros(); NUM_KEYPOINTS],
                };
                let extrinsics: Vec<Extrinsics> = match cameras {
                    Some(c) => c.to_vec(),
                    None => self.cameras[t].clone(),
                };
                let joints3d = std::array::from_fn(|k| [keypoints[k].x, keypoints[k].y, keypoints[k].z]);
                let joints3d_cam = extrinsics
                    .iter()
                    .map(|e| {
                        std::array::from_fn(|k| {
                            let q = e.to_camera(&keypoints[k].cast::<f64>());
                            [q.x as f32, q.y as f32, q.z as f32]
                        })
                    })
                    .collect();
                Mv3dFrame { joints3d_cam, joints3d, extrinsics, params, seconds: 0.0, bones, measured: None }
            })
            .collect()
    }
}
