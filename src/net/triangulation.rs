//! Triangulation evidence for the IEV: the views' keypoints triangulated through the current
//! cameras, as the learnable-triangulation networks do (Iskakov, Burkov, Lempitsky, Malkov,
//! "Learnable Triangulation of Human Pose", ICCV 2019), and handed to the body token as the 3D
//! difference from the current body's keypoints. A bone the body model makes too short shows up
//! here as a difference along the bone, which one view's 2D keypoints do not show.
//!
//! The triangulation is a confidence-weighted linear least-squares point per keypoint in the
//! canonical frame (each view's two equations divided by the current body's depth there, so they
//! weigh like reprojection errors); it carries no gradient (the network learns what to make of it,
//! not how to move it).

use candle_core::{Result, Tensor};
use nalgebra::{Matrix3, Vector3};

use super::input::EncodedBatch;
use super::model::FEEDBACK_CONFIDENCE;
use crate::body::NUM_KEYPOINTS;

/// Length of the evidence: per keypoint the triangulated point minus the body's (3, in
/// decimetres, clamped to ±10) and whether it was triangulated (1).
pub const TRIANGULATION_DIM: usize = 4 * NUM_KEYPOINTS;

/// Differences beyond this (metres) are clamped: a point that far off is a wrong camera or a
/// wrong detection, and its size says nothing more.
const MAX_DIFFERENCE: f64 = 1.0;

/// A keypoint is triangulated from at least this many views with confidence.
const MIN_VIEWS: usize = 2;

/// The triangulation evidence `[B, TRIANGULATION_DIM]` of the shared body's canonical keypoints
/// `keypoints` (one array per frame of `batch`) seen through `cameras` (body-to-camera rotations
/// `[B * V, 3, 3]` and translations `[B * V, 3]`) against the views' keypoints (`observed`:
/// [`EncodedBatch::observed`] of `batch`): zero for a keypoint fewer than two views saw with
/// confidence [`FEEDBACK_CONFIDENCE`], or whose views meet at too small an angle.
pub fn triangulation_evidence(
    batch: &EncodedBatch,
    observed: &(Tensor, Tensor),
    cameras: &(Tensor, Tensor),
    keypoints: &[[Vector3<f64>; NUM_KEYPOINTS]],
) -> Result<Tensor> {
    let (b, v, _) = batch.inputs.dims3()?;
    if keypoints.len() != b {
        return Err(candle_core::Error::Msg(format!("{} bodies for a batch of {b}", keypoints.len())));
    }
    let rotation: Vec<f32> = cameras.0.flatten_all()?.to_vec1()?;
    let translation: Vec<f32> = cameras.1.flatten_all()?.to_vec1()?;
    let observed_points: Vec<f32> = observed.0.flatten_all()?.to_vec1()?;
    let confidence: Vec<f32> = observed.1.flatten_all()?.to_vec1()?;
    let mut out = vec![0f32; b * TRIANGULATION_DIM];
    for (t, body) in keypoints.iter().enumerate() {
        for (k, &current) in body.iter().enumerate() {
            let mut normal = Matrix3::<f64>::zeros();
            let mut rhs = Vector3::<f64>::zeros();
            let mut views = 0;
            for i in 0..v {
                let view = t * v + i;
                let c = confidence[view * NUM_KEYPOINTS + k] as f64;
                if c < FEEDBACK_CONFIDENCE as f64 {
                    continue;
                }
                let r = Matrix3::from_fn(|row, col| rotation[view * 9 + row * 3 + col] as f64);
                let tr = Vector3::new(
                    translation[view * 3] as f64,
                    translation[view * 3 + 1] as f64,
                    translation[view * 3 + 2] as f64,
                );
                let depth = (r * current + tr).z;
                if depth.is_nan() || depth < 0.1 {
                    continue;
                }
                let o = (view * NUM_KEYPOINTS + k) * 2;
                let (x, y) = (observed_points[o] as f64, observed_points[o + 1] as f64);
                // x (r3 . X + t3) = r1 . X + t1, and the same for y, divided by the depth.
                for (row, image) in [(0, x), (1, y)] {
                    let a = (r.row(2) * image - r.row(row)).transpose() / depth;
                    let rhs_value = (tr[row] - image * tr.z) / depth;
                    normal += c * a * a.transpose();
                    rhs += c * rhs_value * a;
                }
                views += 1;
            }
            if views < MIN_VIEWS {
                continue;
            }
            // Views meeting at a small angle leave the depth along them unknown: such a system
            // is too ill-conditioned to trust.
            let eigen = normal.symmetric_eigenvalues();
            let (low, high) = (eigen.min(), eigen.max());
            if low.is_nan() || high.is_nan() || low <= 1e-3 * high {
                continue;
            }
            let Some(point) = normal.try_inverse().map(|inv| inv * rhs) else { continue };
            if !point.iter().all(|x| x.is_finite()) {
                continue;
            }
            let difference = point - current;
            let o = t * TRIANGULATION_DIM + 4 * k;
            for axis in 0..3 {
                out[o + axis] = (difference[axis].clamp(-MAX_DIFFERENCE, MAX_DIFFERENCE) * 10.0) as f32;
            }
            out[o + 3] = 1.0;
        }
    }
    Tensor::from_vec(out, (b, TRIANGULATION_DIM), cameras.0.device())
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::body::{BodyModel, BodyTensors};
    use crate::geometry::Intrinsics;
    use crate::net::input::{MultiViewFrame, encode_batch};
    use crate::net::params::{BODY_DIM, CAMERA_DIM, decode_body, decode_cameras, initial_params};
    use crate::net::projection::canonical_keypoints;

    /// Cameras around the canonical body (body to camera), decoded from the `[1, V, CAMERA_DIM]`
    /// codes that give them for the batch's placements, the frame they see, and the body's
    /// keypoints.
    fn seen_by_cameras(shift: [f32; 3]) -> (EncodedBatch, (Tensor, Tensor), Vec<[Vector3<f64>; NUM_KEYPOINTS]>) {
        let device = Device::Cpu;
        let body = BodyTensors::new(&BodyModel::open_body().unwrap(), &device, DType::F32).unwrap();
        let params = initial_params(1, &device).unwrap();
        let shared = params.narrow(1, CAMERA_DIM, BODY_DIM).unwrap();
        let (pose, betas) = decode_body(&shared).unwrap();
        let kp: Vec<f32> =
            canonical_keypoints(&body, &pose, &betas, None).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let keypoints = vec![std::array::from_fn(|k| Vector3::from_fn(|a, _| kp[3 * k + a] as f64))];
        let intrinsics = Intrinsics { fx: 1000.0, fy: 1000.0, cx: 640.0, cy: 360.0 };
        let mut views = Vec::new();
        let mut rotations = Vec::new();
        let mut translations = Vec::new();
        for angle in [0.0f64, 1.2, -1.5] {
            let r = *nalgebra::Rotation3::from_axis_angle(&Vector3::y_axis(), angle).matrix()
                * Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0);
            let tr = Vector3::new(0.0, 0.2, 4.0) - r * Vector3::new(0.0, 1.0, 0.0);
            let mut keypoints = [[0f32; 3]; NUM_KEYPOINTS];
            for (k, out) in keypoints.iter_mut().enumerate() {
                // The views see the body's keypoints moved by `shift`.
                let p = Vector3::from_fn(|a, _| (kp[3 * k + a] + shift[a]) as f64);
                let c = r * p + tr;
                *out = [(1000.0 * c.x / c.z + 640.0) as f32, (1000.0 * c.y / c.z + 360.0) as f32, 1.0];
            }
            views.push(keypoints);
            rotations.push(r);
            translations.push(tr);
        }
        let intrinsics = vec![intrinsics; views.len()];
        let frame = MultiViewFrame::from_views(&views, &intrinsics);
        let batch = encode_batch(std::slice::from_ref(&frame), &device).unwrap();
        // The camera codes: 6D rotation (first two columns), then the translation code that puts
        // the canonical centre where `tr` does.
        let centres: Vec<f32> = batch.centres.flatten_all().unwrap().to_vec1().unwrap();
        let sizes: Vec<f32> = batch.sizes.flatten_all().unwrap().to_vec1().unwrap();
        let mut codes = Vec::new();
        for (i, (r, tr)) in rotations.iter().zip(&translations).enumerate() {
            let centre = r * Vector3::new(0.0, 1.0, 0.0) + tr;
            let depth_code = (centre.z * sizes[i] as f64 / super::super::params::BODY_SIZE).ln();
            let cx = centre.x / centre.z - centres[2 * i] as f64;
            let cy = centre.y / centre.z - centres[2 * i + 1] as f64;
            codes.extend([r[(0, 0)], r[(1, 0)], r[(2, 0)], r[(0, 1)], r[(1, 1)], r[(2, 1)], cx, cy, depth_code]);
        }
        let codes: Vec<f32> = codes.into_iter().map(|x| x as f32).collect();
        let v = views.len();
        let codes = Tensor::from_vec(codes, (v, CAMERA_DIM), &device).unwrap();
        let cameras =
            decode_cameras(&codes, &batch.centres.reshape((v, 2)).unwrap(), &batch.sizes.reshape(v).unwrap()).unwrap();
        (batch, cameras, keypoints)
    }

    /// The evidence of `keypoints` seen through `cameras` against the batch's own keypoints.
    fn evidence_of(
        batch: &EncodedBatch,
        cameras: &(Tensor, Tensor),
        keypoints: &[[Vector3<f64>; NUM_KEYPOINTS]],
    ) -> Vec<f32> {
        let evidence = triangulation_evidence(batch, &batch.observed().unwrap(), cameras, keypoints).unwrap();
        evidence.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn keypoints_seen_where_the_body_is_give_no_difference_and_a_shift_gives_the_shift() {
        for shift in [[0.0f32, 0.0, 0.0], [0.05, -0.03, 0.08]] {
            let (batch, cameras, keypoints) = seen_by_cameras(shift);
            let evidence = evidence_of(&batch, &cameras, &keypoints);
            for k in 0..NUM_KEYPOINTS {
                assert_eq!(evidence[4 * k + 3], 1.0, "keypoint {k} triangulated");
                for a in 0..3 {
                    let got = evidence[4 * k + a];
                    assert!((got - shift[a] * 10.0).abs() < 1e-2, "keypoint {k} axis {a}: {got} for shift {shift:?}");
                }
            }
        }
    }

    #[test]
    fn a_keypoint_one_view_saw_is_not_triangulated() {
        let (batch, cameras, keypoints) = seen_by_cameras([0.0; 3]);
        // Hide the nose (keypoint 0) from the second and third views.
        let mut inputs: Vec<f32> = batch.inputs.flatten_all().unwrap().to_vec1().unwrap();
        let dim = super::super::input::VIEW_INPUT_DIM;
        for view in [1, 2] {
            inputs[view * dim + 2] = 0.0;
        }
        let batch =
            EncodedBatch { inputs: Tensor::from_vec(inputs, batch.inputs.dims(), &Device::Cpu).unwrap(), ..batch };
        let evidence = evidence_of(&batch, &cameras, &keypoints);
        assert_eq!(&evidence[..4], &[0.0; 4]);
        assert_eq!(evidence[4 + 3], 1.0);
    }
}
