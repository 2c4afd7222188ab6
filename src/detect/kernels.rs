//! The numeric kernels of the BlazePose graphs on plain NHWC `f32` slices (batch 1), written to match
//! TensorFlow Lite's float kernels: convolution as im2col + `gemm` (the matrix kernel candle's CPU
//! backend uses, here called directly so that a 1x1 convolution reads the activation in place and the
//! bias is added inside the product), a direct depthwise convolution (compiled twice, for AVX2 + FMA
//! when the CPU has them and for plain SSE2), max pooling, bilinear resize with half-pixel centres,
//! DEPTH_TO_SPACE in TensorFlow's element order, zero padding and a stable sigmoid.
//!
//! Every kernel is single-threaded: the crate runs with one rayon thread per inference.

/// A fused activation of a TFLite op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Activation {
    /// Applies the activation in place.
    #[inline]
    pub fn apply(self, xs: &mut [f32]) {
        match self {
            Self::None => {}
            Self::Relu => xs.iter_mut().for_each(|x| *x = x.max(0.0)),
            Self::Relu6 => xs.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        }
    }
}

/// Geometry of a 2D window op (convolution or pooling) on an NHWC activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input height and width.
    pub in_hw: [usize; 2],
    /// Output height and width.
    pub out_hw: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Strides (y, x).
    pub stride: [usize; 2],
    /// Padding top, bottom, left, right (TF SAME puts the odd pixel bottom/right).
    pub pad: [usize; 4],
}

impl Window {
    /// The output size of a window over `in_hw` with this kernel, stride and padding.
    pub fn output_size(in_hw: [usize; 2], kernel: [usize; 2], stride: [usize; 2], pad: [usize; 4]) -> Option<[usize; 2]> {
        let h = (in_hw[0] + pad[0] + pad[1]).checked_sub(kernel[0])? / stride[0] + 1;
        let w = (in_hw[1] + pad[2] + pad[3]).checked_sub(kernel[1])? / stride[1] + 1;
        Some([h, w])
    }

    /// The range of kernel rows that land inside the input for output row `oy`, and the input row of
    /// kernel row 0 (may be negative).
    #[inline]
    fn taps(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize, isize) {
        let start = (o * stride) as isize - pad as isize;
        let k0 = (-start).max(0) as usize;
        let k1 = ((size as isize - start).min(k as isize)).max(0) as usize;
        (k0.min(k1), k1, start)
    }
}

/// `dst[m, n] = bias[n] + sum_k lhs[m, k] rhs[k, n]`, all row-major, single-threaded.
pub fn matmul_bias(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], bias: &[f32], dst: &mut [f32]) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && dst.len() >= m * n && bias.len() == n);
    for row in dst[..m * n].chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: the asserts above bound every index gemm touches: dst is m x n with row stride n,
    // lhs m x k with row stride k, rhs k x n with row stride n; the three do not overlap (one is
    // borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Gathers the im2col matrix of a convolution: row `oy * OW + ox`, column `(ky * KW + kx) * C + c`,
/// zero outside the input.
pub fn im2col(input: &[f32], channels: usize, win: &Window, out: &mut Vec<f32>) {
    let [ih, iw] = win.in_hw;
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    let cols = kh * kw * channels;
    out.clear();
    out.resize(oh * ow * cols, 0.0);
    for oy in 0..oh {
        let (ky0, ky1, y_start) = Window::taps(oy, win.stride[0], win.pad[0], kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, x_start) = Window::taps(ox, win.stride[1], win.pad[2], kw, iw);
            let row = &mut out[(oy * ow + ox) * cols..][..cols];
            for ky in ky0..ky1 {
                let iy = (y_start + ky as isize) as usize;
                let src = &input[(iy * iw + (x_start + kx0 as isize) as usize) * channels..][..(kx1 - kx0) * channels];
                row[(ky * kw + kx0) * channels..][..src.len()].copy_from_slice(src);
            }
        }
    }
}

/// Depthwise convolution (multiplier 1) on NHWC: `weights` is `[KH * KW][C]`, `bias` `[C]`, the
/// activation fused.
pub fn depthwise(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    assert_eq!(input.len(), win.in_hw[0] * win.in_hw[1] * channels);
    assert_eq!(out.len(), win.out_hw[0] * win.out_hw[1] * channels);
    assert_eq!(weights.len(), win.kernel[0] * win.kernel[1] * channels);
    assert_eq!(bias.len(), channels);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        unsafe { depthwise_avx2(input, channels, win, weights, bias, act, out) };
        return;
    }
    depthwise_impl::<false>(input, channels, win, weights, bias, act, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn depthwise_avx2(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    depthwise_impl::<true>(input, channels, win, weights, bias, act, out)
}

/// Channel block held in registers across the taps (4 AVX registers).
const BLOCK: usize = 32;

#[inline(always)]
fn depthwise_impl<const FMA: bool>(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let [ih, iw] = win.in_hw;
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    let c = channels;
    for oy in 0..oh {
        let (ky0, ky1, y_start) = Window::taps(oy, win.stride[0], win.pad[0], kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, x_start) = Window::taps(ox, win.stride[1], win.pad[2], kw, iw);
            let dst = &mut out[(oy * ow + ox) * c..][..c];
            let mut c0 = 0;
            while c0 < c {
                let len = BLOCK.min(c - c0);
                let mut acc = [0.0f32; BLOCK];
                acc[..len].copy_from_slice(&bias[c0..c0 + len]);
                if len == BLOCK {
                    for ky in ky0..ky1 {
                        let iy = (y_start + ky as isize) as usize;
                        for kx in kx0..kx1 {
                            let ix = (x_start + kx as isize) as usize;
                            let x: &[f32; BLOCK] = input[(iy * iw + ix) * c + c0..][..BLOCK].try_into().unwrap_or(&[0.0; BLOCK]);
                            let w: &[f32; BLOCK] =
                                weights[(ky * kw + kx) * c + c0..][..BLOCK].try_into().unwrap_or(&[0.0; BLOCK]);
                            for j in 0..BLOCK {
                                acc[j] = if FMA { x[j].mul_add(w[j], acc[j]) } else { x[j] * w[j] + acc[j] };
                            }
                        }
                    }
                } else {
                    for ky in ky0..ky1 {
                        let iy = (y_start + ky as isize) as usize;
                        for kx in kx0..kx1 {
                            let ix = (x_start + kx as isize) as usize;
                            let x = &input[(iy * iw + ix) * c + c0..][..len];
                            let w = &weights[(ky * kw + kx) * c + c0..][..len];
                            for j in 0..len {
                                acc[j] = if FMA { x[j].mul_add(w[j], acc[j]) } else { x[j] * w[j] + acc[j] };
                            }
                        }
                    }
                }
                dst[c0..c0 + len].copy_from_slice(&acc[..len]);
                c0 += len;
            }
            act.apply(dst);
        }
    }
}

/// Max pooling on NHWC (padding, if any, never wins).
pub fn max_pool(input: &[f32], channels: usize, win: &Window, out: &mut [f32]) {
    let [ih, iw] = win.in_hw;
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    for oy in 0..oh {
        let (ky0, ky1, y_start) = Window::taps(oy, win.stride[0], win.pad[0], kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, x_start) = Window::taps(ox, win.stride[1], win.pad[2], kw, iw);
            let dst = &mut out[(oy * ow + ox) * channels..][..channels];
            dst.fill(f32::NEG_INFINITY);
            for ky in ky0..ky1 {
                let iy = (y_start + ky as isize) as usize;
                for kx in kx0..kx1 {
                    let ix = (x_start + kx as isize) as usize;
                    let src = &input[(iy * iw + ix) * channels..][..channels];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d = d.max(*s);
                    }
                }
            }
        }
    }
}

/// Source rows (or columns) and weights of a half-pixel-centre bilinear resize from `size` to `out`.
fn resize_coords(out: usize, size: usize) -> Vec<(usize, usize, f32)> {
    let scale = size as f32 / out as f32;
    (0..out)
        .map(|o| {
            let s = (o as f32 + 0.5) * scale - 0.5;
            let lo = s.floor().max(0.0) as usize;
            let hi = (s.ceil() as usize).min(size - 1);
            (lo.min(size - 1), hi, s - lo as f32)
        })
        .collect()
}

/// Bilinear resize on NHWC with half-pixel centres and no corner alignment (TF2's default).
pub fn resize_bilinear(input: &[f32], in_hw: [usize; 2], channels: usize, out_hw: [usize; 2], out: &mut [f32]) {
    let ys = resize_coords(out_hw[0], in_hw[0]);
    let xs = resize_coords(out_hw[1], in_hw[1]);
    let iw = in_hw[1];
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            let a = &input[(y0 * iw + x0) * channels..][..channels];
            let b = &input[(y1 * iw + x0) * channels..][..channels];
            let c = &input[(y0 * iw + x1) * channels..][..channels];
            let d = &input[(y1 * iw + x1) * channels..][..channels];
            let dst = &mut out[(oy * out_hw[1] + ox) * channels..][..channels];
            let (wa, wb, wc, wd) = ((1.0 - fy) * (1.0 - fx), fy * (1.0 - fx), (1.0 - fy) * fx, fy * fx);
            for j in 0..channels {
                dst[j] = a[j] * wa + b[j] * wb + c[j] * wc + d[j] * wd;
            }
        }
    }
}

/// DEPTH_TO_SPACE in TensorFlow's order: `out[y * bs + i, x * bs + j, c] = in[y, x, (i * bs + j) * C' + c]`.
pub fn depth_to_space(input: &[f32], in_hw: [usize; 2], channels: usize, block: usize, out: &mut [f32]) {
    let co = channels / (block * block);
    let ow = in_hw[1] * block;
    for y in 0..in_hw[0] {
        for x in 0..in_hw[1] {
            let src = &input[(y * in_hw[1] + x) * channels..][..channels];
            for i in 0..block {
                for j in 0..block {
                    let dst = &mut out[((y * block + i) * ow + x * block + j) * co..][..co];
                    dst.copy_from_slice(&src[(i * block + j) * co..][..co]);
                }
            }
        }
    }
}

/// Zero padding of a 4D tensor: `pads` is `[before, after]` per dimension.
pub fn pad4(input: &[f32], shape: [usize; 4], pads: [[usize; 2]; 4], out: &mut [f32]) {
    let os: Vec<usize> = (0..4).map(|d| shape[d] + pads[d][0] + pads[d][1]).collect();
    out.fill(0.0);
    let inner = shape[3];
    for n in 0..shape[0] {
        for y in 0..shape[1] {
            for x in 0..shape[2] {
                let src = &input[((n * shape[1] + y) * shape[2] + x) * inner..][..inner];
                let o = (((n + pads[0][0]) * os[1] + y + pads[1][0]) * os[2] + x + pads[2][0]) * os[3] + pads[3][0];
                out[o..o + inner].copy_from_slice(src);
            }
        }
    }
}

/// The logistic function, without overflow for large |x|.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
