//! The feet of the pose the avatar shows against a reference that says when each foot is planted
//! (the performer's truth in the studio, the calibrated triangulation of the heels and toes on
//! real footage): the skate of a planted foot and how deep any foot goes below the floor.

use cmanet::ground::FootSample;
use serde_json::{Map, Value, json};

/// Collects foot skate and floor penetration, estimate after estimate.
#[derive(Default)]
pub struct FeetMeter {
    last: Option<[FootSample; 2]>,
    /// Horizontal slide of a planted foot, mm per frame of 30 fps (1/30 s).
    pub skate_mm_per_frame: Vec<f64>,
    /// Depth of each foot below the floor at every estimate (0 above it), mm.
    pub penetration_mm: Vec<f64>,
}

impl FeetMeter {
    /// The shown feet `now` over a floor at `floor` (`None`: penetration not measured); `since` is
    /// how many seconds passed since the previous estimate (`None`: not comparable, such as a gap
    /// of a second or more), `planted` whether the reference says each foot stayed planted
    /// meanwhile.
    pub fn add(&mut self, now: [FootSample; 2], floor: Option<f32>, since: Option<f64>, planted: [bool; 2]) {
        if let Some(floor) = floor {
            for foot in &now {
                self.penetration_mm.push(f64::from((floor - foot.lowest).max(0.0)) * 1000.0);
            }
        }
        if let (Some(before), Some(dt)) = (self.last, since.filter(|&dt| dt > 0.0 && dt < 1.0)) {
            for side in 0..2 {
                if planted[side] {
                    let d = now[side].centre - before[side].centre;
                    self.skate_mm_per_frame.push(f64::from(d.x.hypot(d.z)) * 1000.0 / (dt * 30.0));
                }
            }
        }
        self.last = Some(now);
    }

    /// Forgets the last feet (the next estimate is not compared with them).
    pub fn break_off(&mut self) {
        self.last = None;
    }

    /// `PREFIXfoot_skate_mm` (mean), `..._median`, `..._samples` (how many), `..._per_sample`
    /// (each, in order) and, when penetration was measured, `PREFIXfloor_penetration_mm` (mean)
    /// into `report`.
    pub fn report(&self, prefix: &str, report: &mut Map<String, Value>) {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        report.insert(format!("{prefix}foot_skate_mm"), json!(mean(&self.skate_mm_per_frame)));
        report.insert(
            format!("{prefix}foot_skate_mm_median"),
            json!(cmanet::eval::metrics::median(&self.skate_mm_per_frame)),
        );
        if !self.penetration_mm.is_empty() {
            report.insert(format!("{prefix}floor_penetration_mm"), json!(mean(&self.penetration_mm)));
        }
        report.insert(format!("{prefix}foot_skate_samples"), json!(self.skate_mm_per_frame.len()));
        report.insert(format!("{prefix}foot_skate_mm_per_sample"), json!(self.skate_mm_per_frame));
    }
}
