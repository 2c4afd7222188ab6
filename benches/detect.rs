//! Benchmarks of the BlazePose port (`cmanet::detect`), one thread: the detector network
//! (224x224) and the lite and full landmark networks (256x256) on the first fixture input of
//! `tests/fixtures/blazepose_*.safetensors` (the same inputs `tools/time_litert.py` times LiteRT
//! on), the whole pipeline (detection, crop, landmarks) on a rendered 512x512 frame, and the crop
//! alone (the tracked region warped to the landmark network's 256x256). With the
//! `video` feature, decoding the shipped sample's cam03 clip (100 frames, 218x384, H.264 High with
//! B-frames) from the start, demuxing and RGB conversion included. And the detector's pointwise
//! layer shapes (75 % of the weights zero, as MediaPipe pruned them) through the dense and the
//! sparse product (`pointwise_*`, AVX-512 machines only for the sparse one).
//!
//! With the `wgpu` feature, the same tracking on the GPU (`detect::gpu`: the frame a texture, the
//! crop and both networks compute shaders, only outputs read back) on the first adapter that
//! answers (lavapipe, a software renderer, on a machine without a GPU).
//!
//! Run with `RAYON_NUM_THREADS=1 cargo bench --no-default-features --bench detect` (the networks),
//! `cargo bench --bench detect -- video` (decoding) or
//! `cargo bench --features wgpu --bench detect -- gpu` (the GPU).

use std::hint::black_box;
use std::path::PathBuf;

use cmanet::compute::matmul::{Activation, PackedWeights, matmul_packed};
use cmanet::compute::sparse::{SparseWeights, matmul_sparse};
use cmanet::detect::{LandmarkModel, Network, PoseDetector, PoseTracker, RgbImage};
use cmanet::tensor_file::TensorFile;
use criterion::Criterion;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_input(name: &str, detector: bool) -> Vec<f32> {
    let fx = TensorFile::read_safetensors(&root().join(format!("tests/fixtures/blazepose_{name}.safetensors")))
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = fx.required("input0", &[Some(1), None, None, Some(3)]).unwrap_or_else(|e| panic!("{e}"));
    raw.data.iter().map(|&b| if detector { b as f32 / 127.5 - 1.0 } else { b as f32 / 255.0 }).collect()
}

fn networks(c: &mut Criterion) {
    for (name, detector) in [("detector", true), ("landmark_lite", false), ("landmark_full", false)] {
        let net = Network::load(&root().join(format!("assets/models/blazepose_{name}.safetensors")))
            .unwrap_or_else(|e| panic!("{e}"));
        let x = fixture_input(name, detector);
        c.bench_function(&format!("blazepose_{name}"), |b| b.iter(|| net.run(black_box(&x))));
    }
}

/// A 1 x 1 convolution of the detector's shapes (`pixels x inputs -> outputs`) with three weights
/// in four zero, through [`matmul_packed`] and [`matmul_sparse`].
fn pointwise(c: &mut Criterion) {
    for (m, k, n) in [(196, 112, 672), (196, 1152, 192), (49, 192, 1152), (784, 96, 96), (3136, 24, 144)] {
        let lhs: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let rhs: Vec<f32> =
            (0..k * n).map(|i| if (i * 2654435761) % 4 == 0 { ((i % 13) as f32 - 6.0) / 6.0 } else { 0.0 }).collect();
        let bias = vec![0.1; n];
        let mut out = vec![0.0; m * n];
        let dense = PackedWeights::new(&rhs, &bias, k, n);
        c.bench_function(&format!("pointwise_dense_{m}x{k}x{n}"), |b| {
            b.iter(|| matmul_packed(m, black_box(&lhs), &dense, None, Activation::Relu, &mut out))
        });
        if SparseWeights::supported() {
            let sparse = SparseWeights::new(&rhs, &bias, k, n);
            let mut scratch = vec![0.0; sparse.scratch_len()];
            c.bench_function(&format!("pointwise_sparse_{m}x{k}x{n}"), |b| {
                b.iter(|| matmul_sparse(m, black_box(&lhs), &sparse, None, Activation::Relu, &mut scratch, &mut out))
            });
        }
    }
}

fn pipeline(c: &mut Criterion) {
    let img =
        RgbImage::open(&root().join("plugin-docs/src/images/avatar_arms_raised.png")).unwrap_or_else(|e| panic!("{e}"));
    // The crop that feeds the landmark network: the tracked region warped to 256 x 256.
    if let Ok(Some(pose)) = PoseDetector::load(LandmarkModel::Lite).and_then(|d| d.detect(&img)) {
        c.bench_function("pose_crop_256_from_512px", |b| {
            b.iter(|| PoseDetector::crop(black_box(&img), &pose.next_roi))
        });
    }
    for model in [LandmarkModel::Lite, LandmarkModel::Full] {
        let det = PoseDetector::load(model).unwrap_or_else(|e| panic!("{e}"));
        let tag = format!("{model:?}").to_lowercase();
        c.bench_function(&format!("pose_detect_{tag}_512px"), |b| b.iter(|| det.detect(black_box(&img))));
        let mut tracker = PoseTracker::new();
        c.bench_function(&format!("pose_track_{tag}_512px"), |b| b.iter(|| tracker.track(&det, black_box(&img))));
    }
}

#[cfg(feature = "video")]
fn video(c: &mut Criterion) {
    let path = cmanet::assets::pose2sim_sample().join("cam03.mp4");
    let reader = cmanet::detect::VideoReader::open(&path).expect("the sample's video");
    c.bench_function("video_decode_100_frames_218x384", |b| {
        b.iter(|| reader.frames(0.0).expect("opens").map(|f| f.expect("decodes").index).sum::<usize>())
    });
}

#[cfg(feature = "wgpu")]
fn gpu(c: &mut Criterion) {
    use cmanet::detect::gpu::{CropSource, GpuContext, GpuPoseDetector, wgpu};
    let img =
        RgbImage::open(&root().join("plugin-docs/src/images/avatar_arms_raised.png")).unwrap_or_else(|e| panic!("{e}"));
    let ctx = match GpuContext::headless() {
        Ok(ctx) => ctx,
        Err(e) => return eprintln!("no GPU benchmarks: {e}"),
    };
    let texture = ctx.upload(&img, wgpu::TextureFormat::Rgba8UnormSrgb);
    let source = CropSource::of_texture(&texture);
    let adapter = ctx.describe();
    for model in [LandmarkModel::Lite, LandmarkModel::Full] {
        let det = std::sync::Arc::new(PoseDetector::load(model).unwrap_or_else(|e| panic!("{e}")));
        let gpu = GpuPoseDetector::new(&ctx, det).unwrap_or_else(|e| panic!("{e}"));
        let tag = format!("{model:?}").to_lowercase();
        eprintln!("gpu_pose_track_{tag}_512px on {adapter}");
        let mut tracker = PoseTracker::new();
        c.bench_function(&format!("gpu_pose_track_{tag}_512px"), |b| b.iter(|| tracker.track_with(&gpu.on(&source))));
        c.bench_function(&format!("gpu_pose_detect_people_{tag}_512px"), |b| b.iter(|| gpu.detect_people(&source)));
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    networks(&mut c);
    pointwise(&mut c);
    pipeline(&mut c);
    #[cfg(feature = "video")]
    video(&mut c);
    #[cfg(feature = "wgpu")]
    gpu(&mut c);
    c.final_summary();
}
