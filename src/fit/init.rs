//! Initial camera poses relative to the body, from one view's 2D keypoints alone.
//!
//! The fitting starts from a template body (mean shape, arms lowered) in the canonical frame. For each
//! view we look for the body-to-camera transform that best projects the template's torso and head
//! keypoints onto the observed ones: several starts around the body (azimuth × elevation, so neither
//! the front/back nor the tilt ambiguity of a near-planar torso traps us), each with the
//! translation solved linearly and then refined by a few robust Levenberg–Marquardt steps. Plain f64
//! nalgebra: microseconds per view.

use nalgebra::{Matrix3, Vector2, Vector3};

use crate::geometry::{Correspondence, Extrinsics, refine_pose};

/// COCO keypoints used to place a camera: the nose, eyes, ears, shoulders and hips.
pub const PLACEMENT_KEYPOINTS: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 11, 12];

/// Relative weight of the head keypoints in placement (they move with the neck).
const HEAD_WEIGHT: f64 = 0.5;

/// Azimuths tried around the body, degrees.
const AZIMUTHS: [f64; 8] = [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0];

/// Elevations tried, degrees (cameras from below the hips to well above the head).
const ELEVATIONS: [f64; 3] = [-25.0, 10.0, 45.0];

/// A view's placement: the body-to-camera transform and its robust cost (normalised by the person's
/// size in the image, so costs of different views compare).
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Body (canonical) to camera.
    pub extrinsics: Extrinsics,
    /// Mean robust squared residual over the used keypoints, in units of the person's size.
    pub cost: f64,
}

/// One observed keypoint in normalised image coordinates with its weight.
#[derive(Clone, Copy, Debug)]
pub struct NormalizedKeypoint {
    /// `K⁻¹` applied to the pixel.
    pub point: Vector2<f64>,
    /// Confidence times the keypoint's placement weight; 0 = unused.
    pub weight: f64,
}

/// Places one camera: `template` are the 17 canonical template keypoints, `observed` the 17 observed
/// keypoints in normalised coordinates, `size` the person's size in normalised units (for the robust
/// scale). `None` when fewer than four placement keypoints are seen.
pub fn place_camera(
    template: &[Vector3<f64>; 17],
    observed: &[NormalizedKeypoint; 17],
    size: f64,
) -> Option<Placement> {
    let used: Vec<(Vector3<f64>, Vector2<f64>, f64)> = PLACEMENT_KEYPOINTS
        .iter()
        .filter(|&&k| observed[k].weight > 0.0)
        .map(|&k| (template[k], observed[k].point, observed[k].weight * if k < 5 { HEAD_WEIGHT } else { 1.0 }))
        .collect();
    let torso = [5, 6, 11, 12].iter().filter(|&&k| observed[k].weight > 0.0).count();
    if used.len() < 4 || torso < 3 {
        return None;
    }
    let centre = [5, 6, 11, 12].iter().map(|&k| template[k]).sum::<Vector3<f64>>() / 4.0;
    let mut best: Option<Placement> = None;
    for az in AZIMUTHS {
        for el in ELEVATIONS {
            let (az, el) = (az.to_radians(), el.to_radians());
            let eye = centre + Vector3::new(az.sin() * el.cos(), el.sin(), az.cos() * el.cos()) * 4.0;
            let start = Extrinsics::look_at(&eye, &centre, &Vector3::y(), 0.0);
            let Some(t) = solve_translation(&start.rotation, &used) else { continue };
            // Coarse (nearly least squares) first, so far-off keypoints still pull; then robust.
            let coarse = refine(Extrinsics::new(start.rotation, t), &used, size, 1.0);
            let refined = refine(coarse.extrinsics, &used, size, ROBUST_SCALE);
            if best.is_none_or(|b| refined.cost < b.cost) {
                best = Some(refined);
            }
        }
    }
    best
}

/// Least-squares translation for a fixed rotation: `u (q_z + t_z) = q_x + t_x`, same for v.
fn solve_translation(r: &Matrix3<f64>, used: &[(Vector3<f64>, Vector2<f64>, f64)]) -> Option<Vector3<f64>> {
    let mut ata = Matrix3::zeros();
    let mut atb = Vector3::zeros();
    for (p, uv, w) in used {
        let q = r * p;
        for (row, rhs) in
            [(Vector3::new(-1.0, 0.0, uv.x), q.x - uv.x * q.z), (Vector3::new(0.0, -1.0, uv.y), q.y - uv.y * q.z)]
        {
            ata += row * row.transpose() * *w;
            atb += row * rhs * *w;
        }
    }
    let t = ata.try_inverse()? * atb;
    // The body must be in front of the camera.
    (t.iter().all(|x| x.is_finite()) && used.iter().all(|(p, _, _)| (r * p + t).z > 0.2)).then_some(t)
}

/// Robust scale of placement, a fraction of the person's size.
const ROBUST_SCALE: f64 = 0.1;

/// Levenberg–Marquardt steps per placement pass.
const PLACEMENT_STEPS: usize = 20;

/// [`refine_pose`] as a placement.
fn refine(e: Extrinsics, used: &[Correspondence], size: f64, scale: f64) -> Placement {
    let (extrinsics, cost) = refine_pose(e, used, size, scale, PLACEMENT_STEPS);
    Placement { extrinsics, cost }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> [Vector3<f64>; 17] {
        // A rough standing body: head keypoints in front of the torso plane.
        let mut t = [Vector3::zeros(); 17];
        t[0] = Vector3::new(0.0, 1.55, 0.10);
        t[1] = Vector3::new(0.03, 1.58, 0.08);
        t[2] = Vector3::new(-0.03, 1.58, 0.08);
        t[3] = Vector3::new(0.07, 1.56, 0.0);
        t[4] = Vector3::new(-0.07, 1.56, 0.0);
        t[5] = Vector3::new(0.17, 1.35, 0.0);
        t[6] = Vector3::new(-0.17, 1.35, 0.0);
        t[11] = Vector3::new(0.1, 0.88, 0.0);
        t[12] = Vector3::new(-0.1, 0.88, 0.0);
        t
    }

    #[test]
    fn places_cameras_all_around_the_body() {
        let t = template();
        for az in [10.0f64, 100.0, 200.0, 300.0] {
            for el in [-10.0f64, 30.0] {
                let (a, e) = (az.to_radians(), el.to_radians());
                let eye = Vector3::new(a.sin() * e.cos(), e.sin() + 0.4, a.cos() * e.cos()) * 3.5;
                let truth = Extrinsics::look_at(&eye, &Vector3::new(0.0, 1.1, 0.0), &Vector3::y(), 0.05);
                let observed: [NormalizedKeypoint; 17] = std::array::from_fn(|k| {
                    let q = truth.to_camera(&t[k]);
                    let seen = PLACEMENT_KEYPOINTS.contains(&k);
                    NormalizedKeypoint {
                        point: Vector2::new(q.x / q.z, q.y / q.z),
                        weight: if seen { 1.0 } else { 0.0 },
                    }
                });
                let p = place_camera(&t, &observed, 0.3).expect("placed");
                let angle = crate::geometry::rotation_angle_between(&p.extrinsics.rotation, &truth.rotation);
                assert!(angle < 1e-3, "az {az} el {el}: {angle} rad");
                assert!((p.extrinsics.translation - truth.translation).norm() < 1e-3);
            }
        }
    }

    #[test]
    fn too_few_keypoints_are_not_placed() {
        let observed = [NormalizedKeypoint { point: Vector2::zeros(), weight: 0.0 }; 17];
        assert!(place_camera(&template(), &observed, 0.3).is_none());
    }
}
