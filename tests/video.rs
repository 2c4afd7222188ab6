//! Video files: frame counts and container timestamps, B-frames, variable frame rate, seeking,
//! the background stream's bounded queue and looping, and damaged files (cut short, corrupted,
//! another codec): a clear error naming the file, the frames before the damage still delivered.
#![cfg(feature = "video")]

use std::path::{Path, PathBuf};

use cmanet::detect::{DecodedFrame, RgbImage, StreamSettings, VideoError, VideoReader, VideoStream};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video").join(name)
}

/// The frame a fixture image shows: its white square's left edge is at x = 2 i (tools/video_fixtures.py).
fn shown(image: &RgbImage) -> usize {
    let (w, data) = (image.width() as usize, image.as_raw());
    let row = 12;
    let left = (0..w).find(|&x| data[(row * w + x) * 3 + 1] > 128).expect("a square in the frame");
    left.div_ceil(2)
}

fn all(reader: &VideoReader, start: f64) -> Vec<DecodedFrame> {
    reader.frames(start).unwrap().map(|f| f.unwrap()).collect()
}

#[test]
fn frames_come_in_order_with_the_containers_timestamps() {
    for (name, fps) in [("counted.mp4", 30.0), ("bframes.mp4", 25.0)] {
        let reader = VideoReader::open(&fixture(name)).unwrap();
        assert_eq!(reader.frame_count(), 24, "{name}");
        assert_eq!(reader.size(), [64, 48]);
        let frames = all(&reader, 0.0);
        assert_eq!(frames.len(), 24, "{name}");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!((f.index, shown(&f.image)), (i, i), "{name}: frame {i} shows another");
            assert!((f.seconds - i as f64 / fps).abs() < 1e-6, "{name}: frame {i} at {}", f.seconds);
            assert_eq!([f.image.width(), f.image.height()], [64, 48]);
        }
        assert!((reader.mean_fps().unwrap() - fps).abs() < 1e-6);
        assert!((reader.duration() - 24.0 / fps).abs() < 1e-6);
    }
}

#[test]
fn variable_frame_rate_keeps_each_frames_own_time() {
    let reader = VideoReader::open(&fixture("vfr.mp4")).unwrap();
    let frames = all(&reader, 0.0);
    assert_eq!(frames.len(), 24);
    for (i, f) in frames.iter().enumerate() {
        let expected = (i as f64 + (i * i) as f64 / 20.0) / 30.0;
        assert!((f.seconds - expected).abs() < 2e-5, "frame {i} at {} instead of {expected}", f.seconds);
        assert_eq!(shown(&f.image), i);
    }
}

#[test]
fn seeking_starts_at_the_first_frame_at_or_after_the_time() {
    for name in ["counted.mp4", "bframes.mp4", "vfr.mp4"] {
        let reader = VideoReader::open(&fixture(name)).unwrap();
        for want in [0usize, 5, 8, 13, 23] {
            let t = reader.timestamps()[want];
            let frames = all(&reader, t - 1e-4);
            assert_eq!(frames.len(), 24 - want, "{name} from frame {want}");
            assert_eq!((frames[0].index, shown(&frames[0].image)), (want, want), "{name} from frame {want}");
        }
        assert_eq!(all(&reader, 100.0).len(), 0);
    }
}

#[test]
fn the_stream_loops_and_holds_only_a_few_frames() {
    let reader = VideoReader::open(&fixture("counted.mp4")).unwrap();
    let mut stream = VideoStream::spawn(reader, StreamSettings { looping: true, queue: 2, ..Default::default() });
    let mut seen = Vec::new();
    while seen.len() < 60 {
        let f = stream.next_blocking().unwrap().unwrap();
        seen.push((f.pass, f.index, shown(&f.image)));
    }
    for (k, &(pass, index, shows)) in seen.iter().enumerate() {
        assert_eq!((pass as usize, index, shows), (k / 24, k % 24, k % 24));
    }
    // Not looping: it ends after the last frame, from where it started.
    let reader = VideoReader::open(&fixture("counted.mp4")).unwrap();
    let start = reader.timestamps()[20];
    let mut stream = VideoStream::spawn(reader, StreamSettings { start, ..Default::default() });
    let indices: Vec<usize> = std::iter::from_fn(|| stream.next_blocking()).map(|f| f.unwrap().index).collect();
    assert_eq!(indices, [20, 21, 22, 23]);
    assert!(stream.is_finished());
}

fn damaged_copy(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixture("counted.mp4")).unwrap();
    edit(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn damaged_files_name_themselves_and_keep_the_frames_before() {
    let dir = tempfile::tempdir().unwrap();
    let len = std::fs::metadata(fixture("counted.mp4")).unwrap().len() as usize;
    // Cut short in the media data: the whole frames before the cut are delivered, then the error.
    let cut = damaged_copy(dir.path(), "cut.mp4", |b| b.truncate(len - 150));
    let reader = VideoReader::open(&cut).unwrap();
    assert!(reader.frame_count() > 5 && reader.frame_count() < 24, "{}", reader.frame_count());
    let items: Vec<_> = reader.frames(0.0).unwrap().collect();
    let (ok, errors): (Vec<_>, Vec<_>) = items.into_iter().partition(|i| i.is_ok());
    assert_eq!(ok.len(), reader.frame_count());
    for (i, f) in ok.into_iter().map(Result::unwrap).enumerate() {
        assert_eq!(shown(&f.image), i);
    }
    let message = errors.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(message.contains("cut.mp4") && message.contains("cut short"), "{message}");
    // Cut inside the index (40 bytes left): refused, naming the file.
    let stub = damaged_copy(dir.path(), "stub.mp4", |b| b.truncate(40));
    let err = VideoReader::open(&stub).unwrap_err().to_string();
    assert!(err.contains("stub.mp4") && err.contains("moov"), "{err}");
    // Garbage over one frame's data: that frame is reported, the ones before are delivered, and
    // decoding goes on at the next key frame.
    let reader = VideoReader::open(&fixture("counted.mp4")).unwrap();
    let frames = all(&reader, 0.0);
    assert_eq!(frames.len(), 24);
    let track = cmanet::detect::Mp4Track::open(&fixture("counted.mp4")).unwrap();
    let victim = track.samples[11];
    let garbled = damaged_copy(dir.path(), "garbled.mp4", |b| {
        let at = victim.offset as usize;
        for (k, byte) in b[at..at + victim.size as usize].iter_mut().enumerate() {
            *byte = if k < 4 { 0xff } else { (k * 37) as u8 };
        }
    });
    let items: Vec<_> = VideoReader::open(&garbled).unwrap().frames(0.0).unwrap().collect();
    let first_error = items.iter().position(|i| i.is_err()).expect("the damage is reported");
    assert_eq!(first_error, 11);
    for (i, item) in items[..11].iter().enumerate() {
        assert_eq!(shown(&item.as_ref().unwrap().image), i);
    }
    match &items[11] {
        Err(VideoError::Damaged { path, frame, .. }) => assert_eq!((path.as_path(), *frame), (garbled.as_path(), 11)),
        other => panic!("{other:?}"),
    }
    let after: Vec<usize> = items[12..].iter().filter_map(|i| i.as_ref().ok()).map(|f| f.index).collect();
    assert_eq!(after, (16..24).collect::<Vec<_>>(), "decoding goes on at the next key frame (16)");
    // Another codec, and not a video at all.
    let hevc = damaged_copy(dir.path(), "hevc.mp4", |b| {
        let at = b.windows(4).rposition(|w| w == b"avc1").unwrap();
        b[at..at + 4].copy_from_slice(b"hvc1");
    });
    let err = VideoReader::open(&hevc).unwrap_err().to_string();
    assert!(err.contains("hevc.mp4") && err.contains("H.265") && err.contains("only H.264"), "{err}");
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video at all, just some words in a file").unwrap();
    let err = VideoReader::open(&text).unwrap_err().to_string();
    assert!(err.contains("notes.mp4"), "{err}");
}
