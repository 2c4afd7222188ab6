//! Running CMANet over a whole `cmanet-mv2d` sequence and writing the `cmanet-mv3d` result: in the
//! canonical frame (the body's root frame of every frame), or placed in the world of cameras whose
//! places are known ([`crate::placement`]).

use std::collections::BTreeMap;
use std::time::Instant;

use nalgebra::Vector3;

use super::input::MultiViewFrame;
use super::model::{Cmanet, Learned, NetError, Subject};
use crate::body::{BodyParams, NUM_KEYPOINTS};
use crate::data::labels::labelled;
use crate::data::{Mv2d, Mv3d, Mv3dFrame};
use crate::geometry::Extrinsics;
use crate::placement::{KnownView, WorldPose, mean_confidence, place_body};

/// The metadata key under which [`Cmanet::estimate_sequence`] records every frame's body refinement
/// cost (comma-separated; [`UNFITTED_COST`] for frames repeated or not refined).
pub const REFINEMENT_COST_KEY: &str = "refinement_cost";

/// The cost recorded for a frame that was repeated or not refined: far above any fitted frame's.
pub const UNFITTED_COST: f64 = 1e30;

impl Cmanet {
    /// Estimates every frame of `data` (its extrinsics and ground truth are never read). A view
    /// the network cannot use in a frame keeps its camera from the nearest earlier frame (or a
    /// camera 4 m in front of the body), so the output always has every view; a frame no view can
    /// use repeats the previous frame's body (the metadata counts such frames as `frames_repeated`).
    /// Only a sequence whose first usable frame never comes is an error. Frames are estimated in
    /// order, each with the last estimated one as the body refinement's temporal prior
    /// ([`Cmanet::estimate_after`]).
    pub fn estimate_sequence(&self, data: &Mv2d, progress: &mut dyn FnMut(usize)) -> Result<Mv3d, NetError> {
        self.run_sequence(data, None, None, progress)
    }

    /// [`Cmanet::estimate_sequence`] of a subject already known (its bones, e.g. what an earlier
    /// pass over the same sequence learned by its last frame): the first frame starts from them
    /// instead of the body model's, and the stream goes on learning from there. Training's
    /// pseudo-labels are made this way, so that every frame's label carries the subject's bones as
    /// the whole sequence shows them, not as far as the stream had learned them.
    pub fn estimate_sequence_knowing(
        &self,
        data: &Mv2d,
        subject: Subject,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Mv3d, NetError> {
        self.run_sequence(data, None, Some(subject), progress)
    }

    /// [`Cmanet::estimate_sequence`], every frame then placed in the world of the cameras
    /// `world_to_camera` (one per view, world to camera, e.g. a calibration): the body's rotation
    /// and position from the views ([`crate::placement::place_body`]), the joints, the SMPL
    /// parameters (`global_orient`, `transl`) and every view's estimated camera in that world
    /// (metadata `world = known cameras`). The known places are used for nothing else: the
    /// estimate is the uncalibrated one.
    pub fn estimate_sequence_in_world(
        &self,
        data: &Mv2d,
        world_to_camera: &[Extrinsics],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Mv3d, NetError> {
        if world_to_camera.len() != data.num_views() {
            return Err(NetError::Input(format!(
                "{} known cameras for {} views",
                world_to_camera.len(),
                data.num_views()
            )));
        }
        self.run_sequence(data, Some(world_to_camera), None, progress)
    }

    fn run_sequence(
        &self,
        data: &Mv2d,
        world: Option<&[Extrinsics]>,
        subject: Option<Subject>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Mv3d, NetError> {
        let known = subject.map(|subject| Learned { subject, ..Default::default() });
        let fallback =
            Extrinsics::look_at(&Vector3::new(0.0, 1.0, 4.0), &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0);
        let mut last: Vec<Extrinsics> = vec![fallback; data.num_views()];
        let mut frames: Vec<Mv3dFrame> = Vec::with_capacity(data.num_frames());
        // Frames seen by no view: repeated from the previous one, or (before the first usable
        // frame) from the first usable one.
        let (mut repeated, mut pending) = (0usize, 0usize);
        let mut previous: Option<super::model::Estimate> = None;
        // Every written frame's refinement cost (a repeated or unrefined frame counts as unfitted).
        let mut costs: Vec<f64> = Vec::with_capacity(data.num_frames());
        for t in 0..data.num_frames() {
            let start = Instant::now();
            let frame = MultiViewFrame::from_mv2d(data, t);
            let learned = previous.as_ref().map(|p| &p.learned).or(known.as_ref());
            let estimate = match self.estimate_with(&frame, previous.as_ref(), learned) {
                Ok(e) => e,
                Err(NetError::NoUsableView { .. }) => {
                    repeated += 1;
                    match frames.last() {
                        Some(previous) => {
                            let mut previous: Mv3dFrame = Clone::clone(previous);
                            previous.seconds = start.elapsed().as_secs_f64();
                            frames.push(previous);
                            costs.push(UNFITTED_COST);
                            progress(t + 1);
                            continue;
                        }
                        None => {
                            pending += 1;
                            progress(t + 1);
                            continue;
                        }
                    }
                }
                Err(e) => return Err(e),
            };
            previous = Some(estimate.clone());
            for (slot, camera) in last.iter_mut().zip(&estimate.cameras) {
                if let Some(c) = camera {
                    *slot = *c;
                }
            }
            let joints3d_cam = last
                .iter()
                .map(|e| {
                    std::array::from_fn(|k| {
                        let q = e.to_camera(&Vector3::from(estimate.keypoints[k]).cast::<f64>());
                        [q.x as f32, q.y as f32, q.z as f32]
                    })
                })
                .collect();
            let (joints3d, extrinsics, params) =
                world.and_then(|world| self.in_world(&estimate, &frame, &last, world)).unwrap_or_else(|| {
                    let canonical =
                        BodyParams { body_pose: estimate.body_pose, betas: estimate.betas, ..Default::default() };
                    (estimate.keypoints, last.clone(), canonical)
                });
            let current = Mv3dFrame {
                joints3d_cam,
                joints3d,
                extrinsics,
                params,
                seconds: start.elapsed().as_secs_f64(),
                bones: Some(estimate.learned.subject.bones),
                measured: None,
            };
            let cost = estimate.cost.map_or(UNFITTED_COST, f64::from);
            // Frames no view saw enough of repeat the next estimate, marked unmeasured.
            for _ in 0..std::mem::take(&mut pending) {
                frames.push(Mv3dFrame { measured: Some([false; NUM_KEYPOINTS]), ..current.clone() });
                costs.push(UNFITTED_COST);
            }
            frames.push(current);
            costs.push(cost);
            progress(t + 1);
        }
        if pending > 0 {
            return Err(NetError::NoUsableView { frame: data.num_frames().saturating_sub(1) });
        }
        let costs: Vec<String> = costs.iter().map(|c| format!("{c:.6e}")).collect();
        let metadata = BTreeMap::from([
            ("method".to_string(), "cmanet".to_string()),
            ("world".to_string(), if world.is_some() { "known cameras" } else { "canonical" }.to_string()),
            ("frames_repeated".to_string(), repeated.to_string()),
            (REFINEMENT_COST_KEY.to_string(), costs.join(",")),
        ]);
        Ok(Mv3d { fps: data.fps, frames, metadata })
    }
    /// One frame's keypoints, cameras (world to camera; every view's latest camera, `last`) and
    /// SMPL parameters in the world of the known cameras `world`; `None` when the views cannot
    /// place the body.
    fn in_world(
        &self,
        estimate: &super::model::Estimate,
        frame: &MultiViewFrame,
        last: &[Extrinsics],
        world: &[Extrinsics],
    ) -> Option<(crate::data::Keypoints3d, Vec<Extrinsics>, BodyParams)> {
        let known: Vec<KnownView> = world
            .iter()
            .zip(&frame.views)
            .zip(&estimate.swapped_views)
            .map(|((camera, view), swapped)| KnownView {
                world_to_camera: Some(*camera),
                weight: view.as_ref().map_or(0.0, |v| mean_confidence(&v.keypoints) as f64),
                intrinsics: view.as_ref().map(|v| v.intrinsics),
                keypoints: view.as_ref().map(|v| labelled(&v.keypoints, *swapped)),
            })
            .collect();
        let body_to_world = place_body(&estimate.cameras, &estimate.keypoints, &known)?;
        let pelvis_rest = self.refiner.rest_joint(0, &estimate.betas).cast::<f32>();
        let placed = WorldPose::new(
            body_to_world,
            estimate.body_pose,
            estimate.betas,
            &estimate.joints,
            &estimate.keypoints,
            last.iter().map(|c| Some(*c)).collect::<Vec<_>>().as_slice(),
            &pelvis_rest,
        );
        // Every view has a latest camera, so every one is placed.
        Some((placed.keypoints, placed.cameras.into_iter().flatten().collect(), placed.params))
    }
}
