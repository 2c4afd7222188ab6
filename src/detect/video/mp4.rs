//! The parts of an MP4 / MOV file (ISO base media, ISO/IEC 14496-12) a decoder needs: the first
//! H.264 video track's sample table (where each coded frame is in the file, its decode and
//! presentation times, which frames are key frames) and its parameter sets (the `avcC` box).
//! Only the boxes that matter are read; the rest are skipped by their sizes. Every size and
//! offset is checked against the file, so a damaged file gives an error, never a panic.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::VideoError;

/// One coded frame of the track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Byte offset in the file.
    pub offset: u64,
    /// Size in bytes.
    pub size: u32,
    /// Presentation time, in the track's timescale, with the edit list's start applied (the first
    /// frame shown is at or near 0).
    pub pts: i64,
    /// Whether the frame can be decoded on its own (a key frame).
    pub sync: bool,
}

/// The H.264 video track of an MP4 / MOV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Mp4Track {
    /// The file.
    pub path: PathBuf,
    /// Coded width and height in pixels, as the sample entry states them.
    pub size: [u32; 2],
    /// Ticks per second of the sample times.
    pub timescale: u32,
    /// Bytes of each NAL unit's length prefix in the samples (1, 2 or 4).
    pub nal_length_size: usize,
    /// Sequence parameter sets (NAL units without start codes).
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
    /// The coded frames in decode order.
    pub samples: Vec<Sample>,
    /// How many samples the sample table announces (more than `samples` holds when the file is
    /// cut short).
    pub announced: usize,
}

/// A box's type and where its content lies.
#[derive(Clone, Copy, Debug)]
struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the content (after the header).
    start: u64,
    /// Offset just past the box.
    end: u64,
    /// Whether the box claims to run past the end of the file (which was cut short).
    cut: bool,
}

/// Reads box headers and contents from a file with the file's name in every error.
struct Reader {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Reader {
    fn bad(&self, problem: impl Into<String>) -> VideoError {
        VideoError::Malformed { path: self.path.clone(), problem: problem.into() }
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), VideoError> {
        let io = |source| VideoError::Io { path: self.path.clone(), source };
        self.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.file.read_exact(buf).map_err(|source| VideoError::Io { path: self.path.clone(), source })
    }

    /// The boxes between `start` and `end`. A box that claims to run past `end` is an error unless
    /// it is the file's last top-level box (a file cut short), which is then cut to `end`.
    fn children(&mut self, start: u64, end: u64, top_level: bool) -> Result<Vec<BoxHeader>, VideoError> {
        let mut boxes = Vec::new();
        let mut at = start;
        while at + 8 <= end {
            let mut head = [0u8; 16];
            self.read_at(at, &mut head[..8])?;
            let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
            let kind = [head[4], head[5], head[6], head[7]];
            let (size, header) = match size32 {
                0 => (end - at, 8),
                1 => {
                    if at + 16 > end {
                        return Err(self.bad(format!("box '{}' at byte {at} is cut short", kind_name(&kind))));
                    }
                    self.read_at(at + 8, &mut head[8..16])?;
                    (u64::from_be_bytes(head[8..16].try_into().unwrap_or_default()), 16)
                }
                s => (s, 8),
            };
            if size < header {
                return Err(self.bad(format!("box '{}' at byte {at} has size {size}", kind_name(&kind))));
            }
            let box_end = at.saturating_add(size);
            let cut = box_end > end;
            let box_end = if cut {
                if !top_level {
                    return Err(self.bad(format!(
                        "box '{}' at byte {at} runs {} bytes past its parent",
                        kind_name(&kind),
                        box_end - end
                    )));
                }
                end
            } else {
                box_end
            };
            boxes.push(BoxHeader { kind, start: at + header, end: box_end, cut });
            at = box_end;
        }
        Ok(boxes)
    }

    fn content(&mut self, b: &BoxHeader) -> Result<Vec<u8>, VideoError> {
        let len = b.end - b.start;
        if len > 256 << 20 {
            return Err(self.bad(format!("box '{}' of {len} bytes is too large", kind_name(&b.kind))));
        }
        let mut buf = vec![0u8; len as usize];
        self.read_at(b.start, &mut buf)?;
        Ok(buf)
    }

    fn child(&mut self, parent: &BoxHeader, kind: &[u8; 4]) -> Result<Option<BoxHeader>, VideoError> {
        Ok(self.children(parent.start, parent.end, false)?.into_iter().find(|b| &b.kind == kind))
    }

    fn require(&mut self, parent: &BoxHeader, kind: &[u8; 4]) -> Result<BoxHeader, VideoError> {
        self.child(parent, kind)?
            .ok_or_else(|| self.bad(format!("'{}' has no '{}' box", kind_name(&parent.kind), kind_name(kind))))
    }
}

fn kind_name(kind: &[u8; 4]) -> String {
    kind.iter().map(|&c| if c.is_ascii_graphic() { c as char } else { '?' }).collect()
}

/// Big-endian reads from a box's content, with the box named in errors.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
    name: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], name: &'static str) -> Self {
        Self { data, at: 0, name }
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("'{}' is cut short", self.name))?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(((self.u32()? as u64) << 32) | self.u32()? as u64)
    }
    /// A table's entry count, checked against the bytes left (`entry` bytes each).
    fn count(&mut self, entry: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(entry) > self.data.len() - self.at {
            return Err(format!("'{}' announces {n} entries but holds fewer", self.name));
        }
        Ok(n)
    }
}

impl Mp4Track {
    /// Reads the first video track of the MP4 / MOV file at `path`. Errors name the file: not an
    /// MP4 (no `moov` box, as when a recording was cut before it was written), no video track, a
    /// codec other than H.264, a damaged table. A file cut short in its media data still opens:
    /// the samples that lie wholly inside it are kept ([`Mp4Track::announced`] says how many there
    /// were meant to be).
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        let file = File::open(path).map_err(|source| VideoError::Io { path: path.into(), source })?;
        let len = file.metadata().map_err(|source| VideoError::Io { path: path.into(), source })?.len();
        let mut r = Reader { file, path: path.into(), len };
        let top = r.children(0, len, true)?;
        if !top.iter().any(|b| matches!(&b.kind, b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip")) {
            return Err(r.bad("not an MP4 or MOV file (no 'ftyp', 'moov' or 'mdat' box)"));
        }
        let moov = top.iter().find(|b| &b.kind == b"moov").copied().ok_or_else(|| {
            r.bad("no 'moov' box: the file was probably cut before the recording finished (the index is written last)")
        })?;
        if moov.cut {
            return Err(r.bad("its index (the 'moov' box) is cut short: the file was cut"));
        }
        let mut codec = None;
        for trak in r.children(moov.start, moov.end, false)?.into_iter().filter(|b| &b.kind == b"trak") {
            let mdia = r.require(&trak, b"mdia")?;
            let hdlr = r.require(&mdia, b"hdlr")?;
            let hdlr = r.content(&hdlr)?;
            if hdlr.get(8..12) != Some(b"vide") {
                continue;
            }
            match Self::video_track(&mut r, &trak, &mdia)? {
                Ok(track) => return Ok(track),
                Err(other) => codec = codec.or(Some(other)),
            }
        }
        Err(match codec {
            Some(c) => VideoError::UnsupportedCodec { path: path.into(), codec: c },
            None => r.bad("no video track"),
        })
    }

    /// The track, or the name of its codec when that is not H.264.
    fn video_track(r: &mut Reader, trak: &BoxHeader, mdia: &BoxHeader) -> Result<Result<Self, String>, VideoError> {
        let mdhd = r.require(mdia, b"mdhd")?;
        let mdhd = r.content(&mdhd)?;
        let mut c = Cursor::new(&mdhd, "mdhd");
        let timescale = (|| {
            let version = c.u8()?;
            c.bytes(3)?;
            if version == 1 {
                c.bytes(16)?;
            } else {
                c.bytes(8)?;
            }
            c.u32()
        })()
        .map_err(|e| r.bad(e))?;
        if timescale == 0 {
            return Err(r.bad("the video track's timescale is 0"));
        }
        let minf = r.require(mdia, b"minf")?;
        let stbl = r.require(&minf, b"stbl")?;
        let stsd = r.require(&stbl, b"stsd")?;
        // stsd: version/flags, entry count, then sample entries (boxes).
        let entries = r.children(stsd.start + 8, stsd.end, false)?;
        let entry = *entries.first().ok_or_else(|| r.bad("'stsd' holds no sample description"))?;
        if !matches!(&entry.kind, b"avc1" | b"avc3") {
            let name = match &entry.kind {
                b"hvc1" | b"hev1" => "H.265 / HEVC".to_string(),
                b"vp09" => "VP9".to_string(),
                b"av01" => "AV1".to_string(),
                b"mp4v" => "MPEG-4 part 2".to_string(),
                other => format!("'{}'", kind_name(other)),
            };
            return Ok(Err(name));
        }
        // A visual sample entry: 78 bytes of fields, then its boxes (avcC among them).
        let fields = r.content(&BoxHeader { end: (entry.start + 78).min(entry.end), ..entry })?;
        let mut c = Cursor::new(&fields, "avc1");
        let size = (|| {
            c.bytes(24)?;
            Ok::<_, String>([c.u16()? as u32, c.u16()? as u32])
        })()
        .map_err(|e| r.bad(e))?;
        let avcc = r
            .children(entry.start + 78, entry.end, false)?
            .into_iter()
            .find(|b| &b.kind == b"avcC")
            .ok_or_else(|| r.bad("the H.264 sample entry has no 'avcC' box"))?;
        let avcc = r.content(&avcc)?;
        let (nal_length_size, sps, pps) = parse_avcc(&avcc).map_err(|e| r.bad(e))?;
        let table = |r: &mut Reader, kind: &[u8; 4]| -> Result<Option<Vec<u8>>, VideoError> {
            match r.child(&stbl, kind)? {
                Some(b) => Ok(Some(r.content(&b)?)),
                None => Ok(None),
            }
        };
        let need = |r: &mut Reader, kind: &[u8; 4]| -> Result<Vec<u8>, VideoError> {
            table(r, kind)?.ok_or_else(|| r.bad(format!("the video track has no '{}' table", kind_name(kind))))
        };
        let stts = need(r, b"stts")?;
        let stsz = need(r, b"stsz")?;
        let stsc = need(r, b"stsc")?;
        let (chunk_offsets, co64) = match table(r, b"stco")? {
            Some(t) => (t, false),
            None => (need(r, b"co64")?, true),
        };
        let ctts = table(r, b"ctts")?;
        let stss = table(r, b"stss")?;
        let edit = match r.child(trak, b"edts")? {
            Some(edts) => match r.child(&edts, b"elst")? {
                Some(elst) => Some(r.content(&elst)?),
                None => None,
            },
            None => None,
        };
        let tables = Tables {
            stts: &stts,
            stsz: &stsz,
            stsc: &stsc,
            chunk_offsets: &chunk_offsets,
            co64,
            ctts: ctts.as_deref(),
            stss: stss.as_deref(),
            elst: edit.as_deref(),
        };
        let (samples, announced) = tables.samples(r.len).map_err(|e| r.bad(e))?;
        Ok(Ok(Self { path: r.path.clone(), size, timescale, nal_length_size, sps, pps, samples, announced }))
    }

    /// Presentation times of the samples in seconds, in decode order.
    pub fn seconds(&self, sample: &Sample) -> f64 {
        sample.pts as f64 / self.timescale as f64
    }
}

/// The `avcC` box: NAL length size, SPS and PPS.
type AvcConfig = (usize, Vec<Vec<u8>>, Vec<Vec<u8>>);

fn parse_avcc(data: &[u8]) -> Result<AvcConfig, String> {
    let mut c = Cursor::new(data, "avcC");
    c.bytes(4)?;
    let nal_length_size = (c.u8()? & 3) as usize + 1;
    if nal_length_size == 3 {
        return Err("'avcC' gives NAL lengths of 3 bytes, which H.264 does not allow".into());
    }
    let sets = |count: usize, c: &mut Cursor| -> Result<Vec<Vec<u8>>, String> {
        (0..count)
            .map(|_| {
                let len = c.u16()? as usize;
                Ok(c.bytes(len)?.to_vec())
            })
            .collect()
    };
    let n_sps = (c.u8()? & 0x1f) as usize;
    let sps = sets(n_sps, &mut c)?;
    let n_pps = c.u8()? as usize;
    let pps = sets(n_pps, &mut c)?;
    if sps.is_empty() || pps.is_empty() {
        return Err("'avcC' holds no sequence or picture parameter set".into());
    }
    Ok((nal_length_size, sps, pps))
}

/// The sample table's boxes.
struct Tables<'a> {
    stts: &'a [u8],
    stsz: &'a [u8],
    stsc: &'a [u8],
    chunk_offsets: &'a [u8],
    co64: bool,
    ctts: Option<&'a [u8]>,
    stss: Option<&'a [u8]>,
    elst: Option<&'a [u8]>,
}

impl Tables<'_> {
    /// The samples that lie wholly inside a file of `file_len` bytes, and how many the table has.
    fn samples(&self, file_len: u64) -> Result<(Vec<Sample>, usize), String> {
        // Sizes.
        let mut c = Cursor::new(self.stsz, "stsz");
        c.bytes(4)?;
        let uniform = c.u32()?;
        let count = c.u32()? as usize;
        let sizes: Vec<u32> = if uniform != 0 {
            if count > 1 << 28 {
                return Err(format!("'stsz' announces {count} samples"));
            }
            vec![uniform; count]
        } else {
            if count.saturating_mul(4) > self.stsz.len() - c.at {
                return Err(format!("'stsz' announces {count} entries but holds fewer"));
            }
            (0..count).map(|_| c.u32()).collect::<Result<_, _>>()?
        };
        // Decode times.
        let mut c = Cursor::new(self.stts, "stts");
        c.bytes(4)?;
        let mut dts = Vec::with_capacity(count);
        let mut t = 0i64;
        for _ in 0..c.count(8)? {
            let (n, delta) = (c.u32()?, c.u32()? as i64);
            for _ in 0..n {
                if dts.len() == count {
                    break;
                }
                dts.push(t);
                t += delta;
            }
        }
        if dts.len() < count {
            return Err(format!("'stts' times {} of {count} samples", dts.len()));
        }
        // Composition offsets (B-frames: presentation = decode + offset).
        let mut offsets = vec![0i64; count];
        if let Some(ctts) = self.ctts {
            let mut c = Cursor::new(ctts, "ctts");
            let version = c.u8()?;
            c.bytes(3)?;
            let mut i = 0;
            for _ in 0..c.count(8)? {
                let n = c.u32()?;
                let raw = c.u32()?;
                let off = if version == 0 { raw as i64 } else { raw as i32 as i64 };
                for _ in 0..n {
                    if i < count {
                        offsets[i] = off;
                        i += 1;
                    }
                }
            }
        }
        // The edit list's start: the media time shown first.
        let mut shift = 0i64;
        if let Some(elst) = self.elst {
            let mut c = Cursor::new(elst, "elst");
            let version = c.u8()?;
            c.bytes(3)?;
            let entries = c.count(if version == 1 { 20 } else { 12 })?;
            for _ in 0..entries {
                let media_time = if version == 1 {
                    c.u64()?;
                    c.u64()? as i64
                } else {
                    c.u32()?;
                    c.u32()? as i32 as i64
                };
                c.bytes(4)?;
                // An empty edit (-1) delays the track; the first real edit says where it starts.
                if media_time >= 0 {
                    shift = media_time;
                    break;
                }
            }
        }
        // Key frames (no table: every frame is one).
        let mut sync = vec![self.stss.is_none(); count];
        if let Some(stss) = self.stss {
            let mut c = Cursor::new(stss, "stss");
            c.bytes(4)?;
            for _ in 0..c.count(4)? {
                let n = c.u32()? as usize;
                if (1..=count).contains(&n) {
                    sync[n - 1] = true;
                }
            }
        }
        // Chunks and where each begins.
        let mut c = Cursor::new(self.chunk_offsets, if self.co64 { "co64" } else { "stco" });
        c.bytes(4)?;
        let chunks: Vec<u64> = (0..c.count(if self.co64 { 8 } else { 4 })?)
            .map(|_| if self.co64 { c.u64() } else { c.u32().map(u64::from) })
            .collect::<Result<_, _>>()?;
        let mut c = Cursor::new(self.stsc, "stsc");
        c.bytes(4)?;
        let runs: Vec<(usize, usize)> = (0..c.count(12)?)
            .map(|_| {
                let first = c.u32()? as usize;
                let per = c.u32()? as usize;
                c.u32()?;
                Ok((first, per))
            })
            .collect::<Result<_, String>>()?;
        let mut samples = Vec::with_capacity(count);
        let mut s = 0usize;
        'chunks: for (k, &chunk_start) in chunks.iter().enumerate() {
            let chunk = k + 1;
            let per = runs.iter().rev().find(|(first, _)| *first <= chunk).map_or(0, |r| r.1);
            let mut at = chunk_start;
            for _ in 0..per {
                if s == count {
                    break 'chunks;
                }
                let size = sizes[s];
                let end = at.saturating_add(size as u64);
                if end > file_len {
                    break 'chunks;
                }
                samples.push(Sample { offset: at, size, pts: dts[s] + offsets[s] - shift, sync: sync[s] });
                at = end;
                s += 1;
            }
        }
        Ok((samples, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_gives_lengths_and_parameter_sets() {
        let avcc = [1, 100, 0, 40, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 9];
        let (n, sps, pps) = parse_avcc(&avcc).unwrap();
        assert_eq!((n, sps, pps), (4, vec![vec![0x67, 1, 2]], vec![vec![0x68, 9]]));
        assert!(parse_avcc(&avcc[..10]).unwrap_err().contains("cut short"));
    }
}
