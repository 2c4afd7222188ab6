//! Running CMANet over a whole `cmanet-mv2d` sequence and writing the `cmanet-mv3d` result (in the
//! canonical frame: the body's root frame of every frame).

use std::collections::BTreeMap;
use std::time::Instant;

use nalgebra::Vector3;

use super::input::MultiViewFrame;
use super::model::{Cmanet, NetError};
use crate::body::BodyParams;
use crate::data::{Mv2d, Mv3d, Mv3dFrame};
use crate::geometry::Extrinsics;

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
        for (t, views) in data.keypoints2d.iter().enumerate() {
            let start = Instant::now();
            let frame = MultiViewFrame::from_views(views, &data.intrinsics);
            let estimate = match self.estimate_after(&frame, previous.as_ref()) {
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
            let current = Mv3dFrame {
                joints3d_cam,
                joints3d: estimate.keypoints,
                extrinsics: last.clone(),
                params: BodyParams { body_pose: estimate.body_pose, betas: estimate.betas, ..Default::default() },
                seconds: start.elapsed().as_secs_f64(),
                bones: Some(estimate.learned.subject.bones),
            };
            let cost = estimate.cost.map_or(UNFITTED_COST, f64::from);
            for _ in 0..std::mem::take(&mut pending) {
                frames.push(current.clone());
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
            ("world".to_string(), "canonical".to_string()),
            ("frames_repeated".to_string(), repeated.to_string()),
            (REFINEMENT_COST_KEY.to_string(), costs.join(",")),
        ]);
        Ok(Mv3d { fps: data.fps, frames, metadata })
    }
}
