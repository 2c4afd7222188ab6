//! Random body shapes: SMPL shape coefficients drawn from a clipped normal distribution, wide for
//! the first two (overall size and build), narrower for the rest.

use super::config::SynthConfig;
use super::random::Rng;
use crate::body::NUM_BETAS;

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
