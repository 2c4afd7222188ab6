//! Rotation conversions: axis-angle (SMPL's file convention) to rotation matrices, on the CPU and
//! batched on candle tensors (differentiable, safe at the zero rotation).

use candle_core::{D, Result, Tensor};
use nalgebra::{Matrix3, Rotation3, Vector3};

/// Rotation matrix of an axis-angle vector (direction = axis, length = angle in radians).
pub fn axis_angle_to_matrix(axis_angle: &Vector3<f32>) -> Matrix3<f32> {
    Rotation3::from_scaled_axis(*axis_angle).into_inner()
}

/// Axis-angle vector of a rotation matrix (the inverse of [`axis_angle_to_matrix`], angle in [0, pi]).
pub fn matrix_to_axis_angle(matrix: &Matrix3<f32>) -> Vector3<f32> {
    Rotation3::from_matrix_unchecked(*matrix).scaled_axis()
}

/// Batched Rodrigues formula: axis-angle `[..., 3]` to rotation matrices `[..., 3, 3]`.
///
/// Differentiable everywhere, including at the zero rotation: the angle is computed as
/// `sqrt(|r|^2 + eps)` with a tiny `eps`, which changes the result by far less than f32 resolution.
pub fn axis_angle_to_matrix_tensor(axis_angle: &Tensor) -> Result<Tensor> {
    let dims = axis_angle.dims().to_vec();
    let last = dims.len() - 1;
    let r = axis_angle.reshape(((), 3))?;
    let n = r.dim(0)?;
    let eps = match r.dtype() {
        candle_core::DType::F64 => 1e-16,
        _ => 1e-12,
    };
    let angle = (r.sqr()?.sum_keepdim(D::Minus1)? + eps)?.sqrt()?; // [n, 1]
    let axis = r.broadcast_div(&angle)?; // [n, 3]
    let (x, y, z) = (axis.narrow(1, 0, 1)?, axis.narrow(1, 1, 1)?, axis.narrow(1, 2, 1)?);
    let zeros = x.zeros_like()?;
    // Cross-product matrix K of the unit axis, rows flattened: [n, 9].
    let k =
        Tensor::cat(&[&zeros, &z.neg()?, &y, &z, &zeros, &x.neg()?, &y.neg()?, &x, &zeros], 1)?.reshape((n, 3, 3))?;
    let k2 = k.matmul(&k)?;
    let sin = angle.sin()?.reshape((n, 1, 1))?;
    let one_minus_cos = (1.0 - angle.cos()?)?.reshape((n, 1, 1))?;
    let eye = Tensor::eye(3, r.dtype(), r.device())?.unsqueeze(0)?;
    let rot = eye.broadcast_add(&k.broadcast_mul(&sin)?)?.broadcast_add(&k2.broadcast_mul(&one_minus_cos)?)?;
    let mut out_dims = dims[..last].to_vec();
    out_dims.extend([3, 3]);
    rot.reshape(out_dims)
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
}
