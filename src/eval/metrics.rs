//! The metrics, defined once (shared/DESIGN.md): MPJPE, N-MPJPE and PA-MPJPE over all 17 keypoints
//! and the 12 limb keypoints, and the relative camera rotation error between every pair of views.

use nalgebra::{Matrix3, Rotation3, Vector3};
use serde::Serialize;

use crate::body::kinematics::forward_chain;
use crate::body::{BodyParams, LIMB_KEYPOINTS, NUM_JOINTS, NUM_KEYPOINTS, keypoint_index};
use crate::data::{DataError, Keypoints3d, Mv2d, Mv3d};
use crate::geometry::{Extrinsics, best_scale, rotation_angle_between, similarity_procrustes};

/// The keypoint sets every joint metric is reported over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeypointSet {
    /// All 17 COCO keypoints.
    All,
    /// The 12 limb keypoints, shoulders to ankles.
    Limbs,
}

impl KeypointSet {
    /// The keypoint indices of the set.
    pub fn indices(self) -> &'static [usize] {
        const ALL: [usize; NUM_KEYPOINTS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        match self {
            Self::All => &ALL,
            Self::Limbs => &LIMB_KEYPOINTS,
        }
    }
}

fn points(k: &Keypoints3d, set: KeypointSet) -> Vec<Vector3<f64>> {
    set.indices().iter().map(|&i| Vector3::new(k[i][0] as f64, k[i][1] as f64, k[i][2] as f64)).collect()
}

/// The root: the midpoint of the hips.
fn root(k: &Keypoints3d) -> Vector3<f64> {
    let (l, r) = (keypoint_index("left_hip").unwrap_or(11), keypoint_index("right_hip").unwrap_or(12));
    Vector3::new(k[l][0] + k[r][0], k[l][1] + k[r][1], k[l][2] + k[r][2]).cast::<f64>() * 0.5
}

fn mean_distance(a: &[Vector3<f64>], b: &[Vector3<f64>]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b).norm()).sum::<f64>() / a.len().max(1) as f64
}

/// MPJPE of one frame in one camera, metres: mean distance after aligning the roots.
pub fn mpjpe(estimate: &Keypoints3d, truth: &Keypoints3d, set: KeypointSet) -> f64 {
    let (re, rt) = (root(estimate), root(truth));
    let e: Vec<_> = points(estimate, set).iter().map(|p| p - re).collect();
    let t: Vec<_> = points(truth, set).iter().map(|p| p - rt).collect();
    mean_distance(&e, &t)
}

/// N-MPJPE of one frame in one camera, metres: MPJPE after the best scale of the root-aligned
/// estimate.
pub fn n_mpjpe(estimate: &Keypoints3d, truth: &Keypoints3d, set: KeypointSet) -> f64 {
    let (re, rt) = (root(estimate), root(truth));
    let e: Vec<_> = points(estimate, set).iter().map(|p| p - re).collect();
    let t: Vec<_> = points(truth, set).iter().map(|p| p - rt).collect();
    let s = best_scale(&e, &t).unwrap_or(1.0);
    let scaled: Vec<_> = e.iter().map(|p| p * s).collect();
    mean_distance(&scaled, &t)
}

/// PA-MPJPE of one frame, metres: mean distance after the best similarity transform (rotation,
/// translation, scale) of the estimate onto the truth, fitted on the same keypoints.
pub fn pa_mpjpe(estimate: &Keypoints3d, truth: &Keypoints3d, set: KeypointSet) -> f64 {
    let (e, t) = (points(estimate, set), points(truth, set));
    match similarity_procrustes(&e, &t, None) {
        Some(sim) => mean_distance(&e.iter().map(|p| sim.apply(p)).collect::<Vec<_>>(), &t),
        None => mean_distance(&e, &t),
    }
}

/// The rotation of the Procrustes alignment of all 17 estimated keypoints to the true ones (the
/// one PA-MPJPE applies; identity when it is undetermined).
pub fn pa_rotation(estimate: &Keypoints3d, truth: &Keypoints3d) -> Matrix3<f64> {
    let (e, t) = (points(estimate, KeypointSet::All), points(truth, KeypointSet::All));
    similarity_procrustes(&e, &t, None).map_or_else(Matrix3::identity, |s| s.rotation)
}

/// Relative rotation errors, degrees, for every pair of views `i < j`: the angle between the
/// estimated `R_j R_iᵀ` and the true one.
pub fn relative_rotation_errors(estimate: &[Extrinsics], truth: &[Extrinsics]) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..estimate.len().min(truth.len()) {
        for j in i + 1..estimate.len().min(truth.len()) {
            let e = estimate[j].rotation * estimate[i].rotation.transpose();
            let t = truth[j].rotation * truth[i].rotation.transpose();
            out.push(rotation_angle_between(&e, &t).to_degrees());
        }
    }
    out
}

/// SMPL's ankles and wrists: `[left ankle, right ankle]`, `[left wrist, right wrist]`.
pub const FEET_AND_HANDS: [[usize; 2]; 2] = [[7, 8], [20, 21]];

/// The angle (degrees) between the estimated and the true world orientation of each of `joints`
/// (each joint's rotation composed down the tree from the root, `global_orient` included), after
/// turning the estimate by `alignment` (its world to the truth's: the rotation of the Procrustes
/// alignment of PA-MPJPE, see [`Errors::measure`]). How a foot or a hand is turned in the world, up
/// to the alignment every PA figure allows.
pub fn joint_orientation_errors(
    estimate: &BodyParams,
    truth: &BodyParams,
    joints: &[usize],
    alignment: &Matrix3<f64>,
) -> Vec<f64> {
    // The kinematic chain's rotations (positions, and so the rest joints, do not matter here).
    let world = |p: &BodyParams| {
        let locals = p.local_matrices().map(|m| m.cast::<f64>());
        forward_chain(&[Vector3::zeros(); NUM_JOINTS], None, &locals, Vector3::zeros()).0
    };
    let (e, t) = (world(estimate), world(truth));
    joints
        .iter()
        .map(|&j| Rotation3::from_matrix_unchecked((alignment * e[j]).transpose() * t[j]).angle().to_degrees())
        .collect()
}

/// Every per-frame error of one estimate of one sequence (metres and degrees), kept so that
/// summaries over many sequences pool them.
#[derive(Clone, Debug, Default)]
pub struct Errors {
    /// `[all, limbs]` MPJPE per frame and view.
    pub mpjpe: [Vec<f64>; 2],
    /// `[all, limbs]` N-MPJPE per frame and view.
    pub n_mpjpe: [Vec<f64>; 2],
    /// `[all, limbs]` PA-MPJPE per frame.
    pub pa_mpjpe: [Vec<f64>; 2],
    /// Relative rotation error per frame and pair of views, degrees.
    pub camera_rotation: Vec<f64>,
    /// Wall time per frame, seconds.
    pub seconds: Vec<f64>,
    /// `[feet, hands]` world orientation error per frame and side after the PA alignment, degrees
    /// ([`joint_orientation_errors`]); empty when the truth or the estimate has no SMPL parameters.
    pub extremity_rotation: [Vec<f64>; 2],
    /// The pelvis's orientation error per frame after the PA alignment, degrees (empty as above).
    pub pelvis_rotation: Vec<f64>,
    /// Keypoints the estimate marked as not measured ([`crate::data::Mv3dFrame::measured`]): they
    /// are scored where the method put them (filled in), and counted here so a report says so.
    pub unmeasured: usize,
}

impl Errors {
    /// Measures `estimate` against the ground truth in `truth` (which needs `joints3d` and
    /// `extrinsics`).
    pub fn measure(truth: &Mv2d, estimate: &Mv3d) -> Result<Self, DataError> {
        let joints =
            truth.joints3d.as_ref().ok_or_else(|| DataError::Mismatch("the truth file has no joints3d".into()))?;
        let cameras =
            truth.extrinsics.as_ref().ok_or_else(|| DataError::Mismatch("the truth file has no extrinsics".into()))?;
        if estimate.frames.len() != joints.len() || estimate.num_views() != cameras.len() {
            return Err(DataError::Mismatch(format!(
                "estimate has {} frames x {} views, truth {} x {}",
                estimate.frames.len(),
                estimate.num_views(),
                joints.len(),
                cameras.len()
            )));
        }
        let mut out = Self::default();
        for (frame, truth_world) in estimate.frames.iter().zip(joints) {
            for (s, set) in [KeypointSet::All, KeypointSet::Limbs].into_iter().enumerate() {
                for (cam, est) in cameras.iter().zip(&frame.joints3d_cam) {
                    let truth_cam: Keypoints3d = std::array::from_fn(|k| {
                        let p = cam.to_camera(&Vector3::from(truth_world[k]).cast::<f64>());
                        [p.x as f32, p.y as f32, p.z as f32]
                    });
                    out.mpjpe[s].push(mpjpe(est, &truth_cam, set));
                    out.n_mpjpe[s].push(n_mpjpe(est, &truth_cam, set));
                }
                out.pa_mpjpe[s].push(pa_mpjpe(&frame.joints3d, truth_world, set));
            }
            out.camera_rotation.extend(relative_rotation_errors(&frame.extrinsics, cameras));
            out.seconds.push(frame.seconds);
            out.unmeasured += frame.unmeasured();
        }
        if let Some(params) = truth.params.as_ref().filter(|_| !estimate.metadata.contains_key("smpl_params")) {
            for ((frame, truth), truth_world) in estimate.frames.iter().zip(params).zip(joints) {
                let alignment = pa_rotation(&frame.joints3d, truth_world);
                for (errors, joints) in out.extremity_rotation.iter_mut().zip(&FEET_AND_HANDS) {
                    errors.extend(joint_orientation_errors(&frame.params, truth, joints, &alignment));
                }
                out.pelvis_rotation.extend(joint_orientation_errors(&frame.params, truth, &[0], &alignment));
            }
        }
        Ok(out)
    }

    /// Adds another sequence's errors.
    pub fn extend(&mut self, other: &Self) {
        for s in 0..2 {
            self.mpjpe[s].extend(&other.mpjpe[s]);
            self.n_mpjpe[s].extend(&other.n_mpjpe[s]);
            self.pa_mpjpe[s].extend(&other.pa_mpjpe[s]);
        }
        self.camera_rotation.extend(&other.camera_rotation);
        self.seconds.extend(&other.seconds);
        self.unmeasured += other.unmeasured;
        for (a, b) in self.extremity_rotation.iter_mut().zip(&other.extremity_rotation) {
            a.extend(b);
        }
        self.pelvis_rotation.extend(&other.pelvis_rotation);
    }

    /// The summary: means in millimetres, camera errors in degrees, milliseconds per frame.
    pub fn summary(&self) -> Summary {
        let mm = |v: &Vec<f64>| mean(v) * 1000.0;
        Summary {
            frames: self.seconds.len(),
            mpjpe_mm: [mm(&self.mpjpe[0]), mm(&self.mpjpe[1])],
            n_mpjpe_mm: [mm(&self.n_mpjpe[0]), mm(&self.n_mpjpe[1])],
            pa_mpjpe_mm: [mm(&self.pa_mpjpe[0]), mm(&self.pa_mpjpe[1])],
            camera_rotation_deg_mean: mean(&self.camera_rotation),
            camera_rotation_deg_median: median(&self.camera_rotation),
            ms_per_frame: mean(&self.seconds) * 1000.0,
            foot_rotation_deg_median: median(&self.extremity_rotation[0]),
            hand_rotation_deg_median: median(&self.extremity_rotation[1]),
            pelvis_rotation_deg_median: median(&self.pelvis_rotation),
            unmeasured_keypoints: self.unmeasured,
        }
    }
}

/// Summary figures of one method on one sequence or a whole set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Frames measured.
    pub frames: usize,
    /// MPJPE, mm: `[all 17, limbs 12]`.
    pub mpjpe_mm: [f64; 2],
    /// N-MPJPE, mm: `[all 17, limbs 12]`.
    pub n_mpjpe_mm: [f64; 2],
    /// PA-MPJPE, mm: `[all 17, limbs 12]`.
    pub pa_mpjpe_mm: [f64; 2],
    /// Mean relative camera rotation error, degrees.
    pub camera_rotation_deg_mean: f64,
    /// Median relative camera rotation error, degrees.
    pub camera_rotation_deg_median: f64,
    /// Mean wall time per frame, milliseconds.
    pub ms_per_frame: f64,
    /// Median world orientation error of the feet (ankles) after the PA alignment, degrees; 0
    /// without SMPL parameters.
    pub foot_rotation_deg_median: f64,
    /// The same for the hands (wrists).
    pub hand_rotation_deg_median: f64,
    /// The same for the pelvis (the body's root, SMPL `global_orient`): how far the root turns
    /// from the body its keypoints show.
    pub pelvis_rotation_deg_median: f64,
    /// Keypoints the estimate did not measure and filled in (scored as filled in).
    pub unmeasured_keypoints: usize,
}

/// Mean (0 for none).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Median (0 for none).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { 0.5 * (s[n / 2 - 1] + s[n / 2]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Rotation3;

    #[test]
    fn the_pelvis_error_is_the_turn_of_the_root_left_after_the_alignment() {
        let truth = BodyParams::default();
        let mut estimate =
            BodyParams { global_orient: Vector3::new(0.0, 10f32.to_radians(), 0.0), ..Default::default() };
        estimate.body_pose[0] = Vector3::new(0.3, 0.0, 0.1);
        let back = Rotation3::from_axis_angle(&Vector3::y_axis(), -10f64.to_radians()).into_inner();
        let error = |alignment: &Matrix3<f64>| joint_orientation_errors(&estimate, &truth, &[0], alignment)[0];
        // The root turned 10 degrees (a bent hip does not move it) ...
        assert!((error(&Matrix3::identity()) - 10.0).abs() < 0.05, "{}", error(&Matrix3::identity()));
        // ... and nothing is left once the alignment turns the estimate back.
        assert!(error(&back) < 0.05, "{}", error(&back));
    }
}
