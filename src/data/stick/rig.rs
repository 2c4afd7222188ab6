//! The stick generator's camera rigs: 2 to 8 static cameras at random azimuths (not spread evenly),
//! 2.5 to 6 m from the middle of the motion (farther for long walks), 0.5 to 2.8 m high, landscape and portrait images from 640x480 to
//! 1920x1080, a focal length that frames the whole motion with a random margin, the principal point
//! a little off the image centre, a random aim offset and roll.

use nalgebra::{Vector2, Vector3};

use super::config::StickConfig;
use crate::data::synth::random::Rng;
use crate::geometry::{Camera, Extrinsics, Intrinsics};

/// Smallest angle between two cameras' azimuths, radians (closer draws are redrawn).
const MIN_SEPARATION: f32 = 0.2;

/// Draws a rig for a motion whose points lie in the box `lo..hi` (world, metres).
pub fn sample_rig(lo: &Vector3<f32>, hi: &Vector3<f32>, config: &StickConfig, rng: &mut Rng) -> Vec<Camera> {
    let views = rng.between(config.min_views.max(2), config.max_views.max(config.min_views.max(2)));
    let centre = ((lo + hi) * 0.5).cast::<f64>();
    let half = ((hi - lo) * 0.5).cast::<f64>();
    let mut azimuths: Vec<f32> = Vec::with_capacity(views);
    while azimuths.len() < views {
        let mut a = rng.angle();
        for _ in 0..20 {
            let close = azimuths.iter().any(|b| {
                let d = (a - b).rem_euclid(std::f32::consts::TAU);
                d.min(std::f32::consts::TAU - d) < MIN_SEPARATION
            });
            if !close {
                break;
            }
            a = rng.angle();
        }
        azimuths.push(a);
    }
    azimuths
        .into_iter()
        .map(|azimuth| {
            let size = *rng.pick(&config.resolutions).unwrap_or(&[1280, 720]);
            let (w, h) = (f64::from(size[0]), f64::from(size[1]));
            // At least 1.2 m from every point of the motion (a long walk widens the rig).
            let distance =
                f64::from(rng.range(config.min_distance, config.max_distance)).max(half.x.hypot(half.z) + 1.2);
            let height = f64::from(rng.range(config.min_camera_height, config.max_camera_height));
            let (s, c) = f64::from(azimuth).sin_cos();
            let eye = Vector3::new(centre.x + distance * s, height, centre.z + distance * c);
            let aim = centre + Vector3::from_fn(|_, _| f64::from(rng.symmetric(0.2)));
            let roll = f64::from(rng.symmetric(4f32.to_radians()));
            let extrinsics = Extrinsics::look_at(&eye, &aim, &Vector3::y(), roll);
            // Frame the motion's box (its eight corners) with a random margin.
            let margin = f64::from(rng.range(1.05, 1.5));
            let mut need: f64 = 0.0;
            for corner in 0..8 {
                let p = centre
                    + Vector3::new(
                        if corner & 1 == 0 { -half.x } else { half.x },
                        if corner & 2 == 0 { -half.y } else { half.y },
                        if corner & 4 == 0 { -half.z } else { half.z },
                    );
                let q = extrinsics.to_camera(&p);
                if q.z > 0.3 {
                    need = need.max((q.x / q.z).abs() / (0.5 * w)).max((q.y / q.z).abs() / (0.5 * h));
                }
            }
            let focal = 1.0 / (need * margin).max(1e-3);
            let (cx, cy) = (w * (0.5 + f64::from(rng.symmetric(0.02))), h * (0.5 + f64::from(rng.symmetric(0.02))));
            Camera {
                intrinsics: Intrinsics { fx: focal, fy: focal, cx, cy },
                extrinsics,
                image_size: Vector2::new(w, h),
            }
        })
        .collect()
}
