//! Repeated movements (a lunge, a pick-up): the schedule of repetitions over a clip, each going
//! down, holding and coming back up, with random timing.

use super::super::random::Rng;
use super::ease::ease;

/// One repetition, times in seconds: down from `start` to `down`, held until `hold`, back up by
/// `up`, to `depth` (1 = the full movement).
#[derive(Clone, Copy, Debug)]
pub(super) struct Rep {
    pub start: f32,
    pub down: f32,
    pub hold: f32,
    pub up: f32,
    pub depth: f32,
}

impl Rep {
    /// How far down the movement is at `t`, eased in and out: 0 up, `depth` at the bottom.
    pub fn depth_at(&self, t: f32) -> f32 {
        self.depth * (ease(t, self.start, self.down) - ease(t, self.hold, self.up))
    }
}

/// Ranges (seconds, or a fraction for `depth`) the repetitions' timings are drawn from.
pub(super) struct RepTiming {
    /// How long before the clip the first repetition may start.
    pub lead: f32,
    pub down: [f32; 2],
    pub hold: [f32; 2],
    pub up: [f32; 2],
    /// The pause between repetitions.
    pub gap: [f32; 2],
    /// The depth of each repetition; `None`: always the full movement.
    pub depth: Option<[f32; 2]>,
}

/// Repetitions back to back until the clip's `duration` is covered.
pub(super) fn schedule(rng: &mut Rng, duration: f32, timing: &RepTiming) -> Vec<Rep> {
    let mut reps = Vec::new();
    let mut t = -rng.range(0.0, timing.lead);
    while t < duration {
        let down = t + rng.range(timing.down[0], timing.down[1]);
        let hold = down + rng.range(timing.hold[0], timing.hold[1]);
        let up = hold + rng.range(timing.up[0], timing.up[1]);
        let depth = timing.depth.map_or(1.0, |[lo, hi]| rng.range(lo, hi));
        reps.push(Rep { start: t, down, hold, up, depth });
        t = up + rng.range(timing.gap[0], timing.gap[1]);
    }
    reps
}
