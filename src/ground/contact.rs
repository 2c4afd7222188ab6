//! Foot contacts: a foot is planted when its lowest sole point is near the floor and it barely
//! moves; it lifts when either clearly stops being true (two thresholds each, so noise near a
//! threshold does not make the state flicker).

use nalgebra::Vector3;

use crate::body::{FootContacts, JointTransform};

/// When a foot counts as planted. Defaults: a foot about to land is within 3 cm of the floor and
/// slower than 0.3 m/s; it has lifted past 6 cm or 0.6 m/s (the sole points of `FootContacts`);
/// speeds are measured over at least 0.1 s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContactSettings {
    /// Height of the lowest sole point above the floor under which a foot may plant, metres.
    /// Default: 0.03.
    pub height_on: f32,
    /// Height above which a planted foot lifts, metres. Default: 0.06.
    pub height_off: f32,
    /// Horizontal speed under which a foot may plant, m/s. Default: 0.3.
    pub speed_on: f32,
    /// Horizontal speed above which a planted foot lifts, m/s. Default: 0.6.
    pub speed_off: f32,
    /// The shortest time a foot's speed is measured over, seconds: from the newest sample at least
    /// this old (or the oldest there is). Between samples a frame apart, a centimetre of
    /// estimation noise alone reads as 0.3 m/s, so the speed is taken over several. Default: 0.1.
    pub speed_window: f64,
}

impl Default for ContactSettings {
    fn default() -> Self {
        Self { height_on: 0.03, height_off: 0.06, speed_on: 0.3, speed_off: 0.6, speed_window: 0.1 }
    }
}

/// One foot at one instant: where it is (its centre, horizontal position used) and the height of
/// its lowest sole point, world metres (+y up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FootSample {
    /// The foot's centre (midpoint of heel and toe).
    pub centre: Vector3<f32>,
    /// Height of its lowest sole point.
    pub lowest: f32,
}

impl FootSample {
    /// Both feet (left, right) of a posed body: each foot's centre and its lower sole point, from
    /// the body's sole points `soles` and its joints' world `transforms`.
    pub fn both(soles: &FootContacts, transforms: &[JointTransform]) -> [Self; 2] {
        let world = soles.world(transforms);
        let centres = soles.foot_centres(transforms);
        [0, 1].map(|side| Self { centre: centres[side], lowest: world[2 * side].y.min(world[2 * side + 1].y) })
    }
}

/// Tracks whether each foot (left, right) is planted, sample by sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactTracker {
    /// The thresholds.
    pub settings: ContactSettings,
    planted: [bool; 2],
    /// Recent samples (time, feet centres), oldest first: back to the newest one at least
    /// `speed_window` old.
    history: std::collections::VecDeque<(f64, [Vector3<f32>; 2])>,
}

impl ContactTracker {
    /// A tracker with `settings`, both feet in the air.
    pub fn new(settings: ContactSettings) -> Self {
        Self { settings, ..Self::default() }
    }

    /// The feet at `time` (seconds) over a floor at height `floor`: whether each is planted. A
    /// sample that is not finite, or a time that does not move forward, keeps the states (and a
    /// foot's speed is not known until its second sample, so it cannot plant before).
    pub fn update(&mut self, time: f64, feet: &[FootSample; 2], floor: f32) -> [bool; 2] {
        let finite = time.is_finite()
            && floor.is_finite()
            && feet.iter().all(|f| f.centre.iter().chain([&f.lowest]).all(|x| x.is_finite()));
        if !finite || self.history.back().is_some_and(|&(t, _)| time <= t) {
            return self.planted;
        }
        let s = self.settings;
        // The sample the speed is measured from: the newest at least `speed_window` old.
        // (A microsecond of slack: samples a whole number of frames apart land on the window.)
        while self.history.len() >= 2 && self.history[1].0 <= time - s.speed_window + 1e-6 {
            self.history.pop_front();
        }
        for (side, foot) in feet.iter().enumerate() {
            let Some(&(t, centres)) = self.history.front() else { continue };
            let moved = Vector3::new(foot.centre.x - centres[side].x, 0.0, foot.centre.z - centres[side].z).norm();
            let speed = moved / (time - t) as f32;
            let height = foot.lowest - floor;
            self.planted[side] = if self.planted[side] {
                height <= s.height_off && speed <= s.speed_off
            } else {
                height <= s.height_on && speed <= s.speed_on
            };
        }
        self.history.push_back((time, [feet[0].centre, feet[1].centre]));
        self.planted
    }

    /// The current states (left, right).
    pub fn planted(&self) -> [bool; 2] {
        self.planted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn foot(x: f32, lowest: f32) -> FootSample {
        FootSample { centre: Vector3::new(x, lowest, 0.0), lowest }
    }

    #[test]
    fn a_step_plants_lifts_and_noise_does_not_flicker() {
        let mut tracker = ContactTracker::default();
        let right = foot(0.0, 0.0);
        // The left foot rests (1 cm of height noise around 2 cm), lifts and swings, lands again.
        let mut states = Vec::new();
        for i in 0..60 {
            let t = i as f64 / 30.0;
            let noise = if i % 2 == 0 { 0.012 } else { -0.012 };
            let (x, h) = match i {
                0..20 => (0.0, 0.02 + noise),
                20..40 => (0.03 * (i - 20) as f32, 0.1 + noise),
                _ => (0.6, 0.02 + noise),
            };
            states.push(tracker.update(t, &[foot(x, h), right], 0.0));
        }
        assert!(states[1..20].iter().all(|s| s[0]), "planted while resting");
        assert!(states[21..40].iter().all(|s| !s[0]), "lifted while swinging");
        // Landed at 40: planted once the 0.1 s its speed is measured over lie after the landing.
        assert!(states[43..60].iter().all(|s| s[0]), "planted again after landing");
        assert!(states[1..].iter().all(|s| s[1]), "the other foot stays planted");
        // Between the two heights a planted foot stays planted, a lifted one stays lifted.
        let mut tracker = ContactTracker::default();
        tracker.update(0.0, &[foot(0.0, 0.0), right], 0.0);
        assert_eq!(tracker.update(0.1, &[foot(0.0, 0.0), right], 0.0), [true, true]);
        assert_eq!(tracker.update(0.2, &[foot(0.0, 0.045), right], 0.0), [true, true]);
        let mut tracker = ContactTracker::default();
        tracker.update(0.0, &[foot(0.0, 0.1), right], 0.0);
        assert_eq!(tracker.update(0.1, &[foot(0.0, 0.1), right], 0.0), [false, true]);
        assert_eq!(tracker.update(0.2, &[foot(0.0, 0.045), right], 0.0), [false, true]);
        // Bad samples keep the state.
        assert_eq!(tracker.update(0.3, &[foot(f32::NAN, 0.0), right], 0.0), [false, true]);
        assert_eq!(tracker.update(0.05, &[foot(0.0, 0.0), right], 0.0), [false, true]);
    }

    #[test]
    fn speed_is_measured_over_the_window_so_frame_to_frame_noise_does_not_lift_a_foot() {
        // A resting foot whose estimate jitters 1.5 cm from frame to frame (0.45 m/s between two
        // frames, under 0.15 m/s over 0.1 s) stays planted at 30 samples a second.
        let right = foot(0.0, 0.0);
        let mut tracker = ContactTracker::default();
        let states: Vec<[bool; 2]> = (0..30)
            .map(|i| tracker.update(i as f64 / 30.0, &[foot(if i % 2 == 0 { 0.0 } else { 0.015 }, 0.0), right], 0.0))
            .collect();
        // (From the fourth sample on: the first ones have less than the window behind them.)
        assert!(states[3..].iter().all(|s| s[0]), "{states:?}");
        // Measured frame to frame (no window) the same jitter lifts it.
        let mut tracker = ContactTracker::new(ContactSettings { speed_window: 0.0, ..ContactSettings::default() });
        let states: Vec<[bool; 2]> = (0..30)
            .map(|i| tracker.update(i as f64 / 30.0, &[foot(if i % 2 == 0 { 0.0 } else { 0.015 }, 0.0), right], 0.0))
            .collect();
        assert!(states[1..].iter().any(|s| !s[0]), "{states:?}");
    }
}
