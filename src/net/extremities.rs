//! Feet and hands: the ankles' and wrists' rotations from BlazePose's extra landmarks (heels, foot
//! tips; pinky, index and thumb knuckles), after the body refinement has placed the body and the
//! cameras.
//!
//! The 17 COCO keypoints cannot turn a foot or a hand: the ankle and wrist keypoints sit at the
//! joints, so their rotations move no keypoint (the refinement leaves them as the network has
//! them). The extras do: a heel and a foot tip fix the foot about its ankle, three knuckles the
//! hand about its wrist. And since turning an ankle or a wrist moves none of the 17, each of the
//! four joints can be solved on its own, after the rest of the body: per joint, three numbers
//! minimising the confidence-weighted, robust (Cauchy) reprojection error of its extras in every
//! view, plus a prior towards the rotation it starts from (the network's) and, in a sequence,
//! towards the previous frame's. A few Levenberg–Marquardt steps with a numeric Jacobian; the
//! extras are posed from the body model's extra regressor through the same levers as the 17
//! ([`crate::body::extra_levers`]). The `*_foot` (toes) and `*_hand` (fingers) joints stay as
//! they are: two or three points per limb fix one rotation each.

use nalgebra::{Matrix3, Rotation3, Vector2, Vector3};

use super::body_refinement::{BodyRefiner, RefinedBody, ShapedLevers, lever_point};
use super::input::MultiViewFrame;
use crate::body::kinematics::forward_chain;
use crate::body::{NUM_BETAS, NUM_JOINTS};
use crate::data::format::MIN_CONFIDENCE;
use crate::geometry::{Extrinsics, RESIDUAL_UNIT, rotation_angle_between};
use crate::keypoints::{EXTRA_FEET, EXTRA_HANDS, EXTRA_JOINTS, NUM_EXTRA_KEYPOINTS};

/// SMPL's left and right ankle and wrist.
const LEFT_ANKLE: usize = 7;
const RIGHT_ANKLE: usize = 8;
const LEFT_WRIST: usize = 20;
const RIGHT_WRIST: usize = 21;

/// The joints turned, each with the extra keypoints that turn it.
pub fn extremity_joints() -> [(usize, Vec<usize>); 4] {
    [
        (LEFT_ANKLE, vec![EXTRA_FEET[0].0, EXTRA_FEET[0].1]),
        (RIGHT_ANKLE, vec![EXTRA_FEET[1].0, EXTRA_FEET[1].1]),
        (LEFT_WRIST, EXTRA_HANDS[0].to_vec()),
        (RIGHT_WRIST, EXTRA_HANDS[1].to_vec()),
    ]
}

/// How the feet and hands are turned. The weights were chosen on a synthetic development set
/// (`cmanet synth --seed 21 --sequences 6 --frames 60`, neither validation nor test): prior 0.5,
/// 4, 16, 64 x temporal 2, 16, 64 gave feet / hands 8.3 / 11.4 degrees at 0.5 / 2, 6.1 / 9.3 at
/// 16 / 16 (the best), 6.8 / 10.0 without turning them; the robust scale 0.02-0.2 hardly mattered
/// (each by editing these defaults and rerunning `cmanet estimate` and `cmanet eval` on the set).
#[derive(Clone, Debug, PartialEq)]
pub struct ExtremitySettings {
    /// Whether the ankles and wrists are turned to the extras at all (when the views have them).
    /// Default: true.
    pub enabled: bool,
    /// Weight of the prior towards the rotation the joint starts from (the network's), per
    /// squared radian, in units of a squared residual. Default: 16.
    pub prior_weight: f64,
    /// Weight of the prior towards the previous frame's rotation, per squared radian. Default: 16.
    pub temporal_weight: f64,
    /// Robust (Cauchy) scale of the residuals, a fraction of the person's size. Default: 0.05.
    pub scale: f64,
    /// Levenberg–Marquardt steps at most. Default: 6.
    pub steps: usize,
    /// Fewest confident extras a joint needs over all views to be turned. Default: 3.
    pub min_points: usize,
}

impl Default for ExtremitySettings {
    fn default() -> Self {
        Self { enabled: true, prior_weight: 16.0, temporal_weight: 16.0, scale: 0.05, steps: 6, min_points: 3 }
    }
}

/// One confident extra in one view: the camera, the normalised observation, its weight and the
/// view's person size.
struct Observation {
    camera: Extrinsics,
    extra: usize,
    observed: Vector2<f64>,
    confidence: f64,
    size: f64,
}

impl BodyRefiner {
    /// Turns the ankles and wrists of `body` (canonical frame, as the refinement left it) so that
    /// the extra keypoints reproject onto the views' detections of them (`frame`'s
    /// [`super::ViewObservation::extra`]) through `cameras` (body to camera); `sizes` are the
    /// views' person sizes, `previous` the previous frame's refined body. Returns which of the
    /// four joints were turned (left ankle, right ankle, left wrist, right wrist). Does nothing
    /// when the body model has no extra regressor, the views have no extras, or a joint has fewer
    /// than [`ExtremitySettings::min_points`] confident extras; never makes the body non-finite.
    pub fn refine_extremities(
        &self,
        body: &mut RefinedBody,
        cameras: &[Option<Extrinsics>],
        frame: &MultiViewFrame,
        sizes: &[f64],
        previous: Option<&RefinedBody>,
    ) -> [bool; 4] {
        let mut turned = [false; 4];
        let settings = &self.settings.extremities;
        if !settings.enabled || !body.is_finite() {
            return turned;
        }
        let Some(shaped) = self.shaped_extras(&body.betas, true) else { return turned };
        let rest = self.rest.all(&body.betas);
        for (limb, (joint, extras)) in extremity_joints().iter().enumerate() {
            let observations: Vec<Observation> = frame
                .views
                .iter()
                .zip(cameras)
                .zip(sizes)
                .filter_map(|((view, camera), size)| Some((view.as_ref()?, camera.as_ref()?, *size)))
                .filter(|(_, _, size)| size.is_finite() && *size > 0.0)
                .flat_map(|(view, camera, size)| {
                    let seen = view.extra.as_ref();
                    extras.iter().filter_map(move |&e| {
                        let o = seen?[e];
                        if o[2] < MIN_CONFIDENCE || !o.iter().all(|x| x.is_finite()) {
                            return None;
                        }
                        let observed = view.intrinsics.normalize(&Vector2::new(o[0] as f64, o[1] as f64));
                        observed.iter().all(|x| x.is_finite()).then_some(Observation {
                            camera: *camera,
                            extra: e,
                            observed,
                            confidence: o[2].min(1.0) as f64,
                            size,
                        })
                    })
                })
                .collect();
            if observations.len() < settings.min_points {
                continue;
            }
            let start = body.pose[joint - 1];
            let before = previous.filter(|p| p.is_finite()).map(|p| p.pose[joint - 1]);
            let cost_of = |local: &Matrix3<f64>| {
                self.extremity_cost(body, &rest, &shaped, *joint, local, &observations, &start, before.as_ref())
            };
            if let Some(best) = solve(&start, &cost_of, settings.steps) {
                body.pose[joint - 1] = best;
                turned[limb] = true;
            }
        }
        turned
    }

    /// The canonical-frame extra keypoints of `body` (the body's own, without the detector's
    /// profile); `None` when the body model has no extra regressor.
    pub fn extra_keypoints(&self, body: &RefinedBody) -> Option<[Vector3<f64>; NUM_EXTRA_KEYPOINTS]> {
        self.extras_of(body, false)
    }

    /// The canonical-frame extra keypoints of `body` where the detector puts them (its profile
    /// added, as [`BodyRefiner::observed_keypoints`] does for the 17); `None` when the body model
    /// has no extra regressor.
    pub fn observed_extras(&self, body: &RefinedBody) -> Option<[Vector3<f64>; NUM_EXTRA_KEYPOINTS]> {
        self.extras_of(body, true)
    }

    /// The canonical-frame extra keypoints of `body`, with the detector's profile when `profile`.
    fn extras_of(&self, body: &RefinedBody, profile: bool) -> Option<[Vector3<f64>; NUM_EXTRA_KEYPOINTS]> {
        let levers = self.shaped_extras(&body.betas, profile)?;
        let (rotations, positions) = chain_of(body, &self.rest.all(&body.betas), None);
        Some(std::array::from_fn(|e| lever_point(&levers[e], &rotations, &positions)))
    }

    /// Per extra keypoint, its levers `(joint, a, w)` for the shape `betas`, with the detector's
    /// profile as one more lever on the extra's joint when `profile` (as the body refinement does
    /// for the 17); `None` when the body model has no extra regressor.
    fn shaped_extras(&self, betas: &[f64; NUM_BETAS], profile: bool) -> Option<Vec<ShapedLevers>> {
        let levers = self.extra_levers.as_ref()?;
        Some(
            levers
                .iter()
                .enumerate()
                .map(|(e, row)| {
                    let mut levers: ShapedLevers =
                        row.iter().map(|l| (l.joint, l.shaped_point(betas), l.weight)).collect();
                    if profile && self.extra_profile[e] != Vector3::zeros() {
                        levers.push((EXTRA_JOINTS[e], self.extra_profile[e], 0.0));
                    }
                    levers
                })
                .collect(),
        )
    }

    /// Residuals of one joint's extras with the joint's local rotation `local`: reprojection (in
    /// units of [`RESIDUAL_UNIT`] of the person's size, Cauchy-weighted) and the priors.
    #[allow(clippy::too_many_arguments)]
    fn extremity_cost(
        &self,
        body: &RefinedBody,
        rest: &[Vector3<f64>; NUM_JOINTS],
        levers: &[ShapedLevers],
        joint: usize,
        local: &Matrix3<f64>,
        observations: &[Observation],
        start: &Matrix3<f64>,
        previous: Option<&Matrix3<f64>>,
    ) -> f64 {
        let settings = &self.settings.extremities;
        let (rotations, positions) = chain_of(body, rest, Some((joint, local)));
        let point = |e: usize| lever_point(&levers[e], &rotations, &positions);
        let scale = settings.scale / RESIDUAL_UNIT;
        let mut cost = 0.0;
        for o in observations {
            let q = o.camera.to_camera(&point(o.extra));
            if q.z <= 1e-6 {
                cost += o.confidence * scale * scale;
                continue;
            }
            let r = (Vector2::new(q.x / q.z, q.y / q.z) - o.observed).norm() / (o.size * RESIDUAL_UNIT);
            // Cauchy: s^2 log(1 + r^2 / s^2).
            cost += o.confidence * scale * scale * (1.0 + (r / scale).powi(2)).ln();
        }
        // The angles by atan2 (`rotation_angle_between`): the trace's arccosine is clamped at 1 and
        // flat around a start that is not exactly orthonormal, so the solver's finite differences
        // saw no slope there, and whether a wrist turned hung on rounding (the views' order).
        cost += settings.prior_weight * rotation_angle_between(local, start).powi(2);
        if let Some(p) = previous {
            cost += settings.temporal_weight * rotation_angle_between(local, p).powi(2);
        }
        cost
    }
}

/// The canonical-frame world rotations and positions of `body`'s joints on the rest joints `rest`
/// (root unrotated at its rest position, the body's bone corrections), with joint `replaced.0`'s
/// local rotation replaced by `replaced.1` when given.
fn chain_of(
    body: &RefinedBody,
    rest: &[Vector3<f64>; NUM_JOINTS],
    replaced: Option<(usize, &Matrix3<f64>)>,
) -> ([Matrix3<f64>; NUM_JOINTS], [Vector3<f64>; NUM_JOINTS]) {
    let locals: [Matrix3<f64>; NUM_JOINTS] = std::array::from_fn(|j| match (j, replaced) {
        (0, _) => Matrix3::identity(),
        (j, Some((joint, local))) if j == joint => *local,
        (j, _) => body.pose[j - 1],
    });
    forward_chain(rest, Some(&body.bones), &locals, rest[0])
}

/// A few Levenberg–Marquardt steps on `cost` over a rotation `start · exp(δ)`, with a numeric
/// gradient and Gauss–Newton-like curvature from finite differences; `None` when nothing lowers
/// the cost or a value is not finite.
fn solve(start: &Matrix3<f64>, cost: &dyn Fn(&Matrix3<f64>) -> f64, steps: usize) -> Option<Matrix3<f64>> {
    let turn = |base: &Matrix3<f64>, d: &Vector3<f64>| base * Rotation3::new(*d).into_inner();
    let mut current = *start;
    let mut value = cost(&current);
    if !value.is_finite() {
        return None;
    }
    let (h, mut lambda) = (1e-4, 1e-3);
    let mut improved = false;
    for _ in 0..steps {
        // Gradient and Hessian by central differences (three numbers: cheap).
        let mut grad = Vector3::zeros();
        let mut hess = Matrix3::zeros();
        let unit = |i: usize| Vector3::from_fn(|r, _| if r == i { h } else { 0.0 });
        let plus: [f64; 3] = std::array::from_fn(|i| cost(&turn(&current, &unit(i))));
        let minus: [f64; 3] = std::array::from_fn(|i| cost(&turn(&current, &(-unit(i)))));
        for i in 0..3 {
            grad[i] = (plus[i] - minus[i]) / (2.0 * h);
            hess[(i, i)] = (plus[i] - 2.0 * value + minus[i]) / (h * h);
            for j in 0..i {
                let both = cost(&turn(&current, &(unit(i) + unit(j))));
                hess[(i, j)] = (both - plus[i] - plus[j] + value) / (h * h);
                hess[(j, i)] = hess[(i, j)];
            }
        }
        if !grad.iter().chain(hess.iter()).all(|x| x.is_finite()) {
            break;
        }
        let mut accepted = false;
        for _ in 0..8 {
            let damped = hess + Matrix3::identity() * (lambda * hess.diagonal().abs().max().max(1e-9));
            let Some(step) = damped.cholesky().map(|c| -c.solve(&grad)) else {
                lambda *= 10.0;
                continue;
            };
            let step = if step.norm() > 0.5 { step * (0.5 / step.norm()) } else { step };
            let candidate = turn(&current, &step);
            let c = cost(&candidate);
            if c.is_finite() && c < value {
                (current, value, accepted) = (candidate, c, true);
                lambda = (lambda * 0.3).max(1e-9);
                break;
            }
            lambda *= 10.0;
        }
        if !accepted {
            break;
        }
        improved = true;
    }
    (improved && current.iter().all(|x| x.is_finite())).then_some(current)
}
