//! A body stood on the floor, pose after pose: the floor's height ([`FloorEstimator`], or a known
//! one), which foot is planted ([`ContactTracker`]), the root moved up or down so the feet stand
//! on the floor and never go through it, and each planted foot held where it landed by two-bone
//! IK on its leg ([`reach_ankle`]), the hold easing out once the foot lifts. Plain Rust on
//! [`BodyParams`]: the plugin grounds the pose the avatar shows with it, `cmanet export --ground`
//! a whole estimate.

use nalgebra::Vector3;

use super::contact::{ContactSettings, ContactTracker, FootSample};
use super::floor::FloorEstimator;
use super::leg_ik::{LEG_JOINTS, reach_ankle};
use crate::body::{BodyModel, BodyParams, FootContacts, JointTransform, NUM_BETAS};

/// How a body is stood on the floor.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundSettings {
    /// When a foot counts as planted. Default: [`ContactSettings::default`].
    pub contacts: ContactSettings,
    /// The floor's height (world +y), if known; `None` estimates it from where the feet rest.
    /// Default: `None`.
    pub floor_height: Option<f32>,
    /// Hold each planted foot where it landed with two-bone IK on its leg; off, the feet are only
    /// stood on the floor (the root moved up or down). Default: true.
    pub hold_feet: bool,
    /// How long a lifted foot's hold, and the root's height correction once no foot is planted,
    /// take to ease out (time constant), seconds. Default: 0.2.
    pub release_seconds: f32,
    /// A planted foot further than this from where it landed (horizontally) lands anew: the
    /// estimate jumped or the legs' labels changed, and the leg would be pulled out of shape.
    /// Metres. Default: 0.1.
    pub max_hold: f32,
}

impl Default for GroundSettings {
    fn default() -> Self {
        Self {
            contacts: ContactSettings::default(),
            floor_height: None,
            hold_feet: true,
            release_seconds: 0.2,
            max_hold: 0.1,
        }
    }
}

/// One pose stood on the floor.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundedPose {
    /// The pose: root moved, planted legs turned.
    pub params: BodyParams,
    /// Whether each foot (left, right) is planted.
    pub planted: [bool; 2],
    /// The floor's height (world +y).
    pub floor: f32,
}

/// Betas that change less than this (every coefficient) keep the sole points.
const BETAS_TOLERANCE: f32 = 0.05;

/// Stands a body on the floor pose after pose (see the module's header); one per person.
#[derive(Clone, Debug, Default)]
pub struct Grounder {
    /// The knobs.
    pub settings: GroundSettings,
    /// The sole points and the betas they were made for.
    soles: Option<([f32; NUM_BETAS], FootContacts)>,
    floor: FloorEstimator,
    contacts: ContactTracker,
    /// The root's height correction.
    lift: f32,
    last_time: Option<f64>,
    /// Where each planted foot landed (its centre), horizontally.
    anchors: [Option<Vector3<f32>>; 2],
    /// Each foot's current hold: where IK moves its centre, relative to where the pose has it.
    holds: [Vector3<f32>; 2],
    /// Where each foot was in the last pose, before any hold, and whether it was low enough to
    /// plant then (its lowest sole point within the planting height of the floor).
    last_free: [Option<(Vector3<f32>, bool)>; 2],
}

impl Grounder {
    /// A grounder with `settings`, knowing no floor yet.
    pub fn new(settings: GroundSettings) -> Self {
        Self { contacts: ContactTracker::new(settings.contacts), settings, ..Self::default() }
    }

    fn soles(&mut self, model: &BodyModel, betas: &[f32; NUM_BETAS]) -> &FootContacts {
        let close = |b: &[f32; NUM_BETAS]| b.iter().zip(betas).all(|(a, b)| (a - b).abs() <= BETAS_TOLERANCE);
        let soles = match self.soles.take() {
            Some(kept) if close(&kept.0) => kept,
            _ => (*betas, FootContacts::new(model, betas)),
        };
        &self.soles.insert(soles).1
    }

    /// `params` at `time` (seconds, increasing) stood on the floor; `None` until the floor is known
    /// (or for a pose that cannot be posed).
    pub fn ground(&mut self, model: &BodyModel, params: &BodyParams, time: f64) -> Option<GroundedPose> {
        self.contacts.settings = self.settings.contacts;
        let transforms = model.forward_kinematics(params).ok()?;
        let feet = FootSample::both(self.soles(model, &params.betas), &transforms);
        let lowest = feet[0].lowest.min(feet[1].lowest);
        for foot in &feet {
            self.floor.observe(foot.lowest);
        }
        let floor = self.settings.floor_height.or_else(|| self.floor.floor())?;
        // Contacts are judged on the pose as estimated, raised by the current correction.
        let raised = feet.map(|f| FootSample { centre: f.centre, lowest: f.lowest + self.lift });
        let planted = self.contacts.update(time, &raised, floor);
        let dt = self.last_time.map_or(0.0, |t| (time - t).max(0.0)) as f32;
        self.last_time = Some(time);
        let ease = (-dt / self.settings.release_seconds.max(1e-3)).exp();
        // Up and down: a planted foot stands on the floor; with none planted, nothing goes through
        // it (a free foot lower than a planted one is lifted by its own leg, below).
        let standing = (0..2).filter(|&s| planted[s]).map(|s| feet[s].lowest).reduce(f32::min);
        self.lift = match standing {
            Some(l) => floor - l,
            None => (self.lift * ease).max(floor - lowest),
        };
        let mut grounded = params.clone();
        grounded.transl.y += self.lift;
        if self.settings.hold_feet {
            // The grounded pose is the estimate raised by `lift`: its joints and feet are too.
            let up = Vector3::new(0.0, self.lift, 0.0);
            let lifted: Vec<JointTransform> =
                transforms.iter().map(|t| JointTransform { translation: t.translation + up, ..*t }).collect();
            let feet = feet.map(|f| FootSample { centre: f.centre + up, lowest: f.lowest + self.lift });
            self.hold_feet(&mut grounded, &lifted, &feet, planted, floor, ease);
        } else {
            self.anchors = [None; 2];
            self.holds = [Vector3::zeros(); 2];
            self.last_free = [None; 2];
        }
        Some(GroundedPose { params: grounded, planted, floor })
    }

    /// Turns the legs of `grounded` (whose joints' world transforms are `transforms`, its feet
    /// `feet`) so that each planted foot stays where it landed, its lowest sole point on the floor,
    /// and a lifted foot's hold eases out.
    fn hold_feet(
        &mut self,
        grounded: &mut BodyParams,
        transforms: &[JointTransform],
        feet: &[FootSample; 2],
        planted: [bool; 2],
        floor: f32,
        ease: f32,
    ) {
        for side in 0..2 {
            let free = feet[side].centre;
            let low = feet[side].lowest - floor <= self.settings.contacts.height_on;
            let before = self.last_free[side].replace((free, low));
            // A foot that jumped further than a hold reaches (a new person, relabelled legs) starts
            // over: neither its anchor nor its hold means anything for it now.
            let jumped = before.is_some_and(|(before, _)| (free - before).norm() > self.settings.max_hold);
            if jumped {
                self.anchors[side] = None;
                self.holds[side] = Vector3::zeros();
            }
            if planted[side] {
                // A foot plants once it is low and slow, and its speed needs the pose before: if
                // it was already on the floor then, that is where it landed.
                let landed = match before {
                    Some((before, true)) if !jumped => before,
                    _ => free,
                };
                let mut anchor = *self.anchors[side].get_or_insert(landed);
                let slid = Vector3::new(anchor.x - free.x, 0.0, anchor.z - free.z);
                if slid.norm() > self.settings.max_hold {
                    anchor = free;
                    self.anchors[side] = Some(anchor);
                }
                let target = Vector3::new(anchor.x, free.y + floor - feet[side].lowest, anchor.z);
                self.holds[side] = target - free;
            } else {
                self.anchors[side] = None;
                self.holds[side] *= ease;
            }
            // A free foot below the floor (estimated a little low as it lands or lifts, while the
            // other stands) is lifted onto it by its leg, not by moving the body.
            let mut hold = self.holds[side];
            let below = floor - (feet[side].lowest + hold.y);
            if !planted[side] && below > 0.0 {
                hold.y += below;
            }
            if hold.norm() > 1e-5 {
                // The legs are separate chains: each leg's IK leaves the other's transforms valid.
                let ankle = transforms[LEG_JOINTS[side][2]].translation;
                reach_ankle(grounded, transforms, side, &(ankle + hold));
            }
        }
    }

    /// The floor's height, once known.
    pub fn floor(&self) -> Option<f32> {
        self.settings.floor_height.or_else(|| self.floor.floor())
    }
}

/// A whole recorded sequence (`frames` at `seconds`) stood on the floor with `settings`: unless
/// the floor is given, it is estimated from every frame first (so the first frames are grounded
/// too). `None` when no frame can be posed.
pub fn ground_sequence(
    model: &BodyModel,
    frames: &[BodyParams],
    seconds: &[f64],
    settings: GroundSettings,
) -> Option<Vec<GroundedPose>> {
    let mut grounder = Grounder::new(settings);
    if grounder.settings.floor_height.is_none() {
        let mut floor = FloorEstimator::new(2 * frames.len().max(1), 1);
        for params in frames {
            let Ok(transforms) = model.forward_kinematics(params) else { continue };
            for foot in FootSample::both(grounder.soles(model, &params.betas), &transforms) {
                floor.observe(foot.lowest);
            }
        }
        grounder.settings.floor_height = Some(floor.floor()?);
    }
    frames.iter().zip(seconds).map(|(params, &t)| grounder.ground(model, params, t)).collect::<Option<Vec<_>>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body in a walking stance whose estimate drifts sideways by `drift` metres a sample and
    /// sinks by `sink` below a floor at 0.
    fn standing(model: &BodyModel, i: usize, drift: f32, sink: f32) -> BodyParams {
        let mut p = BodyParams::default();
        p.set_local_rotation(1, Vector3::new(-0.3, 0.0, 0.0));
        p.set_local_rotation(4, Vector3::new(0.4, 0.0, 0.0));
        p.set_local_rotation(2, Vector3::new(0.2, 0.0, 0.0));
        p.set_local_rotation(5, Vector3::new(0.3, 0.0, 0.0));
        let lowest = FootContacts::new(model, &p.betas).lowest(&model.forward_kinematics(&p).unwrap());
        p.transl = Vector3::new(drift * i as f32, -lowest - sink, 0.0);
        p
    }

    #[test]
    fn planted_feet_hold_still_and_the_body_stands_on_the_floor() {
        let model = BodyModel::open_body().unwrap();
        let settings = GroundSettings { floor_height: Some(0.0), ..Default::default() };
        let mut grounder = Grounder::new(settings);
        let soles = FootContacts::new(&model, &BodyParams::default().betas);
        let mut first = None;
        for i in 0..40 {
            // 1.5 mm of drift a sample at 30 samples a second (0.045 m/s, under the planting speed;
            // 6 cm in all, under the furthest hold).
            let params = standing(&model, i, 0.0015, 0.02);
            let grounded = grounder.ground(&model, &params, i as f64 / 30.0).unwrap();
            assert_eq!(grounded.floor, 0.0);
            let transforms = model.forward_kinematics(&grounded.params).unwrap();
            assert!(soles.lowest(&transforms) > -1e-3, "sample {i}: through the floor");
            let centres = soles.foot_centres(&transforms);
            // The feet were on the floor from the first sample: that is where they are held (their
            // speed, and so the contact, is known from the second).
            if i == 0 {
                first = Some(centres);
            }
            if i > 0 {
                assert_eq!(grounded.planted, [true, true], "sample {i}");
                for (side, (now, then)) in centres.iter().zip(first.unwrap()).enumerate() {
                    let moved: Vector3<f32> = now - then;
                    assert!(moved.x.hypot(moved.z) < 2e-3, "sample {i}: foot {side} slid {moved:?}");
                }
                // The root follows the estimate: the legs, not the body, hold the feet.
                assert!((grounded.params.transl.x - params.transl.x).abs() < 1e-6);
            }
        }
        // A body that jumps far (a new person, relabelled legs) is not held back by a metre.
        let far = standing(&model, 300, 0.002, 0.0);
        let grounded = grounder.ground(&model, &far, 41.0 / 30.0).unwrap();
        let transforms = model.forward_kinematics(&grounded.params).unwrap();
        let free = soles.foot_centres(&model.forward_kinematics(&far).unwrap());
        let centres = soles.foot_centres(&transforms);
        assert!((centres[0] - free[0]).norm() < 0.05);
        // Without holding, the feet only stand on the floor: they slide with the estimate.
        let mut loose =
            Grounder::new(GroundSettings { floor_height: Some(0.0), hold_feet: false, ..Default::default() });
        let a = loose.ground(&model, &standing(&model, 0, 0.002, 0.02), 0.0).unwrap();
        let b = loose.ground(&model, &standing(&model, 10, 0.002, 0.02), 10.0 / 30.0).unwrap();
        assert!((b.params.transl.x - a.params.transl.x - 0.02).abs() < 1e-6);
        assert_eq!(a.params.body_pose, standing(&model, 0, 0.0, 0.0).body_pose);
    }

    /// One foot stands (its knee a little bent) while the other swings fast through a straight,
    /// lower leg: the swinging foot is lifted onto the floor by its own leg, the standing foot
    /// stays planted where it is and the body is not moved for it.
    #[test]
    fn a_free_foot_lower_than_the_planted_one_is_lifted_onto_the_floor() {
        let model = BodyModel::open_body().unwrap();
        let soles = FootContacts::new(&model, &BodyParams::default().betas);
        let mut grounder = Grounder::new(GroundSettings { floor_height: Some(0.0), ..Default::default() });
        let (mut dip, mut through) = (0.0f32, 0.0f32);
        for i in 0..40 {
            let mut p = BodyParams::default();
            p.set_local_rotation(1, Vector3::new(-0.15, 0.0, 0.0));
            p.set_local_rotation(4, Vector3::new(0.3, 0.0, 0.0));
            p.set_local_rotation(7, Vector3::new(-0.15, 0.0, 0.0));
            p.set_local_rotation(2, Vector3::new(0.5 * (0.6 * i as f32).sin(), 0.0, 0.0));
            let raw = FootSample::both(&soles, &model.forward_kinematics(&p).unwrap());
            p.transl.y = -raw[0].lowest;
            let grounded = grounder.ground(&model, &p, i as f64 / 30.0).unwrap();
            let feet = FootSample::both(&soles, &model.forward_kinematics(&grounded.params).unwrap());
            through = through.min(feet[0].lowest).min(feet[1].lowest);
            // Where the swinging foot is low and slow enough it plants too; elsewhere only the
            // standing one holds the body.
            if i > 1 && grounded.planted == [true, false] {
                dip = dip.min(raw[1].lowest - raw[0].lowest);
                assert!(feet[0].lowest.abs() < 1e-3, "sample {i}: the standing foot at {}", feet[0].lowest);
                assert!((grounded.params.transl - p.transl).norm() < 1e-6, "sample {i}: the body moved");
            }
        }
        assert!(dip < -0.005, "the free foot never went lower than the standing one ({dip})");
        assert!(through > -1e-3, "a foot went {through} m through the floor");
    }

    #[test]
    fn the_floor_is_estimated_and_bad_poses_are_refused() {
        let model = BodyModel::open_body().unwrap();
        let mut grounder = Grounder::default();
        let mut floor = None;
        for i in 0..20 {
            let mut p = standing(&model, 0, 0.0, 0.0);
            p.transl.y += 0.5;
            floor = grounder.ground(&model, &p, i as f64 / 30.0).map(|g| g.floor);
        }
        assert!(floor.is_some_and(|f| (f - 0.5).abs() < 1e-3), "{floor:?}");
        // A recorded sequence: the floor from all of it, every frame grounded.
        let frames: Vec<BodyParams> = (0..10).map(|i| standing(&model, i, 0.002, -0.3)).collect();
        let seconds: Vec<f64> = (0..10).map(|i| i as f64 / 30.0).collect();
        let grounded = ground_sequence(&model, &frames, &seconds, GroundSettings::default()).unwrap();
        assert_eq!(grounded.len(), 10);
        assert!(grounded.iter().all(|g| (g.floor - 0.3).abs() < 1e-3 && g.params.is_finite()));
        let mut bad = BodyParams::default();
        bad.transl.x = f32::NAN;
        assert!(grounder.ground(&model, &bad, 1.0).is_none());
    }
}
