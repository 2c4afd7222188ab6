//! Single-threaded `f32` matrix products with the bias, an optional residual and an activation
//! fused in: [`matmul_packed`] on weights packed once ([`PackedWeights`]), which reads the
//! left-hand side in place, a 12 x 32 register-blocked AVX-512 kernel or a 6 x 16 AVX2/FMA one
//! chosen at run time ([`SimdLevel`]), and [`matmul_bias`] through `gemm` (the kernel candle's CPU
//! backend uses) on CPUs without AVX2 and FMA. The BlazePose graphs run
//! their convolutions on them (`detect`), and CMANet its linear layers at inference
//! ([`crate::net::linear`]): on a handful of rows they are 3-4 times faster than candle's matmul.

use super::simd::SimdLevel;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// An activation fused into a matrix product (a TFLite op's, or a network layer's).
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
    /// Applies the activation in place. Plain loops, no closures: inlined into a kernel compiled
    /// with wider target features, a closure would still be compiled without them (the depthwise
    /// kernel's stores kept their sums out of registers that way).
    #[inline(always)]
    pub fn apply(self, xs: &mut [f32]) {
        match self {
            Self::None => {}
            Self::Relu => {
                for x in xs {
                    *x = x.max(0.0);
                }
            }
            Self::Relu6 => {
                for x in xs {
                    *x = x.clamp(0.0, 6.0);
                }
            }
        }
    }

    /// The `(min, max)` the activation clamps to.
    pub(crate) fn bounds(self) -> (f32, f32) {
        match self {
            Self::None => (f32::NEG_INFINITY, f32::INFINITY),
            Self::Relu => (0.0, f32::INFINITY),
            Self::Relu6 => (0.0, 6.0),
        }
    }
}

/// `dst[m, n] = act(bias[n] + residual[m, n] + sum_k lhs[m, k] rhs[k, n])`, all row-major,
/// single-threaded (`residual` optional: a fused ADD). Large products run in blocks of rows small
/// enough that the bias, the product and the activation meet the block in cache.
#[allow(clippy::too_many_arguments)]
pub fn matmul_bias(
    m: usize,
    k: usize,
    n: usize,
    lhs: &[f32],
    rhs: &[f32],
    bias: &[f32],
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && dst.len() >= m * n && bias.len() == n);
    assert!(residual.is_none_or(|r| r.len() >= m * n));
    if m == 0 || n == 0 {
        return;
    }
    // About 64 KiB of output per block, but never so few rows that re-packing the weights for each
    // block costs more than the product (blocks only where the weights are small).
    let rows = if k * n <= 16 * 1024 { (16 * 1024 / n).max(64) } else { m };
    let mut r0 = 0;
    while r0 < m {
        let r1 = (r0 + rows).min(m);
        let block = &mut dst[r0 * n..r1 * n];
        match residual {
            Some(r) => {
                for (row, res) in block.chunks_exact_mut(n).zip(r[r0 * n..r1 * n].chunks_exact(n)) {
                    for ((d, b), x) in row.iter_mut().zip(bias).zip(res) {
                        *d = b + x;
                    }
                }
            }
            None => {
                for row in block.chunks_exact_mut(n) {
                    row.copy_from_slice(bias);
                }
            }
        }
        if k > 0 {
            // SAFETY: the asserts above bound every index gemm touches: dst rows r0..r1 with row
            // stride n, lhs rows r0..r1 with row stride k, rhs k x n with row stride n; dst does
            // not overlap the inputs (it is borrowed mutably).
            unsafe {
                gemm::gemm(
                    r1 - r0,
                    n,
                    k,
                    block.as_mut_ptr(),
                    1,
                    n as isize,
                    true,
                    lhs[r0 * k..].as_ptr(),
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
        act.apply(block);
        r0 = r1;
    }
}

/// Weights `[k][n]` (a convolution's, a linear layer's transposed) repacked for [`matmul_packed`]: panels of 16 output channels,
/// `[panel][k][16]`, the last panel zero-padded.
#[derive(Clone, Debug)]
pub struct PackedWeights {
    k: usize,
    n: usize,
    data: Vec<f32>,
    bias: Vec<f32>,
}

/// Output channels per panel of [`PackedWeights`] (two AVX registers).
const PANEL: usize = 16;
/// Pixels (rows) per pass of the packed kernel: 6 x 2 accumulators + 2 weights + 1 broadcast
/// registers of the 16.
const ROWS: usize = 6;

impl PackedWeights {
    /// Packs row-major `rhs` (`k x n`) and the bias (`n`).
    pub fn new(rhs: &[f32], bias: &[f32], k: usize, n: usize) -> Self {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0.0; panels * k * PANEL];
        for p in 0..panels {
            for kk in 0..k {
                for j in 0..PANEL.min(n - p * PANEL) {
                    data[(p * k + kk) * PANEL + j] = rhs[kk * n + p * PANEL + j];
                }
            }
        }
        let mut b = vec![0.0; panels * PANEL];
        b[..n].copy_from_slice(bias);
        Self { k, n, data, bias: b }
    }

    /// The length of an input row (`k`).
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// The length of an output row (`n`).
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// Whether [`matmul_packed`] runs a packed kernel here (the active [`SimdLevel`] is AVX2 or
    /// wider); without one it unpacks the weights on every call.
    pub fn supported() -> bool {
        SimdLevel::active() >= SimdLevel::Avx2
    }
}

/// `dst[m, n] = act(bias + residual + lhs[m, k] w[k, n])` with pre-packed weights, on the kernel
/// of the active [`SimdLevel`]: 12 pixels x 32 channels a pass with AVX-512, 6 x 16 with AVX2 and
/// FMA, reading the activations in place; `gemm` on other CPUs.
pub fn matmul_packed(
    m: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    matmul_packed_with(SimdLevel::active(), m, lhs, w, residual, act, dst)
}

/// [`matmul_packed`] on the kernel of `level`, or of the widest level below it this CPU runs (to
/// compare the kernels, and to test each on one machine).
pub fn matmul_packed_with(
    level: SimdLevel,
    m: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    let (k, n) = (w.k, w.n);
    assert!(lhs.len() >= m * k && dst.len() >= m * n && residual.is_none_or(|r| r.len() >= m * n));
    #[cfg(target_arch = "x86_64")]
    match level.min(SimdLevel::detected()) {
        // SAFETY: the CPU has AVX-512 F, AVX2 and FMA (detected); the asserts bound the slices.
        SimdLevel::Avx512 => return unsafe { avx512::matmul_packed_avx512(m, lhs, w, residual, act, dst) },
        // SAFETY: the CPU has AVX2 and FMA (detected); the asserts bound the slices.
        SimdLevel::Avx2 => return unsafe { matmul_packed_avx2(m, lhs, w, residual, act, dst) },
        SimdLevel::Portable => {}
    }
    // Unpack and use gemm (slow path, only on old CPUs).
    let mut rhs = vec![0.0; k * n];
    for kk in 0..k {
        for j in 0..n {
            rhs[kk * n + j] = w.data[((j / PANEL) * k + kk) * PANEL + j % PANEL];
        }
    }
    matmul_bias(m, k, n, lhs, &rhs, &w.bias[..n], residual, act, dst);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_packed_avx2(
    m: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    let panels = w.n.div_ceil(PANEL);
    // A last panel of at most 8 channels runs with one register per row (and twice the rows).
    let half = !w.n.is_multiple_of(PANEL) && w.n % PANEL <= PANEL / 2;
    let full = if half { panels - 1 } else { panels };
    let mut r = 0;
    while r < m {
        let rows = ROWS.min(m - r);
        for p in 0..full {
            // SAFETY: rows r..r + rows < m and panel p < panels, within the asserted bounds.
            unsafe {
                match rows {
                    6 => micro::<6>(r, p, lhs, w, residual, act, dst),
                    5 => micro::<5>(r, p, lhs, w, residual, act, dst),
                    4 => micro::<4>(r, p, lhs, w, residual, act, dst),
                    3 => micro::<3>(r, p, lhs, w, residual, act, dst),
                    2 => micro::<2>(r, p, lhs, w, residual, act, dst),
                    _ => micro::<1>(r, p, lhs, w, residual, act, dst),
                }
            }
        }
        r += rows;
    }
    if half {
        let p = panels - 1;
        let mut r = 0;
        while r < m {
            // SAFETY: rows r..r + step <= m and the last panel, within the asserted bounds.
            let step = unsafe {
                match m - r {
                    12.. => {
                        micro8::<12>(r, p, lhs, w, residual, act, dst);
                        12
                    }
                    8.. => {
                        micro8::<8>(r, p, lhs, w, residual, act, dst);
                        8
                    }
                    4.. => {
                        micro8::<4>(r, p, lhs, w, residual, act, dst);
                        4
                    }
                    _ => {
                        micro8::<1>(r, p, lhs, w, residual, act, dst);
                        1
                    }
                }
            };
            r += step;
        }
    }
}

/// `R` output rows (pixels) x the first 8 channels of panel `p` (a last panel of at most 8).
///
/// # Safety
/// As [`micro`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn micro8<const R: usize>(
    r: usize,
    p: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (k, n) = (w.k, w.n);
    let c0 = p * PANEL;
    let cols = (PANEL / 2).min(n - c0);
    // SAFETY (whole body): as in `micro`, touching only columns c0..c0 + cols (<= 8).
    unsafe {
        let mut acc = [_mm256_loadu_ps(w.bias.as_ptr().add(c0)); R];
        if let Some(res) = residual {
            for i in 0..R {
                let src = res.as_ptr().add((r + i) * n + c0);
                let v = if cols == 8 {
                    _mm256_loadu_ps(src)
                } else {
                    let mut tmp = [0.0f32; 8];
                    std::ptr::copy_nonoverlapping(src, tmp.as_mut_ptr(), cols);
                    _mm256_loadu_ps(tmp.as_ptr())
                };
                acc[i] = _mm256_add_ps(acc[i], v);
            }
        }
        let a = lhs.as_ptr().add(r * k);
        let b = w.data.as_ptr().add(p * k * PANEL);
        for kk in 0..k {
            let b0 = _mm256_loadu_ps(b.add(kk * PANEL));
            for i in 0..R {
                acc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*a.add(i * k + kk)), b0, acc[i]);
            }
        }
        let (lo, hi) = act.bounds();
        let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        for i in 0..R {
            let v = _mm256_min_ps(_mm256_max_ps(acc[i], vlo), vhi);
            let out = dst.as_mut_ptr().add((r + i) * n + c0);
            if cols == 8 {
                _mm256_storeu_ps(out, v);
            } else {
                let mut tmp = [0.0f32; 8];
                _mm256_storeu_ps(tmp.as_mut_ptr(), v);
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), out, cols);
            }
        }
    }
}

/// `R` output rows (pixels) x one panel of 16 output channels.
///
/// # Safety
/// AVX2 and FMA available; rows `r..r + R` within `lhs` (`k` per row), `dst` and `residual` (`n`
/// per row); `p` a panel of `w`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn micro<const R: usize>(
    r: usize,
    p: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (k, n) = (w.k, w.n);
    let c0 = p * PANEL;
    let cols = PANEL.min(n - c0);
    // SAFETY (whole body): every pointer below stays inside the slices per the caller's contract:
    // bias and weights are padded to whole panels; lhs rows r..r + R have k values; dst and residual
    // rows have n values, of which columns c0..c0 + cols are touched (through a 16-wide temporary
    // when the panel is partial).
    unsafe {
        let bias0 = _mm256_loadu_ps(w.bias.as_ptr().add(c0));
        let bias1 = _mm256_loadu_ps(w.bias.as_ptr().add(c0 + 8));
        let mut acc = [[bias0, bias1]; R];
        if let Some(res) = residual {
            for i in 0..R {
                let src = res.as_ptr().add((r + i) * n + c0);
                let (v0, v1) = if cols == PANEL {
                    (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8)))
                } else {
                    let mut tmp = [0.0f32; PANEL];
                    std::ptr::copy_nonoverlapping(src, tmp.as_mut_ptr(), cols);
                    (_mm256_loadu_ps(tmp.as_ptr()), _mm256_loadu_ps(tmp.as_ptr().add(8)))
                };
                acc[i][0] = _mm256_add_ps(acc[i][0], v0);
                acc[i][1] = _mm256_add_ps(acc[i][1], v1);
            }
        }
        let a = lhs.as_ptr().add(r * k);
        let b = w.data.as_ptr().add(p * k * PANEL);
        for kk in 0..k {
            let b0 = _mm256_loadu_ps(b.add(kk * PANEL));
            let b1 = _mm256_loadu_ps(b.add(kk * PANEL + 8));
            for i in 0..R {
                let x = _mm256_broadcast_ss(&*a.add(i * k + kk));
                acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
            }
        }
        let (lo, hi) = act.bounds();
        let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        for i in 0..R {
            let v0 = _mm256_min_ps(_mm256_max_ps(acc[i][0], vlo), vhi);
            let v1 = _mm256_min_ps(_mm256_max_ps(acc[i][1], vlo), vhi);
            let out = dst.as_mut_ptr().add((r + i) * n + c0);
            if cols == PANEL {
                _mm256_storeu_ps(out, v0);
                _mm256_storeu_ps(out.add(8), v1);
            } else {
                let mut tmp = [0.0f32; PANEL];
                _mm256_storeu_ps(tmp.as_mut_ptr(), v0);
                _mm256_storeu_ps(tmp.as_mut_ptr().add(8), v1);
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), out, cols);
            }
        }
    }
}
