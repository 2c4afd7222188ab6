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

#[cfg(feature = "video")]
fn to_rgb(picture: &openh264::decoder::DecodedYUV<'_>) -> Result<RgbImage, String> {
    use openh264::formats::YUVSource;
    let (w, h) = picture.dimensions();
    let mut rgb = vec![0u8; w * h * 3];
    picture.write_rgb8(&mut rgb);
    RgbImage::new(w as u32, h as u32, rgb).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes_and_damage_is_named() {
        let mut out = Vec::new();
        to_annex_b(&[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41], 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 1, 0, 0, 0, 1, 0x41]);
        assert!(to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut Vec::new()).unwrap_err().contains("runs past"));
        assert!(to_annex_b(&[0, 0], 4, &mut Vec::new()).unwrap_err().contains("cut short"));
    }
}
