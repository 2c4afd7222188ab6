//! The AVX-512 kernel of [`super::matmul_packed`]: 12 pixels x 32 output channels (two of the
//! packed 16-channel panels, one register each) a pass, 24 accumulators of the 32 registers; a
//! last odd panel runs alone. Partial panels load and store through lane masks.

use super::{Activation, PANEL, PackedWeights};
use std::arch::x86_64::*;

/// Pixels (rows) per pass.
const ROWS: usize = 12;

/// `dst[m, n] = act(bias + residual + lhs[m, k] w[k, n])`.
///
/// # Safety
/// The CPU has AVX-512 F, AVX2 and FMA; `lhs` holds `m * k` values, `dst` (and `residual`, if
/// any) `m * n`.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn matmul_packed_avx512(
    m: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    let panels = w.n.div_ceil(PANEL);
    let mut r = 0;
    while r < m {
        let rows = match m - r {
            ROWS.. => ROWS,
            8.. => 8,
            4.. => 4,
            2.. => 2,
            _ => 1,
        };
        let mut p = 0;
        while p < panels {
            let pair = p + 1 < panels;
            // SAFETY: rows r..r + rows <= m and panels p..p + 1 (+ 1 when `pair`) < panels, within
            // the caller's bounds.
            unsafe {
                match (rows, pair) {
                    (ROWS, true) => micro::<ROWS, 2>(r, p, lhs, w, residual, act, dst),
                    (ROWS, false) => micro::<ROWS, 1>(r, p, lhs, w, residual, act, dst),
                    (8, true) => micro::<8, 2>(r, p, lhs, w, residual, act, dst),
                    (8, false) => micro::<8, 1>(r, p, lhs, w, residual, act, dst),
                    (4, true) => micro::<4, 2>(r, p, lhs, w, residual, act, dst),
                    (4, false) => micro::<4, 1>(r, p, lhs, w, residual, act, dst),
                    (2, true) => micro::<2, 2>(r, p, lhs, w, residual, act, dst),
                    (2, false) => micro::<2, 1>(r, p, lhs, w, residual, act, dst),
                    (_, true) => micro::<1, 2>(r, p, lhs, w, residual, act, dst),
                    (_, false) => micro::<1, 1>(r, p, lhs, w, residual, act, dst),
                }
            }
            p += if pair { 2 } else { 1 };
        }
        r += rows;
    }
}

/// `R` output rows (pixels) x `P` panels of 16 output channels from panel `p`.
///
/// # Safety
/// AVX-512 F available; rows `r..r + R` within `lhs` (`k` per row), `dst` and `residual` (`n` per
/// row); panels `p..p + P` of `w`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn micro<const R: usize, const P: usize>(
    r: usize,
    p: usize,
    lhs: &[f32],
    w: &PackedWeights,
    residual: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
) {
    let (k, n) = (w.k, w.n);
    // Lanes of each panel inside the output's n channels.
    let mut masks = [0u16; P];
    for (q, mask) in masks.iter_mut().enumerate() {
        let cols = PANEL.min(n - (p + q) * PANEL);
        *mask = if cols == PANEL { u16::MAX } else { (1u16 << cols) - 1 };
    }
    // SAFETY (whole body): bias and weights are padded to whole panels; lhs rows r..r + R have k
    // values; dst and residual rows have n values, of which only the masked lanes (columns inside
    // n) are read or written, and masked-off lanes never fault.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); P]; R];
        for q in 0..P {
            let bias = _mm512_loadu_ps(w.bias.as_ptr().add((p + q) * PANEL));
            for i in 0..R {
                acc[i][q] = bias;
            }
        }
        if let Some(res) = residual {
            for i in 0..R {
                for q in 0..P {
                    let src = res.as_ptr().add((r + i) * n + (p + q) * PANEL);
                    acc[i][q] = _mm512_add_ps(acc[i][q], _mm512_maskz_loadu_ps(masks[q], src));
                }
            }
        }
        let a = lhs.as_ptr().add(r * k);
        let b = w.data.as_ptr().add(p * k * PANEL);
        for kk in 0..k {
            let mut wv = [_mm512_setzero_ps(); P];
            for q in 0..P {
                wv[q] = _mm512_loadu_ps(b.add((q * k + kk) * PANEL));
            }
            for i in 0..R {
                let x = _mm512_set1_ps(*a.add(i * k + kk));
                for q in 0..P {
                    acc[i][q] = _mm512_fmadd_ps(x, wv[q], acc[i][q]);
                }
            }
        }
        let (lo, hi) = act.bounds();
        let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
        for i in 0..R {
            for q in 0..P {
                let v = _mm512_min_ps(_mm512_max_ps(acc[i][q], vlo), vhi);
                _mm512_mask_storeu_ps(dst.as_mut_ptr().add((r + i) * n + (p + q) * PANEL), masks[q], v);
            }
        }
    }
}
