//! Procrustes alignment of corresponding 3D point sets: the weighted similarity (rotation, translation,
//! scale) of Umeyama (1991), its rigid special case, and the least-squares scale alone.
//!
//! These are the alignments behind PA-MPJPE (similarity) and N-MPJPE (scale) in shared/DESIGN.md.
//! Points whose coordinates are not finite, or whose weight is not a finite positive number, are
//! skipped; the functions return `None` (never panic) when too little usable input is left.

use nalgebra::{Matrix3, SVD, Vector3};

/// A similarity transform `p -> scale * rotation * p + translation`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    /// Proper rotation (det +1).
    pub rotation: Matrix3<f64>,
    /// Translation, applied after rotation and scale.
    pub translation: Vector3<f64>,
    /// Uniform scale (positive).
    pub scale: f64,
}

impl Default for Similarity {
    fn default() -> Self {
        Self::identity()
    }
}

impl Similarity {
    /// The identity transform.
    pub fn identity() -> Self {
        Self { rotation: Matrix3::identity(), translation: Vector3::zeros(), scale: 1.0 }
    }

    /// Transforms a point: `scale * rotation * p + translation`.
    pub fn apply(&self, p: &Vector3<f64>) -> Vector3<f64> {
        self.rotation * p * self.scale + self.translation
    }

    /// The inverse transform; `None` when the scale is zero or not finite.
    pub fn inverse(&self) -> Option<Self> {
        if !(self.scale.is_finite() && self.scale != 0.0) {
            return None;
        }
        let rotation = self.rotation.transpose();
        let scale = 1.0 / self.scale;
        Some(Self { rotation, translation: -(rotation * self.translation) * scale, scale })
    }
}

/// Relative size below which the second singular value of the cross-covariance means the points are
/// collinear (the rotation about their line is then undetermined).
const RANK_EPS: f64 = 1e-10;

/// The similarity minimising `sum_i w_i |target_i - (s R source_i + t)|^2` (Umeyama 1991, weighted).
///
/// The rotation is always proper: when the best orthogonal matrix is a reflection, the axis of the
/// smallest singular value is flipped (Umeyama's correction). `weights` (one per point) default to 1.
///
/// `None` when the lengths differ, fewer than 3 usable points remain (see the module docs), the source
/// points coincide, or the points are collinear (rotation undetermined).
pub fn similarity_procrustes(
    source: &[Vector3<f64>],
    target: &[Vector3<f64>],
    weights: Option<&[f64]>,
) -> Option<Similarity> {
    align(source, target, weights, true)
}

/// The rigid transform (scale fixed at 1) minimising `sum_i w_i |target_i - (R source_i + t)|^2`.
///
/// Same rules and `None` cases as [`similarity_procrustes`]; the returned `scale` is exactly 1.
pub fn rigid_procrustes(
    source: &[Vector3<f64>],
    target: &[Vector3<f64>],
    weights: Option<&[f64]>,
) -> Option<Similarity> {
    align(source, target, weights, false)
}

/// The least-squares scale alone, `s = <source, target> / <source, source>` (no rotation, no
/// translation; used by N-MPJPE on root-aligned joints).
///
/// Pairs with a non-finite coordinate are skipped. `None` when the lengths differ, nothing usable is
/// left or the source is (numerically) zero.
pub fn best_scale(source: &[Vector3<f64>], target: &[Vector3<f64>]) -> Option<f64> {
    if source.len() != target.len() {
        return None;
    }
    let (mut st, mut ss) = (0.0, 0.0);
    for (s, t) in source.iter().zip(target) {
        if is_finite(s) && is_finite(t) {
            st += s.dot(t);
            ss += s.norm_squared();
        }
    }
    let scale = st / ss;
    (ss > f64::MIN_POSITIVE && scale.is_finite()).then_some(scale)
}

fn is_finite(p: &Vector3<f64>) -> bool {
    p.iter().all(|c| c.is_finite())
}

/// Shared Umeyama solver; `with_scale = false` gives the rigid fit.
fn align(
    source: &[Vector3<f64>],
    target: &[Vector3<f64>],
    weights: Option<&[f64]>,
    with_scale: bool,
) -> Option<Similarity> {
    if source.len() != target.len() || weights.is_some_and(|w| w.len() != source.len()) {
        return None;
    }
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let usable = |i: usize| {
        let w = weight(i);
        w.is_finite() && w > 0.0 && is_finite(&source[i]) && is_finite(&target[i])
    };

    // Weighted centroids.
    let (mut total, mut count) = (0.0, 0usize);
    let (mut mu_s, mut mu_t) = (Vector3::zeros(), Vector3::zeros());
    for i in (0..source.len()).filter(|&i| usable(i)) {
        let w = weight(i);
        total += w;
        count += 1;
        mu_s += source[i] * w;
        mu_t += target[i] * w;
    }
    if count < 3 || !(total.is_finite() && total > 0.0) {
        return None;
    }
    mu_s /= total;
    mu_t /= total;

    // Weighted cross-covariance (target x source) and source variance.
    let mut cov = Matrix3::zeros();
    let mut var_s = 0.0;
    for i in (0..source.len()).filter(|&i| usable(i)) {
        let w = weight(i) / total;
        let (ds, dt) = (source[i] - mu_s, target[i] - mu_t);
        cov += dt * ds.transpose() * w;
        var_s += ds.norm_squared() * w;
    }
    if !(var_s.is_finite() && var_s > 0.0 && cov.iter().all(|c| c.is_finite())) {
        return None;
    }

    let svd = SVD::try_new(cov, true, true, f64::EPSILON, 200)?;
    let (u, v_t, d) = (svd.u?, svd.v_t?, svd.singular_values);
    // Collinear (or coincident) points: the rotation is not determined.
    if d[0].is_nan() || d[0] <= 0.0 || d[1] <= RANK_EPS * d[0] {
        return None;
    }
    let reflection = (u * v_t).determinant() < 0.0;
    let sign = if reflection { -1.0 } else { 1.0 };
    let rotation = u * Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, sign)) * v_t;
    let scale = if with_scale { (d[0] + d[1] + sign * d[2]) / var_s } else { 1.0 };
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let translation = mu_t - rotation * mu_s * scale;
    Some(Similarity { rotation, translation, scale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::axis_angle_to_matrix;

    use crate::geometry::test_rng::Rng;

    fn known() -> Similarity {
        Similarity {
            rotation: axis_angle_to_matrix(&Vector3::new(0.4, -1.9, 0.7)),
            translation: Vector3::new(0.5, -1.2, 3.0),
            scale: 1.7,
        }
    }

    fn cloud(rng: &mut Rng, n: usize) -> Vec<Vector3<f64>> {
        (0..n).map(|_| rng.vector() * 0.8).collect()
    }

    fn assert_close(a: &Similarity, b: &Similarity, tol: f64) {
        assert!((a.rotation - b.rotation).norm() < tol, "{a:?} vs {b:?}");
        assert!((a.translation - b.translation).norm() < tol, "{a:?} vs {b:?}");
        assert!((a.scale - b.scale).abs() < tol, "{a:?} vs {b:?}");
    }

    #[test]
    fn recovers_a_known_similarity_exactly() {
        let mut rng = Rng(7);
        let truth = known();
        let source = cloud(&mut rng, 17);
        let target: Vec<_> = source.iter().map(|p| truth.apply(p)).collect();
        let fit = similarity_procrustes(&source, &target, None).unwrap();
        assert_close(&fit, &truth, 1e-10);
        assert!((fit.rotation.determinant() - 1.0).abs() < 1e-12);
        // The inverse maps the target back.
        let inv = fit.inverse().unwrap();
        assert!(source.iter().zip(&target).all(|(s, t)| (inv.apply(t) - s).norm() < 1e-10));
        // Three points are enough.
        let fit3 = similarity_procrustes(&source[..3], &target[..3], None).unwrap();
        assert_close(&fit3, &truth, 1e-9);
        // The rigid fit of a scale-1 transform is exact too.
        let rigid_truth = Similarity { scale: 1.0, ..truth };
        let target: Vec<_> = source.iter().map(|p| rigid_truth.apply(p)).collect();
        let fit = rigid_procrustes(&source, &target, None).unwrap();
        assert_close(&fit, &rigid_truth, 1e-10);
        assert_eq!(fit.scale, 1.0);
    }

    #[test]
    fn recovers_a_known_similarity_with_noise() {
        let mut rng = Rng(11);
        let truth = known();
        let source = cloud(&mut rng, 200);
        let target: Vec<_> = source.iter().map(|p| truth.apply(p) + rng.vector() * 0.005).collect();
        let fit = similarity_procrustes(&source, &target, None).unwrap();
        assert_close(&fit, &truth, 5e-3);
        // The fit is at least as good as the truth in the least-squares sense.
        let cost =
            |s: &Similarity| source.iter().zip(&target).map(|(p, q)| (s.apply(p) - q).norm_squared()).sum::<f64>();
        assert!(cost(&fit) <= cost(&truth));
    }

    #[test]
    fn a_reflected_target_still_gives_a_proper_rotation() {
        let mut rng = Rng(3);
        let source = cloud(&mut rng, 12);
        let mirror = Matrix3::from_diagonal(&Vector3::new(-1.0, 1.0, 1.0));
        let target: Vec<_> = source.iter().map(|p| mirror * p).collect();
        let fit = similarity_procrustes(&source, &target, None).unwrap();
        assert!((fit.rotation.determinant() - 1.0).abs() < 1e-12);
        assert!((fit.rotation.transpose() * fit.rotation - Matrix3::identity()).norm() < 1e-12);
        assert!(fit.scale > 0.0 && fit.scale < 1.0);
        // Planar points: the reflection about the plane is the same as a rotation, fit is exact.
        let planar: Vec<_> = source.iter().map(|p| Vector3::new(p.x, p.y, 0.0)).collect();
        let mirrored: Vec<_> = planar.iter().map(|p| Vector3::new(p.x, p.y, -p.z)).collect();
        let fit = similarity_procrustes(&planar, &mirrored, None).unwrap();
        assert!((fit.rotation.determinant() - 1.0).abs() < 1e-12);
        assert!(planar.iter().zip(&mirrored).all(|(s, t)| (fit.apply(s) - t).norm() < 1e-10));
    }

    #[test]
    fn zero_weight_outlier_is_ignored() {
        let mut rng = Rng(5);
        let truth = known();
        let source = cloud(&mut rng, 10);
        let mut target: Vec<_> = source.iter().map(|p| truth.apply(p)).collect();
        target[4] += Vector3::new(3.0, -2.0, 5.0);
        let mut weights = vec![1.0; 10];
        weights[4] = 0.0;
        let fit = similarity_procrustes(&source, &target, Some(&weights)).unwrap();
        assert_close(&fit, &truth, 1e-10);
        // Without the weights the outlier pulls the fit away.
        let unweighted = similarity_procrustes(&source, &target, None).unwrap();
        assert!((unweighted.translation - truth.translation).norm() > 0.05);
        // Non-uniform positive weights on exact data change nothing.
        let weights: Vec<f64> = (0..10).map(|i| 0.1 + i as f64).collect();
        let exact: Vec<_> = source.iter().map(|p| truth.apply(p)).collect();
        assert_close(&similarity_procrustes(&source, &exact, Some(&weights)).unwrap(), &truth, 1e-10);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut rng = Rng(9);
        let source = cloud(&mut rng, 5);
        let target = source.clone();
        // Mismatched lengths.
        assert!(similarity_procrustes(&source, &target[..4], None).is_none());
        assert!(similarity_procrustes(&source, &target, Some(&[1.0; 4])).is_none());
        // Too few usable points (NaN and negative weight both skip a point).
        assert!(similarity_procrustes(&source[..2], &target[..2], None).is_none());
        let mut nan = target.clone();
        nan[0].x = f64::NAN;
        nan[1].y = f64::INFINITY;
        nan[2].z = f64::NAN;
        assert!(similarity_procrustes(&source, &nan, None).is_none());
        assert!(similarity_procrustes(&source, &target, Some(&[1.0, 1.0, -1.0, f64::NAN, 0.0])).is_none());
        // A NaN on one point out of five is skipped, the rest still align.
        let mut one_nan = target.clone();
        one_nan[0].x = f64::NAN;
        let fit = similarity_procrustes(&source, &one_nan, None).unwrap();
        assert_close(&fit, &Similarity::identity(), 1e-10);
        // Coincident and collinear points.
        let same = vec![Vector3::new(1.0, 2.0, 3.0); 5];
        assert!(similarity_procrustes(&same, &target, None).is_none());
        let line: Vec<_> = (0..5).map(|i| Vector3::new(1.0, 2.0, 3.0) * i as f64).collect();
        assert!(similarity_procrustes(&line, &line, None).is_none());
        assert!(rigid_procrustes(&line, &line, None).is_none());
        assert!(Similarity { scale: 0.0, ..Similarity::identity() }.inverse().is_none());
    }

    #[test]
    fn best_scale_is_the_least_squares_scale() {
        let mut rng = Rng(13);
        let source = cloud(&mut rng, 17);
        let target: Vec<_> = source.iter().map(|p| p * 0.8).collect();
        assert!((best_scale(&source, &target).unwrap() - 0.8).abs() < 1e-12);
        // With noise it is the minimiser: nudging it either way costs more.
        let noisy: Vec<_> = target.iter().map(|p| p + rng.vector() * 0.05).collect();
        let s = best_scale(&source, &noisy).unwrap();
        let cost = |s: f64| source.iter().zip(&noisy).map(|(p, q)| (p * s - q).norm_squared()).sum::<f64>();
        assert!(cost(s) < cost(s + 1e-3) && cost(s) < cost(s - 1e-3));
        assert!(best_scale(&source, &target[..3]).is_none());
        assert!(best_scale(&[Vector3::zeros()], &[Vector3::x()]).is_none());
        assert!(best_scale(&[], &[]).is_none());
        assert_eq!(
            best_scale(&[Vector3::x(), Vector3::repeat(f64::NAN)], &[Vector3::x() * 2.0, Vector3::x()]),
            Some(2.0)
        );
    }
}
