//! The numeric kernels of the BlazePose graphs on plain NHWC `f32` slices (batch 1), written to match
//! TensorFlow Lite's float kernels:
//!
//! - convolutions as a matrix product (1x1 in place, others through im2col) with the fused kernels
//!   of [`crate::compute::matmul`];
//! - a direct depthwise convolution, 16 channels per register with AVX-512, 8 with AVX2 + FMA, and
//!   a plain fallback, chosen at run time ([`SimdLevel`]);
//! - max pooling, bilinear resize with half-pixel centres, DEPTH_TO_SPACE in TensorFlow's element
//!   order, zero padding and a stable sigmoid.
//!
//! Every kernel is single-threaded: the crate runs with one rayon thread per inference.

use crate::compute::SimdLevel;
use crate::compute::matmul::Activation;

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
    /// Whether the window is a plain 1 x 1 one (a pointwise layer: stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0; 4]
    }

    /// The output size of a window over `in_hw` with this kernel, stride and padding.
    pub fn output_size(
        in_hw: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 4],
    ) -> Option<[usize; 2]> {
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

/// Gathers the im2col matrix of a convolution: row `oy * OW + ox`, column `(ky * KW + kx) * C + c`,
/// zero outside the input.
/// `out` holds `OH * OW * KH * KW * C` values (its contents are overwritten).
pub fn im2col(input: &[f32], channels: usize, win: &Window, out: &mut [f32]) {
    let pixels = win.out_hw[0] * win.out_hw[1];
    im2col_range(input, channels, win, 0..pixels, out);
}

/// The rows `pixels` (output pixel indices `oy * OW + ox`) of the im2col matrix, into `out`
/// (`pixels.len() * KH * KW * C` values, overwritten).
pub fn im2col_range(input: &[f32], channels: usize, win: &Window, pixels: std::ops::Range<usize>, out: &mut [f32]) {
    let [ih, iw] = win.in_hw;
    let ow = win.out_hw[1];
    let [kh, kw] = win.kernel;
    let cols = kh * kw * channels;
    assert_eq!(out.len(), pixels.len() * cols);
    let first = pixels.start;
    // The pixel's row and column, stepped along (no division per pixel).
    let (mut oy, mut ox) = (first / ow.max(1), first % ow.max(1));
    for p in pixels {
        if ox == ow {
            (oy, ox) = (oy + 1, 0);
        }
        let (ky0, ky1, y_start) = Window::taps(oy, win.stride[0], win.pad[0], kh, ih);
        let (kx0, kx1, x_start) = Window::taps(ox, win.stride[1], win.pad[2], kw, iw);
        ox += 1;
        let row = &mut out[(p - first) * cols..][..cols];
        if ky1 - ky0 < kh || kx1 - kx0 < kw {
            // Taps outside the input read zero.
            row.fill(0.0);
        }
        for ky in ky0..ky1 {
            let iy = (y_start + ky as isize) as usize;
            let src = &input[(iy * iw + (x_start + kx0 as isize) as usize) * channels..][..(kx1 - kx0) * channels];
            let dst = &mut row[(ky * kw + kx0) * channels..][..src.len()];
            // Constant lengths for the common cases (3x3 over 3 channels): no memcpy call.
            match src.len() {
                9 => dst[..9].copy_from_slice(&src[..9]),
                6 => dst[..6].copy_from_slice(&src[..6]),
                _ => dst.copy_from_slice(src),
            }
        }
    }
}

thread_local! {
    /// The zero-padded copy of a depthwise input, kept between calls.
    static PADDED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Depthwise convolution (multiplier 1) on NHWC: `weights` is `[KH * KW][C]`, `bias` `[C]`, the
/// activation fused; on the kernels of the active [`SimdLevel`].
pub fn depthwise(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    depthwise_with(SimdLevel::active(), input, channels, win, weights, bias, act, out)
}

/// [`depthwise`] on the kernels of `level`, or of the widest level below it this CPU runs.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_with(
    level: SimdLevel,
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
    // Where border pixels are a large share of the output (5x5 kernels on small maps), copy the
    // input into a zero-padded buffer so that every pixel takes the fast interior path.
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    let inner = |o: usize, stride: usize, pad: usize, k: usize, size: usize| {
        (0..o).filter(|&i| i * stride >= pad && i * stride + k <= size + pad).count()
    };
    let interior =
        inner(oh, win.stride[0], win.pad[0], kh, win.in_hw[0]) * inner(ow, win.stride[1], win.pad[2], kw, win.in_hw[1]);
    // (The grouped kernel pads each block itself.)
    if win.pad != [0; 4] && 5 * interior < 4 * oh * ow && !grouped(channels, kh * kw, input.len()) {
        let [ih, iw] = win.in_hw;
        let (ph, pw) = (ih + win.pad[0] + win.pad[1], iw + win.pad[2] + win.pad[3]);
        let win2 = Window { in_hw: [ph, pw], pad: [0; 4], ..*win };
        PADDED.with(|cell| {
            let mut buf = cell.borrow_mut();
            let n = ph * pw * channels;
            if buf.len() < n {
                buf.resize(n, 0.0);
            }
            let padded = &mut buf[..n];
            let row = pw * channels;
            // Zero only the border (the interior is overwritten by the copy).
            padded[..win.pad[0] * row].fill(0.0);
            padded[(win.pad[0] + ih) * row..].fill(0.0);
            for y in 0..ih {
                let start = (y + win.pad[0]) * row;
                let (left, right) = (win.pad[2] * channels, (win.pad[2] + iw) * channels);
                padded[start..start + left].fill(0.0);
                padded[start + right..start + row].fill(0.0);
                padded[start + left..start + right].copy_from_slice(&input[y * iw * channels..(y + 1) * iw * channels]);
            }
            depthwise_dispatch(level, padded, channels, &win2, weights, bias, act, out);
        });
        return;
    }
    depthwise_dispatch(level, input, channels, win, weights, bias, act, out)
}

#[allow(clippy::too_many_arguments)]
fn depthwise_dispatch(
    level: SimdLevel,
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match level.min(SimdLevel::detected()) {
        // SAFETY: the CPU has AVX-512 F, AVX2 and FMA (detected).
        SimdLevel::Avx512 => return unsafe { depthwise_avx512(input, channels, win, weights, bias, act, out) },
        // SAFETY: the CPU has AVX2 and FMA (detected).
        SimdLevel::Avx2 => return unsafe { depthwise_avx2(input, channels, win, weights, bias, act, out) },
        SimdLevel::Portable => {}
    }
    let _ = level;
    depthwise_impl::<false, false>(input, channels, win, weights, bias, act, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn depthwise_avx512(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    depthwise_impl::<true, true>(input, channels, win, weights, bias, act, out)
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
    depthwise_impl::<true, false>(input, channels, win, weights, bias, act, out)
}

/// Channels per block: one AVX register.
const LANES: usize = 8;
/// Channels per block of the wide (AVX-512) path: one register.
const WIDE_LANES: usize = 16;
/// The largest kernel (taps) the blocked depthwise path keeps in registers.
const MAX_TAPS: usize = 25;

#[inline(always)]
fn madd<const FMA: bool, const L: usize>(acc: &mut [f32; L], x: &[f32; L], w: &[f32; L]) {
    for j in 0..L {
        acc[j] = if FMA { x[j].mul_add(w[j], acc[j]) } else { acc[j] + x[j] * w[j] };
    }
}

#[inline(always)]
fn lanes<const L: usize>(xs: &[f32], at: usize) -> &[f32; L] {
    match xs[at..at + L].first_chunk::<L>() {
        Some(v) => v,
        None => unreachable!("a slice of L elements"),
    }
}

/// What every channel block of one depthwise convolution shares: the geometry, the taps' input
/// offsets and the output columns whose window lies inside the input horizontally.
struct DepthwisePlan {
    c: usize,
    in_hw: [usize; 2],
    out_hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    /// Padding top and left.
    pad: [usize; 2],
    taps: usize,
    /// Input offsets of the taps relative to the window's top-left pixel.
    tap_off: [usize; MAX_TAPS],
    /// Interior output columns `x_lo..x_hi`.
    x_lo: usize,
    x_hi: usize,
}

/// The depthwise kernel: for each block of channels (16 when `WIDE` and they fit, else 8), the
/// block's weights stay in registers while the output row is swept; pixels whose window lies
/// inside the input take a branch-free path.
#[inline(always)]
fn depthwise_impl<const FMA: bool, const WIDE: bool>(
    input: &[f32],
    channels: usize,
    win: &Window,
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let [_, iw] = win.in_hw;
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    let sx = win.stride[1];
    let pl = win.pad[2];
    let c = channels;
    let taps = kh * kw;
    if taps > MAX_TAPS || !c.is_multiple_of(LANES) {
        return depthwise_generic::<FMA>(input, channels, win, weights, bias, act, out);
    }
    let mut tap_off = [0usize; MAX_TAPS];
    for ky in 0..kh {
        for kx in 0..kw {
            tap_off[ky * kw + kx] = (ky * iw + kx) * c;
        }
    }
    let x_lo = pl.div_ceil(sx).min(ow);
    let x_hi = if iw + pl >= kw { ((iw + pl - kw) / sx + 1).clamp(x_lo, ow) } else { x_lo };
    let plan = DepthwisePlan {
        c,
        in_hw: win.in_hw,
        out_hw: win.out_hw,
        kernel: win.kernel,
        stride: win.stride,
        pad: [win.pad[0], pl],
        taps,
        tap_off,
        x_lo,
        x_hi,
    };
    // Many channels on a small map: by blocks of channels copied out of the input.
    if grouped(c, taps, input.len()) {
        if WIDE && c.is_multiple_of(WIDE_LANES) {
            depthwise_grouped::<FMA, WIDE_LANES>(&plan, input, weights, bias, act, out);
        } else {
            depthwise_grouped::<FMA, LANES>(&plan, input, weights, bias, act, out);
        }
        return;
    }
    // Channel blocks: `wide` of 16 channels first, then 8 at a time.
    let wide = if WIDE { c / WIDE_LANES } else { 0 };
    let blocks = wide + (c - wide * WIDE_LANES) / LANES;
    // Loop order: for a small input, channel blocks outermost (one block's input window, a few
    // rows of one cache line per pixel, stays in L1 while the rows are swept); for a large one,
    // rows outermost (the window's rows stay in L2 across the channel blocks, where sweeping the
    // whole input once per block would stream it from memory again for every block).
    let small = std::mem::size_of_val(input) <= 512 * 1024;
    let (outer, inner) = if small { (blocks, oh) } else { (oh, blocks) };
    for i in 0..outer {
        for j in 0..inner {
            let (block, oy) = if small { (i, j) } else { (j, i) };
            if block < wide {
                row_block::<FMA, WIDE_LANES>(&plan, input, weights, bias, act, block * WIDE_LANES, oy, out);
            } else {
                let cb = wide * WIDE_LANES + (block - wide) * LANES;
                row_block::<FMA, LANES>(&plan, input, weights, bias, act, cb, oy, out);
            }
        }
    }
}

/// Whether the depthwise kernel works by blocks of channels copied out of the input
/// ([`depthwise_grouped`]): many channels (at least [`GROUPED_CHANNELS`], a multiple of 8), a kernel
/// of at most [`MAX_TAPS`], and an input of at most 1 MiB. On the detector's larger maps, which
/// stream from memory either way, copying each block cost more than it saved (`blazepose_profile`
/// with 4 MiB: its 3 x 3 layers on 56 x 56 outputs took 0.44 and 0.59 ms against 0.34 and 0.26).
fn grouped(channels: usize, taps: usize, input_len: usize) -> bool {
    channels >= GROUPED_CHANNELS
        && channels.is_multiple_of(LANES)
        && taps <= MAX_TAPS
        && input_len * std::mem::size_of::<f32>() <= 1 << 20
}

/// From this many channels on, the depthwise kernel works on blocks of channels copied out of
/// the input ([`depthwise_grouped`]) instead of sweeping the input in place: with hundreds of
/// channels the taps of a window lie a power-of-two-ish stride apart (`channels * 4` bytes), so a
/// block's window and weights fell into a few cache sets and were evicted while they were used (the
/// detector's deep 5 x 5 layers ran at 16-20 GFLOP/s; blocked, 40-65).
const GROUPED_CHANNELS: usize = 64;

thread_local! {
    /// A channel block's zero-padded input, kept between calls.
    static BLOCK_INPUT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The depthwise kernel by channel blocks of `L`: each block's input copied, zero-padded, into a
/// contiguous buffer, then the output swept four pixels at a time: per kernel row, the input
/// columns under the four windows loaded once each and multiplied with every tap that reads them
/// (a 5-wide kernel: 8 loads for 20 multiply-adds), the activation applied at the store. The
/// channels are a multiple of `L`.
#[inline(always)]
fn depthwise_grouped<const FMA: bool, const L: usize>(
    plan: &DepthwisePlan,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    // The buffer is taken out of the thread-local and put back after: the kernel must not run
    // inside a closure (closures are compiled without the caller's target features, and `mul_add`
    // there became a call to the software `fmaf`).
    let mut padded = BLOCK_INPUT.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    for cb in (0..plan.c).step_by(L) {
        match (plan.kernel[1], plan.stride[1]) {
            (3, 1) => block::<FMA, L, 3, 1>(plan, input, weights, bias, act, cb, &mut padded, out),
            (3, 2) => block::<FMA, L, 3, 2>(plan, input, weights, bias, act, cb, &mut padded, out),
            (5, 1) => block::<FMA, L, 5, 1>(plan, input, weights, bias, act, cb, &mut padded, out),
            (5, 2) => block::<FMA, L, 5, 2>(plan, input, weights, bias, act, cb, &mut padded, out),
            _ => block::<FMA, L, 0, 0>(plan, input, weights, bias, act, cb, &mut padded, out),
        }
    }
    BLOCK_INPUT.with(|cell| *cell.borrow_mut() = padded);
}

/// Pixels a pass of [`block`] computes.
const PIXELS: usize = 4;
/// Input columns under [`PIXELS`] windows of a kernel `k` wide at stride `s`, at most.
const MAX_COLUMNS: usize = (PIXELS - 1) * 2 + 5;

/// [`depthwise_grouped`] for the channels `cb..cb + L`, a kernel `K` wide at horizontal stride `S`
/// (`K = 0`: any, from the plan).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block<const FMA: bool, const L: usize, const K: usize, const S: usize>(
    plan: &DepthwisePlan,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    cb: usize,
    padded: &mut Vec<f32>,
    out: &mut [f32],
) {
    let c = plan.c;
    let ([ih, iw], [oh, ow], [kh, kw]) = (plan.in_hw, plan.out_hw, plan.kernel);
    let ([sy, sx], [pt, pl]) = (plan.stride, plan.pad);
    // The padded height and width that every window of the output fits in.
    let (ph, pw) = (((oh - 1) * sy + kh).max(ih + pt), ((ow - 1) * sx + kw).max(iw + pl));
    if padded.len() < ph * pw * L {
        padded.resize(ph * pw * L, 0.0);
    }
    let padded = &mut padded[..ph * pw * L];
    // Zero the border only (the interior is overwritten by the copy).
    let row_len = pw * L;
    padded[..pt * row_len].fill(0.0);
    padded[(pt + ih) * row_len..].fill(0.0);
    for y in 0..ih {
        let row = &mut padded[(y + pt) * row_len..(y + pt + 1) * row_len];
        row[..pl * L].fill(0.0);
        row[(pl + iw) * L..].fill(0.0);
        for x in 0..iw {
            row[(x + pl) * L..][..L].copy_from_slice(lanes::<L>(input, (y * iw + x) * c + cb));
        }
    }
    let padded = &padded[..];
    let mut w = [[0.0f32; L]; MAX_TAPS];
    for (t, w) in w.iter_mut().enumerate().take(plan.taps) {
        *w = *lanes::<L>(weights, t * c + cb);
    }
    let b = *lanes::<L>(bias, cb);
    assert!(out.len() >= oh * ow * c && cb + L <= c);
    // The last pixel's window ends inside the padded buffer.
    assert!((((oh - 1) * sy + kh - 1) * pw + (ow - 1) * sx + kw) * L <= padded.len());
    let x = padded.as_ptr();
    // SAFETY: every read is of L values in a window of an output pixel (ox < ow, oy < oh, ky < kh,
    // kx < kw), inside `padded` as asserted just above ([f32; L] has f32's alignment).
    let load = |at: usize| unsafe { *(x.add(at) as *const [f32; L]) };
    let fast = K != 0 && ow >= PIXELS;
    for oy in 0..oh {
        let mut ox = 0;
        // Four pixels at a time, the last four ending at the row's end (overlapping the ones
        // before: a lone pixel's one chain would wait on each multiply-add's latency).
        while fast && ox < ow {
            ox = ox.min(ow - PIXELS);
            let mut acc = [b; PIXELS];
            for ky in 0..kh {
                let row = ((oy * sy + ky) * pw + ox * S) * L;
                let mut cols = [[0.0f32; L]; MAX_COLUMNS];
                for (i, col) in cols.iter_mut().enumerate().take((PIXELS - 1) * S + K) {
                    *col = load(row + i * L);
                }
                for kx in 0..K {
                    let wk = &w[ky * K + kx];
                    for (p, a) in acc.iter_mut().enumerate() {
                        madd::<FMA, L>(a, &cols[p * S + kx], wk);
                    }
                }
            }
            for (p, a) in acc.iter().enumerate() {
                store::<L>(&mut out[(oy * ow + ox + p) * c + cb..][..L], a, act);
            }
            ox += PIXELS;
        }
        while ox < ow {
            let mut acc = b;
            for ky in 0..kh {
                let row = ((oy * sy + ky) * pw + ox * sx) * L;
                for kx in 0..kw {
                    madd::<FMA, L>(&mut acc, &load(row + kx * L), &w[ky * kw + kx]);
                }
            }
            store::<L>(&mut out[(oy * ow + ox) * c + cb..][..L], &acc, act);
            ox += 1;
        }
    }
}

/// Stores `L` sums with the activation applied (fused into the store).
#[inline(always)]
fn store<const L: usize>(dst: &mut [f32], acc: &[f32; L], act: Activation) {
    // On the sums, before the store (clamping the stored values instead kept the sums out of
    // registers: the detector's 56 x 56 depthwise layers took 0.3 ms instead of 0.18).
    let mut v = *acc;
    act.apply(&mut v);
    dst.copy_from_slice(&v);
}

/// One output row `oy` of the channel block `cb..cb + L`, the activation applied at the store.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn row_block<const FMA: bool, const L: usize>(
    plan: &DepthwisePlan,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Activation,
    cb: usize,
    oy: usize,
    out: &mut [f32],
) {
    let (c, taps, ow) = (plan.c, plan.taps, plan.out_hw[1]);
    let (ih, kh, sy, pt) = (plan.in_hw[0], plan.kernel[0], plan.stride[0], plan.pad[0]);
    let mut wv = [[0.0f32; L]; MAX_TAPS];
    for (t, w) in wv.iter_mut().enumerate().take(taps) {
        *w = *lanes::<L>(weights, t * c + cb);
    }
    let b = *lanes::<L>(bias, cb);
    let y0 = (oy * sy) as isize - pt as isize;
    let inside_y = y0 >= 0 && y0 as usize + kh <= ih;
    let row_out = oy * ow;
    // Output columns whose window crosses the input's border. (A function, not a closure: a
    // closure is compiled without the caller's target features, and its `mul_add` became a call
    // to the software `fmaf`.)
    let taps_y = Window::taps(oy, sy, pt, kh, ih);
    if !inside_y {
        edge_columns::<FMA, L>(plan, input, taps_y, 0..ow, cb, &wv, &b, act, row_out, out);
        return;
    }
    edge_columns::<FMA, L>(plan, input, taps_y, 0..plan.x_lo, cb, &wv, &b, act, row_out, out);
    // The interior: every tap inside the input.
    let row = &mut out[row_out * c..(row_out + ow) * c];
    let y0 = y0 as usize;
    match taps {
        9 => interior::<FMA, L, 9>(plan, input, y0, cb, &wv, &b, act, row),
        25 => interior::<FMA, L, 25>(plan, input, y0, cb, &wv, &b, act, row),
        _ => {
            let (iw, sx, pl) = (plan.in_hw[1], plan.stride[1], plan.pad[1]);
            for ox in plan.x_lo..plan.x_hi {
                let base = (y0 * iw + ox * sx - pl) * c + cb;
                let mut acc = b;
                for (w, off) in wv.iter().zip(&plan.tap_off).take(taps) {
                    madd::<FMA, L>(&mut acc, lanes(input, base + off), w);
                }
                store::<L>(&mut row[ox * c + cb..][..L], &acc, act);
            }
        }
    }
    edge_columns::<FMA, L>(plan, input, taps_y, plan.x_hi..ow, cb, &wv, &b, act, row_out, out);
}

/// The interior columns of one output row, one channel block, `T` taps (unrolled, the weights in
/// registers), the activation applied at the store.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn interior<const FMA: bool, const L: usize, const T: usize>(
    plan: &DepthwisePlan,
    input: &[f32],
    y0: usize,
    cb: usize,
    wv: &[[f32; L]; MAX_TAPS],
    b: &[f32; L],
    act: Activation,
    row: &mut [f32],
) {
    let (c, iw, sx, pl, x_lo, x_hi) = (plan.c, plan.in_hw[1], plan.stride[1], plan.pad[1], plan.x_lo, plan.x_hi);
    if x_lo >= x_hi {
        return;
    }
    let mut w = [[0.0f32; L]; T];
    let mut off = [0usize; T];
    w.copy_from_slice(&wv[..T]);
    off.copy_from_slice(&plan.tap_off[..T]);
    let last = (y0 * iw + (x_hi - 1) * sx - pl) * c + cb + off.iter().copied().max().unwrap_or(0) + L;
    assert!(last <= input.len() && x_hi * c <= row.len() && cb + L <= c);
    let ptr = input.as_ptr();
    // SAFETY (both loops): every read is at base(ox) + off[t] .. + L with ox < x_hi, at most
    // `last` <= input.len() (asserted above; base grows with ox), and [f32; L] has f32's
    // alignment.
    let load = |at: usize| unsafe { &*(ptr.add(at) as *const [f32; L]) };
    let step = sx * c;
    let mut ox = x_lo;
    // Four pixels at a time: four independent accumulation chains hide the add latency.
    while ox + 4 <= x_hi {
        let base = (y0 * iw + ox * sx - pl) * c + cb;
        let (mut a0, mut a1, mut a2, mut a3) = (*b, *b, *b, *b);
        for t in 0..T {
            let at = base + off[t];
            madd::<FMA, L>(&mut a0, load(at), &w[t]);
            madd::<FMA, L>(&mut a1, load(at + step), &w[t]);
            madd::<FMA, L>(&mut a2, load(at + 2 * step), &w[t]);
            madd::<FMA, L>(&mut a3, load(at + 3 * step), &w[t]);
        }
        store::<L>(&mut row[ox * c + cb..][..L], &a0, act);
        store::<L>(&mut row[(ox + 1) * c + cb..][..L], &a1, act);
        store::<L>(&mut row[(ox + 2) * c + cb..][..L], &a2, act);
        store::<L>(&mut row[(ox + 3) * c + cb..][..L], &a3, act);
        ox += 4;
    }
    while ox < x_hi {
        let base = (y0 * iw + ox * sx - pl) * c + cb;
        let mut acc = *b;
        for t in 0..T {
            madd::<FMA, L>(&mut acc, load(base + off[t]), &w[t]);
        }
        store::<L>(&mut row[ox * c + cb..][..L], &acc, act);
        ox += 1;
    }
}

/// The depthwise kernel's output columns `columns` of row `row_out` whose windows cross the input's
/// border (taps clipped), one channel block, the activation applied at the store.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn edge_columns<const FMA: bool, const L: usize>(
    plan: &DepthwisePlan,
    input: &[f32],
    (ky0, ky1, ys): (usize, usize, isize),
    columns: std::ops::Range<usize>,
    cb: usize,
    wv: &[[f32; L]; MAX_TAPS],
    b: &[f32; L],
    act: Activation,
    row_out: usize,
    out: &mut [f32],
) {
    let (c, iw, kw, sx, pl) = (plan.c, plan.in_hw[1], plan.kernel[1], plan.stride[1], plan.pad[1]);
    for ox in columns {
        let (kx0, kx1, xs) = Window::taps(ox, sx, pl, kw, iw);
        let mut acc = *b;
        for ky in ky0..ky1 {
            for kx in kx0..kx1 {
                let i = (((ys + ky as isize) as usize) * iw + (xs + kx as isize) as usize) * c + cb;
                madd::<FMA, L>(&mut acc, lanes(input, i), &wv[ky * kw + kx]);
            }
        }
        store::<L>(&mut out[(row_out + ox) * c + cb..][..L], &acc, act);
    }
}

/// Any channel count or kernel size: one pixel at a time.
#[inline(always)]
fn depthwise_generic<const FMA: bool>(
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
            dst.copy_from_slice(bias);
            for ky in ky0..ky1 {
                let iy = (y_start + ky as isize) as usize;
                for kx in kx0..kx1 {
                    let ix = (x_start + kx as isize) as usize;
                    let x = &input[(iy * iw + ix) * c..][..c];
                    let w = &weights[(ky * kw + kx) * c..][..c];
                    for j in 0..c {
                        dst[j] += x[j] * w[j];
                    }
                }
            }
            act.apply(dst);
        }
    }
}

/// A convolution with a single output channel (a 3x3 head at full resolution, where im2col and a
/// matrix-vector product would waste most of the time): `weights` is `[(ky * KW + kx) * C + c]`.
pub fn conv_single_output(input: &[f32], channels: usize, win: &Window, weights: &[f32], bias: f32, out: &mut [f32]) {
    assert_eq!(input.len(), win.in_hw[0] * win.in_hw[1] * channels);
    assert_eq!(out.len(), win.out_hw[0] * win.out_hw[1]);
    assert_eq!(weights.len(), win.kernel[0] * win.kernel[1] * channels);
    #[cfg(target_arch = "x86_64")]
    if SimdLevel::active() >= SimdLevel::Avx2 {
        // SAFETY: the CPU has AVX2 and FMA (the active level is supported).
        unsafe { conv_single_output_avx2(input, channels, win, weights, bias, out) };
        return;
    }
    conv_single_output_impl::<false>(input, channels, win, weights, bias, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn conv_single_output_avx2(input: &[f32], channels: usize, win: &Window, weights: &[f32], bias: f32, out: &mut [f32]) {
    conv_single_output_impl::<true>(input, channels, win, weights, bias, out)
}

#[inline(always)]
fn conv_single_output_impl<const FMA: bool>(
    input: &[f32],
    c: usize,
    win: &Window,
    weights: &[f32],
    bias: f32,
    out: &mut [f32],
) {
    let [ih, iw] = win.in_hw;
    let [oh, ow] = win.out_hw;
    let [kh, kw] = win.kernel;
    for oy in 0..oh {
        let (ky0, ky1, ys) = Window::taps(oy, win.stride[0], win.pad[0], kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, xs) = Window::taps(ox, win.stride[1], win.pad[2], kw, iw);
            let mut acc = [0.0f32; LANES];
            let mut tail = 0.0f32;
            for ky in ky0..ky1 {
                let iy = (ys + ky as isize) as usize;
                // The taps of one kernel row are contiguous in the input and in the weights.
                let x0 = (xs + kx0 as isize) as usize;
                let n = (kx1 - kx0) * c;
                let x = &input[(iy * iw + x0) * c..][..n];
                let w = &weights[(ky * kw + kx0) * c..][..n];
                let mut xc = x.chunks_exact(LANES);
                let mut wc = w.chunks_exact(LANES);
                for (xv, wv) in (&mut xc).zip(&mut wc) {
                    madd::<FMA, LANES>(&mut acc, lanes(xv, 0), lanes(wv, 0));
                }
                for (a, b) in xc.remainder().iter().zip(wc.remainder()) {
                    tail += a * b;
                }
            }
            out[oy * ow + ox] = bias + tail + acc.iter().sum::<f32>();
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
            for ((((o, a), b), c), d) in dst.iter_mut().zip(a).zip(b).zip(c).zip(d) {
                *o = a * wa + b * wb + c * wc + d * wd;
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
