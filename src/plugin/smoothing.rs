//! Smoothing: every [`PoseEstimated`] goes through a One Euro filter (rotations on the shortest
//! arc, root motion, shape), with the knobs of [`CmanetSettings`]; the result, and the raw pose,
//! are in the [`CmanetPose`] resource the avatars read.

use bevy::prelude::*;

use super::messages::PoseEstimated;
use super::settings::CmanetSettings;
use crate::body::BodyParams;
use crate::filter::PoseFilter;

/// The pose the avatars show: the newest estimate, raw and smoothed.
#[derive(Resource, Clone, Debug, Default, PartialEq)]
pub struct CmanetPose {
    /// The newest estimate as it came (world frame).
    pub raw: Option<BodyParams>,
    /// The same after the One Euro filter.
    pub smoothed: Option<BodyParams>,
    /// The app frame the newest estimate was captured at.
    pub frame: u32,
    /// The capture time of the newest estimate (`Time::elapsed_secs_f64`).
    pub time: f64,
    /// How many estimates arrived so far.
    pub estimates: u64,
    /// The shown pose stood on the floor, its planted feet held (`CmanetSettings::ground_feet`);
    /// `None` before the floor is known or with the grounding off.
    pub grounded: Option<BodyParams>,
    /// Whether each foot (left, right) is planted, as the grounding judged the newest pose.
    pub contacts: [bool; 2],
    /// The floor's height (world +y) the grounding stands the body on.
    pub floor: Option<f32>,
}

impl CmanetPose {
    /// The pose to show under `settings`: grounded when the grounding is on and has a floor, else
    /// smoothed or raw.
    pub fn current(&self, settings: &CmanetSettings) -> Option<&BodyParams> {
        let grounded = self.grounded.as_ref().filter(|_| settings.ground_feet);
        let shown = if settings.smoothing { self.smoothed.as_ref().or(self.raw.as_ref()) } else { self.raw.as_ref() };
        grounded.or(shown)
    }
}

/// The filter's state.
#[derive(Resource)]
pub(crate) struct Smoother(pub PoseFilter);

/// Filters every new estimate into [`CmanetPose`].
pub(crate) fn smooth_poses(
    mut estimates: MessageReader<PoseEstimated>,
    settings: Res<CmanetSettings>,
    mut smoother: ResMut<Smoother>,
    mut pose: ResMut<CmanetPose>,
) {
    if smoother.0.settings() != settings.one_euro() {
        smoother.0.set_settings(settings.one_euro());
    }
    for estimate in estimates.read() {
        let smoothed = smoother.0.filter(estimate.time, &estimate.params).or_else(|_| {
            // Time went backwards or a sample was bad: start over from this one.
            smoother.0.reset();
            smoother.0.filter(estimate.time, &estimate.params)
        });
        pose.smoothed = smoothed.ok();
        pose.raw = Some(estimate.params.clone());
        pose.frame = estimate.frame;
        pose.time = estimate.time;
        pose.estimates += 1;
    }
}
