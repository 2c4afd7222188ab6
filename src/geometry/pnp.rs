//! Camera pose from 2D–3D correspondences (robust perspective-n-point refinement): a few
//! Levenberg–Marquardt steps on the 6-DoF pose with Geman–McClure weights. Places a view's camera
//! around a template body in fitting, and aligns every view's camera with CMANet's fused body.
//! Plain f64 nalgebra: microseconds per view.

use nalgebra::{Matrix6, Rotation3, SMatrix, Vector2, Vector3, Vector6};

use super::Extrinsics;

/// A world point, its observation in normalised image coordinates (`K⁻¹` applied) and a weight.
pub type Correspondence = (Vector3<f64>, Vector2<f64>, f64);

/// Robust residuals (Geman–McClure, scale `scale * size`) of a pose and its mean cost.
fn residuals(e: &Extrinsics, used: &[Correspondence], size: f64, scale: f64) -> (Vec<Vector2<f64>>, f64) {
    let sigma = scale * size;
    let mut cost = 0.0;
    let mut weight_sum = 0.0;
    let res = used
        .iter()
        .map(|(p, uv, w)| {
            let q = e.to_camera(p);
            let r = if q.z > 1e-3 { Vector2::new(q.x / q.z, q.y / q.z) - uv } else { Vector2::new(10.0, 10.0) * size };
            let s = r.norm_squared() / (sigma * sigma);
            cost += w * s / (1.0 + s);
            weight_sum += w;
            r
        })
        .collect();
    (res, cost / weight_sum.max(1e-12))
}

/// Refines a camera pose `e` (world to camera) so that the world points of `used` project onto
/// their observations: up to `max_steps` Levenberg–Marquardt steps on the 6-DoF pose (rotation increments
/// applied on the left), iteratively reweighted for Geman–McClure at `scale * size` (`size`: the
/// person's size in normalised image units). Returns the pose and its mean robust cost (in units
/// of the scale; 0 = perfect, 1 = every point an outlier). Never worse than the start.
pub fn refine_pose(
    mut e: Extrinsics,
    used: &[Correspondence],
    size: f64,
    scale: f64,
    max_steps: usize,
) -> (Extrinsics, f64) {
    let sigma2 = (scale * size).powi(2);
    let (mut res, mut cost) = residuals(&e, used, size, scale);
    let mut lambda = 1e-3;
    let apply = |e: &Extrinsics, d: &Vector6<f64>| {
        let dr = Rotation3::from_scaled_axis(Vector3::new(d[0], d[1], d[2])).into_inner();
        Extrinsics::new(dr * e.rotation, dr * e.translation + Vector3::new(d[3], d[4], d[5]))
    };
    for _ in 0..max_steps {
        let mut jtj = Matrix6::zeros();
        let mut jtr = Vector6::zeros();
        for ((p, _, w), r) in used.iter().zip(&res) {
            let q = e.to_camera(p);
            if q.z <= 1e-3 {
                continue;
            }
            let s = r.norm_squared() / sigma2;
            let irls = w / (1.0 + s).powi(2);
            // d(q)/d(params): rotation increment ω gives dq = ω × q = -[q]× ω (columns below);
            // translation: identity.
            let dq: SMatrix<f64, 3, 6> = SMatrix::<f64, 3, 6>::from_columns(&[
                Vector3::new(0.0, -q.z, q.y),
                Vector3::new(q.z, 0.0, -q.x),
                Vector3::new(-q.y, q.x, 0.0),
                Vector3::x(),
                Vector3::y(),
                Vector3::z(),
            ]);
            let proj =
                SMatrix::<f64, 2, 3>::new(1.0 / q.z, 0.0, -q.x / (q.z * q.z), 0.0, 1.0 / q.z, -q.y / (q.z * q.z));
            let j = proj * dq;
            jtj += j.transpose() * j * irls;
            jtr += j.transpose() * r * irls;
        }
        let mut improved = false;
        for _ in 0..5 {
            let mut damped = jtj;
            for i in 0..6 {
                damped[(i, i)] *= 1.0 + lambda;
                damped[(i, i)] += 1e-12;
            }
            let Some(delta) = damped.try_inverse().map(|inv| -(inv * jtr)) else { break };
            let candidate = apply(&e, &delta);
            let (cres, ccost) = residuals(&candidate, used, size, scale);
            if ccost < cost {
                e = candidate;
                res = cres;
                cost = ccost;
                lambda = (lambda * 0.3).max(1e-7);
                improved = true;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (e, cost)
}
