//! `Cmanet`: IRV, screening and IEV put together, with loading and the estimation API.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nalgebra::{Matrix3, Vector3};

use super::body_refinement::{ADAPTED_BONES, BodyRefinementSettings, BodyRefiner, CameraPrior, Priors, RefinedBody};
use super::camera_refinement::{AlignmentPoints, check_left_right, clearly_better, refine_cameras};
use super::config::Config;
use super::iev::{Iev, StepEvidence};
use super::input::{EncodedBatch, MultiViewFrame, encode_batch};
use super::irv::{Irv, IrvOutput};
use super::jumps::gate_jumps;
use super::params::{BODY_DIM, BONES_DIM, CAMERA_DIM, PARAM_DIM, decode_body, decode_cameras};
use super::pipeline::Pipeline;
use super::projection::{project, to_camera};
use super::rig::{RIG_TRUSTED_EVIDENCE, Rig};
use super::screening::{Screened, first_view, screen};
use super::triangulation::triangulation_evidence;
use crate::body::{BodyError, BodyModel, BodyTensors, NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS, NUM_KEYPOINTS};
use crate::data::Keypoints3d;
use crate::geometry::{Extrinsics, axis_angle_to_matrix, matrix_to_axis_angle};

/// The `format` metadata value of a weights file.
pub const WEIGHTS_FORMAT: &str = "cmanet-weights";

/// What can go wrong loading or running the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The weights file is missing, unreadable or not ours.
    #[error("{path}: {problem}")]
    Weights {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A frame in which no view saw enough of the person (fewer than four keypoints with
    /// confidence, or only non-finite ones, in every view).
    #[error("frame {frame} of the batch: no view saw enough of the person (at least four keypoints)")]
    NoUsableView {
        /// The frame's index in the batch.
        frame: usize,
    },
    /// The input does not fit the request (e.g. known cameras for another number of views).
    #[error("{0}")]
    Input(String),
    /// The body model failed.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Everything the network computes for a batch, as tensors (for training and inspection).
#[derive(Clone, Debug)]
pub struct Forward {
    /// The encoded input.
    pub batch: EncodedBatch,
    /// IRV's per-view output, `[B * V]` rows.
    pub irv: IrvOutput,
    /// The screening.
    pub screened: Screened,
    /// `[B, V, CAMERA_DIM]` refined cameras.
    pub cameras: Tensor,
    /// `[B, BODY_DIM]` refined body.
    pub body: Tensor,
    /// `[B, BONES_DIM]` the bone corrections the IEV estimated (weights with bones only).
    pub bones: Option<Tensor>,
}

/// How far the shared body's canonical keypoints `keypoints` `[B, 17, 3]` reproject through every
/// view's camera (`cameras`: body-to-camera rotations `[B * V, 3, 3]` and translations
/// `[B * V, 3]`) from that view's keypoints (`observed`: [`EncodedBatch::observed`] of `batch`):
/// `[B, V, 2 * 17]` residuals in units of the person's size, clamped to ±1, zero for keypoints
/// below [`FEEDBACK_CONFIDENCE`] and for missing views.
fn reprojection_feedback(
    batch: &EncodedBatch,
    observed: &(Tensor, Tensor),
    cameras: &(Tensor, Tensor),
    keypoints: &Tensor,
) -> candle_core::Result<Tensor> {
    let (b, v, _) = batch.inputs.dims3()?;
    let n = b * v;
    let keypoints = keypoints.unsqueeze(1)?.broadcast_as((b, v, NUM_KEYPOINTS, 3))?.reshape((n, NUM_KEYPOINTS, 3))?;
    let projected = project(&to_camera(&keypoints, &cameras.0, &cameras.1)?)?;
    let (observed, confidence) = observed;
    let seen = confidence.ge(FEEDBACK_CONFIDENCE)?.to_dtype(DType::F32)?.unsqueeze(2)?; // [N, 17, 1]
    let sizes = batch.sizes.reshape((n, 1, 1))?;
    let residual = (observed - projected)?.broadcast_div(&sizes)?.clamp(-1f32, 1f32)?;
    residual.broadcast_mul(&seen)?.reshape((b, v, 2 * NUM_KEYPOINTS))
}

/// The network's bodies `body` `[B, BODY_DIM]`, with its bone corrections `bones` `[B, BONES_DIM]`
/// when given (zero otherwise), as the refiner takes them: one per frame, no bone evidence, no
/// gradient.
fn network_bodies(body: &Tensor, bones: Option<&Tensor>) -> candle_core::Result<Vec<RefinedBody>> {
    let b = body.dim(0)?;
    let (pose, betas) = decode_body(&body.detach())?;
    let pose: Vec<f32> = pose.flatten_all()?.to_vec1()?;
    let betas: Vec<f32> = betas.flatten_all()?.to_vec1()?;
    let bones: Option<Vec<f32>> = bones.map(|x| x.detach().flatten_all()?.to_vec1()).transpose()?;
    Ok((0..b)
        .map(|t| {
            let mut corrections = [Vector3::zeros(); NUM_JOINTS];
            if let Some(bones) = &bones {
                for (i, &j) in ADAPTED_BONES.iter().enumerate() {
                    let at = t * BONES_DIM + 3 * i;
                    corrections[j] = Vector3::new(bones[at] as f64, bones[at + 1] as f64, bones[at + 2] as f64);
                }
            }
            RefinedBody {
                pose: std::array::from_fn(|j| {
                    let i = (t * NUM_BODY_JOINTS + j) * 9;
                    Matrix3::from_fn(|r, c| pose[i + r * 3 + c] as f64)
                }),
                betas: std::array::from_fn(|k| betas[t * NUM_BETAS + k] as f64),
                bones: corrections,
                bone_evidence: 0.0,
            }
        })
        .collect())
}

/// Keypoints below this confidence give no reprojection feedback.
pub const FEEDBACK_CONFIDENCE: f32 = 0.3;

/// One frame's estimate in the canonical frame (the body's root frame).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The 23 joint rotations, axis-angle.
    pub body_pose: [Vector3<f32>; NUM_BODY_JOINTS],
    /// Shape.
    pub betas: [f32; NUM_BETAS],
    /// Every view's camera (body to camera); `None` for views that saw too little.
    pub cameras: Vec<Option<Extrinsics>>,
    /// The 24 SMPL joints, canonical frame.
    pub joints: [Vector3<f32>; NUM_JOINTS],
    /// The 17 keypoints, canonical frame.
    pub keypoints: Keypoints3d,
    /// The 17 keypoints in every view's camera frame.
    pub keypoints_cam: Vec<Option<Keypoints3d>>,
    /// The view screening chose to start from.
    pub screened_view: usize,
    /// Every view: whether its left and right labels were found swapped against the refined body
    /// and exchanged, the body then refined again ([`super::camera_refinement::check_left_right`]).
    pub swapped_views: Vec<bool>,
    /// What the stream has learned so far, this frame included: its subject (`joints` and
    /// `keypoints` include its bone corrections) and its rig.
    pub learned: Learned,
    /// The body refinement's final robust cost (residual units, priors included; lower fits the
    /// keypoints better); `None` when the body was not refined.
    pub cost: Option<f32>,
}

/// What a stream learns over time: its subject's bones and its cameras' rig.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learned {
    /// The subject's bone corrections.
    pub subject: Subject,
    /// Where the cameras are relative to each other ([`super::rig`]).
    pub rig: Rig,
}

/// What a stream learns about its subject over time: the corrections of the body model's bones
/// that the betas cannot make (per-subject proportions and keypoint placement; see
/// [`super::body_refinement`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Subject {
    /// Per SMPL joint, the correction of its bone from the parent, in the parent's rest frame,
    /// metres (zero but for [`super::body_refinement::ADAPTED_BONES`]).
    pub bones: [Vector3<f32>; NUM_JOINTS],
    /// How many frames of evidence the corrections carry (0: none yet).
    pub evidence: f32,
}

impl Default for Subject {
    fn default() -> Self {
        Self { bones: [Vector3::zeros(); NUM_JOINTS], evidence: 0.0 }
    }
}

impl Estimate {
    /// The body as the refinement sees it (rotations as matrices, f64).
    pub fn refined_body(&self) -> RefinedBody {
        RefinedBody {
            pose: self.body_pose.map(|r| axis_angle_to_matrix(&r.cast::<f64>())),
            betas: self.betas.map(|b| b as f64),
            bones: self.learned.subject.bones.map(|b| b.cast::<f64>()),
            bone_evidence: f64::from(self.learned.subject.evidence),
        }
    }
}

/// CMANet: IRV, screening and IEV over a body model.
#[derive(Clone, Debug)]
pub struct Cmanet {
    /// The sizes.
    pub config: Config,
    /// Which parts run (the ablations of the model card). Default: [`Pipeline::Full`].
    pub pipeline: Pipeline,
    /// The geometric body refinement after the network, with its settings.
    pub refiner: BodyRefiner,
    irv: Irv,
    iev: Iev,
    body: BodyTensors,
    device: Device,
}

impl Cmanet {
    /// Builds the network under `vb` (`irv.*`, `iev.*`) over `model`.
    pub fn new(vb: VarBuilder, config: &Config, model: &BodyModel) -> Result<Self, NetError> {
        config.validate().map_err(|p| NetError::Weights { path: "<config>".into(), problem: p })?;
        let device = vb.device().clone();
        Ok(Self {
            config: config.clone(),
            pipeline: Pipeline::Full,
            refiner: BodyRefiner::new(model, BodyRefinementSettings::default()),
            irv: Irv::new(vb.pp("irv"), config)?,
            iev: Iev::new(vb.pp("iev"), config)?,
            body: BodyTensors::new(model, &device, DType::F32)?,
            device,
        })
    }

    /// The weights this crate ships (`assets/models/cmanet.safetensors`, trained by `cmanet train`;
    /// the model card in plugin-docs says how).
    pub fn shipped(device: &Device) -> Result<Self, NetError> {
        Self::load(&crate::assets::weights(), device)
    }

    /// Loads weights written by training (`format = cmanet-weights`, the config as JSON in the
    /// `config` metadata) over the shipped open body model.
    pub fn load(path: &Path, device: &Device) -> Result<Self, NetError> {
        let bad = |problem: String| NetError::Weights { path: path.into(), problem };
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let meta = crate::tensor_file::safetensors_metadata(&bytes).map_err(bad)?;
        if meta.get("format").map(String::as_str) != Some(WEIGHTS_FORMAT) {
            return Err(bad(format!("not a {WEIGHTS_FORMAT} file (metadata `format`)")));
        }
        let config: Config = serde_json::from_str(meta.get("config").map_or("", String::as_str))
            .map_err(|e| bad(format!("metadata `config`: {e}")))?;
        crate::tensor_file::check_values(&bytes, crate::tensor_file::WEIGHT_LIMIT).map_err(bad)?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, device).map_err(|e| bad(e.to_string()))?;
        Self::new(vb, &config, &BodyModel::open_body()?).map_err(|e| match e {
            NetError::Candle(c) => bad(c.to_string()),
            other => other,
        })
    }

    /// Explains the detections through a detector's keypoint profile (where it puts the keypoints
    /// relative to our body model's, [`crate::body::KeypointProfile`]): the cameras and the body
    /// are fitted to the keypoints as the detector sees them, the estimate reports the body's own.
    /// [`crate::body::KeypointProfile::none`] for our own keypoints (the default).
    pub fn set_profile(&mut self, profile: &crate::body::KeypointProfile) {
        self.refiner.set_profile(profile);
    }

    /// The canonical keypoints of bodies `body` `[B, BODY_DIM]` with bone corrections `bones`
    /// `[B, BONES_DIM]` (when given), as the refiner poses them (the body model's own keypoints,
    /// the same as [`super::projection::canonical_keypoints`]; no gradient).
    fn network_keypoints(
        &self,
        body: &Tensor,
        bones: Option<&Tensor>,
    ) -> candle_core::Result<Vec<[Vector3<f64>; NUM_KEYPOINTS]>> {
        Ok(network_bodies(body, bones)?.iter().map(|body| self.refiner.pose(body).keypoints).collect())
    }

    /// The whole network on encoded frames.
    pub fn forward(&self, batch: EncodedBatch) -> Result<Forward, NetError> {
        self.forward_from(batch, false)
    }

    /// [`Cmanet::forward`] with the IRV's outputs detached from its weights, so a backward pass
    /// reaches only the IEV (training's stage 2, where the IRV is frozen) and costs half as much.
    pub fn forward_with_frozen_irv(&self, batch: EncodedBatch) -> Result<Forward, NetError> {
        self.forward_from(batch, true)
    }

    fn forward_from(&self, batch: EncodedBatch, frozen_irv: bool) -> Result<Forward, NetError> {
        let (b, v, d) = batch.inputs.dims3()?;
        let mut irv = self.irv.forward(&batch.inputs.reshape((b * v, d))?)?;
        if frozen_irv {
            irv = IrvOutput {
                params: irv.params.detach(),
                feature: irv.feature.detach(),
                confidence: irv.confidence.detach(),
            };
        }
        let params = irv.params.reshape((b, v, PARAM_DIM))?;
        let confidence = irv.confidence.reshape((b, v))?;
        let screened = if self.pipeline.screens() {
            screen(&self.body, &batch, &params, &confidence)?
        } else {
            first_view(&batch, &params)?
        };
        let (cameras, body, bones) = if self.pipeline.refines() {
            let features = irv.feature.reshape((b, v, ()))?;
            let view_bodies = params.narrow(2, CAMERA_DIM, BODY_DIM)?;
            // The IEV's evidence: the shared body posed once a step (on the CPU, as the
            // refiner poses it: the body model's own keypoints), seen through the cameras
            // decoded once a step, against the views' keypoints decoded once.
            let observed = batch.observed()?;
            let (centres, sizes) = (batch.centres.reshape((b * v, 2))?, batch.sizes.reshape(b * v)?);
            let evidence = |cameras: &Tensor, body: &Tensor, bones: Option<&Tensor>| {
                let keypoints = self.network_keypoints(body, bones)?;
                let cameras = decode_cameras(&cameras.detach().reshape((b * v, CAMERA_DIM))?, &centres, &sizes)?;
                let feedback = self.config.feedback.then(|| {
                    let flat: Vec<f32> =
                        keypoints.iter().flatten().flat_map(|p| [p.x as f32, p.y as f32, p.z as f32]).collect();
                    let tensor = Tensor::from_vec(flat, (keypoints.len(), NUM_KEYPOINTS, 3), body.device())?;
                    reprojection_feedback(&batch, &observed, &cameras, &tensor)
                });
                Ok(StepEvidence {
                    feedback: feedback.transpose()?,
                    triangulation: self
                        .config
                        .triangulation
                        .then(|| triangulation_evidence(&batch, &observed, &cameras, &keypoints))
                        .transpose()?,
                })
            };
            self.iev.forward(
                &batch.inputs,
                &features,
                &view_bodies.contiguous()?,
                &screened.scores,
                &batch.mask,
                &screened.cameras,
                &screened.body,
                &evidence,
            )?
        } else {
            (screened.cameras.clone(), screened.body.clone(), None)
        };
        Ok(Forward { batch, irv, screened, cameras, body, bones })
    }

    /// Estimates one multi-view frame.
    pub fn estimate(&self, frame: &MultiViewFrame) -> Result<Estimate, NetError> {
        self.estimate_after(frame, None)
    }

    /// Estimates one frame of a stream whose previous frame was estimated as `previous`: the body
    /// refinement is also pulled towards the previous body (by
    /// [`BodyRefinementSettings::temporal_weight`]), unless the pipeline says otherwise
    /// ([`Pipeline::uses_previous_frame`]), and goes on learning what the previous estimate
    /// [`Learned`] (its subject and its rig).
    pub fn estimate_after(&self, frame: &MultiViewFrame, previous: Option<&Estimate>) -> Result<Estimate, NetError> {
        self.estimate_with(frame, previous, previous.map(|p| &p.learned))
    }

    /// [`Cmanet::estimate_after`] with what the stream learned given apart from the previous frame:
    /// a stream whose frames are too far apart for the previous body to be a prior still knows its
    /// subject and its rig. The rig's views are the frame's, in the same order.
    pub fn estimate_with(
        &self,
        frame: &MultiViewFrame,
        previous: Option<&Estimate>,
        learned: Option<&Learned>,
    ) -> Result<Estimate, NetError> {
        let frames = std::slice::from_ref(frame);
        let mut out = crate::compute::single_threaded(|| self.estimate_batch_here(frames, previous, learned))?;
        out.pop().ok_or_else(|| NetError::Candle(candle_core::Error::Msg("empty batch".into())))
    }

    /// Estimates several frames at once (they may have different numbers of views). Candle's
    /// kernels run inline on one thread ([`crate::compute::single_threaded`]). A frame in which no
    /// view is usable is an error ([`NetError::NoUsableView`]), not a guess.
    pub fn estimate_batch(&self, frames: &[MultiViewFrame]) -> Result<Vec<Estimate>, NetError> {
        crate::compute::single_threaded(|| self.estimate_batch_here(frames, None, None))
    }

    fn estimate_batch_here(
        &self,
        frames: &[MultiViewFrame],
        previous: Option<&Estimate>,
        learned: Option<&Learned>,
    ) -> Result<Vec<Estimate>, NetError> {
        // A keypoint that jumps in one view alone against the previous estimate weighs little.
        let gated: Option<Vec<MultiViewFrame>> = previous.filter(|_| self.pipeline.gates_jumps()).map(|p| {
            let mut gated = frames.to_vec();
            for frame in &mut gated {
                gate_jumps(frame, p, &self.refiner.settings.jumps);
            }
            gated
        });
        let frames = gated.as_deref().unwrap_or(frames);
        let previous = previous.filter(|_| self.pipeline.uses_previous_frame()).map(Estimate::refined_body);
        // The subject's bones as far as the stream has learned them (none without corrections).
        let subject = learned.map(|l| l.subject).filter(|_| self.pipeline.corrects_bones()).unwrap_or_default();
        let mut rig = learned.map(|l| l.rig.clone()).filter(|_| self.pipeline.uses_rig()).unwrap_or_default();
        let (bones, bone_evidence) = (subject.bones.map(|b| b.cast::<f64>()), f64::from(subject.evidence));
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let refiner = if self.pipeline.corrects_bones() {
            std::borrow::Cow::Borrowed(&self.refiner)
        } else {
            let mut settings = self.refiner.settings.clone();
            settings.bone_prior_weight = f64::INFINITY;
            std::borrow::Cow::Owned(self.refiner.with_settings(settings))
        };
        let batch = encode_batch(frames, &self.device)?;
        if let Some(frame) = batch.present.iter().position(|p| !p.contains(&true)) {
            return Err(NetError::NoUsableView { frame });
        }
        let fwd = self.forward(batch)?;
        let (b, v, _) = fwd.batch.inputs.dims3()?;
        // Every view's camera, and the shared body once.
        let (rotation, translation) = decode_cameras(
            &fwd.cameras.reshape((b * v, CAMERA_DIM))?,
            &fwd.batch.centres.reshape((b * v, 2))?,
            &fwd.batch.sizes.reshape(b * v)?,
        )?;
        let networks = network_bodies(&fwd.body, fwd.bones.as_ref())?;
        let rotations: Vec<f32> = rotation.flatten_all()?.to_vec1()?;
        let translations: Vec<f32> = translation.flatten_all()?.to_vec1()?;
        let sizes: Vec<f32> = fwd.batch.sizes.flatten_all()?.to_vec1()?;
        let mut out = Vec::with_capacity(b);
        for (t, frame) in frames.iter().enumerate() {
            // The subject's bones as the stream learned them. The network's single-frame guess is
            // the estimate only where nothing refines the body: as the refinement's start it can
            // hold a view on the wrong side of the person (measured: on the stick development set
            // it is worth 0.3 mm, on real detections it made the first frames flip).
            let mut network = networks[t];
            if fwd.bones.is_none() || self.pipeline.refines_body() {
                network.bones = bones;
            }
            network.bone_evidence = bone_evidence;
            // The network's body posed on the CPU (the refiner's forward kinematics, the body
            // model's keypoints; cheaper than candle's for one body).
            let keypoints_of = |posed: &super::body_refinement::PosedKeypoints| -> Keypoints3d {
                posed.keypoints.map(|p| [p.x as f32, p.y as f32, p.z as f32])
            };
            let mut posed = refiner.pose(&network);
            // The keypoints as the detector sees them (its profile): what the cameras are matched to.
            // The feet's extra keypoints only where they are used: aligned, and seen by some view.
            let feet = self.pipeline.aligns_feet() && frame.views.iter().flatten().any(|v| v.extra.is_some());
            let single = |p: Vector3<f64>| [p.x as f32, p.y as f32, p.z as f32];
            let observed = |body: &RefinedBody| AlignmentPoints {
                keypoints: refiner.observed_keypoints(body).map(single),
                extra: feet.then(|| refiner.observed_extras(body)).flatten().map(|e| e.map(single)),
            };
            let mut cameras: Vec<Option<Extrinsics>> = (0..frame.views.len())
                .map(|i| {
                    fwd.batch.present[t][i].then(|| {
                        let at = t * v + i;
                        let r = Matrix3::from_fn(|r, c| rotations[at * 9 + r * 3 + c] as f64);
                        let tr = Vector3::new(
                            translations[at * 3] as f64,
                            translations[at * 3 + 1] as f64,
                            translations[at * 3 + 2] as f64,
                        );
                        Extrinsics::new(r, tr)
                    })
                })
                .collect();
            let sizes: Vec<f64> = (0..frame.views.len()).map(|i| sizes[t * v + i] as f64).collect();
            if self.pipeline.refines_cameras() {
                refine_cameras(&observed(&network), &mut cameras, frame, &sizes);
            }
            let mut body = network;
            let prior = previous.as_ref();
            // The rig learned so far: a view it disagrees with restarts where the rig puts it, and
            // every camera it knows is held near its place.
            let mut camera_priors: Vec<Option<CameraPrior>> = Vec::new();
            if self.pipeline.uses_rig()
                && let Some(placement) = rig.place(&cameras)
            {
                let settings = &refiner.settings;
                camera_priors = (0..cameras.len())
                    .map(|i| {
                        let target = rig.camera_for(i, &placement)?;
                        if cameras[i].is_some() && !placement.inliers[i] && rig.evidence[i] >= RIG_TRUSTED_EVIDENCE {
                            cameras[i] = Some(target);
                        }
                        let evidence = f64::from(rig.evidence[i]).min(settings.max_rig_evidence);
                        Some(CameraPrior {
                            target,
                            rotation_weight: settings.rig_rotation_weight * evidence,
                            translation_weight: settings.rig_translation_weight * evidence,
                        })
                    })
                    .collect();
            }
            let mut cost = None;
            if self.pipeline.refines_body() {
                let report = refiner.refine(
                    &mut body,
                    &mut cameras,
                    frame,
                    &sizes,
                    &Priors { previous: prior, cameras: &camera_priors },
                );
                cost = Some(report.cost_after as f32).filter(|c| c.is_finite() && report.views > 0);
                if report.steps > 0 {
                    posed = refiner.pose(&body);
                }
            }
            // Every view's labels questioned against the refined body; the body refined again
            // without the swaps found.
            let mut swapped_views = vec![false; frame.views.len()];
            let mut relabelled: Option<MultiViewFrame> = None;
            if self.pipeline.checks_left_right() {
                // The check works on its own copy of the cameras (each aligned with the body alone):
                // a relabelled view takes its camera from it, and so does a view whose aligned
                // camera fits clearly better; the others keep theirs as the body refinement (and
                // the rig) left them.
                let current = observed(&body);
                let mut probe = cameras.clone();
                let costs = refine_cameras(&current, &mut probe, frame, &sizes);
                let better = clearly_better(&current, &cameras, frame, &sizes, &costs);
                let mut checked = frame.clone();
                swapped_views = check_left_right(&current, &mut probe, &mut checked, &sizes, &costs);
                for (((camera, probed), swapped), better) in
                    cameras.iter_mut().zip(&probe).zip(&swapped_views).zip(&better)
                {
                    if *swapped || *better {
                        *camera = *probed;
                    }
                }
                if swapped_views.contains(&true) && self.pipeline.refines_body() {
                    let report = refiner.refine(
                        &mut body,
                        &mut cameras,
                        &checked,
                        &sizes,
                        &Priors { previous: prior, cameras: &camera_priors },
                    );
                    cost = Some(report.cost_after as f32).filter(|c| c.is_finite() && report.views > 0);
                    if report.steps > 0 {
                        posed = refiner.pose(&body);
                    }
                }
                if swapped_views.contains(&true) {
                    relabelled = Some(checked);
                }
            }
            // The feet and hands, turned to the extra keypoints where the views have them.
            if self.pipeline.turns_feet_and_hands() {
                let seen = relabelled.as_ref().unwrap_or(frame);
                if refiner.refine_extremities(&mut body, &cameras, seen, &sizes, prior).contains(&true) {
                    posed = refiner.pose(&body);
                }
            }
            let kp = keypoints_of(&posed);
            // What this frame teaches the rig.
            if self.pipeline.uses_rig() {
                let placement = if rig.is_empty() { None } else { rig.place(&cameras) };
                if placement.is_some() || rig.is_empty() {
                    rig.learn(&cameras, placement.as_ref(), refiner.settings.max_rig_evidence as f32);
                }
            }
            let keypoints_cam = cameras
                .iter()
                .map(|c| {
                    c.map(|e| {
                        std::array::from_fn(|k| {
                            let q = e.to_camera(&Vector3::from(kp[k]).cast::<f64>());
                            [q.x as f32, q.y as f32, q.z as f32]
                        })
                    })
                })
                .collect();
            out.push(Estimate {
                body_pose: body.pose.map(|r| matrix_to_axis_angle(&r.cast::<f32>())),
                betas: body.betas.map(|b| b as f32),
                cameras,
                joints: posed.joints.map(|p| p.cast::<f32>()),
                keypoints: kp,
                keypoints_cam,
                screened_view: fwd.screened.chosen[t],
                swapped_views,
                learned: Learned {
                    subject: Subject {
                        bones: body.bones.map(|b| b.cast::<f32>()),
                        evidence: body.bone_evidence as f32,
                    },
                    rig: rig.clone(),
                },
                cost,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use candle_nn::VarMap;

    use super::*;
    use crate::net::params::expand_bones;
    use crate::net::projection::canonical_keypoints;

    /// The IEV's evidence poses the body on the CPU; it must be the body the tensors pose (what
    /// the outputs and the losses see), bones included.
    #[test]
    fn the_evidence_poses_the_body_as_the_tensors_do() {
        let device = Device::Cpu;
        let model = BodyModel::open_body().unwrap();
        let varmap = VarMap::new();
        let net = Cmanet::new(VarBuilder::from_varmap(&varmap, DType::F32, &device), &Config::small(), &model).unwrap();
        let b = 3;
        let values: Vec<f32> = (0..b * BODY_DIM).map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 1.5).collect();
        let body = Tensor::from_vec(values, (b, BODY_DIM), &device).unwrap();
        let bones: Vec<f32> = (0..b * BONES_DIM).map(|i| ((i * 13 % 29) as f32 / 29.0 - 0.5) * 0.1).collect();
        let bones = Tensor::from_vec(bones, (b, BONES_DIM), &device).unwrap();
        let posed = net.network_keypoints(&body, Some(&bones)).unwrap();
        let (pose, betas) = decode_body(&body).unwrap();
        let expanded = expand_bones(&bones).unwrap();
        let tensors: Vec<f32> = canonical_keypoints(&net.body, &pose, &betas, Some(&expanded))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (t, keypoints) in posed.iter().enumerate() {
            for (k, p) in keypoints.iter().enumerate() {
                for axis in 0..3 {
                    let want = tensors[(t * NUM_KEYPOINTS + k) * 3 + axis] as f64;
                    assert!(
                        (p[axis] - want).abs() < 1e-4,
                        "body {t} keypoint {k} axis {axis}: {} against {want}",
                        p[axis]
                    );
                }
            }
        }
    }
}
