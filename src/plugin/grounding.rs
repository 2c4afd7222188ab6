//! The avatar on the floor: at every new pose, the floor's height ([`FloorEstimator`], or
//! [`CmanetSettings::floor_height`]), which foot is planted ([`ContactTracker`]) and a correction of
//! the root: down or up so the feet stand on the floor and never go through it, and sideways so a
//! planted foot stays where it landed (the offset eases back to zero over
//! [`CmanetSettings::ground_release_seconds`] once no foot is planted). The result is
//! [`CmanetPose::grounded`], which the avatars, takes and streams show when
//! [`CmanetSettings::ground_feet`] is on.

use bevy::prelude::*;
use nalgebra::Vector3;

use super::inference::CmanetBodyModel;
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::{BodyModel, BodyParams, FootContacts, NUM_BETAS};
use crate::ground::{ContactTracker, FloorEstimator, FootSample};

/// What the grounding remembers between poses.
#[derive(Resource, Default)]
pub(crate) struct Grounding {
    /// The sole points and the betas they were made for.
    soles: Option<([f32; NUM_BETAS], FootContacts)>,
    floor: FloorEstimator,
    contacts: ContactTracker,
    /// The current root correction and the time it was last updated.
    offset: Vector3<f32>,
    last_time: Option<f64>,
    /// Where each planted foot landed (its centre, corrected), horizontal.
    anchors: [Option<Vector3<f32>>; 2],
    /// The number of poses handled (`CmanetPose::estimates` of the last one).
    seen: u64,
}

/// The furthest a planted foot pulls the body sideways, metres.
const MAX_PULL: f32 = 0.1;

/// Betas change less than this (every coefficient) keep the sole points.
const BETAS_TOLERANCE: f32 = 0.05;

impl Grounding {
    fn soles(&mut self, model: &BodyModel, betas: &[f32; NUM_BETAS]) -> &FootContacts {
        let close = |b: &[f32; NUM_BETAS]| b.iter().zip(betas).all(|(a, b)| (a - b).abs() <= BETAS_TOLERANCE);
        let soles = match self.soles.take() {
            Some(kept) if close(&kept.0) => kept,
            _ => (*betas, FootContacts::new(model, betas)),
        };
        &self.soles.insert(soles).1
    }

    /// The grounded pose of `params` at `time`, and the feet's contact states.
    fn ground(
        &mut self,
        model: &BodyModel,
        params: &BodyParams,
        time: f64,
        settings: &CmanetSettings,
    ) -> Option<(BodyParams, [bool; 2], f32)> {
        let transforms = model.forward_kinematics(params).ok()?;
        let feet = FootSample::both(self.soles(model, &params.betas), &transforms);
        let centres = feet.map(|f| f.centre);
        let lowest = feet[0].lowest.min(feet[1].lowest);
        self.floor.observe(lowest);
        let floor = settings.floor_height.or_else(|| self.floor.floor())?;
        // Contacts are judged on the pose as estimated, moved by the current correction's height.
        let raised: [FootSample; 2] = feet.map(|f| FootSample { centre: f.centre, lowest: f.lowest + self.offset.y });
        let planted = self.contacts.update(time, &raised, floor);
        let dt = self.last_time.map_or(0.0, |t| (time - t).max(0.0)) as f32;
        self.last_time = Some(time);
        // Sideways: each planted foot pulls the body so that it stays where it landed.
        let mut pull = Vector3::zeros();
        let mut pulling = 0;
        for side in 0..2 {
            if !planted[side] {
                self.anchors[side] = None;
                continue;
            }
            let here = centres[side] + Vector3::new(self.offset.x, 0.0, self.offset.z);
            let mut anchor = *self.anchors[side].get_or_insert(here);
            // A foot that would have to be pulled further than a step is not the foot that landed
            // there (the legs' labels changed, or the estimate jumped): it lands anew, uncorrected.
            if Vector3::new(anchor.x - centres[side].x, 0.0, anchor.z - centres[side].z).norm() > MAX_PULL {
                anchor = centres[side];
                self.anchors[side] = Some(anchor);
            }
            pull += Vector3::new(anchor.x - centres[side].x, 0.0, anchor.z - centres[side].z);
            pulling += 1;
        }
        let ease = (-dt / settings.ground_release_seconds.max(1e-3)).exp();
        let (x, z) = if pulling > 0 {
            (pull.x / pulling as f32, pull.z / pulling as f32)
        } else {
            (self.offset.x * ease, self.offset.z * ease)
        };
        // Up and down: a planted foot stands on the floor; nothing goes through it.
        let standing = (0..2).filter(|&s| planted[s]).map(|s| feet[s].lowest).reduce(f32::min);
        let y = match standing {
            Some(l) => floor - l,
            None => (self.offset.y * ease).max(floor - lowest),
        };
        self.offset = Vector3::new(x, y, z);
        let mut grounded = params.clone();
        grounded.transl += self.offset;
        Some((grounded, planted, floor))
    }
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
    match state.ground(&body.0, &params, time, &settings) {
        Some((grounded, planted, floor)) => {
            pose.grounded = Some(grounded);
            pose.contacts = planted;
            pose.floor = Some(floor);
        }
        None => pose.grounded = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standing body whose estimate drifts sideways by `drift` metres a sample and sinks by
    /// `sink` below a floor at 0.
    fn standing(model: &BodyModel, i: usize, drift: f32, sink: f32) -> BodyParams {
        let mut p = BodyParams::default();
        let lowest = FootContacts::new(model, &p.betas).lowest(&model.forward_kinematics(&p).unwrap());
        p.transl = Vector3::new(drift * i as f32, -lowest - sink, 0.0);
        p
    }

    #[test]
    fn planted_feet_hold_still_and_the_body_stands_on_the_floor() {
        let model = BodyModel::open_body().unwrap();
        let settings = CmanetSettings { floor_height: Some(0.0), ..Default::default() };
        let mut grounding = Grounding::default();
        let mut last = None;
        for i in 0..40 {
            // 2 mm of drift a sample at 30 samples a second (0.06 m/s, under the planting speed; 8 cm
            // in all, under the furthest pull).
            let params = standing(&model, i, 0.002, 0.02);
            let (grounded, planted, floor) = grounding.ground(&model, &params, i as f64 / 30.0, &settings).unwrap();
            assert_eq!(floor, 0.0);
            let transforms = model.forward_kinematics(&grounded).unwrap();
            let soles = FootContacts::new(&model, &grounded.betas);
            assert!(soles.lowest(&transforms) > -1e-3, "sample {i}: through the floor");
            let centre = soles.foot_centres(&transforms)[0];
            if i > 2 {
                assert_eq!(planted, [true, true], "sample {i}");
                let moved: Vector3<f32> = centre - last.unwrap();
                assert!(moved.x.hypot(moved.z) < 1e-4, "sample {i}: the planted foot slid {moved:?}");
            }
            last = Some(centre);
        }
        // A body that jumps far (a new person, relabelled legs) is not pulled back by a metre.
        let far = standing(&model, 300, 0.002, 0.0);
        let (grounded, _, _) = grounding.ground(&model, &far, 41.0 / 30.0, &settings).unwrap();
        assert!((grounded.transl - far.transl).norm() < MAX_PULL + 0.01);
    }
}
