//! A whole body pose smoothed over time: every joint rotation (the root's included) and the root
//! translation by One Euro filters, the shape by a plain low-pass at the rest cutoff (it does not
//! move, so any change is noise).

use super::one_euro::{FilterError, OneEuroRotation, OneEuroSettings, OneEuroVector, alpha, time_step};
use crate::body::{BodyParams, NUM_BETAS, NUM_JOINTS};
use crate::geometry::{axis_angle_to_quaternion, quaternion_to_axis_angle};

/// One Euro filtering of [`BodyParams`].
#[derive(Clone, Debug)]
pub struct PoseFilter {
    rotations: Vec<OneEuroRotation>,
    root: OneEuroVector,
    betas: Option<[f32; NUM_BETAS]>,
    last_time: Option<f64>,
    settings: OneEuroSettings,
}

impl PoseFilter {
    /// A filter with these knobs for every rotation and the root translation.
    pub fn new(settings: OneEuroSettings) -> Self {
        Self {
            rotations: vec![OneEuroRotation::new(settings); NUM_JOINTS],
            root: OneEuroVector::new(settings),
            betas: None,
            last_time: None,
            settings,
        }
    }

    /// The knobs.
    pub fn settings(&self) -> OneEuroSettings {
        self.settings
    }

    /// Changes the knobs without forgetting the past.
    pub fn set_settings(&mut self, settings: OneEuroSettings) {
        for rotation in &mut self.rotations {
            rotation.settings = settings;
        }
        self.root.settings = settings;
        self.settings = settings;
    }

    /// The smoothed pose after the sample `params` at time `t` (seconds). A sample with a
    /// non-finite number, or not later than the last one, is refused and changes nothing.
    pub fn filter(&mut self, t: f64, params: &BodyParams) -> Result<BodyParams, FilterError> {
        if !params.is_finite() {
            return Err(FilterError::NonFinite);
        }
        let dt = time_step(self.last_time, t)?;
        let mut out = params.clone();
        for (joint, filter) in self.rotations.iter_mut().enumerate() {
            let q = axis_angle_to_quaternion(&params.local_rotation(joint).cast::<f64>());
            let smoothed = quaternion_to_axis_angle(&filter.filter(t, q)?).cast::<f32>();
            out.set_local_rotation(joint, smoothed);
        }
        out.transl = self.root.filter(t, params.transl.cast::<f64>())?.cast::<f32>();
        let betas = match (self.betas, dt) {
            (Some(previous), Some(dt)) => {
                let a = alpha(self.settings.min_cutoff, dt) as f32;
                std::array::from_fn(|k| previous[k] + a * (params.betas[k] - previous[k]))
            }
            _ => params.betas,
        };
        out.betas = betas;
        self.betas = Some(betas);
        self.last_time = Some(t);
        Ok(out)
    }

    /// Forgets the past: the next sample passes through unchanged (after a cut, or when the
    /// person was lost).
    pub fn reset(&mut self) {
        *self = Self::new(self.settings);
    }
}
