//! The generator's knobs: sequence length, motions, body shapes, camera rigs and the detector model,
//! with the defaults the crate trains and tests on, and a check that they make sense.

use super::motion::MotionKind;

/// Everything the synthetic generator can be told. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Frames per sequence. Default: 60.
    pub frames: usize,
    /// Frame rate, frames per second. Default: 30.
    pub fps: f32,
    /// Motion kinds to draw from; sequence `i` of a seed takes them in turn from a seed-dependent
    /// start, so every kind appears in any run of `motions.len()` sequences. Default: all twelve.
    pub motions: Vec<MotionKind>,
    /// Standard deviation of the first two shape coefficients (overall size, build). Default: 1.
    pub primary_beta_sigma: f32,
    /// Clip of the first two shape coefficients, ±. Default: 2.5.
    pub primary_beta_clip: f32,
    /// Standard deviation of the other eight shape coefficients. Default: 0.5.
    pub secondary_beta_sigma: f32,
    /// Clip of the other eight shape coefficients, ±. Default: 1.5.
    pub secondary_beta_clip: f32,
    /// How much the subject's bones depart from the body model's beyond the betas (0: not at all;
    /// 1: limb bones about ±6 % in length and a centimetre across, hips and shoulders a few
    /// centimetres wider or higher, as people and detectors differ from our model; see
    /// [`super::shape::sample_bones`]). Training data varies them so the network sees subjects
    /// outside the betas. Default: 0.
    pub bone_variation: f32,
    /// The camera rigs.
    pub rig: RigConfig,
    /// The 2D keypoint detector model.
    pub detector: DetectorConfig,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            frames: 60,
            fps: 30.0,
            motions: MotionKind::ALL.to_vec(),
            primary_beta_sigma: 1.0,
            primary_beta_clip: 2.5,
            secondary_beta_sigma: 0.5,
            secondary_beta_clip: 1.5,
            bone_variation: 0.0,
            rig: RigConfig::default(),
            detector: DetectorConfig::default(),
        }
    }
}

/// How camera rigs are drawn (one static rig per sequence). Angles in radians.
#[derive(Clone, Debug, PartialEq)]
pub struct RigConfig {
    /// Fewest cameras in a rig. Default: 2.
    pub min_views: usize,
    /// Most cameras in a rig. Default: 8.
    pub max_views: usize,
    /// Nearest camera distance from the motion centre (the middle of the space the body sweeps),
    /// metres. Default: 1.5.
    pub min_distance: f32,
    /// Farthest camera distance from the motion centre, metres. Default: 8.
    pub max_distance: f32,
    /// Lowest camera height above the floor, metres. Default: 0.3.
    pub min_height: f32,
    /// Highest camera height above the floor, metres. Default: 3.5.
    pub max_height: f32,
    /// Narrowest horizontal field of view. Default: 35° (0.611 rad).
    pub min_hfov: f32,
    /// Widest horizontal field of view. Default: 95° (1.658 rad).
    pub max_hfov: f32,
    /// Image sizes (width, height) to draw from. Default: 1920x1080, 1280x720, 1080x1920, 720x1280,
    /// 640x480, 480x640.
    pub resolutions: Vec<[u32; 2]>,
    /// Largest camera roll about its optical axis, ±. Default: 5° (0.0873 rad).
    pub max_roll: f32,
    /// Largest offset of each camera's aim point from the motion centre, per axis, metres.
    /// Default: 0.15.
    pub aim_jitter: f32,
    /// Probability that a rig is bunched on one side of the subject instead of around it.
    /// Default: 0.3.
    pub one_side_probability: f32,
    /// Widest azimuth spread of a one-sided rig. Default: 90° (1.571 rad).
    pub one_side_spread: f32,
    /// Probability that a camera is placed closer than needed to frame the whole motion, so the
    /// body can leave the image at times. Default: 0.15.
    pub edge_cut_probability: f32,
}

impl Default for RigConfig {
    fn default() -> Self {
        Self {
            min_views: 2,
            max_views: 8,
            min_distance: 1.5,
            max_distance: 8.0,
            min_height: 0.3,
            max_height: 3.5,
            min_hfov: 35f32.to_radians(),
            max_hfov: 95f32.to_radians(),
            resolutions: vec![[1920, 1080], [1280, 720], [1080, 1920], [720, 1280], [640, 480], [480, 640]],
            max_roll: 5f32.to_radians(),
            aim_jitter: 0.15,
            one_side_probability: 0.3,
            one_side_spread: 90f32.to_radians(),
            edge_cut_probability: 0.15,
        }
    }
}

/// How the simulated 2D detector errs. Sizes relative to "person height" are fractions of the
/// body's standing height as it appears in that image (focal length × height / depth).
#[derive(Clone, Debug, PartialEq)]
pub struct DetectorConfig {
    /// Standard deviation of a visible keypoint's position error (per axis) as a fraction of the
    /// person's height in the image, before the per-view and per-keypoint factors. Default: 0.008.
    pub noise_sigma: f32,
    /// Floor of the position error's standard deviation, pixels (small people are not located to a
    /// fraction of a pixel). Default: 0.8.
    pub min_noise_px: f32,
    /// Each view's noise is multiplied by a factor drawn log-uniformly from
    /// [1 / spread, spread] (blur, lighting, viewpoint). Default: 1.6.
    pub view_noise_spread: f32,
    /// Correlation of a keypoint's error from one frame to the next (0 = independent frames).
    /// Default: 0.5.
    pub noise_correlation: f32,
    /// Probability per keypoint and frame of a gross error (heavy tail). Default: 0.03.
    pub outlier_rate: f32,
    /// Standard deviation of a gross error relative to the ordinary one. Default: 6.
    pub outlier_scale: f32,
    /// Error (fraction of person height) at which a visible keypoint's confidence has fallen to
    /// `exp(-1/2)` of the view's peak confidence. Default: 0.04.
    pub confidence_error_scale: f32,
    /// Range of a view's peak confidence. Default: [0.8, 0.98].
    pub confidence_peak: [f32; 2],
    /// Standard deviation of the jitter added to every confidence. Default: 0.04.
    pub confidence_jitter: f32,
    /// Range of an occluded keypoint's confidence. Default: [0.05, 0.35].
    pub occluded_confidence: [f32; 2],
    /// Noise multiplier of an occluded keypoint. Default: 2.5.
    pub occluded_noise_scale: f32,
    /// Multiplier of the body capsules' radii in the occlusion test. Default: 1.
    pub capsule_scale: f32,
    /// Probability per keypoint and frame that the detector misses it (confidence 0). Default: 0.02.
    pub keypoint_dropout: f32,
    /// Probability per view and frame that the detector misses the whole person. Default: 0.005.
    pub view_dropout: f32,
    /// Probability per view and frame that a left/right swap starts (all pairs, only the legs or only
    /// the arms, confidence kept). Default: 0.004.
    pub swap_rate: f32,
    /// Longest swap, frames. Default: 4.
    pub max_swap_frames: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            noise_sigma: 0.008,
            min_noise_px: 0.8,
            view_noise_spread: 1.6,
            noise_correlation: 0.5,
            outlier_rate: 0.03,
            outlier_scale: 6.0,
            confidence_error_scale: 0.04,
            confidence_peak: [0.8, 0.98],
            confidence_jitter: 0.04,
            occluded_confidence: [0.05, 0.35],
            occluded_noise_scale: 2.5,
            capsule_scale: 1.0,
            keypoint_dropout: 0.02,
            view_dropout: 0.005,
            swap_rate: 0.004,
            max_swap_frames: 4,
        }
    }
}

impl SynthConfig {
    /// Checks that the knobs make sense; the message names the first one that does not.
    pub fn validate(&self) -> Result<(), String> {
        let rig = &self.rig;
        let det = &self.detector;
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(format!("{name} = {v} must be positive")) }
        };
        let non_negative = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(format!("{name} = {v} must be at least 0")) }
        };
        let probability = |name: &str, v: f32| {
            if (0.0..=1.0).contains(&v) { Ok(()) } else { Err(format!("{name} = {v} must be in [0, 1]")) }
        };
        let ordered = |name: &str, lo: f32, hi: f32| {
            if lo.is_finite() && hi.is_finite() && lo <= hi {
                Ok(())
            } else {
                Err(format!("{name}: [{lo}, {hi}] is not a range"))
            }
        };
        if self.frames == 0 {
            return Err("frames must be at least 1".into());
        }
        positive("fps", self.fps)?;
        if self.motions.is_empty() {
            return Err("no motion kinds to draw from".into());
        }
        for (name, v) in [
            ("primary_beta_sigma", self.primary_beta_sigma),
            ("primary_beta_clip", self.primary_beta_clip),
            ("secondary_beta_sigma", self.secondary_beta_sigma),
            ("secondary_beta_clip", self.secondary_beta_clip),
            ("bone_variation", self.bone_variation),
        ] {
            non_negative(name, v)?;
        }
        if rig.min_views == 0 || rig.min_views > rig.max_views {
            return Err(format!("views: [{}, {}] must be a range starting at 1 or more", rig.min_views, rig.max_views));
        }
        positive("min_distance", rig.min_distance)?;
        ordered("distance", rig.min_distance, rig.max_distance)?;
        ordered("height", rig.min_height, rig.max_height)?;
        positive("min_hfov", rig.min_hfov)?;
        ordered("hfov", rig.min_hfov, rig.max_hfov)?;
        if rig.max_hfov >= std::f32::consts::PI {
            return Err(format!("max_hfov = {} must be below π", rig.max_hfov));
        }
        if rig.resolutions.is_empty() || rig.resolutions.iter().any(|r| r[0] == 0 || r[1] == 0) {
            return Err("resolutions must be a non-empty list of non-zero sizes".into());
        }
        if !(det.view_noise_spread >= 1.0 && det.view_noise_spread.is_finite()) {
            return Err(format!("view_noise_spread = {} must be at least 1", det.view_noise_spread));
        }
        if !(0.0..1.0).contains(&det.noise_correlation) {
            return Err(format!("noise_correlation = {} must be in [0, 1)", det.noise_correlation));
        }
        positive("confidence_error_scale", det.confidence_error_scale)?;
        for (name, [lo, hi]) in
            [("confidence_peak", det.confidence_peak), ("occluded_confidence", det.occluded_confidence)]
        {
            probability(name, lo)?;
            probability(name, hi)?;
            ordered(name, lo, hi)?;
        }
        for (name, value) in [
            ("max_roll", rig.max_roll),
            ("aim_jitter", rig.aim_jitter),
            ("one_side_spread", rig.one_side_spread),
            ("noise_sigma", det.noise_sigma),
            ("min_noise_px", det.min_noise_px),
            ("outlier_scale", det.outlier_scale),
            ("confidence_jitter", det.confidence_jitter),
            ("occluded_noise_scale", det.occluded_noise_scale),
            ("capsule_scale", det.capsule_scale),
        ] {
            non_negative(name, value)?;
        }
        for (name, value) in [
            ("one_side_probability", rig.one_side_probability),
            ("edge_cut_probability", rig.edge_cut_probability),
            ("outlier_rate", det.outlier_rate),
            ("keypoint_dropout", det.keypoint_dropout),
            ("view_dropout", det.view_dropout),
            ("swap_rate", det.swap_rate),
        ] {
            probability(name, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_knobs_are_named() {
        assert_eq!(SynthConfig::default().validate(), Ok(()));
        let mut c = SynthConfig::default();
        c.rig.min_views = 9;
        assert!(c.validate().unwrap_err().contains("views"));
        let mut c = SynthConfig::default();
        c.detector.keypoint_dropout = 1.5;
        assert!(c.validate().unwrap_err().contains("keypoint_dropout"));
        let c = SynthConfig { fps: f32::NAN, ..SynthConfig::default() };
        assert!(c.validate().unwrap_err().contains("fps"));
        let c = SynthConfig { frames: 0, ..SynthConfig::default() };
        assert!(c.validate().is_err());
        let c = SynthConfig { motions: Vec::new(), ..SynthConfig::default() };
        assert!(c.validate().is_err());
    }
}
