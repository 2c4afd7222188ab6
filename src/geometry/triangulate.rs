//! Triangulation of a 3D point from its pixels in several calibrated views: confidence-weighted DLT,
//! and a robust version that votes over view pairs so a confidently wrong view (a left/right swap, a
//! detection on another person) becomes an outlier instead of dragging the point away.
//!
//! Projections are 3x4 matrices `P = K [R | t]` mapping world points to pixels (see
//! [`crate::geometry::projection_matrix`]). A point counts as in front of a view when its depth
//! `sign(det P[:, :3]) * (P X)_z` exceeds [`MIN_DEPTH`], so `P` scaled by a negative number is still
//! the same camera; `P`s built from metric extrinsics measure that depth in metres.
//!
//! Observations with a non-finite pixel, projection or confidence, or a confidence `<= 0`, are
//! ignored (never a panic). Cost: the robust version tries every pair of usable views, so it grows
//! with the cube of the number of views; at most [`MAX_VIEWS`] views are considered.

use nalgebra::{Matrix3, Matrix3x4, Matrix4, RowVector4, SymmetricEigen, Vector2, Vector3, Vector4};

use super::camera::MIN_DEPTH;

/// The most views a single triangulation considers; observations beyond it are ignored.
pub const MAX_VIEWS: usize = 64;

use crate::keypoints::NUM_KEYPOINTS;

/// One view's observation of a point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointObservation {
    /// The view's projection matrix, world to pixels (`K [R | t]`).
    pub projection: Matrix3x4<f64>,
    /// The observed pixel (x right, y down).
    pub pixel: Vector2<f64>,
    /// Detector confidence in `[0, 1]`; 0 means missing.
    pub confidence: f64,
}

/// Knobs of [`triangulate_robust`] and [`triangulate_keypoints`].
///
/// [`triangulate_keypoints`] measures its inlier threshold in units of the person's size in each view
/// (`inlier_fraction`), so one setting suits every image and person size; [`triangulate_robust`],
/// which sees a single point, uses `inlier_threshold_px` (see [`TriangulationSettings::scaled`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TriangulationSettings {
    /// Observations with a lower confidence are ignored. Default: 0.05 (a keypoint the detector
    /// calls occluded still helps, weighted by its confidence).
    pub min_confidence: f64,
    /// [`triangulate_robust`]: a view is an inlier when the point reprojects within this many pixels
    /// of its observation (and lies in front of it). Default: 20.0.
    pub inlier_threshold_px: f64,
    /// [`triangulate_keypoints`]: the inlier threshold as a fraction of the person's size in the
    /// view (the bounding-box diagonal of its keypoints); views without a size use
    /// `inlier_threshold_px`. Default: 0.1 (about five times a good detector's error, half the
    /// distance between a person's hips).
    pub inlier_fraction: f64,
    /// The refinement's Huber threshold as a fraction of each view's inlier threshold: residuals
    /// beyond it count linearly, so imperfect inliers weigh less. Default: 0.3.
    pub huber_fraction: f64,
    /// Gauss–Newton iterations refining the point on the inliers' reprojection error, each view's
    /// residual weighted by its confidence and measured in units of its inlier threshold (0: keep
    /// the weighted DLT point of the inliers). Default: 5.
    pub refine_iterations: usize,
}

impl Default for TriangulationSettings {
    fn default() -> Self {
        Self {
            min_confidence: 0.05,
            inlier_threshold_px: 20.0,
            inlier_fraction: 0.1,
            huber_fraction: 0.3,
            refine_iterations: 5,
        }
    }
}

impl TriangulationSettings {
    /// These settings with the pixel threshold multiplied by `factor` (for example the image width
    /// divided by 1000, or a person's bounding-box size relative to the typical one).
    pub fn scaled(&self, factor: f64) -> Self {
        Self { inlier_threshold_px: self.inlier_threshold_px * factor, ..*self }
    }
}

/// The result of a robust triangulation.
#[derive(Clone, Debug, PartialEq)]
pub struct TriangulatedPoint {
    /// The point, world coordinates.
    pub point: Vector3<f64>,
    /// Per observation (same order as the input): whether it was used for the point. With three or
    /// more usable views these are the inliers; with two, both views (nothing to vote with).
    pub inliers: Vec<bool>,
    /// Mean reprojection error of the used views, pixels.
    pub mean_reprojection_px: f64,
}

/// A view prepared for the solvers: `weight == 0` marks it unusable.
#[derive(Clone, Copy, Debug)]
struct View {
    p: Matrix3x4<f64>,
    pixel: Vector2<f64>,
    weight: f64,
    /// `sign(det P[:, :3])`: turns `(P X)_z` into a depth that is positive in front of the camera.
    sign: f64,
    /// This view's share of the DLT normal matrix (see [`normal_matrix`]), computed once.
    normal: Matrix4<f64>,
    /// Inlier threshold in pixels.
    threshold: f64,
}

impl View {
    /// An unusable placeholder.
    const NONE: View = View {
        p: Matrix3x4::new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        pixel: Vector2::new(0.0, 0.0),
        weight: 0.0,
        sign: 0.0,
        normal: Matrix4::new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        threshold: 0.0,
    };

    fn new(
        p: &Matrix3x4<f64>,
        sign: f64,
        pixel: Vector2<f64>,
        confidence: f64,
        min_confidence: f64,
        threshold: f64,
    ) -> Self {
        let usable = sign != 0.0
            && confidence.is_finite()
            && confidence > 0.0
            && confidence >= min_confidence
            && pixel.x.is_finite()
            && pixel.y.is_finite();
        if !usable {
            return View::NONE;
        }
        let (r0, r1, r2) = (p.row(0), p.row(1), p.row(2));
        let rows: [RowVector4<f64>; 2] = [r2 * pixel.x - r0, r2 * pixel.y - r1];
        let mut normal = Matrix4::zeros();
        for a in rows {
            let nn = a.norm_squared();
            if nn > 0.0 {
                normal += a.transpose() * a * (confidence / nn);
            }
        }
        View { p: *p, pixel, weight: confidence, sign, normal, threshold }
    }

    fn from_observation(o: &PointObservation, min_confidence: f64, threshold: f64) -> Self {
        Self::new(&o.projection, projection_sign(&o.projection), o.pixel, o.confidence, min_confidence, threshold)
    }

    fn usable(&self) -> bool {
        self.weight > 0.0
    }

    /// The pixel residual (projection minus observation); `None` when the point is not in front.
    #[inline]
    fn residual(&self, x: &Vector3<f64>) -> Option<Vector2<f64>> {
        let h = self.p * x.push(1.0);
        if self.sign * h.z <= MIN_DEPTH {
            return None;
        }
        let inv = 1.0 / h.z;
        Some(Vector2::new(h.x * inv - self.pixel.x, h.y * inv - self.pixel.y))
    }

    #[inline]
    fn in_front(&self, x: &Vector3<f64>) -> bool {
        self.sign * (self.p.row(2) * x.push(1.0))[0] > MIN_DEPTH
    }
}

/// `sign(det P[:, :3])`, or 0 when `P` is not finite or its left 3x3 block is singular.
fn projection_sign(p: &Matrix3x4<f64>) -> f64 {
    if !p.iter().all(|c| c.is_finite()) {
        return 0.0;
    }
    let det = p.fixed_view::<3, 3>(0, 0).determinant();
    if det > 0.0 {
        1.0
    } else if det < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The equilibrated normal matrix of the confidence-weighted DLT over the usable views of `views`.
///
/// Each view (once, in [`View::new`]) adds the rows `x P3 - P1` and `y P3 - P2`, normalised to unit
/// length and weighted by the confidence, to the 4x4 matrix `M = Aᵀ W A`. Its columns are
/// equilibrated for conditioning: the result is `(D M D, D)` with `D = diag(M)^(-1/2)`, and a solution
/// `y` of the scaled system is the homogeneous point `D y`. `None` for fewer than two views or non-finite entries.
fn normal_matrix<'a>(views: impl Iterator<Item = &'a View>) -> Option<(Matrix4<f64>, Vector4<f64>)> {
    let mut m = Matrix4::<f64>::zeros();
    let mut count = 0;
    for v in views.filter(|v| v.usable()) {
        m += v.normal;
        count += 1;
    }
    if count < 2 {
        return None;
    }
    let d = Vector4::from_fn(|i, _| {
        let mii = m[(i, i)];
        if mii > 0.0 { 1.0 / mii.sqrt() } else { 1.0 }
    });
    let scaled = Matrix4::from_fn(|i, j| m[(i, j)] * d[i] * d[j]);
    scaled.iter().all(|c| c.is_finite()).then_some((scaled, d))
}

/// `x > threshold`, false when either is NaN (reads better negated than `!(x > threshold)`).
#[inline]
fn exceeds(x: f64, threshold: f64) -> bool {
    x > threshold
}

/// The Euclidean point of a homogeneous one; `None` at (or near) infinity.
fn dehomogenize(h: &Vector4<f64>) -> Option<Vector3<f64>> {
    let xyz = Vector3::new(h.x, h.y, h.z);
    if !exceeds(h.w.abs(), 1e-12 * xyz.norm()) {
        return None;
    }
    let point = xyz / h.w;
    point.iter().all(|c| c.is_finite()).then_some(point)
}

/// Confidence-weighted DLT (see [`normal_matrix`]): the eigenvector of the smallest eigenvalue of the
/// normal matrix. `None` for fewer than two views, a rank-deficient system (coincident rays) or a
/// point at infinity.
fn dlt<'a>(views: impl Iterator<Item = &'a View>) -> Option<Vector3<f64>> {
    let (scaled, d) = normal_matrix(views)?;
    let eig = SymmetricEigen::try_new(scaled, f64::EPSILON, 256)?;
    let mut order = [0usize, 1, 2, 3];
    order.sort_unstable_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let largest = eig.eigenvalues[order[3]];
    // Two (near-)zero eigenvalues: the rays coincide, the point is not determined.
    if !exceeds(largest, 0.0) || eig.eigenvalues[order[1]] <= 1e-12 * largest {
        return None;
    }
    dehomogenize(&eig.eigenvectors.column(order[0]).component_mul(&d))
}

/// The same weighted algebraic least squares as [`dlt`] with the homogeneous coordinate fixed at 1
/// instead of the norm: a 3x3 symmetric solve, an order of magnitude cheaper than the
/// eigen-decomposition. Used for hypotheses and starting points that Gauss–Newton refines anyway;
/// identical to [`dlt`] on exact data. `None` when the system is (nearly) singular.
fn dlt_fast<'a>(views: impl Iterator<Item = &'a View>) -> Option<Vector3<f64>> {
    let (m, d) = normal_matrix(views)?;
    // The equilibrated diagonal is 1, so pivots below 1e-12 mean (near) rank deficiency.
    let y = solve_spd3(&m.fixed_view::<3, 3>(0, 0).into_owned(), &-m.fixed_view::<3, 1>(0, 3).into_owned(), 1e-12)?;
    dehomogenize(&Vector4::new(y.x * d.x, y.y * d.y, y.z * d.z, d.w))
}

/// Solves `A x = b` for a symmetric positive definite 3x3 `A` by an unrolled LDLᵀ factorisation;
/// `None` when a pivot is not above `min_pivot` (numerically singular) or anything is NaN.
#[inline]
fn solve_spd3(a: &Matrix3<f64>, b: &Vector3<f64>, min_pivot: f64) -> Option<Vector3<f64>> {
    let d0 = a[(0, 0)];
    if !exceeds(d0, min_pivot) {
        return None;
    }
    let (l10, l20) = (a[(1, 0)] / d0, a[(2, 0)] / d0);
    let d1 = a[(1, 1)] - l10 * l10 * d0;
    if !exceeds(d1, min_pivot) {
        return None;
    }
    let l21 = (a[(2, 1)] - l20 * l10 * d0) / d1;
    let d2 = a[(2, 2)] - l20 * l20 * d0 - l21 * l21 * d1;
    if !exceeds(d2, min_pivot) {
        return None;
    }
    let z0 = b.x;
    let z1 = b.y - l10 * z0;
    let z2 = b.z - l20 * z0 - l21 * z1;
    let x2 = z2 / d2;
    let x1 = z1 / d1 - l21 * x2;
    let x0 = z0 / d0 - l10 * x1 - l20 * x2;
    Some(Vector3::new(x0, x1, x2))
}

/// Confidence-weighted DLT of one point from all usable observations (no outlier handling).
///
/// Rows are weighted by the confidence (see the module docs for which observations are usable).
/// `None` with fewer than two usable views, for a degenerate configuration, or when the point lands
/// behind any of the views used.
pub fn triangulate_weighted(obs: &[PointObservation]) -> Option<Vector3<f64>> {
    let views: Vec<View> =
        obs.iter().take(MAX_VIEWS).map(|o| View::from_observation(o, 0.0, 0.0)).filter(View::usable).collect();
    let point = dlt(views.iter())?;
    views.iter().all(|v| v.in_front(&point)).then_some(point)
}

/// Robust, confidence-weighted triangulation of one point.
///
/// Observations below `settings.min_confidence` are ignored. With three or more usable views: every
/// pair of views proposes a point (weighted DLT); each proposal is scored by the
/// confidence-weighted number of views it reprojects into within the inlier threshold (in front of
/// the camera), each inlier counted by its closeness `1 - (error / threshold)^2` (MSAC), ties going to
/// the smaller confidence-weighted squared error. The winner's inliers are re-triangulated with
/// weighted DLT and refined by Gauss–Newton on their confidence-weighted reprojection error (in
/// units of each view's inlier threshold, Huber beyond `settings.huber_fraction` of it), and again (at most twice more) while that changes the inlier set.
/// Without outliers the inliers are all the views, and the point is the plain weighted DLT's,
/// refined. With exactly two views there is nothing to vote with: weighted DLT plus the refinement.
///
/// `None` with fewer than two usable views, when no two views agree on a point in front of them, or
/// when the two-view point lies behind a camera.
pub fn triangulate_robust(obs: &[PointObservation], settings: &TriangulationSettings) -> Option<TriangulatedPoint> {
    let views: Vec<View> = obs
        .iter()
        .take(MAX_VIEWS)
        .map(|o| View::from_observation(o, settings.min_confidence, settings.inlier_threshold_px))
        .collect();
    let (point, mask, mean_reprojection_px) = robust(&views, settings)?;
    let inliers = (0..obs.len()).map(|k| k < MAX_VIEWS && mask >> k & 1 == 1).collect();
    Some(TriangulatedPoint { point, inliers, mean_reprojection_px })
}

/// The person's size in one view's image: the bounding-box diagonal of its keypoints at least
/// `min_confidence` confident, pixels; `None` for fewer than three.
fn person_size_px(keypoints: &[[f32; 3]; NUM_KEYPOINTS], min_confidence: f64) -> Option<f64> {
    super::person_size(
        keypoints
            .iter()
            .filter(|k| f64::from(k[2]) >= min_confidence && k[0].is_finite() && k[1].is_finite())
            .map(|k| Vector2::new(f64::from(k[0]), f64::from(k[1]))),
    )
}

/// Robust triangulation of the 17 COCO keypoints of one frame.
///
/// `projections[v]` is view `v`'s projection matrix, `keypoints[v][j]` its `(x, y, confidence)` for
/// keypoint `j` (confidence 0 = missing). Each keypoint goes through the scheme of
/// [`triangulate_robust`], with each view's inlier threshold `settings.inlier_fraction` of the
/// person's size in that view. All `None` when the two slices differ in length.
pub fn triangulate_keypoints(
    projections: &[Matrix3x4<f64>],
    keypoints: &[[[f32; 3]; NUM_KEYPOINTS]],
    settings: &TriangulationSettings,
) -> [Option<TriangulatedPoint>; NUM_KEYPOINTS] {
    triangulate_points(projections, keypoints, keypoints, settings)
}

/// [`triangulate_keypoints`] for other points of the same person (BlazePose's extra keypoints, or
/// any `N` points per view): `keypoints` (the views' COCO-17 keypoints) set each view's inlier
/// threshold from the person's size, `points` are triangulated.
pub fn triangulate_points<const N: usize>(
    projections: &[Matrix3x4<f64>],
    keypoints: &[[[f32; 3]; NUM_KEYPOINTS]],
    points: &[[[f32; 3]; N]],
    settings: &TriangulationSettings,
) -> [Option<TriangulatedPoint>; N] {
    if projections.len() != keypoints.len() || points.len() != keypoints.len() {
        return std::array::from_fn(|_| None);
    }
    let n = projections.len().min(MAX_VIEWS);
    let signs: Vec<f64> = projections[..n].iter().map(projection_sign).collect();
    let thresholds: Vec<f64> = keypoints[..n]
        .iter()
        .map(|kp| {
            person_size_px(kp, settings.min_confidence)
                .map_or(settings.inlier_threshold_px, |size| settings.inlier_fraction * size)
        })
        .collect();
    let mut views = vec![View::NONE; n];
    std::array::from_fn(|j| {
        for (k, view) in views.iter_mut().enumerate() {
            let [x, y, c] = points[k][j];
            let pixel = Vector2::new(x as f64, y as f64);
            *view = View::new(&projections[k], signs[k], pixel, c as f64, settings.min_confidence, thresholds[k]);
        }
        let (point, mask, mean_reprojection_px) = robust(&views, settings)?;
        let inliers = (0..points.len()).map(|k| k < MAX_VIEWS && mask >> k & 1 == 1).collect();
        Some(TriangulatedPoint { point, inliers, mean_reprojection_px })
    })
}

/// Plain confidence-weighted DLT of the 17 COCO keypoints of one frame: for every keypoint, the
/// views whose confidence is at least `min_confidence` ([`triangulate_weighted`]: rows weighted by
/// the confidence, no voting, no refinement). The simplest calibrated baseline that is any good;
/// `None` where fewer than two views qualify or the point lands behind one of them.
pub fn triangulate_keypoints_plain(
    projections: &[Matrix3x4<f64>],
    keypoints: &[[[f32; 3]; NUM_KEYPOINTS]],
    min_confidence: f64,
) -> [Option<Vector3<f64>>; NUM_KEYPOINTS] {
    if projections.len() != keypoints.len() {
        return [None; NUM_KEYPOINTS];
    }
    std::array::from_fn(|j| {
        let observations: Vec<PointObservation> = projections
            .iter()
            .zip(keypoints)
            .filter(|(_, view)| f64::from(view[j][2]) >= min_confidence)
            .map(|(p, view)| PointObservation {
                projection: *p,
                pixel: Vector2::new(f64::from(view[j][0]), f64::from(view[j][1])),
                confidence: f64::from(view[j][2]),
            })
            .collect();
        triangulate_weighted(&observations)
    })
}

/// The views of `views` selected by the bit mask.
fn masked(views: &[View], mask: u64) -> impl Iterator<Item = &View> {
    views.iter().enumerate().filter(move |(k, _)| mask >> k & 1 == 1).map(|(_, v)| v)
}

/// The usable views within their inlier threshold of `x` (in front of them), as a bit mask.
fn inlier_mask(views: &[View], x: &Vector3<f64>) -> u64 {
    let mut mask = 0;
    for (k, v) in views.iter().enumerate().filter(|(_, v)| v.usable()) {
        if v.residual(x).is_some_and(|r| r.norm() < v.threshold) {
            mask |= 1 << k;
        }
    }
    mask
}

/// Mean reprojection error of the masked views (infinite if one is behind its camera).
fn mean_error(views: &[View], mask: u64, x: &Vector3<f64>) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for v in masked(views, mask) {
        sum += v.residual(x).map_or(f64::INFINITY, |r| r.norm());
        n += 1;
    }
    if n == 0 { f64::INFINITY } else { sum / n as f64 }
}

/// The core of [`triangulate_robust`]: the point, the mask of views used and their mean error.
fn robust(views: &[View], settings: &TriangulationSettings) -> Option<(Vector3<f64>, u64, f64)> {
    let views = &views[..views.len().min(MAX_VIEWS)];
    let usable_mask = views.iter().enumerate().filter(|(_, v)| v.usable()).fold(0u64, |m, (k, _)| m | 1 << k);
    let usable = usable_mask.count_ones();
    if usable < 2 {
        return None;
    }
    if usable == 2 {
        let x = dlt_fast(masked(views, usable_mask))?;
        let x = refine(views, usable_mask, x, settings);
        if !masked(views, usable_mask).all(|v| v.in_front(&x)) {
            return None;
        }
        return Some((x, usable_mask, mean_error(views, usable_mask, &x)));
    }

    // Hypotheses from every pair of usable views, scored by the confidence of their inliers.
    let mut best: Option<(f64, f64, Vector3<f64>)> = None;
    for i in 0..views.len() {
        if !views[i].usable() {
            continue;
        }
        for j in i + 1..views.len() {
            if !views[j].usable() {
                continue;
            }
            let Some(x) = dlt_fast([&views[i], &views[j]].into_iter()) else { continue };
            let (mut score, mut error, mut count) = (0.0, 0.0, 0);
            for v in views.iter().filter(|v| v.usable()) {
                let threshold2 = v.threshold * v.threshold;
                if let Some(e2) = v.residual(&x).map(|r| r.norm_squared())
                    && e2 < threshold2
                {
                    // MSAC: an inlier counts by its closeness, so a set that fits exactly beats an
                    // equally large one that only just fits.
                    score += v.weight * (1.0 - e2 / threshold2);
                    error += v.weight * e2;
                    count += 1;
                }
            }
            if count < 2 {
                continue;
            }
            let better = match best {
                None => true,
                Some((s, e, _)) => score > s + 1e-9 || (score > s - 1e-9 && error < e),
            };
            if better {
                best = Some((score, error, x));
            }
        }
    }
    let (_, _, mut point) = best?;

    // Re-triangulate from the inliers and refine; repeat while the inlier set changes (twice at most).
    let mut mask = inlier_mask(views, &point);
    for _ in 0..3 {
        let start = dlt_fast(masked(views, mask)).unwrap_or(point);
        let candidate = refine(views, mask, start, settings);
        if !masked(views, mask).all(|v| v.in_front(&candidate)) {
            break;
        }
        point = candidate;
        let next = inlier_mask(views, &point);
        if next == mask || next.count_ones() < 2 {
            break;
        }
        mask = next;
    }
    Some((point, mask, mean_error(views, mask, &point)))
}

/// Huber loss of a residual length `e` with threshold `delta`.
#[inline]
fn huber(e: f64, delta: f64) -> f64 {
    if e <= delta { 0.5 * e * e } else { delta * (e - 0.5 * delta) }
}

/// Confidence-weighted Huber reprojection cost of the masked views (each at its own inlier
/// threshold); infinite if one is behind.
fn cost(views: &[View], mask: u64, x: &Vector3<f64>, huber_fraction: f64) -> f64 {
    let mut total = 0.0;
    for v in masked(views, mask) {
        match v.residual(x) {
            Some(r) => total += residual_weight(v) * huber(r.norm(), huber_delta(v, huber_fraction)),
            None => return f64::INFINITY,
        }
    }
    total
}

/// A view's weight in the refinement: its confidence over its squared inlier threshold, so that
/// every view's residual counts in units of the person's size in that view (a detector errs in
/// proportion to it); the confidence alone where the threshold is not a positive number.
fn residual_weight(v: &View) -> f64 {
    if v.threshold > 0.0 { v.weight / (v.threshold * v.threshold) } else { v.weight }
}

/// A view's Huber threshold: `fraction` of its inlier threshold, infinite when that is not a
/// positive number.
fn huber_delta(v: &View, fraction: f64) -> f64 {
    let delta = fraction * v.threshold;
    if delta > 0.0 { delta } else { f64::INFINITY }
}

/// Gauss–Newton (IRLS with Huber weights) on the masked views' reprojection error, starting at `x`.
/// Steps that do not lower the cost are halved (up to four times); the result is never worse than `x`.
fn refine(views: &[View], mask: u64, x: Vector3<f64>, settings: &TriangulationSettings) -> Vector3<f64> {
    let mut x = x;
    let mut current = cost(views, mask, &x, settings.huber_fraction);
    if !current.is_finite() {
        return x;
    }
    for _ in 0..settings.refine_iterations {
        let mut h = Matrix3::<f64>::zeros();
        let mut g = Vector3::<f64>::zeros();
        for v in masked(views, mask) {
            let hom = v.p * x.push(1.0);
            let (u, w) = (Vector2::new(hom.x / hom.z, hom.y / hom.z), hom.z);
            let r = u - v.pixel;
            let e = r.norm();
            let delta = huber_delta(v, settings.huber_fraction);
            let weight = residual_weight(v) * if e <= delta { 1.0 } else { delta / e };
            let m = v.p.fixed_view::<3, 3>(0, 0);
            let jx = (m.row(0) - m.row(2) * u.x) / w;
            let jy = (m.row(1) - m.row(2) * u.y) / w;
            h += (jx.transpose() * jx + jy.transpose() * jy) * weight;
            g += (jx.transpose() * r.x + jy.transpose() * r.y) * weight;
        }
        let Some(step) = solve_spd3(&h, &-g, 1e-14 * h.trace()) else { break };
        if !step.iter().all(|c| c.is_finite()) {
            break;
        }
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..5 {
            let candidate = x + step * scale;
            let c = cost(views, mask, &candidate, settings.huber_fraction);
            if c < current {
                x = candidate;
                current = c;
                accepted = true;
                break;
            }
            scale *= 0.5;
        }
        if !accepted || (step * scale).norm() <= 1e-9 * (1.0 + x.norm()) {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Camera, Extrinsics, Intrinsics, projection_matrix};

    use crate::geometry::test_rng::Rng;

    /// `n` cameras on a ring 3 to 5 m around the capture volume, looking at it from varied heights.
    fn cameras(rng: &mut Rng, n: usize) -> Vec<Camera> {
        (0..n)
            .map(|i| {
                let azimuth = i as f64 / n as f64 * std::f64::consts::TAU + 0.3 * rng.signed();
                let radius = 3.0 + 2.0 * rng.uniform();
                let eye = Vector3::new(radius * azimuth.cos(), 0.5 + 2.0 * rng.uniform(), radius * azimuth.sin());
                let target = Vector3::new(0.2 * rng.signed(), 1.0, 0.2 * rng.signed());
                Camera {
                    intrinsics: Intrinsics::from_horizontal_fov(
                        (50.0 + 20.0 * rng.uniform()).to_radians(),
                        1280.0,
                        720.0,
                    ),
                    extrinsics: Extrinsics::look_at(&eye, &target, &Vector3::y(), 0.1 * rng.signed()),
                    image_size: Vector2::new(1280.0, 720.0),
                }
            })
            .collect()
    }

    fn random_point(rng: &mut Rng) -> Vector3<f64> {
        Vector3::new(0.5 * rng.signed(), 1.0 + 0.8 * rng.signed(), 0.5 * rng.signed())
    }

    fn observe(cams: &[Camera], p: &Vector3<f64>, rng: &mut Rng, noise_px: f64) -> Vec<PointObservation> {
        cams.iter()
            .map(|c| {
                let pixel = c.project(p).unwrap() + Vector2::new(rng.normal(), rng.normal()) * noise_px;
                PointObservation { projection: c.projection_matrix(), pixel, confidence: 0.6 + 0.4 * rng.uniform() }
            })
            .collect()
    }

    #[test]
    fn noise_free_round_trip_two_to_eight_views() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let settings = TriangulationSettings::default();
        for n in 2..=8 {
            for _ in 0..20 {
                let cams = cameras(&mut rng, n);
                let p = random_point(&mut rng);
                let obs = observe(&cams, &p, &mut rng, 0.0);
                let weighted = triangulate_weighted(&obs).unwrap();
                assert!((weighted - p).norm() < 1e-6, "{n} views: {weighted:?} vs {p:?}");
                let robust = triangulate_robust(&obs, &settings).unwrap();
                assert!((robust.point - p).norm() < 1e-6, "{n} views: {:?} vs {p:?}", robust.point);
                assert!(robust.inliers.iter().all(|&b| b));
                assert!(robust.mean_reprojection_px < 1e-6);
            }
        }
    }

    #[test]
    fn a_confidently_wrong_view_becomes_an_outlier() {
        let mut rng = Rng(42);
        let settings = TriangulationSettings::default();
        let mut worst_robust: f64 = 0.0;
        let mut least_weighted_shift = f64::INFINITY;
        for trial in 0..50 {
            let cams = cameras(&mut rng, 5);
            let p = random_point(&mut rng);
            let mut obs = observe(&cams, &p, &mut rng, 0.5);
            let bad = trial % 5;
            let angle = rng.uniform() * std::f64::consts::TAU;
            obs[bad].pixel += Vector2::new(angle.cos(), angle.sin()) * 150.0;
            obs[bad].confidence = 0.95;
            let robust = triangulate_robust(&obs, &settings).unwrap();
            worst_robust = worst_robust.max((robust.point - p).norm());
            assert!(!robust.inliers[bad], "trial {trial}: the wrong view was kept");
            assert_eq!(robust.inliers.iter().filter(|&&b| b).count(), 4, "trial {trial}");
            assert!(robust.mean_reprojection_px < 3.0);
            let weighted = triangulate_weighted(&obs).unwrap();
            least_weighted_shift = least_weighted_shift.min((weighted - p).norm());
        }
        assert!(worst_robust < 0.01, "robust error {worst_robust} m");
        // Plain weighted DLT is dragged by several centimetres in every trial.
        assert!(least_weighted_shift > 0.02, "weighted DLT moved only {least_weighted_shift} m");
    }

    #[test]
    fn missing_and_broken_views_are_ignored() {
        let mut rng = Rng(17);
        let settings = TriangulationSettings::default();
        let cams = cameras(&mut rng, 6);
        let p = random_point(&mut rng);
        let mut obs = observe(&cams, &p, &mut rng, 0.0);
        // Missing (confidence 0) with a wild pixel, NaN pixel at high confidence, NaN confidence,
        // a non-finite projection, a confidence below the minimum: all ignored.
        obs[0].confidence = 0.0;
        obs[0].pixel = Vector2::new(-5000.0, 9000.0);
        obs[1].pixel.x = f64::NAN;
        obs[1].confidence = 0.9;
        obs[2].confidence = f64::NAN;
        obs[3].projection[(0, 0)] = f64::INFINITY;
        obs[4].confidence = 0.01;
        obs[4].pixel += Vector2::new(300.0, 0.0);
        // Views 4 and 5 are left for the weighted DLT (it has no minimum confidence), 5 alone for robust.
        assert!(triangulate_robust(&obs, &settings).is_none());
        obs[4].pixel -= Vector2::new(300.0, 0.0);
        let w = triangulate_weighted(&obs).unwrap();
        assert!((w - p).norm() < 1e-6);
        obs[4].confidence = 0.5;
        let r = triangulate_robust(&obs, &settings).unwrap();
        assert!((r.point - p).norm() < 1e-6);
        assert_eq!(r.inliers, vec![false, false, false, false, true, true]);
        // Two usable views among missing ones: the two-view path.
        obs[4].confidence = 0.0;
        obs[2].confidence = 0.7;
        let r = triangulate_robust(&obs, &settings).unwrap();
        assert!((r.point - p).norm() < 1e-6);
        assert_eq!(r.inliers, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn fewer_than_two_views_or_degenerate_input_is_none() {
        let mut rng = Rng(23);
        let settings = TriangulationSettings::default();
        let cams = cameras(&mut rng, 3);
        let p = random_point(&mut rng);
        let obs = observe(&cams, &p, &mut rng, 0.0);
        assert!(triangulate_weighted(&[]).is_none());
        assert!(triangulate_robust(&[], &settings).is_none());
        assert!(triangulate_weighted(&obs[..1]).is_none());
        assert!(triangulate_robust(&obs[..1], &settings).is_none());
        // The same view twice: the rays coincide.
        assert!(triangulate_weighted(&[obs[0], obs[0]]).is_none());
        // A point behind a camera is refused: a second camera looking away from the point still
        // "sees" it algebraically (P X has a negative depth), the DLT finds it, the depth test refuses it.
        let eye = cams[1].extrinsics.center();
        let away = Extrinsics::look_at(&eye, &(eye * 2.0 - p), &Vector3::y(), 0.0);
        let projection = projection_matrix(&cams[1].intrinsics, &away);
        let h = projection * p.push(1.0);
        assert!(h.z < 0.0);
        let behind =
            [obs[0], PointObservation { projection, pixel: Vector2::new(h.x / h.z, h.y / h.z), confidence: 0.8 }];
        assert!(triangulate_weighted(&behind).is_none());
        assert!(triangulate_robust(&behind, &settings).is_none());
        // A projection scaled by a negative number is the same camera.
        let mut negated = obs.clone();
        negated[1].projection *= -2.0;
        assert!((triangulate_weighted(&negated).unwrap() - p).norm() < 1e-6);
        assert!((triangulate_robust(&negated, &settings).unwrap().point - p).norm() < 1e-6);
        // Three views that all disagree: no two of them agree within the threshold.
        let mut scattered = obs.clone();
        scattered[0].pixel += Vector2::new(0.0, 200.0);
        scattered[1].pixel += Vector2::new(200.0, 0.0);
        scattered[2].pixel += Vector2::new(-150.0, -150.0);
        let r = triangulate_robust(&scattered, &TriangulationSettings { inlier_threshold_px: 1.0, ..settings });
        assert!(r.is_none());
        // NaN and nonsense settings do not panic.
        let odd = TriangulationSettings { inlier_threshold_px: f64::NAN, huber_fraction: -1.0, ..settings };
        assert!(triangulate_robust(&obs, &odd).is_none());
    }

    #[test]
    fn keypoints_of_a_frame() {
        let mut rng = Rng(99);
        let settings = TriangulationSettings::default();
        let cams = cameras(&mut rng, 4);
        let projections: Vec<_> = cams.iter().map(Camera::projection_matrix).collect();
        let joints: Vec<Vector3<f64>> = (0..NUM_KEYPOINTS).map(|_| random_point(&mut rng)).collect();
        let mut keypoints = vec![[[0.0f32; 3]; NUM_KEYPOINTS]; 4];
        for (v, cam) in cams.iter().enumerate() {
            for (j, joint) in joints.iter().enumerate() {
                let px = cam.project(joint).unwrap();
                keypoints[v][j] = [px.x as f32, px.y as f32, 0.9];
            }
        }
        // Joint 0 seen by one view only, joint 1 confidently wrong in view 2 (150 px off, about a third
        // of the person's size in that view), joint 2 NaN in view 3.
        for view in &mut keypoints[1..] {
            view[0][2] = 0.0;
        }
        keypoints[2][1] = [keypoints[2][1][0] + 150.0, keypoints[2][1][1], 0.95];
        keypoints[3][2][0] = f32::NAN;
        let out = triangulate_keypoints(&projections, &keypoints, &settings);
        assert!(out[0].is_none());
        let j1 = out[1].as_ref().unwrap();
        assert_eq!(j1.inliers, vec![true, true, false, true]);
        assert!((j1.point - joints[1]).norm() < 1e-3);
        let j2 = out[2].as_ref().unwrap();
        assert_eq!(j2.inliers, vec![true, true, true, false]);
        for j in 2..NUM_KEYPOINTS {
            // f32 pixels: about 1e-4 px of rounding.
            assert!((out[j].as_ref().unwrap().point - joints[j]).norm() < 1e-3, "joint {j}");
        }
        // Mismatched inputs: all None.
        assert!(triangulate_keypoints(&projections[..3], &keypoints, &settings).iter().all(Option::is_none));
    }

    /// Mean error (metres) of the robust and the plain keypoint triangulation over `frames` random
    /// frames of 17 points seen by five views with noise of 1 % of the person's size, a fraction
    /// `gross` of the observations thrown a third of the person's size away.
    fn robust_and_plain_errors(seed: u64, frames: usize, gross: f64) -> (f64, f64) {
        let mut rng = Rng(seed);
        let settings = TriangulationSettings::default();
        let (mut robust, mut plain, mut n) = (0.0, 0.0, 0);
        for _ in 0..frames {
            let cams = cameras(&mut rng, 5);
            let projections: Vec<_> = cams.iter().map(Camera::projection_matrix).collect();
            let points: Vec<Vector3<f64>> = (0..NUM_KEYPOINTS).map(|_| random_point(&mut rng)).collect();
            let keypoints: Vec<[[f32; 3]; NUM_KEYPOINTS]> = cams
                .iter()
                .map(|cam| {
                    let pixels: Vec<Vector2<f64>> = points.iter().map(|p| cam.project(p).unwrap()).collect();
                    let (lo, hi) = pixels.iter().fold((pixels[0], pixels[0]), |(lo, hi), p| (lo.inf(p), hi.sup(p)));
                    let size = (hi - lo).norm();
                    std::array::from_fn(|k| {
                        let mut px = pixels[k] + Vector2::new(rng.normal(), rng.normal()) * 0.01 * size;
                        if rng.uniform() < gross {
                            let angle = rng.uniform() * std::f64::consts::TAU;
                            px += Vector2::new(angle.cos(), angle.sin()) * size / 3.0;
                        }
                        [px.x as f32, px.y as f32, (0.5 + 0.5 * rng.uniform()) as f32]
                    })
                })
                .collect();
            let r = triangulate_keypoints(&projections, &keypoints, &settings);
            let p = triangulate_keypoints_plain(&projections, &keypoints, 0.3);
            for k in 0..NUM_KEYPOINTS {
                robust += (r[k].as_ref().unwrap().point - points[k]).norm();
                plain += (p[k].unwrap() - points[k]).norm();
                n += 1;
            }
        }
        (robust / n as f64, plain / n as f64)
    }

    #[test]
    fn robust_triangulation_matches_plain_dlt_without_outliers_and_beats_it_with_them() {
        let (robust, plain) = robust_and_plain_errors(5, 100, 0.0);
        assert!(robust <= 1.02 * plain, "no outliers: robust {robust} m, plain DLT {plain} m");
        let (robust, plain) = robust_and_plain_errors(6, 100, 0.05);
        assert!(robust < 0.7 * plain, "5 % gross errors: robust {robust} m, plain DLT {plain} m");
    }

    #[test]
    fn settings_scale_the_pixel_threshold() {
        let s = TriangulationSettings::default().scaled(2.0);
        assert_eq!(s.inlier_threshold_px, 40.0);
        assert_eq!(s.inlier_fraction, 0.1);
        assert_eq!(s.min_confidence, 0.05);
    }
}
