//! The One Euro filter: a first-order low-pass filter whose cutoff rises with the signal's speed,
//! so a still signal is smoothed hard (no jitter) and a fast one follows with little lag.
//! [`OneEuroVector`] filters a 3-vector (its speed is the vector's), [`OneEuroRotation`] a
//! rotation (its speed is the angular speed; it moves along the shortest arc).

use nalgebra::{UnitQuaternion, Vector3};

/// The filter's knobs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneEuroSettings {
    /// Cutoff frequency at rest, Hz: lower removes more jitter from a still pose. Default: 1.0.
    pub min_cutoff: f64,
    /// How fast the cutoff rises with speed (per unit of speed, m/s or rad/s): higher follows fast
    /// motion with less lag. Default: 0.7.
    pub beta: f64,
    /// Cutoff frequency of the speed estimate, Hz. Default: 1.0.
    pub derivative_cutoff: f64,
}

impl Default for OneEuroSettings {
    fn default() -> Self {
        Self { min_cutoff: 1.0, beta: 0.7, derivative_cutoff: 1.0 }
    }
}

/// A sample the filter cannot take.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The sample has a NaN or infinite component.
    #[error("the sample is not finite")]
    NonFinite,
    /// Time did not move forward (or is not finite) since the last sample.
    #[error("time step {0} s: samples must come in increasing time")]
    BadTimeStep(f64),
}

/// The smoothing factor of a first-order low-pass filter at `cutoff` Hz over `dt` seconds.
pub(super) fn alpha(cutoff: f64, dt: f64) -> f64 {
    let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff.max(1e-9));
    1.0 / (1.0 + tau / dt)
}

/// The time step since `last` (`None` for the first sample), or why `t` cannot follow it.
pub(super) fn time_step(last: Option<f64>, t: f64) -> Result<Option<f64>, FilterError> {
    match last {
        None if t.is_finite() => Ok(None),
        None => Err(FilterError::BadTimeStep(t)),
        Some(previous) => {
            let dt = t - previous;
            if dt.is_finite() && dt > 0.0 { Ok(Some(dt)) } else { Err(FilterError::BadTimeStep(dt)) }
        }
    }
}

/// One Euro filter of a 3-vector (a root position, metres).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OneEuroVector {
    /// The knobs.
    pub settings: OneEuroSettings,
    state: Option<(f64, Vector3<f64>, Vector3<f64>)>, // time, value, velocity
}

impl OneEuroVector {
    /// A filter with these knobs.
    pub fn new(settings: OneEuroSettings) -> Self {
        Self { settings, state: None }
    }

    /// The filtered value after the sample `x` at time `t` (seconds). A bad sample is refused and
    /// leaves the filter as it was.
    pub fn filter(&mut self, t: f64, x: Vector3<f64>) -> Result<Vector3<f64>, FilterError> {
        if !x.iter().all(|v| v.is_finite()) {
            return Err(FilterError::NonFinite);
        }
        let s = self.settings;
        let out = match (time_step(self.state.map(|(t0, _, _)| t0), t)?, self.state) {
            (Some(dt), Some((_, previous, velocity))) => {
                let raw_velocity = (x - previous) / dt;
                let velocity = velocity + (raw_velocity - velocity) * alpha(s.derivative_cutoff, dt);
                let cutoff = s.min_cutoff + s.beta * velocity.norm();
                let value = previous + (x - previous) * alpha(cutoff, dt);
                (value, velocity)
            }
            _ => (x, Vector3::zeros()),
        };
        self.state = Some((t, out.0, out.1));
        Ok(out.0)
    }

    /// Forgets the past: the next sample passes through unchanged.
    pub fn reset(&mut self) {
        self.state = None;
    }
}

/// One Euro filter of a rotation; it moves along the shortest arc, so `q` and `-q` are the same.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OneEuroRotation {
    /// The knobs.
    pub settings: OneEuroSettings,
    state: Option<(f64, UnitQuaternion<f64>, f64)>, // time, value, angular speed
}

impl OneEuroRotation {
    /// A filter with these knobs.
    pub fn new(settings: OneEuroSettings) -> Self {
        Self { settings, state: None }
    }

    /// The filtered rotation after the sample `q` at time `t` (seconds). A bad sample is refused
    /// and leaves the filter as it was.
    pub fn filter(&mut self, t: f64, q: UnitQuaternion<f64>) -> Result<UnitQuaternion<f64>, FilterError> {
        if !q.coords.iter().all(|v| v.is_finite()) {
            return Err(FilterError::NonFinite);
        }
        let s = self.settings;
        let out = match (time_step(self.state.map(|(t0, _, _)| t0), t)?, self.state) {
            (Some(dt), Some((_, previous, speed))) => {
                // The step from the filtered rotation to the sample, as a rotation vector (shortest arc).
                let step = (previous.inverse() * q).scaled_axis();
                let speed = speed + (step.norm() / dt - speed) * alpha(s.derivative_cutoff, dt);
                let cutoff = s.min_cutoff + s.beta * speed;
                let value = previous * UnitQuaternion::from_scaled_axis(step * alpha(cutoff, dt));
                (value, speed)
            }
            _ => (q, 0.0),
        };
        self.state = Some((t, out.0, out.1));
        Ok(out.0)
    }

    /// Forgets the past: the next sample passes through unchanged.
    pub fn reset(&mut self) {
        self.state = None;
    }
}
