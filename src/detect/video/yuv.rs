//! YUV 4:2:0 pictures (BT.601, limited range) to RGB: the `openh264` crate's own formula, value
//! for value, for widths its fast path does not take. The crate converts widths divisible by 8
//! with integer SIMD; other widths (the shipped sample is 218 pixels wide) go through a float
//! path whose `mul_add` compiles to a call of the C library's `fmaf` per channel: a third of the
//! video thread's time. Here the same float arithmetic is compiled with FMA instructions where the
//! CPU has them (fused multiply-adds round alike however they are computed: the bytes are the
//! same), and vectorised by the compiler.

/// A decoded picture's three planes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Yuv420<'a> {
    /// Luma, `strides.0` bytes a row.
    pub y: &'a [u8],
    /// Blue-difference chroma, half the size each way, `strides.1` bytes a row.
    pub u: &'a [u8],
    /// Red-difference chroma, `strides.2` bytes a row.
    pub v: &'a [u8],
    /// Width and height in pixels.
    pub size: (usize, usize),
    /// Bytes per row of each plane.
    pub strides: (usize, usize, usize),
}

const Y_MUL: f32 = 255.0 / 219.0;
const RV_MUL: f32 = 255.0 / 224.0 * 1.402;
const GV_MUL: f32 = -255.0 / 224.0 * 1.402 * 0.299 / 0.587;
const GU_MUL: f32 = -255.0 / 224.0 * 1.772 * 0.114 / 0.587;
const BU_MUL: f32 = 255.0 / 224.0 * 1.772;

/// Writes `picture` as RGB (3 bytes a pixel, rows of `width * 3` bytes) into `out`. Planes too
/// short for the size are an error naming the plane.
pub(crate) fn yuv420_to_rgb(picture: &Yuv420, out: &mut [u8]) -> Result<(), String> {
    let (w, h) = picture.size;
    let (sy, su, sv) = picture.strides;
    let need = |stride: usize, rows: usize, width: usize| if rows == 0 { 0 } else { (rows - 1) * stride + width };
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (name, plane, needed) in
        [("luma", picture.y, need(sy, h, w)), ("u", picture.u, need(su, ch, cw)), ("v", picture.v, need(sv, ch, cw))]
    {
        if plane.len() < needed {
            return Err(format!("the picture's {name} plane has {} bytes, {needed} needed", plane.len()));
        }
    }
    if out.len() != w * h * 3 {
        return Err(format!("{} bytes for a {w}x{h} RGB picture", out.len()));
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        unsafe { convert_avx2_fma(picture, out) };
        return Ok(());
    }
    convert(picture, out);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn convert_avx2_fma(picture: &Yuv420, out: &mut [u8]) {
    convert(picture, out)
}

/// The conversion; sizes checked by the caller.
#[inline(always)]
fn convert(picture: &Yuv420, out: &mut [u8]) {
    let (w, h) = picture.size;
    let (sy, su, sv) = picture.strides;
    for (row, rgb) in out.chunks_exact_mut(w * 3).take(h).enumerate() {
        let ys = &picture.y[row * sy..][..w];
        let us = &picture.u[(row / 2) * su..][..w.div_ceil(2)];
        let vs = &picture.v[(row / 2) * sv..][..w.div_ceil(2)];
        for (x, (px, &luma)) in rgb.chunks_exact_mut(3).zip(ys).enumerate() {
            let y = Y_MUL * (f32::from(luma) - 16.0);
            let u = f32::from(us[x / 2]) - 128.0;
            let v = f32::from(vs[x / 2]) - 128.0;
            px[0] = RV_MUL.mul_add(v, y).clamp(0.0, 255.0) as u8;
            px[1] = GV_MUL.mul_add(v, GU_MUL.mul_add(u, y)).clamp(0.0, 255.0) as u8;
            px[2] = BU_MUL.mul_add(u, y).clamp(0.0, 255.0) as u8;
        }
    }
}
