//! A bounded mutation fuzzer on stable Rust: every reader of outside files (mv2d, mv3d, takes,
//! CMANet weights, the body model, calibration TOML, JPEG and PNG images) is fed mutations of a
//! valid file (bytes flipped, overwritten with extreme values, cut short, spliced, inserted) and
//! must return, never panic. Deterministic: a failure prints the reader, the seed and the
//! iteration, and `CMANET_FUZZ_ITERATIONS` raises the count (the default keeps CI at seconds).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `bytes`; the header (the first 512 bytes, where lengths and offsets live) is hit
/// half of the time.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = |rng: &mut Rng, len: usize| if rng.below(2) == 0 { rng.below(len.min(512)) } else { rng.below(len) };
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            out.push(rng.next() as u8);
            continue;
        }
        let i = at(rng, out.len());
        match rng.below(6) {
            0 => out[i] ^= 1 << rng.below(8),
            1 => out[i] = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)],
            2 => {
                // An extreme 8-byte value (a length, an offset, a float).
                let values = [u64::MAX, 0, 1 << 40, f64::NAN.to_bits(), f64::INFINITY.to_bits(), 1e30f64.to_bits()];
                let v = values[rng.below(values.len())].to_le_bytes();
                for (k, b) in v.iter().enumerate() {
                    if let Some(x) = out.get_mut(i + k) {
                        *x = *b;
                    }
                }
            }
            3 => out.truncate(i),
            4 => {
                let j = rng.below(out.len());
                let chunk: Vec<u8> = out[j..(j + 1 + rng.below(64)).min(out.len())].to_vec();
                out.splice(i..i, chunk);
            }
            _ => {
                let n = 1 + rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                out.splice(i..i, junk);
            }
        }
    }
    out
}

/// Feeds `iterations` mutations of `original` to `read` (through a file in `dir`, named like
/// `name`); any panic fails the test with what to replay.
fn fuzz(name: &str, original: &[u8], iterations: usize, read: impl Fn(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let seed = 0x9E37_79B9_7F4A_7C15 ^ name.len() as u64;
    let mut rng = Rng(seed);
    for i in 0..iterations {
        let bytes = mutate(original, &mut rng);
        std::fs::write(&path, &bytes).unwrap();
        if catch_unwind(AssertUnwindSafe(|| read(&path))).is_err() {
            let kept = std::env::temp_dir().join(format!("cmanet-fuzz-{name}"));
            let _ = std::fs::write(&kept, &bytes);
            panic!("{name}: the reader panicked at iteration {i} (seed {seed:#x}); the input is {}", kept.display());
        }
    }
}

fn iterations(default: usize) -> usize {
    std::env::var("CMANET_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Valid small files of each format, written by the crate itself.
fn samples(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use cmanet::body::BodyModel;
    use cmanet::data::synth::{SynthConfig, generate_sequence};
    let body = BodyModel::open_body().unwrap();
    let config = SynthConfig { frames: 3, ..Default::default() };
    let data = generate_sequence(&body, &config, 11, 0).unwrap();
    let mv2d = dir.join("a.safetensors");
    data.write(&mv2d).unwrap();
    let estimate = cmanet::eval::triangulate_sequence(&data, &Default::default()).unwrap();
    let mv3d = dir.join("b.safetensors");
    estimate.write(&mv3d).unwrap();
    let take = cmanet::data::Take {
        fps: 30.0,
        frames: data.params.clone().unwrap(),
        seconds: vec![0.0, 1.0 / 30.0, 2.0 / 30.0],
        metadata: Default::default(),
    };
    let take_path = dir.join("c.safetensors");
    take.write(&take_path).unwrap();
    (std::fs::read(mv2d).unwrap(), std::fs::read(mv3d).unwrap(), std::fs::read(take_path).unwrap())
}

#[test]
fn the_file_readers_never_panic_on_mutated_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mv2d, mv3d, take) = samples(dir.path());
    let n = iterations(300);
    fuzz("mv2d.safetensors", &mv2d, n, |p| drop(cmanet::data::Mv2d::read(p)));
    fuzz("mv3d.safetensors", &mv3d, n, |p| drop(cmanet::data::Mv3d::read(p)));
    fuzz("take.safetensors", &take, n, |p| drop(cmanet::data::Take::read(p)));
    let calibration = std::fs::read(root().join("assets/samples/pose2sim_demo/calibration.toml")).unwrap();
    fuzz("calibration.toml", &calibration, n, |p| drop(cmanet::data::calibration::read_calibration_toml(p)));
}

#[test]
fn the_weight_and_body_model_loaders_never_panic_on_mutated_files() {
    let n = iterations(40);
    let weights = std::fs::read(cmanet::assets::weights()).unwrap();
    fuzz("weights.safetensors", &weights, n, |p| drop(cmanet::net::Cmanet::load(p, &candle_core::Device::Cpu)));
    let body = std::fs::read(root().join("assets/body/open_body.safetensors")).unwrap();
    fuzz("body.safetensors", &body, n, |p| drop(cmanet::body::BodyModel::load(p)));
}

#[test]
fn the_image_decoders_never_panic_on_mutated_images() {
    use cmanet::detect::RgbImage;
    let n = iterations(300);
    let jpeg = std::fs::read(root().join("assets/samples/pose2sim_demo/cam01/000.jpg")).unwrap();
    fuzz("frame.jpg", &jpeg, n, |p| {
        drop(RgbImage::open(p));
        drop(RgbImage::dimensions_of(p));
    });
    let png = RgbImage::new(40, 30, (0..40 * 30 * 3).map(|i| (i * 7) as u8).collect()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    png.save_png(&dir.path().join("a.png")).unwrap();
    let png = std::fs::read(dir.path().join("a.png")).unwrap();
    fuzz("frame.png", &png, n, |p| {
        drop(RgbImage::open(p));
        drop(RgbImage::dimensions_of(p));
    });
}
