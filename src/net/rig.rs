//! Rig memory: cameras that do not move keep their places relative to each other, so a stream can
//! learn its rig. Every frame CMANet estimates each camera relative to the body; the body moves,
//! the rig does not. [`Rig`] keeps, per view, the camera's pose relative to a fixed rig frame,
//! averaged over the frames so far; each new frame is placed in the rig frame by the views that
//! agree on where the body is ([`Rig::place`]), a view that disagrees (typically seen from behind
//! and put in front, its left and right taken for each other) is restarted where the rig says it is,
//! and every camera is held near its place in the rig by a prior that grows with the frames seen.
//! Over a few dozen frames the cameras' estimates average down to a calibration.

use nalgebra::{Matrix3, Rotation3, Vector3};

use crate::geometry::{Extrinsics, rotation_angle_between};

/// A view whose body-to-rig placement differs from the consensus by more than this (radians) is an
/// outlier in that frame.
pub const RIG_INLIER_ANGLE: f64 = 0.35;

/// A view the rig has seen agree for fewer frames than this is not restarted where the rig puts it.
pub const RIG_TRUSTED_EVIDENCE: f32 = 5.0;

/// What a stream knows about its cameras: per view, the camera's pose relative to the rig frame
/// (rig frame to camera, OpenCV axes) and how many frames of evidence it carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rig {
    /// Per view, the camera as the rig frame sees it (`None`: never placed).
    pub cameras: Vec<Option<Extrinsics>>,
    /// Per view, the frames its place was averaged over.
    pub evidence: Vec<f32>,
}

/// Where a frame's body stands in the rig frame, and which views agree.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// Body (canonical frame) to rig frame.
    pub body_to_rig: Extrinsics,
    /// Per view, whether its camera agrees with the consensus.
    pub inliers: Vec<bool>,
}

impl Rig {
    /// Whether the rig knows any camera.
    pub fn is_empty(&self) -> bool {
        self.cameras.iter().all(Option::is_none)
    }

    /// The rig's camera `i` seen from the body of a frame placed by `placement` (body to camera).
    pub fn camera_for(&self, i: usize, placement: &Placement) -> Option<Extrinsics> {
        self.cameras.get(i).copied().flatten().map(|c| c.compose(&placement.body_to_rig))
    }

    /// Places a frame whose cameras (body to camera) are `cameras` in the rig frame: every view the
    /// rig knows proposes a placement, the one most views agree with (their rotations within
    /// [`RIG_INLIER_ANGLE`], weighted by evidence) wins, and its agreeing views' proposals are
    /// averaged. `None` when the rig knows no view of the frame, or fewer than two views agree
    /// while the rig knows two or more.
    pub fn place(&self, cameras: &[Option<Extrinsics>]) -> Option<Placement> {
        // Proposals: body to rig = rig_i^-1 ∘ camera_i.
        let proposals: Vec<Option<(Extrinsics, f64)>> = cameras
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (c, r) = (c.as_ref()?, self.cameras.get(i).copied().flatten()?);
                Some((r.inverse().compose(c), f64::from(self.evidence.get(i).copied().unwrap_or(0.0)).max(1e-3)))
            })
            .collect();
        let known = proposals.iter().flatten().count();
        if known == 0 {
            return None;
        }
        // A view put on the wrong side of the person is turned far from the others; a depth error
        // moves a view's proposal along its line of sight, which says little: rotations decide.
        let agree =
            |a: &Extrinsics, b: &Extrinsics| rotation_angle_between(&a.rotation, &b.rotation) < RIG_INLIER_ANGLE;
        let mut best: Option<(f64, usize)> = None;
        for (i, p) in proposals.iter().enumerate() {
            let Some((candidate, _)) = p else { continue };
            let score: f64 = proposals.iter().flatten().filter(|(q, _)| agree(candidate, q)).map(|(_, w)| w).sum();
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, i));
            }
        }
        let (_, winner) = best?;
        let winner = proposals[winner].as_ref()?.0;
        let inliers: Vec<bool> = proposals.iter().map(|p| p.as_ref().is_some_and(|(q, _)| agree(&winner, q))).collect();
        let agreeing: Vec<(Extrinsics, f64)> =
            proposals.iter().zip(&inliers).filter(|(_, i)| **i).filter_map(|(p, _)| *p).collect();
        if known >= 2 && agreeing.len() < 2 {
            return None;
        }
        Some(Placement { body_to_rig: average(&agreeing)?, inliers })
    }

    /// Learns from a frame whose cameras are `cameras` (body to camera), placed by `placement`
    /// (`None`: the frame starts the rig, its body frame becomes the rig frame): every camera that
    /// agrees with the placement (and every camera the rig does not know yet) is averaged into its
    /// place, counting one more frame of evidence, up to `max_evidence`. A camera that disagrees
    /// loses half its evidence, and one that keeps disagreeing is placed afresh: a rig started from
    /// a frame in which a view was wrong corrects itself.
    pub fn learn(&mut self, cameras: &[Option<Extrinsics>], placement: Option<&Placement>, max_evidence: f32) {
        if self.cameras.len() < cameras.len() {
            self.cameras.resize(cameras.len(), None);
            self.evidence.resize(cameras.len(), 0.0);
        }
        let to_rig = placement.map_or_else(Extrinsics::default, |p| p.body_to_rig);
        let from_rig = to_rig.inverse();
        for (i, camera) in cameras.iter().enumerate() {
            let Some(camera) = camera else { continue };
            let agrees = placement.is_none_or(|p| p.inliers.get(i).copied().unwrap_or(false));
            let place = camera.compose(&from_rig);
            match self.cameras[i] {
                Some(known) if agrees => {
                    let n = f64::from(self.evidence[i].min(max_evidence));
                    self.cameras[i] = average(&[(known, n), (place, 1.0)]);
                    self.evidence[i] = (self.evidence[i] + 1.0).min(max_evidence);
                }
                Some(_) if self.evidence[i] >= 2.0 => self.evidence[i] *= 0.5,
                _ => {
                    self.cameras[i] = Some(place);
                    self.evidence[i] = 1.0;
                }
            }
        }
    }
}

/// The weighted mean of poses: rotations averaged as matrices and projected back onto the
/// rotations, translations averaged. `None` for no weight.
fn average(poses: &[(Extrinsics, f64)]) -> Option<Extrinsics> {
    let total: f64 = poses.iter().map(|(_, w)| w).sum();
    if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let sum: Matrix3<f64> = poses.iter().map(|(p, w)| p.rotation * *w).sum();
    let translation: Vector3<f64> = poses.iter().map(|(p, w)| p.translation * *w).sum::<Vector3<f64>>() / total;
    let rotation = Rotation3::from_matrix_eps(&(sum / total), 1e-9, 50, Rotation3::identity()).into_inner();
    let finite = rotation.iter().chain(translation.iter()).all(|x| x.is_finite());
    finite.then(|| Extrinsics::new(rotation, translation))
}
