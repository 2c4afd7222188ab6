//! The avatar on the floor: every new pose goes through a [`Grounder`] (floor, contacts, the root
//! stood on the floor, planted feet held by two-bone IK on the legs) with the knobs of
//! [`CmanetSettings`]. The result is [`CmanetPose::grounded`], which the avatars, takes and streams
//! show when [`CmanetSettings::ground_feet`] is on.

use bevy::prelude::*;

use super::inference::CmanetBodyModel;
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::ground::Grounder;

/// What the grounding remembers between poses.
#[derive(Resource, Default)]
pub(crate) struct Grounding {
    grounder: Grounder,
    /// The number of poses handled (`CmanetPose::estimates` of the last one).
    seen: u64,
}

/// Grounds every new pose into [`CmanetPose::grounded`] (after the smoothing).
pub(crate) fn ground_poses(
    settings: Res<CmanetSettings>,
    body: Option<Res<CmanetBodyModel>>,
    mut state: ResMut<Grounding>,
    mut pose: ResMut<CmanetPose>,
) {
    if pose.estimates == state.seen {
        return;
    }
    state.seen = pose.estimates;
    let (Some(body), true) = (body, settings.ground_feet) else {
        pose.grounded = None;
        return;
    };
    let shown = if settings.smoothing { pose.smoothed.as_ref().or(pose.raw.as_ref()) } else { pose.raw.as_ref() };
    let Some(params) = shown.filter(|p| p.is_finite()).cloned() else { return };
    let time = pose.time;
    state.grounder.settings = settings.ground();
    match state.grounder.ground(&body.0, &params, time) {
        Some(grounded) => {
            pose.grounded = Some(grounded.params);
            pose.contacts = grounded.planted;
            pose.floor = Some(grounded.floor);
        }
        None => pose.grounded = None,
    }
}
