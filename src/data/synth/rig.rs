//! Random static camera rigs: 2 to 8 cameras around the subject or bunched on one side, at a
//! distance chosen from each camera's field of view so the whole motion stays in frame (with the odd
//! camera placed too close on purpose), varied heights, resolutions, aim and roll.

use nalgebra::{Vector2, Vector3};

use super::animate::AnimatedFrame;
use super::config::RigConfig;
use super::random::Rng;
use crate::geometry::{Camera, Extrinsics, Intrinsics};

/// Extra radius around the joints for the parts of the body beyond them (top of the head, hands,
/// heels and toes), metres.
const BODY_MARGIN: f32 = 0.15;

/// Steepest camera elevation above or below the motion centre (sine of the angle).
const MAX_ELEVATION: f64 = 0.85;

/// The space a sequence's body sweeps: a sphere around every joint and keypoint of every frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionVolume {
    /// Centre of the bounding box of the body over the sequence, world metres.
    pub centre: Vector3<f32>,
    /// Radius of a sphere about `centre` containing the whole body in every frame, metres.
    pub radius: f32,
    /// Largest horizontal distance of the body from the vertical through `centre`, metres.
    pub horizontal_radius: f32,
    /// Largest height of the body above or below `centre`, metres.
    pub vertical_radius: f32,
}

impl MotionVolume {
    /// The volume swept by `frames` (a 1 m sphere at 1 m height when there are none).
    pub fn of(frames: &[AnimatedFrame]) -> Self {
        let points = || frames.iter().flat_map(|f| f.joints.iter().chain(&f.keypoints));
        let Some(first) = points().next() else {
            return Self {
                centre: Vector3::new(0.0, 1.0, 0.0),
                radius: 1.0,
                horizontal_radius: 1.0,
                vertical_radius: 1.0,
            };
        };
        let (lo, hi) = points().fold((*first, *first), |(lo, hi), p| (lo.inf(p), hi.sup(p)));
        let centre = (lo + hi) * 0.5;
        let largest =
            |f: &dyn Fn(&Vector3<f32>) -> f32| points().map(|p| f(&(p - centre))).fold(0.0, f32::max) + BODY_MARGIN;
        Self {
            centre,
            radius: largest(&|d| d.norm()),
            horizontal_radius: largest(&|d| d.x.hypot(d.z)),
            vertical_radius: largest(&|d| d.y.abs()),
        }
    }
}

/// How a rig's cameras are spread about the subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RigKind {
    /// Azimuths spread all around the subject.
    Around,
    /// Azimuths within a narrow arc on one side (at most `one_side_spread`).
    OneSide,
}

impl RigKind {
    /// Name used in metadata: `around` or `one_side`.
    pub fn name(self) -> &'static str {
        match self {
            RigKind::Around => "around",
            RigKind::OneSide => "one_side",
        }
    }
}

/// A static camera rig.
#[derive(Clone, Debug, PartialEq)]
pub struct Rig {
    /// How the cameras are spread.
    pub kind: RigKind,
    /// The cameras.
    pub cameras: Vec<Camera>,
}

/// Half the vertical field of view of an image `size` whose horizontal field of view is `hfov`.
fn vertical_half_fov(hfov: f64, size: [u32; 2]) -> f64 {
    let (w, h) = (f64::from(size[0].max(1)), f64::from(size[1].max(1)));
    ((0.5 * hfov).tan() * h / w).atan()
}

/// The horizontal field of view of an image `size` whose vertical half field of view is `half`.
fn hfov_for_vertical_half(half: f64, size: [u32; 2]) -> f64 {
    let (w, h) = (f64::from(size[0].max(1)), f64::from(size[1].max(1)));
    2.0 * (half.tan() * w / h).atan()
}

/// Draws a rig for a body sweeping `volume`.
pub fn sample_rig(volume: &MotionVolume, config: &RigConfig, rng: &mut Rng) -> Rig {
    let views = rng.between(config.min_views.max(1), config.max_views.max(config.min_views.max(1)));
    let kind = if rng.chance(config.one_side_probability) { RigKind::OneSide } else { RigKind::Around };
    let start = rng.angle();
    let azimuths: Vec<f32> = match kind {
        RigKind::Around => {
            let step = std::f32::consts::TAU / views as f32;
            (0..views).map(|i| start + step * (i as f32 + rng.symmetric(0.3))).collect()
        }
        RigKind::OneSide => {
            let spread = rng.range(config.one_side_spread.min(30f32.to_radians()), config.one_side_spread);
            (0..views).map(|_| start + rng.range(0.0, spread)).collect()
        }
    };
    let centre = volume.centre.cast::<f64>();
    // The extents the image must hold: the body's plus the aim offset, with a little room.
    let room = |r: f32| f64::from(r + 1.5 * config.aim_jitter) * 1.05;
    let (across, up) = (room(volume.horizontal_radius), room(volume.vertical_radius));
    let (min_d, max_d) = (f64::from(config.min_distance), f64::from(config.max_distance.max(config.min_distance)));
    let cameras = azimuths
        .into_iter()
        .map(|azimuth| {
            let size = *rng.pick(&config.resolutions).unwrap_or(&[1280, 720]);
            let height = f64::from(rng.range(config.min_height, config.max_height));
            let rise = height - centre.y;
            // Seen from above or below, the depth of the motion shows up as height in the image.
            let apparent_up = |distance: f64| {
                let sine = (rise / distance.max(1e-6)).clamp(-MAX_ELEVATION, MAX_ELEVATION);
                up * (1.0 - sine * sine).sqrt() + across * sine.abs()
            };
            // Narrowest field of view that still holds the motion from the farthest allowed distance.
            let hfov_lo = (2.0 * (across / max_d).min(1.0).asin())
                .max(hfov_for_vertical_half((apparent_up(max_d) / max_d).min(1.0).asin(), size))
                .clamp(f64::from(config.min_hfov), f64::from(config.max_hfov));
            let hfov = f64::from(rng.range(hfov_lo as f32, config.max_hfov));
            let fit_at = |distance: f64| {
                (across / (0.5 * hfov).sin()).max(apparent_up(distance) / vertical_half_fov(hfov, size).sin())
            };
            // The fit depends on the elevation, which depends on the distance: a few fixed-point steps.
            let mut fit = fit_at(max_d);
            for _ in 0..3 {
                fit = fit_at(fit.max(min_d));
            }
            let mut distance = if rng.chance(config.edge_cut_probability) {
                fit * f64::from(rng.range(0.3, 0.65))
            } else {
                let lo = fit.max(min_d);
                f64::from(rng.range(lo as f32, (1.4 * fit).clamp(lo, max_d.max(lo)) as f32))
            };
            // Not straight above or below the subject.
            distance = distance.max(rise.abs() / MAX_ELEVATION).clamp(min_d, max_d);
            let ground = (distance * distance - rise * rise).max(0.0).sqrt();
            let (s, c) = f64::from(azimuth).sin_cos();
            let eye = Vector3::new(centre.x + ground * s, height, centre.z + ground * c);
            let jitter = Vector3::from_fn(|_, _| f64::from(rng.symmetric(config.aim_jitter)));
            let roll = f64::from(rng.symmetric(config.max_roll));
            let (w, h) = (f64::from(size[0]), f64::from(size[1]));
            Camera {
                intrinsics: Intrinsics::from_horizontal_fov(hfov, w, h),
                extrinsics: Extrinsics::look_at(&eye, &(centre + jitter), &Vector3::y(), roll),
                image_size: Vector2::new(w, h),
            }
        })
        .collect();
    Rig { kind, cameras }
}
