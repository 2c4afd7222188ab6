//! Products with pruned weights: `dst[m, n] = act(bias + residual + lhs[m, k] w[k, n])` where most
//! of `w` is zero (the BlazePose person detector's 1 x 1 convolutions: 75 % zeros, unstructured),
//! multiplying only the nonzero weights, as XNNPACK's sparse inference does.
//!
//! The activations stay pixel-major (`[m][k]`, as every other op reads them). Each block of 64
//! pixels is transposed to channel-major (`[k][64]` on whole cache lines, 128 input channels at a
//! time so that they stay in the first-level cache), every output channel then sums its nonzero
//! weights times whole 16-pixel vectors of the block (two sets of up to four sums over alternate
//! weights: eight multiply-adds in flight, one weight broadcast per four), and the block's
//! `[n][64]` sums are transposed back with the bias, the residual and the activation. On the
//! detector's wide layers this takes 0.55-0.65 of the dense kernel's time; on narrow ones the two
//! transposes cost what the zeros save, which [`SparseWeights::pays_off`] decides (plugin-docs,
//! detection: speed). AVX-512 only ([`SparseWeights::supported`]); other CPUs keep the dense
//! kernels of [`super::matmul`].

use super::matmul::Activation;
use super::simd::SimdLevel;

/// Pixels per block: four AVX-512 registers.
const BLOCK: usize = 64;

/// Input channels per chunk: a block's chunk of rows (`CHUNK x BLOCK` floats, 32 KiB) stays in
/// the first-level cache while every output channel reads it.
const CHUNK: usize = 128;

/// Weights `[k][n]` stored by output channel, nonzeros only, in chunks of [`CHUNK`] input
/// channels (compressed sparse rows of each chunk's `w^T`).
#[derive(Clone, Debug)]
pub struct SparseWeights {
    k: usize,
    n: usize,
    chunks: Vec<Chunk>,
    bias: Vec<f32>,
}

/// The nonzero weights of input channels `first..first + len`.
#[derive(Clone, Debug)]
struct Chunk {
    first: usize,
    len: usize,
    /// `starts[j]..starts[j + 1]`: output channel `j`'s entries of `inputs` and `values`.
    starts: Vec<usize>,
    /// Input channel of each nonzero weight, from `first`.
    inputs: Vec<u32>,
    /// The nonzero weights.
    values: Vec<f32>,
}

impl SparseWeights {
    /// Keeps the nonzeros of row-major `rhs` (`k x n`) and the bias (`n`).
    pub fn new(rhs: &[f32], bias: &[f32], k: usize, n: usize) -> Self {
        assert!(rhs.len() == k * n && bias.len() == n);
        let chunks = (0..k)
            .step_by(CHUNK)
            .map(|first| {
                let len = CHUNK.min(k - first);
                let mut starts = Vec::with_capacity(n + 1);
                let (mut inputs, mut values) = (Vec::new(), Vec::new());
                starts.push(0);
                for j in 0..n {
                    for i in 0..len {
                        let w = rhs[(first + i) * n + j];
                        if w != 0.0 {
                            inputs.push(i as u32);
                            values.push(w);
                        }
                    }
                    starts.push(values.len());
                }
                Chunk { first, len, starts, inputs, values }
            })
            .collect();
        Self { k, n, chunks, bias: bias.to_vec() }
    }

    /// The share of the weights that are nonzero.
    pub fn density(&self) -> f64 {
        let nonzero: usize = self.chunks.iter().map(|c| c.values.len()).sum();
        nonzero as f64 / (self.k * self.n).max(1) as f64
    }

    /// Whether [`matmul_sparse`] runs here (the active [`SimdLevel`] is AVX-512).
    /// `CMANET_SPARSE=off` turns it off (read once), to time the dense kernels against it.
    pub fn supported() -> bool {
        static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let off =
            *OFF.get_or_init(|| std::env::var("CMANET_SPARSE").is_ok_and(|v| v.trim().eq_ignore_ascii_case("off")));
        !off && SimdLevel::active() >= SimdLevel::Avx512
    }

    /// The scratch [`matmul_sparse`] needs, in floats: a chunk's transposed block and the block's
    /// sums, and room to start them on a cache line.
    pub fn scratch_len(&self) -> usize {
        (CHUNK.min(self.k) + self.n) * BLOCK + 16
    }

    /// Whether the sparse product is expected to beat the dense one by a tenth at least. Per
    /// pixel, in units of one of the dense kernel's multiply-adds (it does `k * n`), the sparse
    /// one costs about 1.8 per nonzero weight and 15 per value transposed (`k + n`), as measured
    /// on the detector's layer shapes on an AVX-512 machine (plugin-docs, detection).
    pub fn pays_off(&self) -> bool {
        let (k, n) = (self.k as f64, self.n as f64);
        1.8 * self.density() * k * n + 15.0 * (k + n) < 0.9 * k * n
    }
}

/// `dst[m, n] = act(bias + residual + lhs[m, k] w[k, n])`, all row-major, single-threaded. Sums
/// in another order than the dense kernels, so results differ from theirs by rounding. `scratch`
/// holds at least [`SparseWeights::scratch_len`] values, whatever they are (the caller's pooled
/// buffer: nothing is allocated or cleared per call).
///
/// # Panics
/// If the slices are shorter than `m` rows or `scratch` than its length, or the CPU lacks AVX-512
/// ([`SparseWeights::supported`]).
pub fn matmul_sparse(
    m: usize,
    lhs: &[f32],
    w: &SparseWeights,
    residual: Option<&[f32]>,
    act: Activation,
    scratch: &mut [f32],
    dst: &mut [f32],
) {
    let (k, n) = (w.k, w.n);
    assert!(lhs.len() >= m * k && dst.len() >= m * n && residual.is_none_or(|r| r.len() >= m * n));
    assert!(scratch.len() >= w.scratch_len(), "matmul_sparse: scratch shorter than scratch_len");
    assert!(SimdLevel::detected() >= SimdLevel::Avx512, "matmul_sparse needs AVX-512");
    #[cfg(target_arch = "x86_64")]
    {
        // Both blocks on whole 64-byte cache lines, so that no 16-float load of a block's row
        // straddles two lines (a straddling load costs two): the first from the first line start,
        // the second after a whole number of lines (BLOCK floats are four lines).
        let skip = scratch.as_ptr().align_offset(64).min(16);
        let (block_in, block_out) = scratch[skip..].split_at_mut(CHUNK.min(k) * BLOCK);
        let mut p0 = 0;
        while p0 < m {
            let rows = BLOCK.min(m - p0);
            let block = &lhs[p0 * k..(p0 + rows) * k];
            for (c, chunk) in w.chunks.iter().enumerate() {
                let add = c > 0;
                // SAFETY: the CPU has AVX-512 F (asserted); `block` holds `rows` rows of k, the
                // chunk's channels lie inside k; the block buffers hold CHUNK and n rows of BLOCK.
                // Only what these calls wrote is read back (the block's first `rows` rounded up to
                // 16 columns of each row), so the scratch's earlier contents do not matter.
                unsafe {
                    avx512::transpose_in(block, k, chunk.first, chunk.len, rows, block_in);
                    match rows.div_ceil(16) {
                        4 => avx512::sums::<4>(chunk, n, add, block_in, block_out),
                        3 => avx512::sums::<3>(chunk, n, add, block_in, block_out),
                        2 => avx512::sums::<2>(chunk, n, add, block_in, block_out),
                        _ => avx512::sums::<1>(chunk, n, add, block_in, block_out),
                    }
                }
            }
            let res = residual.map(|r| &r[p0 * n..(p0 + rows) * n]);
            // SAFETY: as above; the residual and dst blocks hold `rows` rows of n.
            unsafe { avx512::transpose_out(block_out, n, rows, &w.bias, res, act, &mut dst[p0 * n..(p0 + rows) * n]) };
            p0 += rows;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (m, lhs, residual, act, scratch, dst);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Activation, BLOCK, Chunk};
    use std::arch::x86_64::*;

    /// `out[i][p] = block[p][first + i]` for `len` channels of the block's `rows` pixels (of `k`
    /// channels each); pixels past `rows`, up to a whole 16, are zero.
    ///
    /// # Safety
    /// AVX-512 F available; `block` holds `rows * k` values, `first + len <= k`, `out` holds
    /// `len * BLOCK` values; `rows <= BLOCK`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transpose_in(block: &[f32], k: usize, first: usize, len: usize, rows: usize, out: &mut [f32]) {
        debug_assert!(block.len() >= rows * k && first + len <= k && out.len() >= len * BLOCK && rows <= BLOCK);
        // SAFETY (whole body): 16 x 16 tiles of the block (rows p..p + 16 past `rows` read as
        // zero, channels first + i..first + i + 16 past the chunk masked) into out's rows
        // i..i + 16, columns p..p + 16.
        unsafe {
            let mut i = 0;
            while i < len {
                let lanes = 16.min(len - i);
                let mask: u16 = if lanes == 16 { u16::MAX } else { (1u16 << lanes) - 1 };
                for p in (0..rows).step_by(16) {
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (q, row) in r.iter_mut().enumerate().take(rows - p) {
                        *row = _mm512_maskz_loadu_ps(mask, block.as_ptr().add((p + q) * k + first + i));
                    }
                    let t = transpose16(r);
                    for (c, v) in t.iter().enumerate().take(lanes) {
                        _mm512_storeu_ps(out.as_mut_ptr().add((i + c) * BLOCK + p), *v);
                    }
                }
                i += 16;
            }
        }
    }

    /// `dst[p][j] = act(bias[j] + residual[p][j] + sums[j][p])` for the block's `rows` pixels.
    ///
    /// # Safety
    /// AVX-512 F available; `sums` holds `n * BLOCK` values, `bias` `n`, `dst` (and `residual`)
    /// `rows * n`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transpose_out(
        sums: &[f32],
        n: usize,
        rows: usize,
        bias: &[f32],
        residual: Option<&[f32]>,
        act: Activation,
        dst: &mut [f32],
    ) {
        debug_assert!(sums.len() >= n * BLOCK && bias.len() >= n && dst.len() >= rows * n);
        let (lo, hi) = act.bounds();
        // SAFETY (whole body): 16 x 16 tiles of sums (rows j..j + 16 past n read as zero) to dst's
        // rows p..p + 16 below `rows`, channels j..j + 16 masked to n.
        unsafe {
            let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
            let mut j = 0;
            while j < n {
                let lanes = 16.min(n - j);
                let mask: u16 = if lanes == 16 { u16::MAX } else { (1u16 << lanes) - 1 };
                let b = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(j));
                for p in (0..rows).step_by(16) {
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (c, row) in r.iter_mut().enumerate().take(lanes) {
                        *row = _mm512_loadu_ps(sums.as_ptr().add((j + c) * BLOCK + p));
                    }
                    let t = transpose16(r);
                    for (q, v) in t.iter().enumerate().take(rows - p) {
                        let at = (p + q) * n + j;
                        let mut x = _mm512_add_ps(*v, b);
                        if let Some(res) = residual {
                            x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, res.as_ptr().add(at)));
                        }
                        x = _mm512_min_ps(_mm512_max_ps(x, vlo), vhi);
                        _mm512_mask_storeu_ps(dst.as_mut_ptr().add(at), mask, x);
                    }
                }
                j += 16;
            }
        }
    }

    /// Each of the `n` output channels' sum over the chunk's nonzero weights times the chunk's
    /// transposed rows, `out[j][p] (+)= sum w[first + i][j] block[i][p]` (added to `out` when
    /// `add`), for the first `V` 16-pixel vectors of the block. Two sets of `V` sums, over
    /// alternate weights, keep `2 V` multiply-adds in flight (an AVX-512 multiply-add takes four
    /// cycles, two issue a cycle).
    ///
    /// # Safety
    /// AVX-512 F available; `block` holds `chunk.len * BLOCK` values, `out` `n * BLOCK`, `n` is
    /// the chunk's output channels; `V <= 4`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)]
    pub(super) unsafe fn sums<const V: usize>(chunk: &Chunk, n: usize, add: bool, block: &[f32], out: &mut [f32]) {
        debug_assert!(block.len() >= chunk.len * BLOCK && out.len() >= n * BLOCK && V <= BLOCK / 16);
        debug_assert!(chunk.starts.len() == n + 1);
        // SAFETY (whole body): every input index is < chunk.len (built so), so its first
        // 16 V <= BLOCK values are inside `block`; output row j < n is inside `out`.
        unsafe {
            let src = block.as_ptr();
            let (inputs, values) = (chunk.inputs.as_ptr(), chunk.values.as_ptr());
            for j in 0..n {
                let row = out.as_mut_ptr().add(j * BLOCK);
                let mut even = [_mm512_setzero_ps(); V];
                if add {
                    for v in 0..V {
                        even[v] = _mm512_loadu_ps(row.add(16 * v));
                    }
                }
                let mut odd = [_mm512_setzero_ps(); V];
                let (mut e, end) = (chunk.starts[j], chunk.starts[j + 1]);
                while e + 1 < end {
                    let x0 = src.add(*inputs.add(e) as usize * BLOCK);
                    let x1 = src.add(*inputs.add(e + 1) as usize * BLOCK);
                    let w0 = _mm512_set1_ps(*values.add(e));
                    let w1 = _mm512_set1_ps(*values.add(e + 1));
                    for v in 0..V {
                        even[v] = _mm512_fmadd_ps(_mm512_loadu_ps(x0.add(16 * v)), w0, even[v]);
                        odd[v] = _mm512_fmadd_ps(_mm512_loadu_ps(x1.add(16 * v)), w1, odd[v]);
                    }
                    e += 2;
                }
                if e < end {
                    let x0 = src.add(*inputs.add(e) as usize * BLOCK);
                    let w0 = _mm512_set1_ps(*values.add(e));
                    for v in 0..V {
                        even[v] = _mm512_fmadd_ps(_mm512_loadu_ps(x0.add(16 * v)), w0, even[v]);
                    }
                }
                for v in 0..V {
                    _mm512_storeu_ps(row.add(16 * v), _mm512_add_ps(even[v], odd[v]));
                }
            }
        }
    }

    /// The transpose of a 16 x 16 tile held as 16 rows.
    #[target_feature(enable = "avx512f")]
    fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
        // Interleave pairs of rows (32-bit), then pairs of pairs (64-bit), then 128-bit lanes twice.
        let mut t = [_mm512_setzero_ps(); 16];
        for q in 0..8 {
            t[2 * q] = _mm512_unpacklo_ps(r[2 * q], r[2 * q + 1]);
            t[2 * q + 1] = _mm512_unpackhi_ps(r[2 * q], r[2 * q + 1]);
        }
        let mut u = [_mm512_setzero_ps(); 16];
        for q in 0..4 {
            let (a0, a1, b0, b1) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
            u[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a0), _mm512_castps_pd(b0)));
            u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a0), _mm512_castps_pd(b0)));
            u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a1), _mm512_castps_pd(b1)));
            u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a1), _mm512_castps_pd(b1)));
        }
        // u[4q + c] holds, in each 128-bit lane l, column c of rows 4q..4q + 4 for columns 4l + c.
        let mut v = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            // Lanes (0, 2) of rows 0-3 with rows 4-7, and of rows 8-11 with rows 12-15; then (1, 3).
            v[c] = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
            v[4 + c] = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
            v[8 + c] = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
            v[12 + c] = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
        }
        let mut out = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            out[c] = _mm512_shuffle_f32x4::<0x88>(v[c], v[8 + c]);
            out[8 + c] = _mm512_shuffle_f32x4::<0xdd>(v[c], v[8 + c]);
            out[4 + c] = _mm512_shuffle_f32x4::<0x88>(v[4 + c], v[12 + c]);
            out[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v[4 + c], v[12 + c]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random-ish values from a seed, three quarters of them zero when `sparse`.
    fn values(len: usize, seed: u64, sparse: bool) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (s >> 40) as f32 / (1u64 << 24) as f32;
                if sparse && !(s >> 20).is_multiple_of(4) { 0.0 } else { 2.0 * u - 1.0 }
            })
            .collect()
    }

    #[test]
    fn sparse_product_matches_the_dense_one() {
        if SimdLevel::detected() < SimdLevel::Avx512 {
            eprintln!("no AVX-512 here: the sparse product is not run");
            return;
        }
        for (m, k, n) in [(1, 1, 1), (63, 24, 144), (64, 16, 16), (130, 40, 17), (49, 1152, 192), (200, 33, 80)] {
            let lhs = values(m * k, 1, false);
            let rhs = values(k * n, 2, true);
            let bias = values(n, 3, false);
            let residual = values(m * n, 4, false);
            let w = SparseWeights::new(&rhs, &bias, k, n);
            for (res, act) in
                [(None, Activation::None), (Some(&residual[..]), Activation::Relu6), (None, Activation::Relu)]
            {
                let mut want = vec![0.0; m * n];
                super::super::matmul::matmul_bias(m, k, n, &lhs, &rhs, &bias, res, act, &mut want);
                let mut got = vec![f32::NAN; m * n];
                // Scratch full of NaN, off a cache line: neither may show in the result.
                let mut scratch = vec![f32::NAN; w.scratch_len() + 1];
                matmul_sparse(m, &lhs, &w, res, act, &mut scratch[1..], &mut got);
                for (g, e) in got.iter().zip(&want) {
                    assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()), "m {m} k {k} n {n}: {g} against {e}");
                }
            }
        }
    }

    #[test]
    fn density_counts_the_nonzeros() {
        let w = SparseWeights::new(&[0.0, 1.0, 0.0, 2.0, 0.0, 0.0], &[0.0; 3], 2, 3);
        assert!((w.density() - 2.0 / 6.0).abs() < 1e-12);
        let wide = SparseWeights::new(&values(192 * 1152, 5, true), &[0.0; 1152], 192, 1152);
        assert!(wide.pays_off());
        let dense = SparseWeights::new(&values(96 * 96, 6, false), &[0.0; 96], 96, 96);
        assert!(!dense.pays_off());
    }
}
