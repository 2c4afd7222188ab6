//! Smooth building blocks for motions: eases, bumps, periodic peaks, random sums of sinusoids and
//! eased keyframes. Every function here is continuous with a continuous first derivative, so motions
//! built from them have no jumps between frames.

use std::f32::consts::{PI, TAU};

use super::super::random::Rng;

/// Quintic smootherstep of `x` clamped to [0, 1]: 0 → 0, 1 → 1, zero first and second derivative at
/// both ends.
pub fn smootherstep(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * x * (x * (6.0 * x - 15.0) + 10.0)
}

/// Eases from 0 at `t0` to 1 at `t1` (0 before, 1 after); a step when `t1 <= t0`.
pub fn ease(t: f32, t0: f32, t1: f32) -> f32 {
    if t1 <= t0 {
        return if t >= t0 { 1.0 } else { 0.0 };
    }
    smootherstep((t - t0) / (t1 - t0))
}

/// A bump that rises from 0 at `start` to 1 at `peak` and falls back to 0 at `end` (0 outside).
pub fn bump(t: f32, start: f32, peak: f32, end: f32) -> f32 {
    if t <= peak { ease(t, start, peak) } else { 1.0 - ease(t, peak, end) }
}

/// A smooth periodic peak of height 1 at `phase = 0 (mod 2π)`, narrower as `sharpness` grows:
/// `((1 + cos phase) / 2)^sharpness`.
pub fn peak(phase: f32, sharpness: f32) -> f32 {
    (0.5 * (1.0 + phase.cos())).max(0.0).powf(sharpness.max(1.0))
}

/// A periodic pulse of height 1 at `phase = 0 (mod 2π)` that is exactly 0 when the phase is more
/// than `half_width` radians away (`half_width` in (0, π)); continuously differentiable.
pub fn pulse(phase: f32, half_width: f32) -> f32 {
    let w = half_width.clamp(1e-3, PI - 1e-3);
    let c = w.cos();
    let x = ((phase.cos() - c) / (1.0 - c)).max(0.0);
    x * x
}

/// A random sum of sinusoids: slow, smooth variation around zero.
#[derive(Clone, Debug)]
pub struct Wobble {
    /// `(amplitude, angular frequency, phase)` of every term.
    terms: Vec<(f32, f32, f32)>,
}

impl Wobble {
    /// `terms` sinusoids with frequencies in [`f_lo`, `f_hi`] Hz whose amplitudes add up to at most
    /// `amplitude`.
    pub fn new(rng: &mut Rng, amplitude: f32, f_lo: f32, f_hi: f32, terms: usize) -> Self {
        let n = terms.max(1);
        let terms = (0..n)
            .map(|_| (amplitude * rng.range(0.3, 1.0) / n as f32, TAU * rng.range(f_lo, f_hi), rng.angle()))
            .collect();
        Self { terms }
    }

    /// Zero everywhere.
    pub fn zero() -> Self {
        Self { terms: Vec::new() }
    }

    /// The value at time `t` (seconds).
    pub fn at(&self, t: f32) -> f32 {
        self.terms.iter().map(|(a, w, p)| a * (w * t + p).sin()).sum()
    }
}

/// Values at increasing times, eased between neighbours (smootherstep), held before the first key
/// and after the last.
#[derive(Clone, Debug)]
pub struct Keyframes<const N: usize> {
    keys: Vec<(f32, [f32; N])>,
}

impl<const N: usize> Keyframes<N> {
    /// Keyframes from `(time, values)` pairs; they are sorted by time.
    pub fn new(mut keys: Vec<(f32, [f32; N])>) -> Self {
        keys.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { keys }
    }

    /// The eased values at time `t` (zeros when there are no keys).
    pub fn at(&self, t: f32) -> [f32; N] {
        let Some(first) = self.keys.first() else { return [0.0; N] };
        if t <= first.0 {
            return first.1;
        }
        for pair in self.keys.windows(2) {
            let (t0, a) = pair[0];
            let (t1, b) = pair[1];
            if t <= t1 {
                let w = ease(t, t0, t1);
                return std::array::from_fn(|i| a[i] + (b[i] - a[i]) * w);
            }
        }
        self.keys[self.keys.len() - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest change between samples `dt` apart over [lo, hi].
    fn max_step(f: impl Fn(f32) -> f32, lo: f32, hi: f32, dt: f32) -> f32 {
        let n = ((hi - lo) / dt) as usize;
        (0..n).map(|i| (f(lo + (i + 1) as f32 * dt) - f(lo + i as f32 * dt)).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn building_blocks_are_smooth_and_hit_their_marks() {
        assert_eq!(smootherstep(-1.0), 0.0);
        assert_eq!(smootherstep(2.0), 1.0);
        assert!((smootherstep(0.5) - 0.5).abs() < 1e-6);
        assert_eq!(bump(0.0, 0.0, 0.5, 1.0), 0.0);
        assert!((bump(0.5, 0.0, 0.5, 1.0) - 1.0).abs() < 1e-6);
        assert_eq!(pulse(2.0, 1.0), 0.0);
        assert!((pulse(0.0, 1.0) - 1.0).abs() < 1e-6);
        assert!((peak(0.0, 3.0) - 1.0).abs() < 1e-6);
        // Steps of 1 ms change nothing by more than a few thousandths: no jumps.
        assert!(max_step(|t| bump(t, 0.2, 0.4, 0.9), 0.0, 1.0, 1e-3) < 0.01);
        assert!(max_step(|t| pulse(t, 0.7), -4.0, 4.0, 1e-3) < 0.01);
        let keys = Keyframes::new(vec![(1.0, [0.0, 1.0]), (0.0, [1.0, 1.0]), (2.0, [5.0, -1.0])]);
        assert_eq!(keys.at(-1.0), [1.0, 1.0]);
        assert_eq!(keys.at(1.0), [0.0, 1.0]);
        assert_eq!(keys.at(3.0), [5.0, -1.0]);
        assert!(max_step(|t| keys.at(t)[0], -1.0, 3.0, 1e-3) < 0.01);
        let mut rng = Rng::new(3);
        let w = Wobble::new(&mut rng, 0.2, 0.1, 0.5, 3);
        assert!((0..1000).all(|i| w.at(i as f32 * 0.01).abs() <= 0.2));
        assert_eq!(Keyframes::<2>::new(Vec::new()).at(0.3), [0.0; 2]);
    }
}
