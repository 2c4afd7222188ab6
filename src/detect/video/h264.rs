//! H.264 samples (NAL units with length prefixes, as MP4 stores them) to RGB frames, with
//! OpenH264's decoder (feature `video`). The parameter sets go in first; each sample is rewritten
//! with Annex B start codes; pictures come out in presentation order (OpenH264 reorders B-frames)
//! and are converted to RGB with the BT.601 limited-range matrix of the `openh264` crate.

use super::mp4::Mp4Track;
use crate::detect::RgbImage;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// `sample`'s NAL units (each behind a `length_size`-byte big-endian length) with start codes.
#[cfg_attr(not(feature = "video"), allow(dead_code))] // only the decoder calls it
pub(crate) fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut at = 0;
    while at < sample.len() {
        let head = sample.get(at..at + length_size).ok_or("a NAL unit's length is cut short")?;
        let len = head.iter().fold(0usize, |n, &b| (n << 8) | b as usize);
        at += length_size;
        let nal = sample
            .get(at..at.saturating_add(len))
            .ok_or_else(|| format!("a NAL unit of {len} bytes runs past the sample's {} bytes", sample.len()))?;
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
        at += len;
    }
    Ok(())
}

/// One track's decoder.
pub(crate) struct H264Decoder {
    #[cfg(feature = "video")]
    inner: openh264::decoder::Decoder,
    length_size: usize,
    /// SPS and PPS with start codes, sent before the first sample.
    header: Option<Vec<u8>>,
    buffer: Vec<u8>,
}

impl H264Decoder {
    /// A decoder for `track`'s stream.
    pub(crate) fn new(track: &Mp4Track) -> Result<Self, String> {
        let mut header = Vec::new();
        for set in track.sps.iter().chain(&track.pps) {
            header.extend_from_slice(&START_CODE);
            header.extend_from_slice(set);
        }
        Ok(Self {
            #[cfg(feature = "video")]
            inner: {
                use openh264::decoder::{Decoder, DecoderConfig, Flush};
                let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
                Decoder::with_api_config(openh264::OpenH264API::from_source(), config).map_err(|e| e.to_string())?
            },
            length_size: track.nal_length_size,
            header: Some(header),
            buffer: Vec::new(),
        })
    }

    /// Decodes one sample; the pictures it completes (none while the decoder waits for a later
    /// frame, as with B-frames).
    #[cfg(feature = "video")]
    pub(crate) fn decode(&mut self, sample: &[u8]) -> Result<Vec<RgbImage>, String> {
        self.buffer.clear();
        if let Some(header) = self.header.take() {
            self.buffer.extend_from_slice(&header);
        }
        to_annex_b(sample, self.length_size, &mut self.buffer)?;
        let picture = self.inner.decode(&self.buffer).map_err(|e| e.to_string())?;
        picture.map(|p| to_rgb(&p)).into_iter().collect()
    }

    /// The pictures still held back at the end of the stream.
    #[cfg(feature = "video")]
    pub(crate) fn flush(&mut self) -> Result<Vec<RgbImage>, String> {
        let pictures = self.inner.flush_remaining().map_err(|e| e.to_string())?;
        pictures.iter().map(to_rgb).collect()
    }

    /// Without the `video` feature nothing can be decoded.
    #[cfg(not(feature = "video"))]
    pub(crate) fn decode(&mut self, _sample: &[u8]) -> Result<Vec<RgbImage>, String> {
        let _ = (&self.header, &self.buffer, self.length_size);
        Err("built without the `video` feature".into())
    }

    /// Without the `video` feature nothing can be decoded.
    #[cfg(not(feature = "video"))]
    pub(crate) fn flush(&mut self) -> Result<Vec<RgbImage>, String> {
        Ok(Vec::new())
    }
}

/// The picture as RGB: the `openh264` crate's conversion where it has its fast path (widths
/// divisible by 8), the same formula compiled here otherwise ([`super::yuv`]).
#[cfg(feature = "video")]
fn to_rgb(picture: &openh264::decoder::DecodedYUV<'_>) -> Result<RgbImage, String> {
    use openh264::formats::YUVSource;
    let (w, h) = picture.dimensions();
    let mut rgb = vec![0u8; w * h * 3];
    if w % 8 == 0 && h >= 2 {
        picture.write_rgb8(&mut rgb);
    } else {
        let planes = super::yuv::Yuv420 {
            y: picture.y(),
            u: picture.u(),
            v: picture.v(),
            size: (w, h),
            strides: picture.strides(),
        };
        super::yuv::yuv420_to_rgb(&planes, &mut rgb)?;
    }
    RgbImage::new(w as u32, h as u32, rgb).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample's frames whose width the crate's fast path does not take (218 pixels) convert
    /// to the same bytes as the crate's own conversion, and so do pictures cut to an odd size.
    #[cfg(feature = "video")]
    #[test]
    fn pictures_convert_as_the_crate_converts_them() {
        use openh264::formats::YUVSource;
        let mut compared = 0;
        for camera in ["cam01", "cam02", "cam03", "cam04"] {
            let path = crate::assets::dir().join(format!("samples/pose2sim_demo/{camera}.mp4"));
            let track = crate::detect::Mp4Track::open(&path).unwrap_or_else(|e| panic!("{e}"));
            let bytes = std::fs::read(&path).unwrap();
            let mut decoder = H264Decoder::new(&track).unwrap();
            for sample in track.samples.iter().take(6) {
                let data = &bytes[sample.offset as usize..][..sample.size as usize];
                decoder.buffer.clear();
                if let Some(header) = decoder.header.take() {
                    decoder.buffer.extend_from_slice(&header);
                }
                to_annex_b(data, decoder.length_size, &mut decoder.buffer).unwrap();
                let Some(picture) = decoder.inner.decode(&decoder.buffer).unwrap() else { continue };
                let (w, h) = picture.dimensions();
                if w % 8 == 0 {
                    continue; // the crate's own fast path converts it
                }
                let mut theirs = vec![0u8; w * h * 3];
                picture.write_rgb8(&mut theirs);
                let ours = to_rgb(&picture).unwrap();
                assert_eq!(ours.as_raw(), &theirs, "{camera}");
                // An odd width and height (the last column and row read half a chroma sample).
                let (ow, oh) = (w - 1, h - 1);
                let planes = super::super::yuv::Yuv420 {
                    y: picture.y(),
                    u: picture.u(),
                    v: picture.v(),
                    size: (ow, oh),
                    strides: picture.strides(),
                };
                let mut odd = vec![0u8; ow * oh * 3];
                super::super::yuv::yuv420_to_rgb(&planes, &mut odd).unwrap();
                for row in 0..oh {
                    assert_eq!(odd[row * ow * 3..][..ow * 3], theirs[row * w * 3..][..ow * 3]);
                }
                // Planes too short for the size are refused, naming the plane.
                let short = super::super::yuv::Yuv420 { u: &picture.u()[..10], ..planes };
                let err = super::super::yuv::yuv420_to_rgb(&short, &mut odd).unwrap_err();
                assert!(err.contains("u plane"), "{err}");
                compared += 1;
            }
        }
        assert!(compared >= 4, "only {compared} pictures took the crate's float path");
    }

    #[test]
    fn length_prefixes_become_start_codes_and_damage_is_named() {
        let mut out = Vec::new();
        to_annex_b(&[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41], 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 1, 0, 0, 0, 1, 0x41]);
        assert!(to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut Vec::new()).unwrap_err().contains("runs past"));
        assert!(to_annex_b(&[0, 0], 4, &mut Vec::new()).unwrap_err().contains("cut short"));
    }
}
