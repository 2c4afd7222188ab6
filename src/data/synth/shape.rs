//! Random body shapes: SMPL shape coefficients drawn from a clipped normal distribution, wide for
//! the first two (overall size and build), narrower for the rest.

use nalgebra::Vector3;

use super::config::SynthConfig;
use super::random::Rng;
use crate::body::{NUM_BETAS, NUM_JOINTS, PARENTS};

/// Draws shape coefficients: `betas[0..2] ~ N(0, primary_beta_sigma²)` clipped to
/// `±primary_beta_clip`, the others `~ N(0, secondary_beta_sigma²)` clipped to `±secondary_beta_clip`.
pub fn sample_betas(config: &SynthConfig, rng: &mut Rng) -> [f32; NUM_BETAS] {
    std::array::from_fn(|i| {
        if i < 2 {
            rng.normal_clipped(0.0, config.primary_beta_sigma, config.primary_beta_clip)
        } else {
            rng.normal_clipped(0.0, config.secondary_beta_sigma, config.secondary_beta_clip)
        }
    })
}

/// Left and right bones drawn together (one mirrors the other, with a little asymmetry), and the
/// head on its own.
const BONE_PAIRS: [(usize, Option<usize>); 7] =
    [(1, Some(2)), (4, Some(5)), (7, Some(8)), (16, Some(17)), (18, Some(19)), (20, Some(21)), (15, None)];

/// Draws a subject's bone corrections (per joint, in the parent's rest frame, metres) for a body
/// whose rest joints are `rest`, scaled by `variation` (0: none): each adapted bone
/// ([`crate::body::ADAPTED_BONES`]) a factor `N(0, 6 %)` (clipped to ±15 %) longer or shorter plus
/// `N(0, 8 mm)` across (clipped to 2 cm); the hips up to 3.5 cm wider and higher (or 1-1.5 cm
/// narrower and lower), the shoulders ±2-3 cm; the head ±1 cm; left and right alike but for
/// `N(0, 5 mm)`.
pub fn sample_bones(rest: &[Vector3<f32>], variation: f32, rng: &mut Rng) -> [Vector3<f32>; NUM_JOINTS] {
    let mut bones = [Vector3::zeros(); NUM_JOINTS];
    if variation <= 0.0 || rest.len() < NUM_JOINTS {
        return bones;
    }
    let mirror = |v: Vector3<f32>| Vector3::new(-v.x, v.y, v.z);
    let jitter = |rng: &mut Rng, sigma: f32, limit: f32| {
        Vector3::new(
            rng.normal_clipped(0.0, sigma, limit),
            rng.normal_clipped(0.0, sigma, limit),
            rng.normal_clipped(0.0, sigma, limit),
        )
    };
    for (left, right) in BONE_PAIRS {
        let bone = rest[left] - rest[PARENTS[left].unwrap_or(0)];
        let mut d = bone * rng.normal_clipped(0.0, 0.06, 0.15) + jitter(rng, 0.008, 0.02);
        match left {
            1 => d += Vector3::new(rng.range(-0.01, 0.035), rng.range(-0.015, 0.035), 0.0),
            16 => d += Vector3::new(rng.range(-0.02, 0.03), rng.range(-0.02, 0.03), 0.0),
            15 => d = jitter(rng, 0.01, 0.02),
            _ => {}
        }
        bones[left] = d * variation;
        if let Some(right) = right {
            bones[right] = (mirror(d) + jitter(rng, 0.005, 0.01)) * variation;
        }
    }
    bones
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn betas_are_clipped_and_vary() {
        let config = SynthConfig::default();
        let mut rng = Rng::new(11);
        let draws: Vec<[f32; NUM_BETAS]> = (0..2000).map(|_| sample_betas(&config, &mut rng)).collect();
        assert!(draws.iter().all(|b| b[..2].iter().all(|x| x.abs() <= 2.5) && b[2..].iter().all(|x| x.abs() <= 1.5)));
        let spread = |i: usize| (draws.iter().map(|b| b[i] * b[i]).sum::<f32>() / draws.len() as f32).sqrt();
        assert!((spread(0) - 1.0).abs() < 0.1, "{}", spread(0));
        assert!((spread(5) - 0.5).abs() < 0.05, "{}", spread(5));
    }
}
