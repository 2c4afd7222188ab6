//! The image type of the detector (8-bit RGB, row-major, no padding), its decoding from JPEG and PNG
//! files, and the affine warp that builds both network inputs: the letterboxed detector input and
//! the rotated landmark crop (bilinear, pixel centres at +0.5, as OpenCV's `warpAffine` in
//! MediaPipe's `ImageToTensorCalculator`).

use std::path::Path;

use super::DetectError;

/// Images smaller than this on either side are refused (nothing can be detected in them).
pub const MIN_IMAGE_SIZE: u32 = 16;

/// An 8-bit RGB image, row-major, 3 bytes per pixel, no row padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl RgbImage {
    /// An image from raw interleaved pixels with `channels` bytes each: 1 (grey), 3 (RGB) or 4 (RGBA,
    /// alpha dropped). Errors on an empty or too small image, another channel count, or a buffer of
    /// the wrong length.
    pub fn from_pixels(width: u32, height: u32, channels: usize, data: &[u8]) -> Result<Self, DetectError> {
        if width == 0 || height == 0 || data.is_empty() {
            return Err(DetectError::EmptyImage);
        }
        if width < MIN_IMAGE_SIZE || height < MIN_IMAGE_SIZE {
            return Err(DetectError::ImageTooSmall { width, height, min: MIN_IMAGE_SIZE });
        }
        if !matches!(channels, 1 | 3 | 4) {
            return Err(DetectError::Channels(channels));
        }
        let pixels = width as usize * height as usize;
        if data.len() != pixels * channels {
            return Err(DetectError::BufferSize { expected: pixels * channels, got: data.len() });
        }
        let data = match channels {
            3 => data.to_vec(),
            1 => data.iter().flat_map(|&g| [g, g, g]).collect(),
            _ => data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        };
        Ok(Self { width, height, data })
    }

    /// An RGB image from interleaved RGB bytes (see [`RgbImage::from_pixels`] for the checks).
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self, DetectError> {
        if width == 0 || height == 0 || data.is_empty() {
            return Err(DetectError::EmptyImage);
        }
        if width < MIN_IMAGE_SIZE || height < MIN_IMAGE_SIZE {
            return Err(DetectError::ImageTooSmall { width, height, min: MIN_IMAGE_SIZE });
        }
        let expected = width as usize * height as usize * 3;
        if data.len() != expected {
            return Err(DetectError::BufferSize { expected, got: data.len() });
        }
        Ok(Self { width, height, data })
    }

    /// Decodes a JPEG or PNG file, turned upright by its EXIF orientation. A JPEG cut short (no
    /// end-of-image marker after its last scan) is refused: decoders fill the missing part in grey.
    pub fn open(path: &Path) -> Result<Self, DetectError> {
        let bad = |problem: String| DetectError::Decode { path: path.into(), problem };
        let bytes = std::fs::read(path).map_err(|source| DetectError::Io { path: path.into(), source })?;
        if let Some(problem) = jpeg_truncation(&bytes) {
            return Err(bad(problem.into()));
        }
        let mut decoder = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()
            .map_err(|e| bad(e.to_string()))?
            .into_decoder()
            .map_err(|e| bad(e.to_string()))?;
        let orientation = image::ImageDecoder::orientation(&mut decoder).map_err(|e| bad(e.to_string()))?;
        let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?;
        img.apply_orientation(orientation);
        let rgb = img.to_rgb8();
        let (w, h) = rgb.dimensions();
        Self::new(w, h, rgb.into_raw()).map_err(|e| DetectError::Decode { path: path.into(), problem: e.to_string() })
    }

    /// The width and height a file decodes to with [`RgbImage::open`] (its EXIF orientation
    /// applied), read from its header without decoding the pixels.
    pub fn dimensions_of(path: &Path) -> Result<[u32; 2], DetectError> {
        let bad = |e: image::ImageError| DetectError::Decode { path: path.into(), problem: e.to_string() };
        let mut decoder = image::ImageReader::open(path)
            .map_err(|source| DetectError::Io { path: path.into(), source })?
            .with_guessed_format()
            .map_err(|source| DetectError::Io { path: path.into(), source })?
            .into_decoder()
            .map_err(bad)?;
        let (w, h) = image::ImageDecoder::dimensions(&decoder);
        let turned = matches!(
            image::ImageDecoder::orientation(&mut decoder).map_err(bad)?,
            image::metadata::Orientation::Rotate90
                | image::metadata::Orientation::Rotate270
                | image::metadata::Orientation::Rotate90FlipH
                | image::metadata::Orientation::Rotate270FlipH
        );
        Ok(if turned { [h, w] } else { [w, h] })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The interleaved RGB bytes.
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }

    /// Mutable access to the interleaved RGB bytes (for drawing overlays).
    pub fn as_raw_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Writes the image as PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), DetectError> {
        image::save_buffer_with_format(
            path,
            &self.data,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .map_err(|e| DetectError::Decode { path: path.into(), problem: e.to_string() })
    }
}

/// What a warp samples outside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// Black (value 0 before scaling).
    Zero,
    /// The nearest edge pixel.
    Replicate,
}

/// Samples `out_size x out_size` pixels of `img` by `warp`. Output NHWC `[1, S, S, 3]`. Eight
/// pixels a pass with AVX2 where the CPU has it ([`warp_avx2`]: the same arithmetic, so the same
/// values).
pub fn warp(img: &RgbImage, out_size: usize, warp: &Warp) -> Vec<f32> {
    let mut out = vec![0.0f32; out_size * out_size * 3];
    #[cfg(target_arch = "x86_64")]
    if crate::compute::SimdLevel::active() >= crate::compute::SimdLevel::Avx2 {
        // SAFETY: the CPU has AVX2 and FMA (the active level is supported).
        unsafe { warp_avx2(img, out_size, warp, &mut out) };
        return out;
    }
    warp_into(img, out_size, warp, &mut out);
    out
}

/// The mapping and scaling of a crop, on the CPU ([`warp`]) and on the GPU (`detect::gpu`): output
/// pixel centre `(u + 0.5, v + 0.5)` maps to the image point `origin + (u + 0.5) * du + (v + 0.5) *
/// dv` (pixel units, pixel `i` spanning `[i, i + 1)`), sampled bilinearly; each byte `b` becomes
/// `b * scale + offset`.
#[derive(Clone, Copy, Debug)]
pub struct Warp {
    /// The image point of the output's top-left corner, pixels.
    pub origin: [f32; 2],
    /// One output pixel to the right, in image pixels.
    pub du: [f32; 2],
    /// One output pixel down, in image pixels.
    pub dv: [f32; 2],
    /// What is sampled outside the image.
    pub border: Border,
    /// Each byte's factor.
    pub scale: f32,
    /// Added after the factor.
    pub offset: f32,
}

/// [`warp`] with AVX2: eight output pixels a pass whose taps all lie inside the image, their
/// coordinates, weights and blends in the same operations and order as [`sample`] (no fused
/// multiply-adds), so the values are the same; the others through [`sample`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn warp_avx2(img: &RgbImage, out_size: usize, warp: &Warp, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (w, h) = (img.width as i32, img.height as i32);
    let data = &img.data[..];
    let set = _mm256_set1_ps;
    let lanes = _mm256_setr_ps(0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5);
    for (v, row) in out.chunks_exact_mut(out_size * 3).enumerate().take(out_size) {
        let fv = v as f32 + 0.5;
        let mut u = 0;
        while u + 8 <= out_size {
            // fu = u + 0.5 per lane, exactly as `sample` forms it (u + 0.5 is exact in f32 here).
            let fu = _mm256_add_ps(set(u as f32), lanes);
            let sx = _mm256_sub_ps(
                _mm256_add_ps(
                    _mm256_add_ps(set(warp.origin[0]), _mm256_mul_ps(fu, set(warp.du[0]))),
                    set(fv * warp.dv[0]),
                ),
                set(0.5),
            );
            let sy = _mm256_sub_ps(
                _mm256_add_ps(
                    _mm256_add_ps(set(warp.origin[1]), _mm256_mul_ps(fu, set(warp.du[1]))),
                    set(fv * warp.dv[1]),
                ),
                set(0.5),
            );
            let (x0f, y0f) = (_mm256_floor_ps(sx), _mm256_floor_ps(sy));
            // Inside: 0 <= x0, x0 + 1 < w, 0 <= y0, y0 + 1 < h (compared as floats: exact for
            // these small integers; NaN compares false and takes the scalar path).
            let inside = _mm256_and_ps(
                _mm256_and_ps(
                    _mm256_cmp_ps(x0f, set(0.0), _CMP_GE_OQ),
                    _mm256_cmp_ps(x0f, set((w - 1) as f32), _CMP_LT_OQ),
                ),
                _mm256_and_ps(
                    _mm256_cmp_ps(y0f, set(0.0), _CMP_GE_OQ),
                    _mm256_cmp_ps(y0f, set((h - 1) as f32), _CMP_LT_OQ),
                ),
            );
            let (x0, y0) = (_mm256_cvttps_epi32(x0f), _mm256_cvttps_epi32(y0f));
            // Byte offsets of the top-left taps; the gathers read 4 bytes at each tap, so the
            // last byte read (bottom-right tap + 3 + 1) must lie inside the buffer.
            let i = _mm256_mullo_epi32(
                _mm256_add_epi32(_mm256_mullo_epi32(y0, _mm256_set1_epi32(w)), x0),
                _mm256_set1_epi32(3),
            );
            let mut offsets = [0i32; 8];
            // SAFETY: an 8-lane store into an array of eight.
            unsafe { _mm256_storeu_si256(offsets.as_mut_ptr().cast(), i) };
            let last = offsets.iter().copied().max().unwrap_or(0) as usize + 3 * w as usize + 3 + 4;
            if _mm256_movemask_ps(inside) != 0xFF || last > data.len() {
                for (k, dst) in row[u * 3..(u + 8) * 3].chunks_exact_mut(3).enumerate() {
                    dst.copy_from_slice(&sample(img, warp, u + k, v));
                }
                u += 8;
                continue;
            }
            let (fx, fy) = (_mm256_sub_ps(sx, x0f), _mm256_sub_ps(sy, y0f));
            let base = data.as_ptr().cast::<i32>();
            let stride = _mm256_set1_epi32(3 * w);
            // SAFETY: every gather reads 4 bytes at an offset of at most `last - 4` (checked
            // above to be inside `data`); offsets are byte offsets (scale 1).
            let (ta, tb, tc, td) = unsafe {
                (
                    _mm256_i32gather_epi32::<1>(base, i),
                    _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(i, _mm256_set1_epi32(3))),
                    _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(i, stride)),
                    _mm256_i32gather_epi32::<1>(
                        base,
                        _mm256_add_epi32(_mm256_add_epi32(i, stride), _mm256_set1_epi32(3)),
                    ),
                )
            };
            let mask = _mm256_set1_epi32(0xFF);
            let mut channels = [[0.0f32; 8]; 3];
            for (k, channel) in channels.iter_mut().enumerate() {
                let byte = |t: __m256i| -> __m256 {
                    let shifted = match k {
                        0 => t,
                        1 => _mm256_srli_epi32::<8>(t),
                        _ => _mm256_srli_epi32::<16>(t),
                    };
                    _mm256_cvtepi32_ps(_mm256_and_si256(shifted, mask))
                };
                let (a, b, c, d) = (byte(ta), byte(tb), byte(tc), byte(td));
                let top = _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(b, a), fx));
                let bottom = _mm256_add_ps(c, _mm256_mul_ps(_mm256_sub_ps(d, c), fx));
                let value = _mm256_add_ps(
                    _mm256_mul_ps(_mm256_add_ps(top, _mm256_mul_ps(_mm256_sub_ps(bottom, top), fy)), set(warp.scale)),
                    set(warp.offset),
                );
                // SAFETY: an 8-lane store into an array of eight.
                unsafe { _mm256_storeu_ps(channel.as_mut_ptr(), value) };
            }
            for (k, dst) in row[u * 3..(u + 8) * 3].chunks_exact_mut(3).enumerate() {
                (dst[0], dst[1], dst[2]) = (channels[0][k], channels[1][k], channels[2][k]);
            }
            u += 8;
        }
        for (k, dst) in row[u * 3..].chunks_exact_mut(3).enumerate() {
            dst.copy_from_slice(&sample(img, warp, u + k, v));
        }
    }
}

/// `floor` without a libm call (the default x86-64 target has no SSE4.1 `roundss`); non-finite or
/// huge coordinates saturate and land on the border path.
#[inline(always)]
fn floor_i64(v: f32) -> i64 {
    let t = v as i64;
    if (t as f32) > v { t - 1 } else { t }
}

/// The three bytes at `k` as floats.
#[inline(always)]
fn rgb(bytes: &[u8], k: usize) -> [f32; 3] {
    [bytes[k] as f32, bytes[k + 1] as f32, bytes[k + 2] as f32]
}

/// The image's pixel `(x, y)` as floats, outside the image by `border`.
#[inline(always)]
fn border_pixel(img: &RgbImage, border: Border, x: i64, y: i64) -> [f32; 3] {
    let (w, h) = (img.width as i64, img.height as i64);
    let (x, y) = match border {
        Border::Replicate => (x.clamp(0, w - 1), y.clamp(0, h - 1)),
        Border::Zero => {
            if x < 0 || y < 0 || x >= w || y >= h {
                return [0.0; 3];
            }
            (x, y)
        }
    };
    let i = ((y * w + x) * 3) as usize;
    [img.data[i] as f32, img.data[i + 1] as f32, img.data[i + 2] as f32]
}

/// Output pixel `(u, v)` of a [`warp`].
#[inline(always)]
fn sample(img: &RgbImage, warp: &Warp, u: usize, v: usize) -> [f32; 3] {
    let Warp { origin, du, dv, border, scale, offset } = *warp;
    let (w, h) = (img.width as i64, img.height as i64);
    let (fu, fv) = (u as f32 + 0.5, v as f32 + 0.5);
    let sx = origin[0] + fu * du[0] + fv * dv[0] - 0.5;
    let sy = origin[1] + fu * du[1] + fv * dv[1] - 0.5;
    let (x0, y0) = (floor_i64(sx), floor_i64(sy));
    let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
    let (a, b, c, d) = if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
        // All four taps inside: read them directly.
        let i = ((y0 * w + x0) * 3) as usize;
        let j = i + (w * 3) as usize;
        let (r0, r1) = (&img.data[i..i + 6], &img.data[j..j + 6]);
        (rgb(r0, 0), rgb(r0, 3), rgb(r1, 0), rgb(r1, 3))
    } else {
        (
            border_pixel(img, border, x0, y0),
            border_pixel(img, border, x0 + 1, y0),
            border_pixel(img, border, x0, y0 + 1),
            border_pixel(img, border, x0 + 1, y0 + 1),
        )
    };
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bottom = c[k] + (d[k] - c[k]) * fx;
        out[k] = (top + (bottom - top) * fy) * scale + offset;
    }
    out
}

/// [`warp`] into `out`, a pixel at a time.
#[inline(always)]
fn warp_into(img: &RgbImage, out_size: usize, warp: &Warp, out: &mut [f32]) {
    for (v, row) in out.chunks_exact_mut(out_size * 3).enumerate().take(out_size) {
        for (u, dst) in row.chunks_exact_mut(3).enumerate() {
            dst.copy_from_slice(&sample(img, warp, u, v));
        }
    }
}

/// Why a JPEG's bytes are cut short, if they are: its last scan (`FFDA`) is not followed by the
/// end-of-image marker (`FFD9`). Neither marker can occur inside entropy-coded data, and an EXIF
/// thumbnail's markers come before the main image's scans. `None` for complete JPEGs and for
/// other formats.
pub fn jpeg_truncation(bytes: &[u8]) -> Option<&'static str> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA])?;
    let ends = bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9]);
    (!ends).then_some("the JPEG is cut short (no end-of-image marker after its last scan)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 warp gives exactly the values of the pixel-at-a-time one: inside the image, across
    /// its borders (both border modes), rotated and scaled, up to the image's last byte.
    #[test]
    fn the_vectorised_warp_matches_the_plain_one_exactly() {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::compute::SimdLevel::detected() < crate::compute::SimdLevel::Avx2 {
                return;
            }
            let (w, h) = (61u32, 47u32);
            let data: Vec<u8> = (0..w * h * 3).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            let img = RgbImage::new(w, h, data).unwrap_or_else(|e| panic!("{e}"));
            for (angle, step, origin, border) in [
                (0.0f32, 0.2f32, [3.3f32, 2.1f32], Border::Replicate),
                (0.4, 0.25, [-5.0, 4.0], Border::Replicate),
                (-1.1, 0.31, [30.0, -8.0], Border::Zero),
                (0.0, 0.236, [0.0, 0.0], Border::Zero),
                (2.5, 0.5, [60.0, 46.0], Border::Replicate),
            ] {
                let (s, c) = angle.sin_cos();
                let warp = Warp {
                    origin,
                    du: [c * step, s * step],
                    dv: [-s * step, c * step],
                    border,
                    scale: 1.0 / 255.0,
                    offset: -0.5,
                };
                let size = 203; // not a multiple of 8: the rows end on single pixels
                let (mut plain, mut wide) = (vec![0.0; size * size * 3], vec![0.0; size * size * 3]);
                warp_into(&img, size, &warp, &mut plain);
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                unsafe { warp_avx2(&img, size, &warp, &mut wide) };
                let differ = plain.iter().zip(&wide).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
                assert_eq!(differ, 0, "angle {angle}, step {step}: {differ} values differ");
            }
        }
    }
}
