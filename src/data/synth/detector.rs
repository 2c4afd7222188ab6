//! A model of a real 2D keypoint detector: what each camera's detector reports for the projected
//! COCO-17 keypoints.
//!
//! - **Noise** (per axis, pixels): `sigma = sqrt((noise_sigma · view factor · keypoint factor ·
//!   person height in pixels)² + min_noise_px²)`, temporally correlated (an AR(1) process with
//!   correlation `noise_correlation`), plus rare gross errors `outlier_scale` times larger. The
//!   keypoint factors ([`KEYPOINT_NOISE`]) make the face and shoulders tight, hips and knees looser
//!   and wrists and ankles (fast, small, blurred) loosest.
//! - **Confidence** falls with the error: `peak · exp(-(error / (confidence_error_scale · person
//!   height))² / 2)` plus jitter, in [0.01, 1]; each view has its own peak.
//! - **Self-occlusion** ([`crate::data::synth::capsules`]): a hidden keypoint gets a low confidence
//!   drawn from `occluded_confidence` and `occluded_noise_scale` times the noise.
//! - **Out of frame** (or behind the camera, before or after the noise): confidence 0, pixel (0, 0).
//! - **Dropouts**: a keypoint (`keypoint_dropout`) or a whole view (`view_dropout`) missing for a
//!   frame, confidence 0 and pixel (0, 0).
//! - **Left/right swaps**: for 1 to `max_swap_frames` frames a view's left and right keypoints (all,
//!   only the legs or only the arms) trade places with their confidences kept.
//!
//! Every random number is drawn in a fixed order whatever happens, so changing one knob leaves the
//! other draws alone.

use nalgebra::Vector3;

use super::animate::AnimatedFrame;
use super::capsules::BodyCapsules;
use super::config::DetectorConfig;
use super::random::Rng;
use crate::body::NUM_KEYPOINTS;
use crate::data::format::{ExtraKeypoints2d, Keypoints2d};
use crate::geometry::Camera;
use crate::keypoints::{EXTRA_CARRIERS, EXTRA_FLIP, NUM_EXTRA_KEYPOINTS};

/// Noise factor of every COCO keypoint relative to `noise_sigma`: nose, eyes 0.6, ears 0.8,
/// shoulders 0.8, elbows 1.1, wrists 1.5, hips 1.0, knees 1.1, ankles 1.3.
pub const KEYPOINT_NOISE: [f32; NUM_KEYPOINTS] =
    [0.6, 0.6, 0.6, 0.8, 0.8, 0.8, 0.8, 1.1, 1.1, 1.5, 1.5, 1.0, 1.0, 1.1, 1.1, 1.3, 1.3];

/// Left/right keypoint pairs of the face, the arms and the legs.
const FACE_PAIRS: [(usize, usize); 2] = [(1, 2), (3, 4)];
const ARM_PAIRS: [(usize, usize); 3] = [(5, 6), (7, 8), (9, 10)];
const LEG_PAIRS: [(usize, usize); 3] = [(11, 12), (13, 14), (15, 16)];

/// Depth below which the person counts as behind the camera, metres.
const MIN_PERSON_DEPTH: f64 = 0.1;

/// Why a keypoint is or is not seen (before dropouts and swaps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// In the image and not hidden.
    Visible,
    /// In the image but hidden by the body.
    Occluded,
    /// Outside the image or behind the camera.
    OutOfFrame,
}

/// What the simulated detectors reported for a sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Detections {
    /// `[F][V]` pixel x, pixel y, confidence of the 17 keypoints.
    pub keypoints2d: Vec<Vec<Keypoints2d>>,
    /// `[F][V]` the true visibility of every keypoint.
    pub visibility: Vec<Vec<[Visibility; NUM_KEYPOINTS]>>,
    /// `[F][V]` the 16 extra BlazePose keypoints, as `keypoints2d` (noise of their carrier
    /// keypoint times [`EXTRA_NOISE_SCALE`], the same view dropouts and left/right swaps, their own
    /// random stream so that the COCO-17 detections are what they were without them); `None` when
    /// the frames have no extra keypoints.
    pub extra2d: Option<Vec<Vec<ExtraKeypoints2d>>>,
}

/// How much noisier a detector places the extra keypoints (small, fast hands and feet) than the
/// COCO keypoint they sit next to.
pub const EXTRA_NOISE_SCALE: f32 = 1.3;

/// Which pairs a swap exchanges.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SwapScope {
    All,
    Arms,
    Legs,
}

/// The random numbers one keypoint of one frame uses, drawn together in a fixed order.
struct Draws {
    innovation: [f32; 2],
    outlier: bool,
    outlier_error: [f32; 2],
    jitter: f32,
    occluded_confidence: f32,
    dropped: bool,
}

impl Draws {
    fn new(rng: &mut Rng, config: &DetectorConfig) -> Self {
        Self {
            innovation: [rng.normal(), rng.normal()],
            outlier: rng.chance(config.outlier_rate),
            outlier_error: [rng.normal(), rng.normal()],
            jitter: rng.normal(),
            occluded_confidence: rng.range(config.occluded_confidence[0], config.occluded_confidence[1]),
            dropped: rng.chance(config.keypoint_dropout),
        }
    }
}

/// Simulates every camera's detector on an animated sequence of a body of standing height `height`.
pub fn detect(
    frames: &[AnimatedFrame],
    cameras: &[Camera],
    capsules: &BodyCapsules,
    height: f32,
    config: &DetectorConfig,
    rng: &mut Rng,
) -> Detections {
    let mut keypoints2d = vec![Vec::with_capacity(cameras.len()); frames.len()];
    let with_extras = frames.iter().all(|f| f.extra_keypoints.len() == NUM_EXTRA_KEYPOINTS) && !frames.is_empty();
    let mut extra2d = vec![Vec::with_capacity(cameras.len()); frames.len()];
    let mut visibility = vec![Vec::with_capacity(cameras.len()); frames.len()];
    let posed: Vec<_> = frames.iter().map(|f| capsules.posed(&f.joint_transforms)).collect();
    let rho = config.noise_correlation.clamp(0.0, 0.999);
    let fresh = (1.0 - rho * rho).sqrt();
    for (v, camera) in cameras.iter().enumerate() {
        let mut rng = rng.fork(v as u64);
        // The extras' own stream, forked from a copy: the COCO-17 draws stay as they were.
        let mut extra_rng = rng.clone().fork(0xE874);
        let view_noise = rng.log_range(1.0 / config.view_noise_spread, config.view_noise_spread);
        let peak = rng.range(config.confidence_peak[0], config.confidence_peak[1]);
        let mut state: Vec<[f32; 2]> = (0..NUM_KEYPOINTS).map(|_| [rng.normal(), rng.normal()]).collect();
        let mut swap: Option<(usize, SwapScope)> = None;
        let eye = camera.extrinsics.center().cast::<f32>();
        for (f, frame) in frames.iter().enumerate() {
            let view_dropped = rng.chance(config.view_dropout);
            let swap_starts = rng.chance(config.swap_rate);
            let swap_length = rng.between(1, config.max_swap_frames.max(1));
            let swap_scope = [SwapScope::All, SwapScope::Arms, SwapScope::Legs][rng.below(3)];
            let draws: Vec<Draws> = (0..NUM_KEYPOINTS).map(|_| Draws::new(&mut rng, config)).collect();
            for (e, d) in state.iter_mut().zip(&draws) {
                *e = [rho * e[0] + fresh * d.innovation[0], rho * e[1] + fresh * d.innovation[1]];
            }
            swap = match swap {
                Some((left, scope)) if left > 1 => Some((left - 1, scope)),
                _ if swap_starts => Some((swap_length, swap_scope)),
                _ => None,
            };
            let pelvis_depth = camera.extrinsics.to_camera(&frame.joints[0].cast::<f64>()).z;
            let person_px = if pelvis_depth > MIN_PERSON_DEPTH {
                (camera.intrinsics.fy * f64::from(height) / pelvis_depth) as f32
            } else {
                0.0
            };
            let mut out = [[0.0f32; 3]; NUM_KEYPOINTS];
            let mut seen = [Visibility::OutOfFrame; NUM_KEYPOINTS];
            for k in 0..NUM_KEYPOINTS {
                let point: Vector3<f32> = frame.keypoints[k];
                let Some(pixel) = camera.project(&point.cast::<f64>()).filter(|p| camera.contains(p)) else { continue };
                if person_px <= 0.0 {
                    continue;
                }
                let occluded = posed[f].occluded(&eye, k, &point);
                seen[k] = if occluded { Visibility::Occluded } else { Visibility::Visible };
                let d = &draws[k];
                let base = config.noise_sigma * view_noise * KEYPOINT_NOISE[k] * person_px;
                let mut sigma = base.hypot(config.min_noise_px);
                if occluded {
                    sigma *= config.occluded_noise_scale;
                }
                let mut error = [sigma * state[k][0], sigma * state[k][1]];
                if d.outlier {
                    error[0] += sigma * config.outlier_scale * d.outlier_error[0];
                    error[1] += sigma * config.outlier_scale * d.outlier_error[1];
                }
                let observed = [pixel.x as f32 + error[0], pixel.y as f32 + error[1]];
                let inside = camera.contains(&nalgebra::Vector2::new(f64::from(observed[0]), f64::from(observed[1])));
                if !inside || view_dropped || d.dropped {
                    continue;
                }
                let confidence = if occluded {
                    d.occluded_confidence
                } else {
                    let scaled = error[0].hypot(error[1]) / (config.confidence_error_scale * person_px).max(1e-6);
                    (peak * (-0.5 * scaled * scaled).exp() + config.confidence_jitter * d.jitter).clamp(0.01, 1.0)
                };
                out[k] = [observed[0], observed[1], confidence];
            }
            let mut extra = [[0.0f32; 3]; NUM_EXTRA_KEYPOINTS];
            if with_extras && person_px > 0.0 && !view_dropped {
                for (e, point) in frame.extra_keypoints.iter().enumerate() {
                    let carrier = EXTRA_CARRIERS[e];
                    let (noise, dropped, occluded_confidence) =
                        ([extra_rng.normal(), extra_rng.normal()], extra_rng.chance(config.keypoint_dropout), {
                            extra_rng.range(config.occluded_confidence[0], config.occluded_confidence[1])
                        });
                    let Some(pixel) = camera.project(&point.cast::<f64>()).filter(|p| camera.contains(p)) else {
                        continue;
                    };
                    let occluded = posed[f].occluded(&eye, carrier, point);
                    let base =
                        config.noise_sigma * view_noise * KEYPOINT_NOISE[carrier] * EXTRA_NOISE_SCALE * person_px;
                    let mut sigma = base.hypot(config.min_noise_px);
                    if occluded {
                        sigma *= config.occluded_noise_scale;
                    }
                    let error = [sigma * noise[0], sigma * noise[1]];
                    let observed = [pixel.x as f32 + error[0], pixel.y as f32 + error[1]];
                    let inside =
                        camera.contains(&nalgebra::Vector2::new(f64::from(observed[0]), f64::from(observed[1])));
                    if !inside || dropped {
                        continue;
                    }
                    let confidence = if occluded {
                        occluded_confidence
                    } else {
                        let scaled = error[0].hypot(error[1]) / (config.confidence_error_scale * person_px).max(1e-6);
                        (peak * (-0.5 * scaled * scaled).exp()).clamp(0.01, 1.0)
                    };
                    extra[e] = [observed[0], observed[1], confidence];
                }
            }
            if let Some((_, scope)) = swap {
                let pairs: Vec<(usize, usize)> = match scope {
                    SwapScope::All => FACE_PAIRS.iter().chain(&ARM_PAIRS).chain(&LEG_PAIRS).copied().collect(),
                    SwapScope::Arms => ARM_PAIRS.to_vec(),
                    SwapScope::Legs => LEG_PAIRS.to_vec(),
                };
                for (a, b) in pairs {
                    out.swap(a, b);
                }
                // The extras of the swapped limbs (the carriers' pairs) swap with them.
                let swapped: Vec<usize> = (0..NUM_EXTRA_KEYPOINTS)
                    .filter(|&e| {
                        let c = EXTRA_CARRIERS[e];
                        match scope {
                            SwapScope::All => true,
                            SwapScope::Arms => ARM_PAIRS.iter().any(|&(a, b)| a == c || b == c),
                            SwapScope::Legs => LEG_PAIRS.iter().any(|&(a, b)| a == c || b == c),
                        }
                    })
                    .collect();
                let before = extra;
                for e in swapped {
                    extra[e] = before[EXTRA_FLIP[e]];
                }
            }
            extra2d[f].push(extra);
            keypoints2d[f].push(out);
            visibility[f].push(seen);
        }
    }
    Detections { keypoints2d, visibility, extra2d: with_extras.then_some(extra2d) }
}
