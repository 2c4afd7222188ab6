//! Rotation representations and the conversions between them, on the CPU (nalgebra, generic over
//! `f32`/`f64`) and, where networks need them, batched on candle tensors (differentiable).
//!
//! Representations (shared/DESIGN.md: 6D inside networks, axis-angle in files, quaternions in Bevy):
//!
//! - **Matrix**: a 3x3 rotation matrix `R` acting on column vectors (`y = R x`).
//! - **Axis-angle**: a 3-vector whose direction is the rotation axis and whose length is the angle in
//!   radians (SMPL's convention). Conversions to it return angles in `[0, pi]`.
//! - **Quaternion**: nalgebra's [`UnitQuaternion`]. Written out as numbers we use the order
//!   `w, x, y, z` (scalar first; see [`quaternion_to_wxyz`]). Note that nalgebra *stores* the
//!   coordinates as `[x, y, z, w]` (`q.coords`) and Bevy/glam's `Quat` is `x, y, z, w` as well.
//! - **6D** (Zhou et al. 2019, "On the Continuity of Rotation Representations in Neural Networks"): the
//!   first two **columns** of the matrix, flattened column after column:
//!   `[r00, r10, r20, r01, r11, r21]` (`rij` = row `i`, column `j`). Any 6 numbers whose two 3-vectors
//!   are not parallel map to a proper rotation by Gram–Schmidt: `b1 = a1/|a1|`,
//!   `b2 = normalise(a2 - (b1·a2) b1)`, `b3 = b1 × b2`, `R = [b1 b2 b3]` (columns).

use candle_core::{D, DType, Result, Tensor, bail};
use nalgebra::{Matrix3, Quaternion, RealField, Rotation3, UnitQuaternion, Vector3};

/// Rotation matrix of an axis-angle vector (direction = axis, length = angle in radians).
pub fn axis_angle_to_matrix<T: RealField + Copy>(axis_angle: &Vector3<T>) -> Matrix3<T> {
    Rotation3::from_scaled_axis(*axis_angle).into_inner()
}

/// Axis-angle vector of a rotation matrix (the inverse of [`axis_angle_to_matrix`], angle in `[0, pi]`).
///
/// Goes through the quaternion, so it is accurate at every angle, including 0 and pi. The input should
/// be a rotation; a slightly drifted one is tolerated (the quaternion is renormalised).
pub fn matrix_to_axis_angle<T: RealField + Copy>(matrix: &Matrix3<T>) -> Vector3<T> {
    quaternion_to_axis_angle(&matrix_to_quaternion(matrix))
}

/// Unit quaternion of an axis-angle vector.
pub fn axis_angle_to_quaternion<T: RealField + Copy>(axis_angle: &Vector3<T>) -> UnitQuaternion<T> {
    let two = T::one() + T::one();
    let angle = axis_angle.norm();
    let half = angle / two;
    // sin(angle / 2) / angle, with its limit 1/2 at zero (Taylor: 1/2 - angle^2/48).
    let k = if angle > T::default_epsilon().sqrt() {
        half.sin() / angle
    } else {
        T::one() / two - angle * angle / nalgebra::convert(48.0)
    };
    UnitQuaternion::new_normalize(Quaternion::new(half.cos(), axis_angle.x * k, axis_angle.y * k, axis_angle.z * k))
}

/// Axis-angle vector of a unit quaternion, angle in `[0, pi]` (`q` and `-q` give the same result).
///
/// Uses `angle = 2 atan2(|v|, |w|)`, which stays accurate for tiny angles (where `acos(w)` loses
/// everything in `f32`) and at pi.
pub fn quaternion_to_axis_angle<T: RealField + Copy>(q: &UnitQuaternion<T>) -> Vector3<T> {
    let two = T::one() + T::one();
    let (mut w, mut v) = (q.w, q.imag());
    if w < T::zero() {
        w = -w;
        v = -v;
    }
    let s = v.norm();
    let angle = two * s.atan2(w);
    // angle / s, with its limit 2 / w as s -> 0.
    let k = if s > T::default_epsilon() { angle / s } else { two / w.max(T::default_epsilon()) };
    v * k
}

/// Rotation matrix of a unit quaternion.
pub fn quaternion_to_matrix<T: RealField + Copy>(q: &UnitQuaternion<T>) -> Matrix3<T> {
    q.to_rotation_matrix().into_inner()
}

/// Unit quaternion of a rotation matrix (Shepperd's robust method, then renormalised so a slightly
/// drifted matrix still gives a unit quaternion). The scalar part is made non-negative.
pub fn matrix_to_quaternion<T: RealField + Copy>(matrix: &Matrix3<T>) -> UnitQuaternion<T> {
    let q = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(*matrix));
    let q = UnitQuaternion::new_normalize(q.into_inner());
    if q.w < T::zero() { UnitQuaternion::new_unchecked(-q.into_inner()) } else { q }
}

/// The quaternion as numbers in the order `[w, x, y, z]` (scalar first).
pub fn quaternion_to_wxyz<T: RealField + Copy>(q: &UnitQuaternion<T>) -> [T; 4] {
    [q.w, q.i, q.j, q.k]
}

/// A unit quaternion from numbers in the order `[w, x, y, z]` (scalar first), normalised.
///
/// `None` when a number is not finite or the 4-vector is (nearly) zero.
pub fn quaternion_from_wxyz<T: RealField + Copy>(wxyz: [T; 4]) -> Option<UnitQuaternion<T>> {
    let q = Quaternion::new(wxyz[0], wxyz[1], wxyz[2], wxyz[3]);
    if !q.coords.iter().all(|c| c.is_finite()) {
        return None;
    }
    UnitQuaternion::try_new(q, T::default_epsilon())
}

/// The 6D representation of a rotation matrix: its first two columns, `[r00, r10, r20, r01, r11, r21]`.
pub fn matrix_to_rotation_6d<T: RealField + Copy>(matrix: &Matrix3<T>) -> [T; 6] {
    let m = matrix;
    [m[(0, 0)], m[(1, 0)], m[(2, 0)], m[(0, 1)], m[(1, 1)], m[(2, 1)]]
}

/// The rotation matrix of a 6D representation `[a1; a2]` (two column 3-vectors, layout as in
/// [`matrix_to_rotation_6d`]) by Gram–Schmidt; the result is always a proper rotation (det +1).
///
/// `None` when a number is not finite, a vector is (nearly) zero or the two are (nearly) parallel.
pub fn rotation_6d_to_matrix<T: RealField + Copy>(r6: &[T; 6]) -> Option<Matrix3<T>> {
    if !r6.iter().all(|c| c.is_finite()) {
        return None;
    }
    let a1 = Vector3::new(r6[0], r6[1], r6[2]);
    let a2 = Vector3::new(r6[3], r6[4], r6[5]);
    // Gram–Schmidt is scale invariant, so the degeneracy tests are relative.
    let eps = T::default_epsilon().sqrt();
    let (n1, m2) = (a1.norm(), a2.norm());
    if n1 <= eps * n1.max(m2) || n1 == T::zero() {
        return None;
    }
    let b1 = a1 / n1;
    let u2 = a2 - b1 * b1.dot(&a2);
    let n2 = u2.norm();
    if n2 <= eps * m2 || n2 == T::zero() {
        return None;
    }
    let b2 = u2 / n2;
    let b3 = b1.cross(&b2);
    Some(Matrix3::from_columns(&[b1, b2, b3]))
}

/// The `eps` added under square roots of squared norms: tiny against f32/f64 resolution, but it keeps
/// values and gradients finite at zero.
fn norm_eps(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => 1e-16,
        _ => 1e-12,
    }
}

/// Checks that `t` has at least `min_rank` dimensions and that its trailing dimensions are `trailing`.
fn check_trailing(t: &Tensor, trailing: &[usize], what: &str) -> Result<()> {
    let dims = t.dims();
    if dims.len() < trailing.len() || dims[dims.len() - trailing.len()..] != *trailing {
        bail!("{what}: expected a tensor of shape [..., {trailing:?}], got {dims:?}");
    }
    Ok(())
}

/// Batched Rodrigues formula: axis-angle `[..., 3]` to rotation matrices `[..., 3, 3]`.
///
/// Differentiable everywhere, including at the zero rotation: the angle is computed as
/// `sqrt(|r|^2 + eps)` with a tiny `eps`, which changes the result by far less than f32 resolution.
/// An error (not a panic) when the last dimension is not 3.
///
/// `R = cos(a) I + sin(a)/a [r]x + (1 - cos(a))/a^2 r r^T` is one product of the ten numbers
/// `[cos, sin/a r, (1 - cos)/a^2 (xx yy zz xy xz yz)]` with a constant `10 x 9` matrix, a handful of
/// tensor operations whatever the batch (no batched 3x3 products, which cost a GEMM call each).
pub fn axis_angle_to_matrix_tensor(axis_angle: &Tensor) -> Result<Tensor> {
    check_trailing(axis_angle, &[3], "axis_angle_to_matrix_tensor")?;
    let dims = axis_angle.dims().to_vec();
    let last = dims.len() - 1;
    let r = axis_angle.reshape(((), 3))?;
    let (dtype, device) = (r.dtype(), r.device());
    let squared = (r.sqr()?.sum_keepdim(D::Minus1)? + norm_eps(dtype))?; // [n, 1]
    let angle = squared.sqrt()?;
    let cos = angle.cos()?;
    let sin_over = (angle.sin()? / &angle)?;
    let versine_over = ((1.0 - &cos)? / &squared)?;
    // Products x*x, y*y, z*z, x*y, x*z, y*z.
    let left = Tensor::new(&[0u32, 1, 2, 0, 0, 1], device)?;
    let right = Tensor::new(&[0u32, 1, 2, 1, 2, 2], device)?;
    let outer = (r.index_select(&left, 1)? * r.index_select(&right, 1)?)?;
    let terms = Tensor::cat(&[&cos, &r.broadcast_mul(&sin_over)?, &outer.broadcast_mul(&versine_over)?], 1)?;
    #[rustfmt::skip]
    let basis: [f32; 90] = [
        // Row-major entries of R per term.
        1., 0., 0., 0., 1., 0., 0., 0., 1., // cos
        0., 0., 0., 0., 0., -1., 0., 1., 0., // sin/a x
        0., 0., 1., 0., 0., 0., -1., 0., 0., // sin/a y
        0., -1., 0., 1., 0., 0., 0., 0., 0., // sin/a z
        1., 0., 0., 0., 0., 0., 0., 0., 0., // (1-cos)/a^2 xx
        0., 0., 0., 0., 1., 0., 0., 0., 0., // yy
        0., 0., 0., 0., 0., 0., 0., 0., 1., // zz
        0., 1., 0., 1., 0., 0., 0., 0., 0., // xy
        0., 0., 1., 0., 0., 0., 1., 0., 0., // xz
        0., 0., 0., 0., 0., 1., 0., 1., 0., // yz
    ];
    let basis = Tensor::from_slice(&basis, (10, 9), device)?.to_dtype(dtype)?;
    let mut out_dims = dims[..last].to_vec();
    out_dims.extend([3, 3]);
    terms.matmul(&basis)?.reshape(out_dims)
}

/// Batched 6D to rotation matrix: `[..., 6]` (layout `[r00, r10, r20, r01, r11, r21]`, the first two
/// columns) to proper rotation matrices `[..., 3, 3]` by Gram–Schmidt, as [`rotation_6d_to_matrix`].
///
/// Differentiable; the normalisations divide by `sqrt(|v|^2 + eps)`, so a degenerate input (zero or
/// parallel vectors) gives finite values instead of NaN. An error (not a panic) when the last dimension
/// is not 6.
pub fn rotation_6d_to_matrix_tensor(r6: &Tensor) -> Result<Tensor> {
    check_trailing(r6, &[6], "rotation_6d_to_matrix_tensor")?;
    let dims = r6.dims().to_vec();
    let flat = r6.reshape(((), 6))?;
    let eps = norm_eps(flat.dtype());
    let normalize = |v: &Tensor| -> Result<Tensor> {
        let norm = (v.sqr()?.sum_keepdim(D::Minus1)? + eps)?.sqrt()?;
        v.broadcast_div(&norm)
    };
    let a1 = flat.narrow(1, 0, 3)?;
    let a2 = flat.narrow(1, 3, 3)?;
    let b1 = normalize(&a1)?;
    let along = (&b1 * &a2)?.sum_keepdim(D::Minus1)?;
    let b2 = normalize(&(a2 - b1.broadcast_mul(&along)?)?)?;
    let b3 = cross(&b1, &b2)?;
    // Stacking on a new last axis makes b1, b2, b3 the columns: out[.., i, j] = b_j[i].
    let rot = Tensor::stack(&[&b1, &b2, &b3], 2)?;
    let mut out_dims = dims[..dims.len() - 1].to_vec();
    out_dims.extend([3, 3]);
    rot.reshape(out_dims)
}

/// Batched rotation matrix to 6D: `[..., 3, 3]` to `[..., 6]` (the first two columns,
/// `[r00, r10, r20, r01, r11, r21]`). An error (not a panic) when the trailing dimensions are not 3x3.
pub fn matrix_to_rotation_6d_tensor(matrix: &Tensor) -> Result<Tensor> {
    check_trailing(matrix, &[3, 3], "matrix_to_rotation_6d_tensor")?;
    let dims = matrix.dims().to_vec();
    let m = matrix.reshape(((), 3, 3))?;
    // [n, 3 rows, 2 cols] -> [n, 2 cols, 3 rows] -> column-major flattening.
    let six = m.narrow(2, 0, 2)?.transpose(1, 2)?.contiguous()?.reshape(((), 6))?;
    let mut out_dims = dims[..dims.len() - 2].to_vec();
    out_dims.push(6);
    six.reshape(out_dims)
}

/// Row-wise cross product of two `[n, 3]` tensors.
fn cross(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let c = |t: &Tensor, i: usize| t.narrow(1, i, 1);
    let (ax, ay, az) = (c(a, 0)?, c(a, 1)?, c(a, 2)?);
    let (bx, by, bz) = (c(b, 0)?, c(b, 1)?, c(b, 2)?);
    let x = ((&ay * &bz)? - (&az * &by)?)?;
    let y = ((&az * &bx)? - (&ax * &bz)?)?;
    let z = ((&ax * &by)? - (&ay * &bx)?)?;
    Tensor::cat(&[&x, &y, &z], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn tensor_rodrigues_matches_nalgebra() -> Result<()> {
        let vectors = [
            Vector3::new(0.0, 0.0, 0.0),
            Vector3::new(0.3, -0.2, 0.9),
            Vector3::new(0.0, std::f32::consts::FRAC_PI_2, 0.0),
            Vector3::new(-2.5, 0.4, 0.1),
        ];
        let flat: Vec<f32> = vectors.iter().flat_map(|v| [v.x, v.y, v.z]).collect();
        let t = Tensor::from_vec(flat, (2, 2, 3), &Device::Cpu)?;
        let m = axis_angle_to_matrix_tensor(&t)?;
        assert_eq!(m.dims(), &[2, 2, 3, 3]);
        let m: Vec<f32> = m.flatten_all()?.to_vec1()?;
        for (i, v) in vectors.iter().enumerate() {
            let expected = axis_angle_to_matrix(v);
            for r in 0..3 {
                for c in 0..3 {
                    let got = m[i * 9 + r * 3 + c];
                    assert!((got - expected[(r, c)]).abs() < 1e-5, "{i} {r} {c}");
                }
            }
            let back = matrix_to_axis_angle(&expected);
            assert!((back - v).norm() < 1e-4);
        }
        Ok(())
    }

    #[test]
    fn tensor_rodrigues_gradients_match_finite_differences() -> Result<()> {
        let dev = Device::Cpu;
        // Zero (where the fit starts its camera increments), small, ordinary and near pi.
        let vectors: [f64; 12] = [0.0, 0.0, 0.0, 1e-3, -2e-3, 5e-4, 0.3, -0.2, 0.9, -2.5, 0.4, 1.7];
        let weights: Vec<f64> = (0..36).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
        let weights = Tensor::from_vec(weights, 36, &dev)?;
        let loss =
            |r: &Tensor| -> Result<Tensor> { (axis_angle_to_matrix_tensor(r)?.flatten_all()? * &weights)?.sum_all() };
        let var = candle_core::Var::from_tensor(&Tensor::from_vec(vectors.to_vec(), (4, 3), &dev)?)?;
        let grads = loss(var.as_tensor())?.backward()?;
        let g: Vec<f64> = grads.get(var.as_tensor()).expect("a gradient").flatten_all()?.to_vec1()?;
        let eps = 1e-6;
        for i in 0..12 {
            let shifted = |delta: f64| -> Result<f64> {
                let mut x = vectors;
                x[i] += delta;
                loss(&Tensor::from_vec(x.to_vec(), (4, 3), &dev)?)?.to_scalar::<f64>()
            };
            let fd = (shifted(eps)? - shifted(-eps)?) / (2.0 * eps);
            assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "{i}: autograd {} vs finite difference {fd}", g[i]);
        }
        Ok(())
    }

    /// A spread of axis-angle vectors: zero, tiny, ordinary, near pi and exactly pi.
    fn sample_axis_angles() -> Vec<Vector3<f64>> {
        let mut out = vec![
            Vector3::zeros(),
            Vector3::new(1e-9, -2e-9, 5e-10),
            Vector3::new(1e-4, 0.0, -1e-4),
            Vector3::new(0.3, -0.2, 0.9),
            Vector3::new(-2.5, 0.4, 0.1),
            Vector3::new(0.0, std::f64::consts::PI, 0.0),
            Vector3::new(1.0, 1.0, 1.0).normalize() * (std::f64::consts::PI - 1e-6),
            Vector3::new(-1.0, 2.0, 0.5).normalize() * std::f64::consts::PI,
        ];
        // Deterministic pseudo-random rotations with angles in [0, pi).
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for _ in 0..50 {
            let axis = Vector3::new(next(), next(), next());
            if axis.norm() > 1e-3 {
                out.push(axis.normalize() * (next() * 0.5 + 0.5) * 3.1);
            }
        }
        out
    }

    /// Two axis-angle vectors describe the same rotation (at pi, `v` and `-v` are the same).
    fn same_rotation(a: &Vector3<f64>, b: &Vector3<f64>, tol: f64) -> bool {
        (axis_angle_to_matrix(a) - axis_angle_to_matrix(b)).norm() < tol
    }

    fn is_rotation(m: &Matrix3<f64>, tol: f64) -> bool {
        (m.transpose() * m - Matrix3::identity()).norm() < tol && (m.determinant() - 1.0).abs() < tol
    }

    #[test]
    fn axis_angle_matrix_quaternion_round_trips() {
        for v in sample_axis_angles() {
            let m = axis_angle_to_matrix(&v);
            assert!(is_rotation(&m, 1e-12));
            let q = axis_angle_to_quaternion(&v);
            // Every path to the matrix agrees.
            assert!((quaternion_to_matrix(&q) - m).norm() < 1e-12, "{v:?}");
            // Matrix -> axis-angle, quaternion -> axis-angle: the same vector (up to the sign at pi).
            let from_m = matrix_to_axis_angle(&m);
            let from_q = quaternion_to_axis_angle(&q);
            assert!(from_m.norm() <= std::f64::consts::PI + 1e-12);
            if v.norm() < 3.0 {
                assert!((from_m - v).norm() < 1e-9, "{v:?} -> {from_m:?}");
                assert!((from_q - v).norm() < 1e-12, "{v:?} -> {from_q:?}");
            }
            assert!(same_rotation(&from_m, &v, 1e-9) && same_rotation(&from_q, &v, 1e-9), "{v:?}");
            // Matrix -> quaternion -> matrix, and q / -q.
            let q2 = matrix_to_quaternion(&m);
            assert!(q2.w >= 0.0);
            assert!(q2.angle_to(&q) < 1e-7, "{v:?}");
            let neg = UnitQuaternion::new_unchecked(-q.into_inner());
            assert!(same_rotation(&quaternion_to_axis_angle(&neg), &v, 1e-9));
            // wxyz numbers round trip.
            let wxyz = quaternion_to_wxyz(&q);
            assert_eq!(wxyz[0], q.w);
            assert!(quaternion_from_wxyz(wxyz).unwrap().angle_to(&q) < 1e-7);
        }
    }

    #[test]
    fn tiny_angles_survive_in_f32() {
        let v = Vector3::new(1e-4_f32, -2e-4, 3e-5);
        let back = quaternion_to_axis_angle(&axis_angle_to_quaternion(&v));
        assert!((back - v).norm() < 1e-9, "{back:?}");
        let back = matrix_to_axis_angle(&axis_angle_to_matrix(&v));
        assert!((back - v).norm() < 1e-6, "{back:?}");
    }

    #[test]
    fn quaternion_from_bad_numbers_is_none() {
        assert!(quaternion_from_wxyz([0.0_f64; 4]).is_none());
        assert!(quaternion_from_wxyz([f64::NAN, 0.0, 0.0, 1.0]).is_none());
        let q = quaternion_from_wxyz([2.0_f64, 0.0, 0.0, 0.0]).unwrap();
        assert!((q.w - 1.0).abs() < 1e-15);
        // w first: a half turn about x.
        let q = quaternion_from_wxyz([0.0_f64, 1.0, 0.0, 0.0]).unwrap();
        assert!(
            (quaternion_to_matrix(&q) - Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0)).norm() < 1e-12
        );
    }

    #[test]
    fn rotation_6d_round_trips_and_layout() {
        for v in sample_axis_angles() {
            let m = axis_angle_to_matrix(&v);
            let six = matrix_to_rotation_6d(&m);
            // The layout is the first column, then the second column.
            assert_eq!(six, [m[(0, 0)], m[(1, 0)], m[(2, 0)], m[(0, 1)], m[(1, 1)], m[(2, 1)]]);
            let back = rotation_6d_to_matrix(&six).unwrap();
            assert!((back - m).norm() < 1e-12, "{v:?}");
        }
    }

    #[test]
    fn rotation_6d_of_non_orthonormal_input_is_a_proper_rotation() {
        let six = [2.0, 0.5, -0.3, 0.7, 3.0, 1.1];
        let m = rotation_6d_to_matrix(&six).unwrap();
        assert!(is_rotation(&m, 1e-12));
        // The first column keeps the direction of a1, the second stays in the plane of a1 and a2.
        let a1 = Vector3::new(2.0, 0.5, -0.3);
        let a2 = Vector3::new(0.7, 3.0, 1.1);
        assert!((m.column(0) - a1.normalize()).norm() < 1e-12);
        assert!(m.column(1).dot(&a2) > 0.0);
        assert!(m.column(2).dot(&a1).abs() < 1e-12 && m.column(2).dot(&a2).abs() < 1e-12);
        // Scale does not matter.
        let scaled = six.map(|x| x * 1e-3);
        assert!((rotation_6d_to_matrix(&scaled).unwrap() - m).norm() < 1e-12);
        // Degenerate input is refused, not a panic or NaN.
        assert!(rotation_6d_to_matrix(&[0.0; 6]).is_none());
        assert!(rotation_6d_to_matrix(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0]).is_none());
        assert!(rotation_6d_to_matrix(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_none());
        assert!(rotation_6d_to_matrix(&[f64::NAN, 0.0, 0.0, 0.0, 1.0, 0.0]).is_none());
        assert!(rotation_6d_to_matrix(&[1.0_f32, 0.0, 0.0, 0.0, 1.0, 0.0]).is_some());
    }

    #[test]
    fn rotation_6d_tensor_matches_cpu() -> Result<()> {
        let mut inputs: Vec<[f64; 6]> =
            sample_axis_angles().iter().take(12).map(|v| matrix_to_rotation_6d(&axis_angle_to_matrix(v))).collect();
        inputs.push([2.0, 0.5, -0.3, 0.7, 3.0, 1.1]);
        inputs.push([-0.1, 0.02, 0.4, 5.0, -1.0, 0.3]);
        let n = inputs.len();
        for dtype in [DType::F32, DType::F64] {
            let flat: Vec<f64> = inputs.iter().flatten().copied().collect();
            let t = Tensor::from_vec(flat, (n / 2, 2, 6), &Device::Cpu)?.to_dtype(dtype)?;
            let m = rotation_6d_to_matrix_tensor(&t)?;
            assert_eq!(m.dims(), &[n / 2, 2, 3, 3]);
            let got: Vec<f64> = m.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
            let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
            for (i, six) in inputs.iter().enumerate() {
                let expected = rotation_6d_to_matrix(six).unwrap();
                for r in 0..3 {
                    for c in 0..3 {
                        assert!((got[i * 9 + r * 3 + c] - expected[(r, c)]).abs() < tol, "{dtype:?} {i} {r} {c}");
                    }
                }
            }
            // And back to 6D: the first two columns of the orthonormalised matrices.
            let six = matrix_to_rotation_6d_tensor(&m)?;
            assert_eq!(six.dims(), &[n / 2, 2, 6]);
            let six: Vec<f64> = six.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
            for (i, input) in inputs.iter().enumerate() {
                let expected = matrix_to_rotation_6d(&rotation_6d_to_matrix(input).unwrap());
                for k in 0..6 {
                    assert!((six[i * 6 + k] - expected[k]).abs() < tol);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn rotation_6d_tensor_is_safe_and_differentiable() -> Result<()> {
        // Zero and parallel inputs give finite values and finite gradients.
        let data = [0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 0.3, -0.2, 0.9, 0.1, 0.8, -0.4];
        let x = candle_core::Var::from_vec(data.to_vec(), (3, 6), &Device::Cpu)?;
        let m = rotation_6d_to_matrix_tensor(x.as_tensor())?;
        let values: Vec<f32> = m.flatten_all()?.to_vec1()?;
        assert!(values.iter().all(|v| v.is_finite()));
        // Gradient of a scalar through the Gram–Schmidt.
        let target = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0], (3, 3), &Device::Cpu)?;
        let loss = m.narrow(0, 2, 1)?.squeeze(0)?.sub(&target)?.sqr()?.sum_all()?;
        let grads = loss.backward()?;
        let g: Vec<f32> = grads.get(x.as_tensor()).unwrap().flatten_all()?.to_vec1()?;
        assert!(g.iter().all(|v| v.is_finite()));
        assert!(g[12..].iter().any(|v| v.abs() > 1e-4));
        // Bad shapes are errors, not panics.
        assert!(rotation_6d_to_matrix_tensor(&Tensor::zeros((2, 5), DType::F32, &Device::Cpu)?).is_err());
        assert!(rotation_6d_to_matrix_tensor(&Tensor::new(1.0f32, &Device::Cpu)?).is_err());
        assert!(matrix_to_rotation_6d_tensor(&Tensor::zeros((2, 3, 2), DType::F32, &Device::Cpu)?).is_err());
        assert!(axis_angle_to_matrix_tensor(&Tensor::new(1.0f32, &Device::Cpu)?).is_err());
        // A single 6-vector (rank 1) works too.
        let one = rotation_6d_to_matrix_tensor(&Tensor::new(&[1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0], &Device::Cpu)?)?;
        assert_eq!(one.dims(), &[3, 3]);
        Ok(())
    }
}
