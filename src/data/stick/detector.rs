//! The stick generator's detector: how each camera reports the stick body's COCO-17 keypoints.
//! Written apart from the main generator's detector model, with other choices on purpose:
//!
//! - **Noise**, per axis: heavy-tailed (Student's t with four degrees of freedom), standard
//!   deviation `noise_sigma · view factor · keypoint factor · person height in pixels` with a 1 px
//!   floor, temporally correlated (AR(1), 0.6). The hips are the loosest keypoints here (1.5),
//!   then the wrists (1.3), the ankles (1.1); the face the tightest (0.5).
//! - **Gross errors**: 2 % of keypoints land 10-30 % of the person's height away, reported with a
//!   middling confidence (0.3-0.7), as real detectors do.
//! - **Confidence** of a visible keypoint: `view scale · (0.55 + 0.45 exp(-(error / 5 % of
//!   height)²))` plus jitter, lower near the image border.
//! - **Self-occlusion** by the stick body's capsules (face keypoints: by facing away), reported
//!   with an overconfident 0.1-0.5 and 2.5 times the noise.
//! - **Out of frame**, **dropouts** (1.5 % of keypoints, 0.5 % of views) and **left/right swaps**
//!   (0.5 % of frames per view start one of 1-5 frames: all pairs, the arms or the legs).

use nalgebra::{Vector2, Vector3};

use super::body::{KEYPOINT_CARRIERS, PosedStick, StickBody, joint};
use crate::data::format::Keypoints2d;
use crate::data::synth::capsules::Capsule;
use crate::data::synth::random::Rng;
use crate::geometry::Camera;

/// Noise factor of every keypoint.
const KEYPOINT_NOISE: [f32; 17] = [0.5, 0.5, 0.5, 0.7, 0.7, 0.9, 0.9, 1.0, 1.0, 1.3, 1.3, 1.5, 1.5, 1.0, 1.0, 1.1, 1.1];

/// Left/right keypoint pairs: face, arms, legs.
const FACE_PAIRS: [(usize, usize); 2] = [(1, 2), (3, 4)];
const ARM_PAIRS: [(usize, usize); 3] = [(5, 6), (7, 8), (9, 10)];
const LEG_PAIRS: [(usize, usize); 3] = [(11, 12), (13, 14), (15, 16)];

/// A Student-t deviate with four degrees of freedom, scaled to unit variance.
fn student4(rng: &mut Rng) -> f32 {
    let z = rng.normal();
    let chi2: f32 = (0..4).map(|_| rng.normal().powi(2)).sum();
    // Var(t4) = 2: scale by 1/sqrt(2).
    z / (chi2 / 4.0).max(1e-3).sqrt() * std::f32::consts::FRAC_1_SQRT_2
}

/// Whether keypoint `k` at `point` is hidden from a camera at `eye` by the body.
fn occluded(body: &StickBody, posed: &PosedStick, capsules: &[Capsule], eye: &Vector3<f32>, k: usize) -> bool {
    let point = posed.keypoints[k];
    if k < 5 {
        // Face: hidden on the far side of the head.
        let head = posed.joints[joint::HEAD];
        let outward = (point - head).normalize();
        let to_eye = (eye - point).normalize();
        let limit = if k < 3 { -0.1 } else { -0.3 };
        if outward.dot(&to_eye) < limit {
            return true;
        }
    }
    let toward = (eye - point).normalize();
    let start = point + toward * (0.03 * body.height);
    capsules.iter().any(|c| {
        let own = c.contains(&point) || (k < 5 && c.joint == joint::HEAD) || c.joint == KEYPOINT_CARRIERS[k];
        !own && c.hit_by(&start, eye)
    })
}

/// Every camera's detections of a posed sequence: `[F][V]`.
pub fn detect(
    body: &StickBody,
    frames: &[PosedStick],
    cameras: &[Camera],
    noise_sigma: f32,
    rng: &mut Rng,
) -> Vec<Vec<Keypoints2d>> {
    let mut out = vec![Vec::with_capacity(cameras.len()); frames.len()];
    let capsules: Vec<_> = frames.iter().map(|f| body.capsules(f)).collect();
    let rho = 0.6f32;
    let fresh = (1.0 - rho * rho).sqrt();
    for (v, camera) in cameras.iter().enumerate() {
        let mut rng = rng.fork(v as u64);
        let view_noise = rng.log_range(0.6, 1.7);
        let view_confidence = rng.range(0.7, 1.0);
        let mut state: Vec<[f32; 2]> = (0..17).map(|_| [student4(&mut rng), student4(&mut rng)]).collect();
        let mut swap: Option<(usize, usize)> = None;
        let eye = camera.extrinsics.center().cast::<f32>();
        let (w, h) = (camera.image_size.x as f32, camera.image_size.y as f32);
        for (f, posed) in frames.iter().enumerate() {
            let view_dropped = rng.chance(0.005);
            let swap_starts = rng.chance(0.005);
            let swap_length = rng.between(1, 5);
            let swap_scope = rng.below(3);
            swap = match swap {
                Some((left, scope)) if left > 1 => Some((left - 1, scope)),
                _ if swap_starts => Some((swap_length, swap_scope)),
                _ => None,
            };
            let depth = camera.extrinsics.to_camera(&posed.joints[joint::PELVIS].cast::<f64>()).z;
            let person_px =
                if depth > 0.1 { (camera.intrinsics.fy * f64::from(body.height) / depth) as f32 } else { 0.0 };
            let mut view = [[0.0f32; 3]; 17];
            for k in 0..17 {
                // The same draws in the same order whatever happens.
                let innovation = [student4(&mut rng), student4(&mut rng)];
                let gross = rng.chance(0.02);
                let gross_size = rng.range(0.1, 0.3);
                let gross_angle = rng.angle();
                let gross_confidence = rng.range(0.3, 0.7);
                let jitter = rng.symmetric(0.05);
                let hidden_confidence = rng.range(0.1, 0.5);
                let dropped = rng.chance(0.015);
                state[k] = [rho * state[k][0] + fresh * innovation[0], rho * state[k][1] + fresh * innovation[1]];
                let point = posed.keypoints[k];
                let Some(pixel) = camera.project(&point.cast::<f64>()).filter(|p| camera.contains(p)) else { continue };
                if person_px <= 0.0 || view_dropped || dropped {
                    continue;
                }
                let hidden = occluded(body, posed, &capsules[f], &eye, k);
                let mut sigma = (noise_sigma * view_noise * KEYPOINT_NOISE[k] * person_px).max(1.0);
                if hidden {
                    sigma *= 2.5;
                }
                let mut error = [sigma * state[k][0], sigma * state[k][1]];
                if gross {
                    let d = gross_size * person_px;
                    error = [error[0] + d * gross_angle.cos(), error[1] + d * gross_angle.sin()];
                }
                let observed = Vector2::new(pixel.x as f32 + error[0], pixel.y as f32 + error[1]);
                if !camera.contains(&observed.cast::<f64>()) {
                    continue;
                }
                let confidence = if gross {
                    gross_confidence
                } else if hidden {
                    hidden_confidence
                } else {
                    let e = error[0].hypot(error[1]) / (0.05 * person_px).max(1e-6);
                    let border = (observed.x.min(w - observed.x).min(observed.y).min(h - observed.y)
                        / (0.02 * w.max(h)))
                    .clamp(0.0, 1.0);
                    view_confidence * (0.55 + 0.45 * (-e * e).exp()) * (0.7 + 0.3 * border) + jitter
                };
                view[k] = [observed.x, observed.y, confidence.clamp(0.05, 1.0)];
            }
            if let Some((_, scope)) = swap {
                let pairs: Vec<(usize, usize)> = match scope {
                    0 => FACE_PAIRS.iter().chain(&ARM_PAIRS).chain(&LEG_PAIRS).copied().collect(),
                    1 => ARM_PAIRS.to_vec(),
                    _ => LEG_PAIRS.to_vec(),
                };
                for (a, b) in pairs {
                    view.swap(a, b);
                }
            }
            out[f].push(view);
        }
    }
    out
}
