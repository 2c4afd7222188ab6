//! Where the estimated body stands in the world. CMANet gives every view's camera relative to the
//! body; a view whose place in the world is known (a Bevy camera's transform, a calibration, or a
//! place held by `CmanetSettings::hold_rig`) therefore also gives the body's place in the world.
//! With several such views the body's place is their confidence-weighted mean, so the order of
//! the views does not matter. Where the cameras are known their viewing rays give the body's
//! position. [`place_body`] does all of it for one estimate, [`WorldPose`] moves the estimate into
//! the world; the plugin places every estimate through them, and `cmanet estimate --place` a whole
//! sequence (`Cmanet::estimate_sequence_in_world`). Plain nalgebra; no Bevy types.

use nalgebra::{Matrix3, UnitQuaternion, Vector3};

use crate::body::{BodyParams, NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS};
use crate::data::{Keypoints2d, Keypoints3d};
use crate::geometry::{Extrinsics, Intrinsics, matrix_to_axis_angle, rotation_angle_between};

/// What placement knows of one view: its place in the world (if known), how much to trust it
/// (its mean keypoint confidence), and what it observed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KnownView {
    /// The camera's known world to camera transform; `None` when unknown.
    pub world_to_camera: Option<Extrinsics>,
    /// How much to trust the view. Must be positive to count.
    pub weight: f64,
    /// The camera's intrinsics, if known.
    pub intrinsics: Option<Intrinsics>,
    /// The keypoints the estimate used for this view (pixels, confidence), if any.
    pub keypoints: Option<Keypoints2d>,
}

/// A view's mean keypoint confidence (a non-finite confidence counts as 0): how much placement
/// trusts the view.
pub fn mean_confidence(keypoints: &Keypoints2d) -> f32 {
    keypoints.iter().map(|p| if p[2].is_finite() { p[2] } else { 0.0 }).sum::<f32>() / keypoints.len() as f32
}

/// The body (canonical frame) to world transform of an estimate whose views' body-to-camera
/// transforms are `body_to_camera` and whose canonical keypoints are `keypoints`: the rotation and
/// a first position from the views with a known place ([`body_in_world`]), the position then from
/// their viewing rays ([`body_translation_from_rays`]). `None` when no view has a known place.
pub fn place_body(
    body_to_camera: &[Option<Extrinsics>],
    keypoints: &Keypoints3d,
    views: &[KnownView],
) -> Option<Extrinsics> {
    let placed: Vec<PlacedView> = views
        .iter()
        .zip(body_to_camera)
        .filter_map(|(view, camera)| {
            Some(PlacedView { body_to_camera: (*camera)?, world_to_camera: view.world_to_camera?, weight: view.weight })
        })
        .collect();
    let mut body_to_world = body_in_world(&placed)?;
    let observed: Vec<ObservedView> = views
        .iter()
        .filter_map(|view| {
            Some(ObservedView {
                world_to_camera: view.world_to_camera?,
                intrinsics: view.intrinsics?,
                keypoints: view.keypoints?,
            })
        })
        .collect();
    if let Some(t) = body_translation_from_rays(&body_to_world.rotation, keypoints, &observed) {
        body_to_world.translation = t;
    }
    Some(body_to_world)
}

/// An estimate moved from the canonical frame into the world.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldPose {
    /// The body (canonical frame) to world transform.
    pub body_to_world: Extrinsics,
    /// SMPL parameters in the world (`global_orient`, `transl` set; [`params_in_world`]).
    pub params: BodyParams,
    /// The 24 joints in the world.
    pub joints: [Vector3<f32>; NUM_JOINTS],
    /// The 17 keypoints in the world.
    pub keypoints: Keypoints3d,
    /// Every view's camera in the world (world to camera), where the estimate has one.
    pub cameras: Vec<Option<Extrinsics>>,
}

impl WorldPose {
    /// Moves a canonical estimate (`body_pose`, `betas`, `joints`, `keypoints`, the views'
    /// body-to-camera transforms `body_to_camera`) into the world by `body_to_world`;
    /// `pelvis_rest` is the body's rest pelvis for these betas.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        body_to_world: Extrinsics,
        body_pose: [Vector3<f32>; NUM_BODY_JOINTS],
        betas: [f32; NUM_BETAS],
        joints: &[Vector3<f32>; NUM_JOINTS],
        keypoints: &Keypoints3d,
        body_to_camera: &[Option<Extrinsics>],
        pelvis_rest: &Vector3<f32>,
    ) -> Self {
        let canonical = BodyParams { body_pose, betas, ..Default::default() };
        let params = params_in_world(&canonical, &body_to_world, pelvis_rest);
        let to_world =
            |p: &Vector3<f32>| (body_to_world.rotation * p.cast::<f64>() + body_to_world.translation).cast::<f32>();
        let world_to_body = body_to_world.inverse();
        Self {
            params,
            joints: joints.map(|j| to_world(&j)),
            keypoints: keypoints.map(|k| {
                let p = to_world(&Vector3::from(k));
                [p.x, p.y, p.z]
            }),
            cameras: body_to_camera.iter().map(|c| c.map(|c| c.compose(&world_to_body))).collect(),
            body_to_world,
        }
    }
}

/// One view's evidence for the body's place: the body-to-camera transform CMANet estimated, the
/// camera's known world-to-camera transform, and a weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlacedView {
    /// The estimated body (canonical frame) to camera transform.
    pub body_to_camera: Extrinsics,
    /// The camera's known world to camera transform.
    pub world_to_camera: Extrinsics,
    /// How much to trust this view (its keypoint confidence). Must be positive to count.
    pub weight: f64,
}

/// Views whose placements of the body turn less than this from each other agree
/// ([`body_in_world`]): 30 degrees.
pub const AGREEMENT_ANGLE: f64 = std::f64::consts::PI / 6.0;

/// The body (canonical frame) to world transform implied by the views: each view's placement is
/// `world_to_camera⁻¹ ∘ body_to_camera`; the placements that agree (within [`AGREEMENT_ANGLE`]) with
/// the one most of the views' weight agrees with, when that is more than half the weight, are
/// averaged by weight (rotations as quaternions), and all of them otherwise (placements with equal
/// support count together, whatever the views' order). So one view whose
/// camera the estimate put on the wrong side (a symmetric pose reads alike from two sides) does
/// not turn the body away from what the others say. `None` when no view has a positive weight and
/// finite numbers.
pub fn body_in_world(views: &[PlacedView]) -> Option<Extrinsics> {
    let placed: Vec<(Extrinsics, f64)> = views
        .iter()
        .filter_map(|view| {
            let placed = view.world_to_camera.inverse().compose(&view.body_to_camera);
            let finite = placed.rotation.iter().chain(placed.translation.iter()).all(|x| x.is_finite());
            (finite && view.weight > 0.0).then_some((placed, view.weight))
        })
        .collect();
    let total: f64 = placed.iter().map(|(_, w)| w).sum();
    let agreeing = |a: &Extrinsics| -> Vec<bool> {
        placed.iter().map(|(b, _)| rotation_angle_between(&a.rotation, &b.rotation) < AGREEMENT_ANGLE).collect()
    };
    let support = |members: &[bool]| -> f64 { placed.iter().zip(members).filter(|(_, m)| **m).map(|(p, _)| p.1).sum() };
    let groups: Vec<Vec<bool>> = placed.iter().map(|(p, _)| agreeing(p)).collect();
    let supports: Vec<f64> = groups.iter().map(|g| support(g)).collect();
    let most = supports.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Groups with the same support are joined, so the choice does not depend on the views' order;
    // "the same" up to rounding, as equal supports can be sums of the same weights in another order.
    let tied = |s: f64| s >= most - 1e-9 * total;
    let members = if most > 0.5 * total {
        (0..placed.len()).map(|i| groups.iter().zip(&supports).any(|(g, &s)| tied(s) && g[i])).collect()
    } else {
        vec![true; placed.len()]
    };
    let chosen: Vec<&(Extrinsics, f64)> = placed.iter().zip(&members).filter(|(_, m)| **m).map(|(p, _)| p).collect();
    let first = UnitQuaternion::from_matrix(&chosen.first()?.0.rotation);
    // Sign-align to the first (q and -q are the same rotation), then normalise the weighted sum.
    let (mut sum, mut translation, mut weight) = (nalgebra::Vector4::zeros(), Vector3::zeros(), 0.0);
    for (p, w) in chosen {
        let q = UnitQuaternion::from_matrix(&p.rotation);
        let v = q.as_vector();
        sum += if v.dot(first.as_vector()) < 0.0 { -v } else { *v } * *w;
        translation += p.translation * *w;
        weight += w;
    }
    let mean = UnitQuaternion::from_quaternion(nalgebra::Quaternion::from_vector(sum));
    Some(Extrinsics::new(mean.to_rotation_matrix().into_inner(), translation / weight))
}

/// The SMPL parameters of the shared body (`body_pose`, `betas`; canonical frame) placed in the
/// world by `body_to_world`. The canonical frame is the body model's own frame (root unrotated,
/// pelvis at its rest joint `pelvis_rest`); SMPL rotates about the pelvis, so
/// `transl = R · pelvis_rest + t − pelvis_rest`.
pub fn params_in_world(canonical: &BodyParams, body_to_world: &Extrinsics, pelvis_rest: &Vector3<f32>) -> BodyParams {
    let r: Matrix3<f64> = body_to_world.rotation;
    let j0 = pelvis_rest.cast::<f64>();
    let mut out = canonical.clone();
    out.global_orient = matrix_to_axis_angle(&r).cast::<f32>();
    out.transl = (r * j0 + body_to_world.translation - j0).cast::<f32>();
    out
}

/// One view's 2D evidence for the body's position: where the camera is, its intrinsics, and the
/// keypoints it saw (pixels and confidence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObservedView {
    /// The camera's known world to camera transform.
    pub world_to_camera: Extrinsics,
    /// The camera's intrinsics.
    pub intrinsics: Intrinsics,
    /// The detected keypoints: pixel x, pixel y, confidence.
    pub keypoints: Keypoints2d,
}

/// The body's world translation `t` (body to world: `X_w = R X_b + t`) that best explains the
/// views' keypoints, given the body's rotation `rotation` and its canonical keypoints: every seen
/// keypoint must lie on its viewing ray, two linear equations each
/// (`[x]_× (R_c (R X + t) + t_c) = 0` with `x` the normalised image point), solved by weighted
/// least squares, then once more with the points that reproject badly down-weighted (Huber).
/// `None` when the views do not pin the position down (fewer than two seen keypoints or a
/// degenerate system).
pub fn body_translation_from_rays(
    rotation: &Matrix3<f64>,
    keypoints: &Keypoints3d,
    views: &[ObservedView],
) -> Option<Vector3<f64>> {
    use crate::data::format::MIN_CONFIDENCE;
    use nalgebra::{Matrix3x1, Vector2};
    // Rows (a, b): a · t = b.
    let mut rows: Vec<(Vector3<f64>, f64, f64, usize)> = Vec::new(); // a, b, confidence, observation
    let mut observations: Vec<(Extrinsics, Vector2<f64>, Vector3<f64>)> = Vec::new();
    for view in views {
        let rc = view.world_to_camera.rotation;
        for (k, kp) in view.keypoints.iter().enumerate() {
            let confidence = kp[2] as f64;
            if confidence.is_nan() || confidence < MIN_CONFIDENCE as f64 || !kp[0].is_finite() || !kp[1].is_finite() {
                continue;
            }
            let x = view.intrinsics.normalize(&Vector2::new(kp[0] as f64, kp[1] as f64));
            let point = rotation * Vector3::from(keypoints[k]).cast::<f64>();
            // Camera-frame point: q = Rc t + (Rc p + tc). Equations: q.x - x q.z = 0, q.y - y q.z = 0.
            let offset = rc * point + view.world_to_camera.translation;
            for (row, coordinate) in [(0usize, x.x), (1usize, x.y)] {
                let a: Matrix3x1<f64> = (rc.row(row) - rc.row(2) * coordinate).transpose();
                let b = -(offset[row] - coordinate * offset.z);
                rows.push((a, b, confidence, observations.len()));
            }
            observations.push((view.world_to_camera, x, point));
        }
    }
    if observations.len() < 2 {
        return None;
    }
    let solve = |weights: &dyn Fn(usize) -> f64| -> Option<Vector3<f64>> {
        let mut ata = Matrix3::zeros();
        let mut atb = Vector3::zeros();
        for (a, b, c, o) in &rows {
            let w = c * weights(*o);
            ata += a * a.transpose() * w;
            atb += a * *b * w;
        }
        let t = ata.try_inverse()? * atb;
        t.iter().all(|v| v.is_finite()).then_some(t)
    };
    let first = solve(&|_| 1.0)?;
    // Huber weights on the reprojection error (normalised image units).
    const HUBER: f64 = 0.02;
    let residual = |o: usize| {
        let (camera, x, point) = &observations[o];
        let q = camera.rotation * (point + first) + camera.translation;
        if q.z <= 1e-3 { f64::INFINITY } else { (Vector2::new(q.x / q.z, q.y / q.z) - x).norm() }
    };
    let residuals: Vec<f64> = (0..observations.len()).map(residual).collect();
    solve(&|o| if residuals[o] <= HUBER { 1.0 } else { HUBER / residuals[o] }).or(Some(first))
}
