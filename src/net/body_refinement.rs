//! A geometric step after the network (not learned): the shared body's 23 joint rotations, its
//! betas, the subject's bone corrections and every view's camera are refined together so that the
//! body's 17 keypoints reproject onto every view's detections, while priors hold the body near the
//! network's estimate (so two views, occlusions and what the keypoints do not see stay where the
//! network put them) and, in a sequence, near the previous frame's refined body.
//!
//! **Bone corrections.** Real people's proportions leave the ten betas' span, and detectors place
//! keypoints elsewhere on the body than our model does (BlazePose's hips sit higher and wider). So
//! the subject's skeleton is the body model's shaped by the betas plus a correction of each bone
//! that carries a keypoint ([`ADAPTED_BONES`]: hips, knees, ankles, shoulders, elbows, wrists and the
//! head), a vector in the parent joint's rest frame. They are refined with the rest, held by a weak
//! prior near what the body comes with (the network's guess, or zero) and, in a sequence, near what
//! the stream has learned so far by a prior that grows with the frames seen, so they settle over a
//! few dozen frames to what the subject's keypoints say: per-subject proportions and keypoint
//! placement, learned on the fly the way the shape is.
//!
//! The cost is the confidence-weighted Geman–McClure reprojection error of every view's keypoints
//! (residuals in units of [`RESIDUAL_UNIT`] of the person's size in that view), plus
//! `prior_weight * stiffness_j * |log(R_net_j^T R_j)|^2` per joint,
//! `shape_prior_weight * |beta - beta_net|^2` and `(bone_prior_weight + temporal_bone_weight *
//! evidence) * |d_b - d_start|^2` per bone correction (`d_start` made left/right symmetric,
//! `symmetric_bones`),
//! plus the same towards the previous frame's body (scaled by the temporal weights) when there is
//! one. A few Levenberg–Marquardt steps on it,
//! iteratively reweighted, in plain f64 nalgebra, at two robust scales.
//!
//! It is cheap because, for fixed betas, every keypoint is linear in the joints' world transforms:
//! `keypoint_k = sum_j (R_j a_kj + T_j w_kj)` with levers `(a_kj, w_kj) = sum_v r_kv s_vj
//! [v - J_j; 1]` (keypoint regressor `r`, skin weights `s`, rest vertices `v` and joints `J`),
//! linear in the betas and precomputed per unit beta. Turning joint `m` by `δ` (in its own frame)
//! turns its subtree about its world position `T_m` by `ω = R_m δ`, so `d keypoint_k = ω x (Y_km -
//! W_km T_m)` with `Y_km`, `W_km` the sums of the levers' world points and weights over the
//! subtree: the Jacobians are analytic (the betas' too: they move the levers and the rest joints
//! linearly; a bone correction `d_b` moves its subtree by `R_parent(b) d_b`, so `d keypoint_k / d
//! d_b = W_kb R_parent(b)`). The cameras (6 numbers each) are eliminated by their Schur complement,
//! so each step solves one system of three numbers per joint that moves a keypoint, ten betas and
//! three numbers per bone correction.

use nalgebra::{
    DMatrix, DVector, Dyn, Matrix2x3, Matrix3, Matrix6, OMatrix, Rotation3, SMatrix, U3, U6, Vector2, Vector3, Vector6,
};

use super::extremities::ExtremitySettings;
use super::input::MultiViewFrame;
use super::jumps::JumpSettings;
use crate::body::kinematics::forward_chain;
use crate::body::{
    BodyModel, KeypointLever, KeypointProfile, NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS, NUM_KEYPOINTS, PARENTS,
    PROFILE_CARRIERS, RestJoints, extra_levers, keypoint_levers,
};
use crate::data::format::MIN_CONFIDENCE;
use crate::geometry::{Extrinsics, matrix_to_axis_angle};
use crate::keypoints::NUM_EXTRA_KEYPOINTS;

pub use crate::geometry::RESIDUAL_UNIT;

/// A joint whose rotation moves no keypoint by more than this (metres per radian, in the T-pose
/// of the mean body) is left as the network has it: the ankles and wrists (about 1 cm per radian,
/// their keypoints sit at the joints), the feet, the hands and the pelvis (the root, fixed).
const MIN_LEVER: f64 = 0.02;

/// How the refinement runs. The defaults were chosen on the validation set of the model card
/// (plugin-docs, model card).
#[derive(Clone, Debug, PartialEq)]
pub struct BodyRefinementSettings {
    /// Weight of the prior towards the network's joint rotations, per squared radian (times the
    /// joint's [`stiffness`]), in units of a squared residual of [`RESIDUAL_UNIT`]. Default: 4.
    pub prior_weight: f64,
    /// How far the network's body may miss the keypoints before its prior weakens: the prior
    /// towards the network's rotations of the limbs' joints (hips, knees, shoulders, elbows) is
    /// divided by `1 + (misfit / misfit_scale)^2`, the misfit being the network's body's mean robust
    /// residual at the first robust scale (0 where it fits, 1 where every keypoint is beyond the
    /// scale). A body the keypoints contradict (a pose the network has not learned) is then refined
    /// mostly by the keypoints. Infinite keeps the prior as it is. Default: 0.15 (chosen on the
    /// development sets with the sweep of the model card; plugin-docs, model card).
    pub misfit_scale: f64,
    /// Weight of the prior towards the network's betas, per squared unit, in the same units;
    /// infinite keeps the network's betas. Default: 0.1.
    pub shape_prior_weight: f64,
    /// Weight of the prior towards the previous frame's refined joint rotations (when there is
    /// one), relative to `prior_weight`. Default: 2.
    pub temporal_weight: f64,
    /// Weight of the prior towards the previous frame's refined betas (when there is one),
    /// relative to `shape_prior_weight`. Default: 10.
    pub temporal_shape_weight: f64,
    /// Robust scales of the passes (Geman–McClure), fractions of the person's size in the image.
    /// Default: 0.1 then 0.05.
    pub scales: Vec<f64>,
    /// Levenberg–Marquardt steps per pass at most. Default: 2 (more fit the noise as well as the
    /// body, and cost time).
    pub steps: usize,
    /// The same for a body without a previous frame (a stream's first estimate, or the first after
    /// a gap), which starts from the network's guess alone and whose cameras and bones the rest of
    /// the stream learns from. Default: 4 (2026-12-07: against 2, on the development sets, PA-MPJPE
    /// limbs / cameras mean: stick 20.5 -> 19.8 mm / 4.53 -> 4.20°, twice the noise 25.0 -> 24.8 mm
    /// / 5.79 -> 5.18°, validation 14.0 -> 14.1 mm / 3.54 -> 3.54°, the studio's development walk
    /// and dance unchanged; 8 gave the same as 4).
    pub start_steps: usize,
    /// Whether the cameras move too (otherwise only the body). Default: true.
    pub refine_cameras: bool,
    /// Weight of the prior towards the bone corrections the body comes with (the network's guess,
    /// zero without one), per squared metre, in units of a squared residual; infinite keeps them
    /// as they are. Default: 100 (a 3 cm correction costs about a tenth of a residual unit; chosen
    /// among 300, 100, 30 and 3 on the stick development set, PA limbs 23.5 / 20.5 / 19.7 / 20.6
    /// mm, and validation, 13.7 / 14.0 / 14.7 / 18.4 mm: weaker follows the noise on our own body).
    pub bone_prior_weight: f64,
    /// Weight of the prior towards the bone corrections a body comes with (what the stream learned
    /// so far), per squared metre and per frame of evidence they carry
    /// ([`RefinedBody::bone_evidence`], at most `max_bone_evidence`), added to
    /// `bone_prior_weight`: the corrections become a running mean over the sequence. Default: 300.
    pub temporal_bone_weight: f64,
    /// Whether the bone corrections a body comes with (what the stream has learned of its subject)
    /// are made left/right symmetric before the prior holds the body near them: each pair (hips,
    /// knees, ankles, shoulders, elbows, wrists) replaced by the mean of the left one and the right
    /// one's mirror image across the body's left-right axis. People are nearly symmetric, and a
    /// left hip forward with the right one back is the pelvis turned, which the corrections would
    /// otherwise learn and hold. Each frame may still leave the symmetric mean as its keypoints
    /// ask. Default: true (plugin-docs, model card).
    pub symmetric_bones: bool,
    /// The most frames of evidence the bone corrections count, so they can still follow a slow
    /// change. Default: 200.
    pub max_bone_evidence: f64,
    /// Weight of the prior holding a camera where the learned rig puts it ([`super::rig`]), per
    /// squared radian and per frame of evidence the rig has of that camera. Default: 5 (weak: the
    /// rig's main work is restarting a view that flipped; stronger priors also pull good cameras
    /// towards an average that carries the first frames' errors).
    pub rig_rotation_weight: f64,
    /// The same for the camera's position, per squared metre and frame of evidence. Default: 0 (a
    /// camera's distance follows the body's estimated size, which changes as the shape is learned).
    pub rig_translation_weight: f64,
    /// The most frames of evidence a camera's place in the rig counts. Default: 100.
    pub max_rig_evidence: f64,
    /// How the ankles and wrists are turned to BlazePose's extra keypoints, when the views have
    /// them ([`BodyRefiner::refine_extremities`]). Default: [`ExtremitySettings::default`].
    pub extremities: ExtremitySettings,
    /// Which keypoints of a stream's frame count as jumping in one view alone, and how much their
    /// confidence is scaled down ([`super::jumps::gate_jumps`]). Default: [`JumpSettings::default`].
    pub jumps: JumpSettings,
}

impl Default for BodyRefinementSettings {
    fn default() -> Self {
        Self {
            prior_weight: 4.0,
            misfit_scale: 0.15,
            shape_prior_weight: 0.1,
            temporal_weight: 2.0,
            temporal_shape_weight: 10.0,
            scales: vec![0.1, 0.05],
            steps: 2,
            start_steps: 4,
            refine_cameras: true,
            bone_prior_weight: 100.0,
            temporal_bone_weight: 300.0,
            symmetric_bones: true,
            max_bone_evidence: 200.0,
            rig_rotation_weight: 5.0,
            rig_translation_weight: 0.0,
            max_rig_evidence: 100.0,
            extremities: ExtremitySettings::default(),
            jumps: JumpSettings::default(),
        }
    }
}

impl BodyRefinementSettings {
    /// The names [`BodyRefinementSettings::set`] takes: the fields, `extremities.` before those
    /// of [`ExtremitySettings`] and `jumps.` before those of [`JumpSettings`].
    pub const NAMES: [&'static str; 27] = [
        "prior_weight",
        "misfit_scale",
        "shape_prior_weight",
        "temporal_weight",
        "temporal_shape_weight",
        "scales",
        "steps",
        "start_steps",
        "refine_cameras",
        "bone_prior_weight",
        "temporal_bone_weight",
        "symmetric_bones",
        "max_bone_evidence",
        "rig_rotation_weight",
        "rig_translation_weight",
        "max_rig_evidence",
        "extremities.enabled",
        "extremities.prior_weight",
        "extremities.temporal_weight",
        "extremities.scale",
        "extremities.steps",
        "extremities.min_points",
        "jumps.enabled",
        "jumps.ratio",
        "jumps.floor",
        "jumps.confidence_scale",
        "jumps.max_per_view",
    ];

    /// The defaults with each `NAME=VALUE` setting applied in turn ([`Self::apply`]), as `cmanet
    /// estimate --refine`, the examples' `--refine` and `tests/rest_pose.rs` take them.
    pub fn from_settings<'a>(settings: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut refinement = Self::default();
        for setting in settings {
            refinement.apply(setting)?;
        }
        Ok(refinement)
    }

    /// Sets one field from `NAME=VALUE` text ([`Self::set`]), as `cmanet estimate --refine` and
    /// the examples' `--refine` take it; the error names the problem.
    pub fn apply(&mut self, setting: &str) -> Result<(), String> {
        let (name, value) = setting.split_once('=').ok_or_else(|| format!("{setting}: expected NAME=VALUE"))?;
        self.set(name.trim(), value)
    }

    /// Sets the field `name` (one of [`Self::NAMES`]) from text: a number, `true` / `false`, or
    /// for `scales` numbers separated by commas. So a setting can be tried from the command line
    /// (`cmanet estimate --refine steps=3`) without a build. Numbers must be 0 or more (`inf`
    /// too, which some weights take to mean "hold"), `scales` positive and finite; the error names
    /// the problem.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let number = || -> Result<f64, String> {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| format!("{name}: `{value}` is not a number >= 0"))
        };
        let count = || -> Result<usize, String> {
            value.trim().parse::<usize>().map_err(|_| format!("{name}: `{value}` is not a whole number >= 0"))
        };
        let flag = || -> Result<bool, String> {
            value.trim().parse::<bool>().map_err(|_| format!("{name}: `{value}` is not true or false"))
        };
        let x = &mut self.extremities;
        match name {
            "prior_weight" => self.prior_weight = number()?,
            "misfit_scale" => self.misfit_scale = number()?,
            "shape_prior_weight" => self.shape_prior_weight = number()?,
            "temporal_weight" => self.temporal_weight = number()?,
            "temporal_shape_weight" => self.temporal_shape_weight = number()?,
            "scales" => {
                let scales: Option<Vec<f64>> = value
                    .split(',')
                    .map(|v| v.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0))
                    .collect();
                self.scales = scales.ok_or_else(|| format!("scales: `{value}` is not a list of positive numbers"))?;
            }
            "steps" => self.steps = count()?,
            "start_steps" => self.start_steps = count()?,
            "refine_cameras" => self.refine_cameras = flag()?,
            "bone_prior_weight" => self.bone_prior_weight = number()?,
            "temporal_bone_weight" => self.temporal_bone_weight = number()?,
            "symmetric_bones" => self.symmetric_bones = flag()?,
            "max_bone_evidence" => self.max_bone_evidence = number()?,
            "rig_rotation_weight" => self.rig_rotation_weight = number()?,
            "rig_translation_weight" => self.rig_translation_weight = number()?,
            "max_rig_evidence" => self.max_rig_evidence = number()?,
            "extremities.enabled" => x.enabled = flag()?,
            "extremities.prior_weight" => x.prior_weight = number()?,
            "extremities.temporal_weight" => x.temporal_weight = number()?,
            "extremities.scale" => x.scale = number()?,
            "extremities.steps" => x.steps = count()?,
            "extremities.min_points" => x.min_points = count()?,
            "jumps.enabled" => self.jumps.enabled = flag()?,
            "jumps.ratio" => self.jumps.ratio = number()?,
            "jumps.floor" => self.jumps.floor = number()?,
            "jumps.confidence_scale" => self.jumps.confidence_scale = number()? as f32,
            "jumps.max_per_view" => self.jumps.max_per_view = count()?,
            _ => return Err(format!("no refinement setting `{name}` (known: {})", Self::NAMES.join(", "))),
        }
        Ok(())
    }
}

/// How strongly each body joint (SMPL order without the pelvis) is held at the network's
/// rotation, relative to [`BodyRefinementSettings::prior_weight`]: more for the spine and the
/// neck, whose keypoints are few and far, and a lot for the joints whose rotation barely moves a
/// keypoint (ankles, feet, wrists, hands).
pub fn stiffness(joint: usize) -> f64 {
    crate::body::limits::pose_stiffness(joint + 1)
}

pub use crate::body::ADAPTED_BONES;

/// A body as the refinement sees it: joint rotations, shape and the subject's bone corrections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefinedBody {
    /// The 23 joint rotations (each in its parent's frame).
    pub pose: [Matrix3<f64>; NUM_BODY_JOINTS],
    /// Shape.
    pub betas: [f64; NUM_BETAS],
    /// Per SMPL joint, the correction of its bone (the vector from its parent joint) in the
    /// parent's rest frame, metres; zero but for [`ADAPTED_BONES`].
    pub bones: [Vector3<f64>; NUM_JOINTS],
    /// How many frames of evidence the bone corrections carry (0 for none); every refinement adds
    /// one.
    pub bone_evidence: f64,
}

impl RefinedBody {
    /// A body with the body model's bones.
    pub fn new(pose: [Matrix3<f64>; NUM_BODY_JOINTS], betas: [f64; NUM_BETAS]) -> Self {
        Self { pose, betas, bones: [Vector3::zeros(); NUM_JOINTS], bone_evidence: 0.0 }
    }

    /// Whether every number is finite.
    pub fn is_finite(&self) -> bool {
        self.pose.iter().all(|m| m.iter().all(|x| x.is_finite()))
            && self.betas.iter().all(|b| b.is_finite())
            && self.bones.iter().all(|b| b.iter().all(|x| x.is_finite()))
    }
}

/// One keypoint's levers for a shape: `(joint, a, w)` (see the module's documentation).
pub(super) type ShapedLevers = Vec<(usize, Vector3<f64>, f64)>;

/// A body shaped by some betas: its rest joints and its keypoints' levers.
#[derive(Clone, Debug)]
struct Shaped {
    rest: [Vector3<f64>; NUM_JOINTS],
    /// Per keypoint: `(joint, a, w)`.
    levers: Vec<ShapedLevers>,
}

/// The canonical-frame joints and keypoints of a posed body.
#[derive(Clone, Debug, PartialEq)]
pub struct PosedKeypoints {
    /// The 24 SMPL joints.
    pub joints: [Vector3<f64>; NUM_JOINTS],
    /// The 17 keypoints.
    pub keypoints: [Vector3<f64>; NUM_KEYPOINTS],
}

/// What a refinement did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RefinementReport {
    /// The cost before (at the last pass's robust scale), and after.
    pub cost_before: f64,
    /// See [`RefinementReport::cost_before`].
    pub cost_after: f64,
    /// Accepted Levenberg–Marquardt steps over all passes.
    pub steps: usize,
    /// Views that took part.
    pub views: usize,
}

/// The body model's keypoint levers, ready to refine bodies with.
#[derive(Clone, Debug)]
pub struct BodyRefiner {
    /// The settings.
    pub settings: BodyRefinementSettings,
    levers: Vec<Vec<KeypointLever>>,
    /// The extra keypoints' levers, when the body model has an extra regressor.
    pub(super) extra_levers: Option<Vec<Vec<KeypointLever>>>,
    /// The detector's profile of the extra keypoints: per extra, its offset in its joint's frame
    /// (`EXTRA_JOINTS`); zero for our own keypoints.
    pub(super) extra_profile: [Vector3<f64>; NUM_EXTRA_KEYPOINTS],
    pub(super) rest: RestJoints,
    /// Body joints (1..24) whose rotation moves a keypoint, in tree order.
    active: Vec<usize>,
    /// Per keypoint, the active joints (indices into `active`) whose rotation moves it.
    moved_by: Vec<Vec<usize>>,
    /// Per keypoint, the adapted bones (indices into [`ADAPTED_BONES`]) whose correction moves it,
    /// with the keypoint's weight on the bone's subtree.
    moved_by_bone: Vec<Vec<(usize, f64)>>,
    /// The detector's keypoint profile: per keypoint, its offsets in its two carrier joints'
    /// frames ([`PROFILE_CARRIERS`]); zero for our own keypoints.
    profile: [[Vector3<f64>; 2]; NUM_KEYPOINTS],
}

/// Where a camera is expected to be (for instance where the learned rig puts it) and how firmly:
/// the refinement adds `rotation_weight * |log(R R_target^T)|^2 + translation_weight * |t -
/// t_target|^2` (radians, metres; in units of a squared residual).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraPrior {
    /// The expected camera, body to camera.
    pub target: Extrinsics,
    /// Weight per squared radian.
    pub rotation_weight: f64,
    /// Weight per squared metre.
    pub translation_weight: f64,
}

/// What a refinement is held towards besides the network's estimate: the previous frame's refined
/// body in a sequence, and priors on the views' cameras (the rig's memory). Default: neither.
#[derive(Clone, Copy, Debug, Default)]
pub struct Priors<'a> {
    /// The previous frame's refined body.
    pub previous: Option<&'a RefinedBody>,
    /// A prior per view (by index; views beyond the slice have none).
    pub cameras: &'a [Option<CameraPrior>],
}

impl<'a> Priors<'a> {
    /// Only the previous frame's body.
    pub fn after(previous: &'a RefinedBody) -> Self {
        Self { previous: Some(previous), cameras: &[] }
    }
}

/// One view's observations, normalised through its intrinsics.
struct ViewData {
    /// Index into the frame's views.
    view: usize,
    /// Where the camera is expected to be, if anywhere.
    prior: Option<CameraPrior>,
    /// Person size, normalised image units.
    size: f64,
    /// `(keypoint, observation, confidence)`.
    points: Vec<(usize, Vector2<f64>, f64)>,
}

/// What the optimisation moves.
#[derive(Clone, Debug)]
struct State {
    body: RefinedBody,
    cameras: Vec<Extrinsics>,
}

/// World transforms and keypoints of a state's body.
struct Posed {
    rotations: [Matrix3<f64>; NUM_JOINTS],
    positions: [Vector3<f64>; NUM_JOINTS],
    keypoints: [Vector3<f64>; NUM_KEYPOINTS],
}

impl BodyRefiner {
    /// Precomputes the levers of `model` (its pose correctives, if any, are ignored: the open body
    /// has none).
    pub fn new(model: &BodyModel, settings: BodyRefinementSettings) -> Self {
        let rest = RestJoints::new(model);
        let levers = keypoint_levers(model, &rest);
        let mut refiner = Self {
            settings,
            levers,
            extra_levers: extra_levers(model, &rest),
            extra_profile: [Vector3::zeros(); NUM_EXTRA_KEYPOINTS],
            rest,
            active: Vec::new(),
            moved_by: vec![Vec::new(); NUM_KEYPOINTS],
            moved_by_bone: vec![Vec::new(); NUM_KEYPOINTS],
            profile: [[Vector3::zeros(); 2]; NUM_KEYPOINTS],
        };
        // Which joints move which keypoints, measured in the T-pose of the mean body.
        let shaped = refiner.shape(&[0.0; NUM_BETAS]);
        let posed = refiner.pose_shaped(&shaped, &RefinedBody::new([Matrix3::identity(); NUM_BODY_JOINTS], [0.0; 10]));
        let (sums, weights) = subtree_sums(&shaped, &posed);
        for (k, moved) in refiner.moved_by_bone.iter_mut().enumerate() {
            for (i, &b) in ADAPTED_BONES.iter().enumerate() {
                if weights[k][b] > 1e-6 {
                    moved.push((i, weights[k][b]));
                }
            }
        }
        for m in 1..NUM_JOINTS {
            let moved: Vec<usize> = (0..NUM_KEYPOINTS)
                .filter(|&k| (sums[k][m] - posed.positions[m] * weights[k][m]).norm() > MIN_LEVER)
                .collect();
            if moved.is_empty() {
                continue;
            }
            for k in moved {
                refiner.moved_by[k].push(refiner.active.len());
            }
            refiner.active.push(m);
        }
        refiner
    }

    /// The same levers with other settings.
    pub fn with_settings(&self, settings: BodyRefinementSettings) -> Self {
        Self { settings, ..self.clone() }
    }

    /// The body joints (SMPL indices 1..24) the refinement moves: those whose rotation moves a
    /// keypoint.
    pub fn active_joints(&self) -> &[usize] {
        &self.active
    }

    /// The rest position of `joint` for the body shaped by `betas` (canonical frame, metres).
    pub fn rest_joint(&self, joint: usize, betas: &[f32; NUM_BETAS]) -> Vector3<f64> {
        self.rest.joint(joint, &betas.map(f64::from))
    }

    fn shape(&self, betas: &[f64; NUM_BETAS]) -> Shaped {
        let rest = self.rest.all(betas);
        // The keypoints as the detector sees them: the profile's offsets are two more levers, on
        // the carrier joints, with no weight on their positions.
        let levers = self
            .levers
            .iter()
            .zip(PROFILE_CARRIERS.iter().zip(&self.profile))
            .map(|(row, (carriers, offsets))| {
                let mut levers: ShapedLevers = row.iter().map(|l| (l.joint, l.shaped_point(betas), l.weight)).collect();
                for (&carrier, offset) in carriers.iter().zip(offsets) {
                    if *offset != Vector3::zeros() {
                        levers.push((carrier, *offset, 0.0));
                    }
                }
                levers
            })
            .collect();
        Shaped { rest, levers }
    }

    /// Explains the detections through `profile` (a detector's keypoint placement relative to
    /// ours); [`KeypointProfile::none`] for our own keypoints (synthetic data).
    pub fn set_profile(&mut self, profile: &KeypointProfile) {
        self.profile = profile.offsets;
        self.extra_profile = profile.extra_offsets.unwrap_or([Vector3::zeros(); NUM_EXTRA_KEYPOINTS]);
    }

    /// The detector's keypoint profile the refinement explains the detections through.
    pub fn profile(&self) -> &[[Vector3<f64>; 2]; NUM_KEYPOINTS] {
        &self.profile
    }

    fn pose_shaped(&self, shaped: &Shaped, body: &RefinedBody) -> Posed {
        let locals = std::array::from_fn(|j| if j == 0 { Matrix3::identity() } else { body.pose[j - 1] });
        let (rotations, positions) = forward_chain(&shaped.rest, Some(&body.bones), &locals, shaped.rest[0]);
        let keypoints = std::array::from_fn(|k| lever_point(&shaped.levers[k], &rotations, &positions));
        Posed { rotations, positions, keypoints }
    }

    /// The canonical-frame (root unrotated, untranslated) joints and keypoints of `body` (the
    /// body's own keypoints, without the detector's profile).
    pub fn pose(&self, body: &RefinedBody) -> PosedKeypoints {
        let posed = self.pose_shaped(&self.shape(&body.betas), body);
        let keypoints = std::array::from_fn(|k| {
            let [a, b] = PROFILE_CARRIERS[k];
            posed.keypoints[k] - posed.rotations[a] * self.profile[k][0] - posed.rotations[b] * self.profile[k][1]
        });
        PosedKeypoints { joints: posed.positions, keypoints }
    }

    /// The canonical-frame keypoints of `body` as the detector sees them (with its profile).
    pub fn observed_keypoints(&self, body: &RefinedBody) -> [Vector3<f64>; NUM_KEYPOINTS] {
        self.pose_shaped(&self.shape(&body.betas), body).keypoints
    }

    /// Refines `body` (its 23 joint rotations, canonical frame; its betas when
    /// [`BodyRefinementSettings::shape_prior_weight`] is finite; its bone corrections when
    /// [`BodyRefinementSettings::bone_prior_weight`] is) and the present `cameras` (body to camera)
    /// of `frame` against its keypoints; `sizes` are the views' person sizes (normalised image
    /// units); `priors.previous` is the previous frame's refined body in a sequence (a prior on the
    /// joint rotations and the betas), `priors.cameras[i]` a prior on view `i`'s camera (views
    /// beyond the slice, and `None`s, have none). The bone corrections `body` comes with are a prior as strong as
    /// their [`RefinedBody::bone_evidence`]. A view without a camera, with fewer than six usable keypoints or without a
    /// finite positive size keeps its camera and does not take part. Leaves everything as it is
    /// when no view takes part, when the inputs are not finite, or when no step lowers the cost;
    /// never returns a non-finite pose, shape or camera.
    pub fn refine(
        &self,
        body: &mut RefinedBody,
        cameras: &mut [Option<Extrinsics>],
        frame: &MultiViewFrame,
        sizes: &[f64],
        priors: &Priors,
    ) -> RefinementReport {
        let (previous, camera_priors) = (priors.previous, priors.cameras);
        let mut report = RefinementReport::default();
        let finite_matrix = |m: &Matrix3<f64>| m.iter().all(|x| x.is_finite());
        if !body.is_finite() || previous.is_some_and(|p| !p.is_finite()) {
            return report;
        }
        let views: Vec<ViewData> = cameras
            .iter()
            .zip(&frame.views)
            .zip(sizes)
            .enumerate()
            .filter_map(|(i, ((camera, view), size))| {
                let (camera, view) = (camera.as_ref()?, view.as_ref()?);
                let finite = finite_matrix(&camera.rotation) && camera.translation.iter().all(|x| x.is_finite());
                if !finite || !size.is_finite() || *size <= 0.0 {
                    return None;
                }
                let points: Vec<(usize, Vector2<f64>, f64)> = view
                    .keypoints
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k[2] >= MIN_CONFIDENCE && k.iter().all(|x| x.is_finite()))
                    .map(|(k, o)| {
                        let observed = view.intrinsics.normalize(&Vector2::new(o[0] as f64, o[1] as f64));
                        (k, observed, o[2].min(1.0) as f64)
                    })
                    .filter(|(_, o, _)| o.iter().all(|x| x.is_finite()))
                    .collect();
                let prior = camera_priors.get(i).copied().flatten().filter(|p| {
                    let target = &p.target;
                    finite_matrix(&target.rotation)
                        && target.translation.iter().all(|x| x.is_finite())
                        && p.rotation_weight.is_finite()
                        && p.translation_weight.is_finite()
                });
                (points.len() >= 6).then_some(ViewData { view: i, prior, size: *size, points })
            })
            .collect();
        report.views = views.len();
        if views.is_empty() || self.active.is_empty() {
            return report;
        }
        // The network's body (its bones: those it came with) and, in a sequence, the previous
        // frame's; the bones are also held near zero.
        // The network's body and, in a sequence, the previous frame's. The bone corrections the
        // body comes with (the network's guess, or what the stream has learned of its subject so
        // far) are held by `bone_prior_weight` plus their evidence: the corrections become an
        // unbiased running mean over the sequence.
        let evidence = body.bone_evidence.clamp(0.0, self.settings.max_bone_evidence.max(0.0));
        let mut learned = *body;
        if self.settings.symmetric_bones {
            learned.bones = symmetric(&learned.bones);
        }
        let mut prior = Prior {
            targets: vec![PriorTarget {
                body: learned,
                pose: 1.0,
                limb_factor: 1.0,
                shape: 1.0,
                bones: self.settings.bone_prior_weight + self.settings.temporal_bone_weight * evidence,
            }],
        };
        if let Some(previous) = previous {
            prior.targets.push(PriorTarget {
                body: *previous,
                pose: self.settings.temporal_weight,
                limb_factor: 1.0,
                shape: self.settings.temporal_shape_weight,
                bones: 0.0,
            });
        }
        let mut state = State { body: *body, cameras: views.iter().filter_map(|v| cameras[v.view]).collect() };
        if self.settings.misfit_scale.is_finite() {
            let first_scale = self.settings.scales.first().copied().unwrap_or(0.1);
            let misfit = self.misfit(&state, &views, first_scale);
            if misfit.is_finite() {
                prior.targets[0].limb_factor /= 1.0 + (misfit / self.settings.misfit_scale.max(1e-9)).powi(2);
            }
        }
        let last_scale = self.settings.scales.last().copied().unwrap_or(0.05);
        report.cost_before = self.cost(&state, &prior, &views, last_scale);
        let steps = if previous.is_none() { self.settings.start_steps } else { self.settings.steps };
        for &scale in &self.settings.scales {
            let mut cost = self.cost(&state, &prior, &views, scale);
            let mut lambda = 1e-3;
            for _ in 0..steps {
                let system = self.linearise(&state, &prior, &views, scale);
                let mut improved = false;
                for _ in 0..4 {
                    let Some(candidate) = self.step(&state, &system, lambda) else { break };
                    let c = self.cost(&candidate, &prior, &views, scale);
                    if c.is_finite() && c < cost {
                        state = candidate;
                        cost = c;
                        lambda = (lambda * 0.3).max(1e-7);
                        improved = true;
                        report.steps += 1;
                        break;
                    }
                    lambda *= 10.0;
                }
                if !improved {
                    break;
                }
            }
        }
        report.cost_after = self.cost(&state, &prior, &views, last_scale);
        let finite = state.body.is_finite()
            && state.cameras.iter().all(|c| finite_matrix(&c.rotation) && c.translation.iter().all(|x| x.is_finite()));
        // (A NaN cost counts as not lowered.)
        let lowered = report.cost_after <= report.cost_before;
        if !finite || !lowered {
            report.cost_after = report.cost_before;
            report.steps = 0;
            return report;
        }
        *body = state.body;
        body.bone_evidence += 1.0;
        for (view, camera) in views.iter().zip(&state.cameras) {
            cameras[view.view] = Some(*camera);
        }
        report
    }

    /// Whether the betas are refined.
    fn refines_betas(&self) -> bool {
        self.settings.shape_prior_weight.is_finite()
    }

    /// Whether the bone corrections are refined.
    fn refines_bones(&self) -> bool {
        self.settings.bone_prior_weight.is_finite()
    }

    /// The robust cost of a state at robust scale `scale` (fraction of the person's size).
    fn cost(&self, state: &State, prior: &Prior, views: &[ViewData], scale: f64) -> f64 {
        let shaped = self.shape(&state.body.betas);
        let posed = self.pose_shaped(&shaped, &state.body);
        let tau2 = (scale / RESIDUAL_UNIT).powi(2);
        let mut cost = 0.0;
        for (view, camera) in views.iter().zip(&state.cameras) {
            for (k, observed, confidence) in &view.points {
                // Geman–McClure: tau^2 s / (1 + s), bounded by tau^2.
                cost += confidence
                    * tau2
                    * geman_mcclure(self.robust_square(camera, &posed.keypoints[*k], observed, view.size, tau2));
            }
            if let Some(p) = &view.prior {
                let turn = rotation_log(&(camera.rotation * p.target.rotation.transpose()));
                cost += p.rotation_weight * turn.norm_squared()
                    + p.translation_weight * (camera.translation - p.target.translation).norm_squared();
            }
        }
        cost + self.prior_cost(state, prior)
    }

    /// A keypoint's squared residual over the robust scale's (`tau2`, in residual units), infinite
    /// behind the camera.
    fn robust_square(
        &self,
        camera: &Extrinsics,
        keypoint: &Vector3<f64>,
        observed: &Vector2<f64>,
        size: f64,
        tau2: f64,
    ) -> f64 {
        let q = camera.to_camera(keypoint);
        if q.z > 1e-3 {
            ((Vector2::new(q.x / q.z, q.y / q.z) - observed) / (RESIDUAL_UNIT * size)).norm_squared() / tau2
        } else {
            f64::INFINITY
        }
    }

    /// How badly a state misses the keypoints: the confidence-weighted mean of the Geman–McClure
    /// terms `s / (1 + s)` at robust scale `scale`, 0 (every keypoint on its detection) to 1.
    fn misfit(&self, state: &State, views: &[ViewData], scale: f64) -> f64 {
        let shaped = self.shape(&state.body.betas);
        let posed = self.pose_shaped(&shaped, &state.body);
        let tau2 = (scale / RESIDUAL_UNIT).powi(2);
        let (mut sum, mut weight) = (0.0, 0.0);
        for (view, camera) in views.iter().zip(&state.cameras) {
            for (k, observed, confidence) in &view.points {
                sum += confidence
                    * geman_mcclure(self.robust_square(camera, &posed.keypoints[*k], observed, view.size, tau2));
                weight += confidence;
            }
        }
        sum / weight
    }

    fn prior_cost(&self, state: &State, prior: &Prior) -> f64 {
        let mut cost = 0.0;
        let body = &state.body;
        for target in &prior.targets {
            for &m in &self.active {
                let d = rotation_log(&(target.body.pose[m - 1].transpose() * body.pose[m - 1]));
                cost += target.pose_weight(m) * self.settings.prior_weight * stiffness(m - 1) * d.norm_squared();
            }
            if self.refines_betas() {
                let d2: f64 = body.betas.iter().zip(&target.body.betas).map(|(a, b)| (a - b).powi(2)).sum();
                cost += target.shape * self.settings.shape_prior_weight * d2;
            }
            if self.refines_bones() && target.bones > 0.0 {
                let d2: f64 =
                    ADAPTED_BONES.iter().map(|&b| (body.bones[b] - target.body.bones[b]).norm_squared()).sum();
                cost += target.bones * d2;
            }
        }
        cost
    }

    /// The columns of the body block: three per active joint, then the betas (when refined), then
    /// three per adapted bone (when refined). Returns `(betas_start, bones_start, n)`.
    fn layout(&self) -> (usize, usize, usize) {
        let joints = 3 * self.active.len();
        let bones = joints + if self.refines_betas() { NUM_BETAS } else { 0 };
        let n = bones + if self.refines_bones() { 3 * ADAPTED_BONES.len() } else { 0 };
        (joints, bones, n)
    }

    /// The reweighted Gauss–Newton system at a state.
    fn linearise(&self, state: &State, prior: &Prior, views: &[ViewData], scale: f64) -> System {
        let body = &state.body;
        let shaped = self.shape(&body.betas);
        let posed = self.pose_shaped(&shaped, body);
        let (sums, weights) = subtree_sums(&shaped, &posed);
        let (betas_start, bones_start, n) = self.layout();
        let with_betas = self.refines_betas();
        // How the joints' positions move per unit beta (through the rest offsets, turned).
        let mut position_dirs = [[Vector3::zeros(); NUM_BETAS]; NUM_JOINTS];
        if with_betas {
            position_dirs[0] = self.rest.dirs[0];
            for j in 1..NUM_JOINTS {
                let p = PARENTS[j].unwrap_or(0);
                let (turn, parent) = (posed.rotations[p], position_dirs[p]);
                position_dirs[j] =
                    std::array::from_fn(|b| turn * (self.rest.dirs[j][b] - self.rest.dirs[p][b]) + parent[b]);
            }
        }
        // Per keypoint, its Jacobian on the body's columns that move it: d keypoint_k / d δ_m =
        // -[Y_km - W_km T_m]x R_m for the active joints m; the betas move the levers and the joints'
        // positions; a bone correction moves its subtree by R_parent d.
        let jacobians: Vec<KeypointJacobian> = (0..NUM_KEYPOINTS)
            .map(|k| {
                let mut columns = Vec::new();
                let mut blocks: Vec<Matrix3<f64>> = Vec::new();
                for &a in &self.moved_by[k] {
                    let m = self.active[a];
                    let arm = sums[k][m] - posed.positions[m] * weights[k][m];
                    columns.push(3 * a);
                    blocks.push(-arm.cross_matrix() * posed.rotations[m]);
                }
                let mut shape = SMatrix::<f64, 3, NUM_BETAS>::zeros();
                if with_betas {
                    for l in &self.levers[k] {
                        for (b, (point, position)) in l.point_dirs.iter().zip(&position_dirs[l.joint]).enumerate() {
                            let mut target = shape.column_mut(b);
                            target += posed.rotations[l.joint] * point + position * l.weight;
                        }
                    }
                }
                if self.refines_bones() {
                    for &(i, w) in &self.moved_by_bone[k] {
                        let parent = PARENTS[ADAPTED_BONES[i]].unwrap_or(0);
                        columns.push(bones_start + 3 * i);
                        blocks.push(posed.rotations[parent] * w);
                    }
                }
                let width = 3 * blocks.len() + if with_betas { NUM_BETAS } else { 0 };
                let mut jacobian = OMatrix::<f64, U3, Dyn>::zeros(width);
                let mut index = Vec::with_capacity(width);
                for (c, block) in columns.iter().zip(&blocks) {
                    jacobian.fixed_view_mut::<3, 3>(0, index.len()).copy_from(block);
                    index.extend([*c, c + 1, c + 2]);
                }
                if with_betas {
                    jacobian.fixed_view_mut::<3, NUM_BETAS>(0, index.len()).copy_from(&shape);
                    index.extend(betas_start..betas_start + NUM_BETAS);
                }
                KeypointJacobian { columns: index, jacobian }
            })
            .collect();
        let mut system = System {
            body: DMatrix::zeros(n, n),
            body_gradient: DVector::zeros(n),
            cameras: Vec::with_capacity(views.len()),
        };
        // The views' information about every keypoint (canonical frame), summed over the views
        // before it is spread over the body's numbers.
        let mut information = [Matrix3::zeros(); NUM_KEYPOINTS];
        let mut pulls = [Vector3::zeros(); NUM_KEYPOINTS];
        let tau2 = (scale / RESIDUAL_UNIT).powi(2);
        for (view, camera) in views.iter().zip(&state.cameras) {
            let unit = RESIDUAL_UNIT * view.size;
            let mut block = CameraBlock {
                hessian: Matrix6::zeros(),
                gradient: Vector6::zeros(),
                coupling: OMatrix::<f64, Dyn, U6>::zeros(n),
            };
            for (k, observed, confidence) in &view.points {
                let q = camera.to_camera(&posed.keypoints[*k]);
                if q.z <= 1e-3 {
                    continue;
                }
                let residual = (Vector2::new(q.x / q.z, q.y / q.z) - observed) / unit;
                let s = residual.norm_squared() / tau2;
                let irls = confidence / (1.0 + s).powi(2);
                let projection =
                    Matrix2x3::new(1.0 / q.z, 0.0, -q.x / (q.z * q.z), 0.0, 1.0 / q.z, -q.y / (q.z * q.z)) / unit;
                // d residual / d keypoint (canonical frame).
                let through = projection * camera.rotation;
                let weighted = through.transpose() * irls;
                information[*k] += weighted * through;
                pulls[*k] += weighted * residual;
                if self.settings.refine_cameras {
                    let mut dq = SMatrix::<f64, 3, 6>::zeros();
                    dq.fixed_view_mut::<3, 3>(0, 0).copy_from(&(-q.cross_matrix()));
                    dq.fixed_view_mut::<3, 3>(0, 3).copy_from(&Matrix3::identity());
                    let jc = projection * dq;
                    let jct = jc.transpose() * irls;
                    block.hessian += jct * jc;
                    block.gradient += jct * residual;
                    let x = weighted * jc; // 3 x 6
                    let kj = &jacobians[*k];
                    let coupled = kj.jacobian.tr_mul(&x); // width x 6
                    for (row, &c) in kj.columns.iter().enumerate() {
                        let mut target = block.coupling.row_mut(c);
                        target += coupled.row(row);
                    }
                }
            }
            // The camera's own prior: rotation residual log(R R_target^T), Jacobian I (left
            // perturbation); translation residual t - t_target, Jacobian [-[t]x, I].
            if let Some(p) = &view.prior
                && self.settings.refine_cameras
            {
                let turn = rotation_log(&(camera.rotation * p.target.rotation.transpose()));
                let mut j = SMatrix::<f64, 3, 6>::zeros();
                j.fixed_view_mut::<3, 3>(0, 0).copy_from(&(-camera.translation.cross_matrix()));
                j.fixed_view_mut::<3, 3>(0, 3).copy_from(&Matrix3::identity());
                block.hessian += j.transpose() * j * p.translation_weight;
                block.gradient += j.transpose() * (camera.translation - p.target.translation) * p.translation_weight;
                for r in 0..3 {
                    block.hessian[(r, r)] += p.rotation_weight;
                    block.gradient[r] += p.rotation_weight * turn[r];
                }
            }
            system.cameras.push(block);
        }
        // Spread every keypoint's information over the body's numbers that move it.
        for (k, kj) in jacobians.iter().enumerate() {
            let weighted = information[k] * &kj.jacobian; // 3 x width
            let hessian = kj.jacobian.tr_mul(&weighted);
            let gradient = kj.jacobian.tr_mul(&pulls[k]);
            for (a, &r) in kj.columns.iter().enumerate() {
                system.body_gradient[r] += gradient[a];
                for (b, &c) in kj.columns.iter().enumerate() {
                    system.body[(r, c)] += hessian[(a, b)];
                }
            }
        }
        // Priors: residual sqrt(w) log(R_net^T R), Jacobian sqrt(w) I (small-angle); betas and bones
        // likewise.
        for target in &prior.targets {
            for (a, &m) in self.active.iter().enumerate() {
                let w = target.pose_weight(m) * self.settings.prior_weight * stiffness(m - 1);
                let d = rotation_log(&(target.body.pose[m - 1].transpose() * body.pose[m - 1]));
                for r in 0..3 {
                    system.body[(3 * a + r, 3 * a + r)] += w;
                    system.body_gradient[3 * a + r] += w * d[r];
                }
            }
            if with_betas {
                let w = target.shape * self.settings.shape_prior_weight;
                for (b, (now, then)) in body.betas.iter().zip(&target.body.betas).enumerate() {
                    system.body[(betas_start + b, betas_start + b)] += w;
                    system.body_gradient[betas_start + b] += w * (now - then);
                }
            }
            if self.refines_bones() && target.bones > 0.0 {
                for (i, &b) in ADAPTED_BONES.iter().enumerate() {
                    let d = body.bones[b] - target.body.bones[b];
                    for r in 0..3 {
                        system.body[(bones_start + 3 * i + r, bones_start + 3 * i + r)] += target.bones;
                        system.body_gradient[bones_start + 3 * i + r] += target.bones * d[r];
                    }
                }
            }
        }
        system
    }

    /// The damped step from `state`, or `None` when the system is singular.
    fn step(&self, state: &State, system: &System, lambda: f64) -> Option<State> {
        let n = system.body.nrows();
        let mut reduced = system.body.clone();
        for i in 0..n {
            reduced[(i, i)] = reduced[(i, i)] * (1.0 + lambda) + 1e-9;
        }
        let mut rhs = -system.body_gradient.clone();
        let mut inverses = Vec::with_capacity(system.cameras.len());
        if self.settings.refine_cameras {
            for block in &system.cameras {
                let mut damped = block.hessian;
                for i in 0..6 {
                    damped[(i, i)] = damped[(i, i)] * (1.0 + lambda) + 1e-9;
                }
                let inverse = damped.try_inverse()?;
                let bc = &block.coupling * inverse; // n x 6
                reduced.gemm(-1.0, &bc, &block.coupling.transpose(), 1.0);
                rhs += &bc * block.gradient;
                inverses.push(inverse);
            }
        }
        let body_step = reduced.cholesky()?.solve(&rhs);
        if !body_step.iter().all(|x| x.is_finite()) {
            return None;
        }
        let (betas_start, bones_start, _) = self.layout();
        let mut next = state.clone();
        for (a, &m) in self.active.iter().enumerate() {
            let delta = Vector3::new(body_step[3 * a], body_step[3 * a + 1], body_step[3 * a + 2]);
            next.body.pose[m - 1] = state.body.pose[m - 1] * Rotation3::from_scaled_axis(delta).into_inner();
        }
        if self.refines_betas() {
            for (beta, step) in next.body.betas.iter_mut().zip(body_step.rows(betas_start, NUM_BETAS).iter()) {
                *beta += step;
            }
        }
        if self.refines_bones() {
            for (i, &b) in ADAPTED_BONES.iter().enumerate() {
                next.body.bones[b] += body_step.fixed_rows::<3>(bones_start + 3 * i);
            }
        }
        for ((camera, block), inverse) in next.cameras.iter_mut().zip(&system.cameras).zip(&inverses) {
            let d: Vector6<f64> = -(inverse * (block.gradient + block.coupling.transpose() * &body_step));
            let turn = Rotation3::from_scaled_axis(Vector3::new(d[0], d[1], d[2])).into_inner();
            *camera =
                Extrinsics::new(turn * camera.rotation, turn * camera.translation + Vector3::new(d[3], d[4], d[5]));
        }
        Some(next)
    }
}

/// One keypoint's Jacobian on the body block's columns that move it.
struct KeypointJacobian {
    /// The body block's columns, one per column of `jacobian`.
    columns: Vec<usize>,
    /// `3 x columns.len()`.
    jacobian: OMatrix<f64, U3, Dyn>,
}

/// What the priors pull towards: the network's estimate (and, when given, the previous frame's
/// refined body), each with weights relative to the settings' prior weights.
struct Prior {
    targets: Vec<PriorTarget>,
}

/// A body the prior pulls towards, with the weights of its joint rotations and betas relative to
/// the settings' `prior_weight` and `shape_prior_weight`, and of its bone corrections per squared
/// metre.
struct PriorTarget {
    body: RefinedBody,
    /// Weight of the joint rotations' prior (relative to `prior_weight`).
    pose: f64,
    /// What `misfit_scale` leaves of `pose` on the limbs' joints ([`LIMB_JOINTS`]; 1 otherwise).
    limb_factor: f64,
    shape: f64,
    bones: f64,
}

/// The left and right bones [`BodyRefinementSettings::symmetric_bones`] makes mirror images of
/// each other (SMPL joints at their far ends: hips, knees, ankles, shoulders, elbows, wrists).
const MIRRORED_BONES: [(usize, usize); 6] = [(1, 2), (4, 5), (7, 8), (16, 17), (18, 19), (20, 21)];

/// Bone corrections made left/right symmetric: each pair of [`MIRRORED_BONES`] replaced by the
/// mean of the left one and the right one mirrored across the left-right axis (x of the rest
/// frames).
fn symmetric(bones: &[Vector3<f64>; NUM_JOINTS]) -> [Vector3<f64>; NUM_JOINTS] {
    let mirror = |v: Vector3<f64>| Vector3::new(-v.x, v.y, v.z);
    let mut out = *bones;
    for (left, right) in MIRRORED_BONES {
        let mean = 0.5 * (bones[left] + mirror(bones[right]));
        out[left] = mean;
        out[right] = mirror(mean);
    }
    out
}

/// The limbs' joints (SMPL: hips, knees, shoulders, elbows), whose prior towards the network
/// [`BodyRefinementSettings::misfit_scale`] weakens: a pose the network has not learned is mostly
/// in the arms and legs, while the spine and the collars hold the body's turn and with it the
/// cameras (weakening every joint's prior cost half a degree of camera error on noisy keypoints).
const LIMB_JOINTS: [usize; 8] = [1, 2, 4, 5, 16, 17, 18, 19];

impl PriorTarget {
    /// The prior's weight on SMPL joint `m` (relative to `prior_weight`).
    fn pose_weight(&self, m: usize) -> f64 {
        if LIMB_JOINTS.contains(&m) { self.pose * self.limb_factor } else { self.pose }
    }
}

/// The Geman–McClure term `s / (1 + s)` of a squared scaled residual, 1 when it is infinite.
fn geman_mcclure(s: f64) -> f64 {
    if s.is_finite() { s / (1.0 + s) } else { 1.0 }
}

/// The Gauss–Newton system: the body block (three numbers per active joint), and per view its
/// camera block and coupling to the body.
struct System {
    body: DMatrix<f64>,
    body_gradient: DVector<f64>,
    cameras: Vec<CameraBlock>,
}

struct CameraBlock {
    hessian: Matrix6<f64>,
    gradient: Vector6<f64>,
    /// `[n, 6]`: body rows, camera columns.
    coupling: OMatrix<f64, Dyn, U6>,
}

/// Per keypoint and joint, the sums over the joint's subtree of the levers' world points
/// (`R_j a_kj + T_j w_kj`) and of their weights.
#[allow(clippy::type_complexity)]
fn subtree_sums(
    shaped: &Shaped,
    posed: &Posed,
) -> ([[Vector3<f64>; NUM_JOINTS]; NUM_KEYPOINTS], [[f64; NUM_JOINTS]; NUM_KEYPOINTS]) {
    let mut sums = [[Vector3::zeros(); NUM_JOINTS]; NUM_KEYPOINTS];
    let mut weights = [[0.0; NUM_JOINTS]; NUM_KEYPOINTS];
    for (k, levers) in shaped.levers.iter().enumerate() {
        for (j, a, w) in levers {
            sums[k][*j] += posed.rotations[*j] * a + posed.positions[*j] * *w;
            weights[k][*j] += w;
        }
        // Children come after their parents in SMPL's order.
        for j in (1..NUM_JOINTS).rev() {
            let p = PARENTS[j].unwrap_or(0);
            let (s, w) = (sums[k][j], weights[k][j]);
            sums[k][p] += s;
            weights[k][p] += w;
        }
    }
    (sums, weights)
}

/// The axis-angle vector of a rotation matrix (through the quaternion: finite at every angle,
/// also for a matrix a rounding error away from the identity, where `acos` of the trace is not).
fn rotation_log(r: &Matrix3<f64>) -> Vector3<f64> {
    matrix_to_axis_angle(r)
}

/// One keypoint from its levers `(joint, a, w)` and the joints' world rotations and positions:
/// `sum_j R_j a_j + T_j w_j`.
pub(super) fn lever_point(
    levers: &[(usize, Vector3<f64>, f64)],
    rotations: &[Matrix3<f64>; NUM_JOINTS],
    positions: &[Vector3<f64>; NUM_JOINTS],
) -> Vector3<f64> {
    levers.iter().map(|(j, a, w)| rotations[*j] * a + positions[*j] * *w).sum()
}
