//! The pinhole camera: intrinsics (K), extrinsics (world to camera, OpenCV axes), projection and
//! back-projection, and the one conversion between a Bevy camera's pose and OpenCV extrinsics.
//!
//! Conventions (shared/DESIGN.md): OpenCV camera axes (x right, y down, z forward) and
//! `X_c = R X_w + t`. A Bevy camera looks down its local -z with +y up; its `Transform` maps camera
//! to world. Nothing here imports Bevy: the plugin hands over the pose as nalgebra types.

use nalgebra::{Matrix3, Matrix3x4, Rotation3, UnitQuaternion, Vector2, Vector3};

/// Depth below which a point counts as behind the camera (metres).
pub const MIN_DEPTH: f64 = 1e-6;

/// The unit 2D residuals are measured in by the body refinement and `fit`: 3% of the person's size
/// in the image ([`person_size`]; about a detector's error).
pub const RESIDUAL_UNIT: f64 = 0.03;

/// The person's size in an image: the diagonal of the bounding box of the keypoints seen, in the
/// points' units (pixels or normalised image units); `None` for fewer than three points. Every
/// "fraction of the person's size" in the crate (robust scales, inlier thresholds, residual units,
/// the network's input scale) is a fraction of this.
pub fn person_size(points: impl IntoIterator<Item = nalgebra::Vector2<f64>>) -> Option<f64> {
    let mut points = points.into_iter();
    let first = points.next()?;
    let (mut lo, mut hi, mut count) = (first, first, 1);
    for p in points {
        lo = lo.inf(&p);
        hi = hi.sup(&p);
        count += 1;
    }
    (count >= 3).then(|| (hi - lo).norm())
}

/// Pinhole intrinsics in pixels: `K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]` (no skew, no distortion).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Intrinsics {
    /// Focal length along x, pixels.
    pub fx: f64,
    /// Focal length along y, pixels.
    pub fy: f64,
    /// Principal point x, pixels.
    pub cx: f64,
    /// Principal point y, pixels.
    pub cy: f64,
}

impl Intrinsics {
    /// A centred camera with square pixels whose horizontal field of view is `hfov` radians.
    pub fn from_horizontal_fov(hfov: f64, width: f64, height: f64) -> Self {
        let f = 0.5 * width / (0.5 * hfov).tan();
        Self { fx: f, fy: f, cx: 0.5 * width, cy: 0.5 * height }
    }

    /// A centred camera with square pixels whose vertical field of view is `vfov` radians (Bevy's
    /// `PerspectiveProjection::fov`).
    pub fn from_vertical_fov(vfov: f64, width: f64, height: f64) -> Self {
        let f = 0.5 * height / (0.5 * vfov).tan();
        Self { fx: f, fy: f, cx: 0.5 * width, cy: 0.5 * height }
    }

    /// The matrix K.
    pub fn matrix(&self) -> Matrix3<f64> {
        Matrix3::new(self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0)
    }

    /// Reads K; the skew and the bottom row are ignored (callers validate them where it matters).
    pub fn from_matrix(k: &Matrix3<f64>) -> Self {
        Self { fx: k[(0, 0)], fy: k[(1, 1)], cx: k[(0, 2)], cy: k[(1, 2)] }
    }

    /// Horizontal field of view of an image `width` pixels wide, radians.
    pub fn horizontal_fov(&self, width: f64) -> f64 {
        2.0 * (0.5 * width / self.fx).atan()
    }

    /// Projects a point in camera coordinates to pixels; `None` when it is not in front of the camera.
    pub fn project(&self, p: &Vector3<f64>) -> Option<Vector2<f64>> {
        (p.z > MIN_DEPTH).then(|| self.to_pixel(&Vector2::new(p.x / p.z, p.y / p.z)))
    }

    /// Normalised image coordinates (`x / z`, `y / z`) of a pixel: K⁻¹ applied to it.
    pub fn normalize(&self, pixel: &Vector2<f64>) -> Vector2<f64> {
        Vector2::new((pixel.x - self.cx) / self.fx, (pixel.y - self.cy) / self.fy)
    }

    /// The pixel of normalised image coordinates (the inverse of [`Intrinsics::normalize`]).
    pub fn to_pixel(&self, normalized: &Vector2<f64>) -> Vector2<f64> {
        Vector2::new(self.fx * normalized.x + self.cx, self.fy * normalized.y + self.cy)
    }

    /// Back-projects a pixel to the camera-frame point at depth `depth` (z, metres).
    pub fn back_project(&self, pixel: &Vector2<f64>, depth: f64) -> Vector3<f64> {
        let n = self.normalize(pixel);
        Vector3::new(n.x * depth, n.y * depth, depth)
    }

    /// Unit direction of the viewing ray through a pixel, camera frame.
    pub fn ray(&self, pixel: &Vector2<f64>) -> Vector3<f64> {
        self.back_project(pixel, 1.0).normalize()
    }
}

/// Camera pose as extrinsics: the rigid transform from world to camera, `X_c = R X_w + t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Extrinsics {
    /// World-to-camera rotation R.
    pub rotation: Matrix3<f64>,
    /// World-to-camera translation t (the world origin in camera coordinates).
    pub translation: Vector3<f64>,
}

impl Default for Extrinsics {
    /// The identity: camera frame = world frame.
    fn default() -> Self {
        Self { rotation: Matrix3::identity(), translation: Vector3::zeros() }
    }
}

/// Bevy's camera axes expressed in OpenCV's: y and z flipped.
fn flip_yz() -> Matrix3<f64> {
    Matrix3::from_diagonal(&Vector3::new(1.0, -1.0, -1.0))
}

impl Extrinsics {
    /// Extrinsics from a rotation and translation.
    pub fn new(rotation: Matrix3<f64>, translation: Vector3<f64>) -> Self {
        Self { rotation, translation }
    }

    /// A camera at `eye` looking at `target`, with `up` pointing up in the image (up to `roll`
    /// radians, positive turning the image clockwise as seen by the viewer).
    pub fn look_at(eye: &Vector3<f64>, target: &Vector3<f64>, up: &Vector3<f64>, roll: f64) -> Self {
        let z = (target - eye).normalize();
        let mut x = z.cross(up);
        if x.norm() < 1e-9 {
            // Looking straight along `up`: any perpendicular will do.
            x = z.cross(&Vector3::new(1.0, 0.0, 0.0));
        }
        let x = x.normalize();
        let y = z.cross(&x);
        // Rows of R are the camera axes in world coordinates.
        let r = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
        let roll = Rotation3::from_axis_angle(&Vector3::z_axis(), roll).into_inner();
        let rotation = roll * r;
        Self { rotation, translation: -rotation * eye }
    }

    /// Maps a world point into the camera frame.
    pub fn to_camera(&self, p: &Vector3<f64>) -> Vector3<f64> {
        self.rotation * p + self.translation
    }

    /// Maps a camera-frame point into the world.
    pub fn to_world(&self, p: &Vector3<f64>) -> Vector3<f64> {
        self.rotation.transpose() * (p - self.translation)
    }

    /// The camera centre in world coordinates, `-Rᵀ t`.
    pub fn center(&self) -> Vector3<f64> {
        -self.rotation.transpose() * self.translation
    }

    /// The inverse transform (camera to world), as extrinsics of the world seen from the camera.
    pub fn inverse(&self) -> Self {
        let rt = self.rotation.transpose();
        Self { rotation: rt, translation: -rt * self.translation }
    }

    /// `self ∘ other`: first `other`, then `self`.
    pub fn compose(&self, other: &Self) -> Self {
        Self {
            rotation: self.rotation * other.rotation,
            translation: self.rotation * other.translation + self.translation,
        }
    }

    /// OpenCV extrinsics of a Bevy camera whose global transform has rotation `rotation` and
    /// translation `position` (camera to world, looking down -z, +y up).
    pub fn from_bevy_camera(rotation: &UnitQuaternion<f64>, position: &Vector3<f64>) -> Self {
        let world_from_cv = rotation.to_rotation_matrix().into_inner() * flip_yz();
        let r = world_from_cv.transpose();
        Self { rotation: r, translation: -r * position }
    }

    /// The Bevy camera transform (rotation, position) with these extrinsics; inverse of
    /// [`Extrinsics::from_bevy_camera`].
    pub fn to_bevy_camera(&self) -> (UnitQuaternion<f64>, Vector3<f64>) {
        let world_from_bevy = self.rotation.transpose() * flip_yz();
        let q = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix(&world_from_bevy));
        (q, self.center())
    }
}

/// A calibrated camera: intrinsics, extrinsics and image size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Pinhole intrinsics.
    pub intrinsics: Intrinsics,
    /// World-to-camera transform.
    pub extrinsics: Extrinsics,
    /// Image width and height, pixels.
    pub image_size: Vector2<f64>,
}

impl Camera {
    /// Projects a world point to pixels; `None` when it is behind the camera.
    pub fn project(&self, p: &Vector3<f64>) -> Option<Vector2<f64>> {
        self.intrinsics.project(&self.extrinsics.to_camera(p))
    }

    /// Whether a pixel lies inside the image.
    pub fn contains(&self, pixel: &Vector2<f64>) -> bool {
        pixel.x >= 0.0 && pixel.y >= 0.0 && pixel.x < self.image_size.x && pixel.y < self.image_size.y
    }

    /// The 3x4 projection matrix `P = K [R | t]`.
    pub fn projection_matrix(&self) -> Matrix3x4<f64> {
        projection_matrix(&self.intrinsics, &self.extrinsics)
    }
}

/// The 3x4 projection matrix `P = K [R | t]`.
pub fn projection_matrix(intrinsics: &Intrinsics, extrinsics: &Extrinsics) -> Matrix3x4<f64> {
    let mut rt = Matrix3x4::zeros();
    rt.fixed_view_mut::<3, 3>(0, 0).copy_from(&extrinsics.rotation);
    rt.fixed_view_mut::<3, 1>(0, 3).copy_from(&extrinsics.translation);
    intrinsics.matrix() * rt
}

/// The angle between two rotations, radians, in [0, π]: the rotation angle of `A Bᵀ`, from both its
/// cosine (the trace) and its sine (the skew part), so small angles keep their precision.
pub fn rotation_angle_between(a: &Matrix3<f64>, b: &Matrix3<f64>) -> f64 {
    let m = a * b.transpose();
    let cos = (m.trace() - 1.0) * 0.5;
    let sin = 0.5 * Vector3::new(m[(2, 1)] - m[(1, 2)], m[(0, 2)] - m[(2, 0)], m[(1, 0)] - m[(0, 1)]).norm();
    sin.atan2(cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> Camera {
        Camera {
            intrinsics: Intrinsics::from_horizontal_fov(60f64.to_radians(), 1280.0, 720.0),
            extrinsics: Extrinsics::look_at(
                &Vector3::new(3.0, 1.6, 4.0),
                &Vector3::new(0.0, 1.0, 0.0),
                &Vector3::new(0.0, 1.0, 0.0),
                0.05,
            ),
            image_size: Vector2::new(1280.0, 720.0),
        }
    }

    #[test]
    fn projection_and_back_projection_round_trip() {
        let cam = camera();
        let p = Vector3::new(0.3, 1.2, -0.4);
        let pixel = cam.project(&p).unwrap();
        let depth = cam.extrinsics.to_camera(&p).z;
        let back = cam.extrinsics.to_world(&cam.intrinsics.back_project(&pixel, depth));
        assert!((back - p).norm() < 1e-9);
        // The projection matrix agrees with the two-step projection.
        let h = cam.projection_matrix() * p.push(1.0);
        assert!((Vector2::new(h.x / h.z, h.y / h.z) - pixel).norm() < 1e-9);
        // The target is near the image centre, up is up (small roll), points behind are refused.
        let centre = cam.project(&Vector3::new(0.0, 1.0, 0.0)).unwrap();
        assert!((centre - Vector2::new(640.0, 360.0)).norm() < 1e-6);
        let above = cam.project(&Vector3::new(0.0, 2.0, 0.0)).unwrap();
        assert!(above.y < centre.y);
        assert!(cam.project(&(cam.extrinsics.center() * 2.0)).is_none());
        assert!((cam.intrinsics.horizontal_fov(1280.0) - 60f64.to_radians()).abs() < 1e-12);
    }

    #[test]
    fn bevy_camera_pose_converts_both_ways() {
        let ext = camera().extrinsics;
        let (q, position) = ext.to_bevy_camera();
        assert!((position - Vector3::new(3.0, 1.6, 4.0)).norm() < 1e-9);
        // A Bevy camera looks down its local -z: that direction is the OpenCV optical axis (+z).
        let forward_bevy = q * -Vector3::z();
        let forward_cv = ext.rotation.transpose() * Vector3::z();
        assert!((forward_bevy - forward_cv).norm() < 1e-9);
        let up_bevy = q * Vector3::y();
        let down_cv = ext.rotation.transpose() * Vector3::y();
        assert!((up_bevy + down_cv).norm() < 1e-9);
        let back = Extrinsics::from_bevy_camera(&q, &position);
        assert!((back.rotation - ext.rotation).norm() < 1e-9);
        assert!((back.translation - ext.translation).norm() < 1e-9);
    }

    #[test]
    fn inverse_and_compose_are_consistent() {
        let ext = camera().extrinsics;
        let id = ext.compose(&ext.inverse());
        assert!((id.rotation - Matrix3::identity()).norm() < 1e-12);
        assert!(id.translation.norm() < 1e-12);
        assert!(rotation_angle_between(&ext.rotation, &ext.rotation) < 1e-6);
    }
}
