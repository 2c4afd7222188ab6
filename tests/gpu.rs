//! The BlazePose networks on a wgpu device (feature `wgpu`) against the CPU interpreter, on Mesa's
//! software Vulkan (lavapipe) in CI (`.ci/run` installs it): the crop read from a texture, each
//! network's outputs, and the landmarks end to end, on a rendered avatar.
//! `cargo test --release --features wgpu --test gpu -- --nocapture` prints the differences.
#![cfg(feature = "wgpu")]

use std::path::PathBuf;

use std::sync::Arc;

use cmanet::detect::gpu::{CropSource, GpuContext, GpuCrop, GpuError, GpuNetwork, GpuPoseDetector, wgpu};
use cmanet::detect::{LandmarkModel, Output, Pose, PoseDetector, PoseTracker, RgbImage, Roi};

fn context() -> GpuContext {
    GpuContext::headless()
        .unwrap_or_else(|e| panic!("{e} (these tests need a Vulkan driver: apt-get install mesa-vulkan-drivers)"))
}

fn avatar(name: &str) -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("plugin-docs/src/images/{name}.png"));
    RgbImage::open(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn person_roi(det: &PoseDetector, img: &RgbImage) -> Roi {
    det.detect_people(img).unwrap_or_else(|e| panic!("{e}")).first().expect("the avatar is a person").roi()
}

#[test]
fn crops_from_a_texture_match_the_cpu_warp() {
    let ctx = context();
    let det = PoseDetector::load(LandmarkModel::Lite).unwrap_or_else(|e| panic!("{e}"));
    let crop = GpuCrop::new(&ctx);
    let img = avatar("avatar_arms_raised");
    let roi = person_roi(&det, &img);
    // Rotated too, and partly outside the image (the edge pixels repeat).
    let turned = Roi { rotation: 0.6, size: roi.size * 1.6, ..roi };
    for format in [wgpu::TextureFormat::Rgba8UnormSrgb, wgpu::TextureFormat::Rgba8Unorm] {
        let source = CropSource::of_texture(&ctx.upload(&img, format));
        for roi in [roi, turned] {
            let (s, c) = roi.rotation.sin_cos();
            let step = roi.size / 256.0;
            let gpu = crop
                .crop(
                    &ctx,
                    &source,
                    256,
                    roi.to_image(0.0, 0.0),
                    [c * step, s * step],
                    [-s * step, c * step],
                    true,
                    1.0 / 255.0,
                    0.0,
                )
                .unwrap_or_else(|e| panic!("{e}"));
            let d = max_difference(&gpu, &PoseDetector::crop(&img, &roi));
            println!("{format:?}, rotation {:.1}: landmark crop differs by {d:.2e} at most", roi.rotation);
            assert!(d <= 1e-4, "{format:?}: {d}");
        }
        // The detector's letterbox: black outside the image, values in [-1, 1].
        let (cpu, origin, side) = PoseDetector::detector_input(&img);
        let step = side / 224.0;
        let gpu = crop
            .crop(&ctx, &source, 224, origin, [step, 0.0], [0.0, step], false, 1.0 / 127.5, -1.0)
            .unwrap_or_else(|e| panic!("{e}"));
        let d = max_difference(&gpu, &cpu);
        println!("{format:?}: detector input differs by {d:.2e} at most");
        assert!(d <= 1e-4, "{format:?}: {d}");
    }
}

/// The largest difference of each output, and the largest of the landmark coordinates (output
/// `Identity`: 39 points x (x, y, z, visibility, presence), crop pixels) in x and y.
fn compare(cpu: &[Output], gpu: &[Output]) -> (Vec<(String, f32, f32)>, f32) {
    assert_eq!(cpu.len(), gpu.len());
    let mut xy = 0.0f32;
    let rows = cpu
        .iter()
        .zip(gpu)
        .map(|(c, g)| {
            assert_eq!((&c.name, &c.shape), (&g.name, &g.shape));
            if c.name == "Identity" && c.data.len() == 39 * 5 {
                for (a, b) in c.data.chunks_exact(5).zip(g.data.chunks_exact(5)) {
                    xy = xy.max((a[0] - b[0]).abs()).max((a[1] - b[1]).abs());
                }
            }
            let scale = c.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            (c.name.clone(), max_difference(&c.data, &g.data), scale)
        })
        .collect();
    (rows, xy)
}

#[test]
fn each_network_matches_the_cpu_interpreter() {
    let ctx = context();
    let img = avatar("avatar_squat");
    for model in [LandmarkModel::Lite, LandmarkModel::Full] {
        let det = PoseDetector::load(model).unwrap_or_else(|e| panic!("{e}"));
        let crop = PoseDetector::crop(&img, &person_roi(&det, &img));
        let (detector_input, _, _) = PoseDetector::detector_input(&img);
        let runs = [(det.landmark_network(), crop), (det.detector_network(), detector_input)];
        for (network, input) in runs {
            let gpu = GpuNetwork::new(&ctx, network).unwrap_or_else(|e| panic!("{e}"));
            let cpu_out = network.run(&input).unwrap_or_else(|e| panic!("{e}"));
            let gpu_out = gpu.run(&input).unwrap_or_else(|e| panic!("{e}"));
            let (rows, xy) = compare(&cpu_out, &gpu_out);
            for (name, d, scale) in &rows {
                println!("{} {name}: differs by {d:.2e} at most (values up to {scale:.1})", network.model());
                // Every output within a thousandth of its range (float rounding in another order).
                assert!(*d <= 1e-3 * scale.max(1.0), "{} {name}: {d} (values up to {scale})", network.model());
            }
            // The landmarks within a thousandth of the crop (256 pixels).
            println!("{}: landmark x, y differ by {xy:.2e} crop pixels at most", network.model());
            assert!(xy <= 0.256, "{}: landmarks {xy} crop pixels apart", network.model());
            // A second run on the same buffers gives the same values.
            assert_eq!(gpu.run(&input).unwrap_or_else(|e| panic!("{e}")), gpu_out);
            assert!(matches!(gpu.run(&input[1..]), Err(GpuError::InputSize { .. })));
        }
    }
}

/// The largest distance between two poses' landmarks (x or y), pixels.
fn pose_difference(a: &Pose, b: &Pose) -> f32 {
    a.landmarks.iter().zip(&b.landmarks).map(|(a, b)| (a.x - b.x).abs().max((a.y - b.y).abs())).fold(0.0f32, f32::max)
}

#[test]
fn tracking_on_a_texture_matches_the_cpu() {
    let ctx = context();
    let det = Arc::new(PoseDetector::load(LandmarkModel::Lite).unwrap_or_else(|e| panic!("{e}")));
    let gpu = GpuPoseDetector::new(&ctx, det.clone()).unwrap_or_else(|e| panic!("{e}"));
    for name in ["avatar_tpose", "avatar_elbows_bent"] {
        let img = avatar(name);
        let source = CropSource::of_texture(&ctx.upload(&img, wgpu::TextureFormat::Rgba8UnormSrgb));
        // The person detector: the same people, boxes within a hundredth of a pixel.
        let (cpu_people, gpu_people) = (
            det.detect_people(&img).unwrap_or_else(|e| panic!("{e}")),
            gpu.detect_people(&source).unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(cpu_people.len(), gpu_people.len());
        for (a, b) in cpu_people.iter().zip(&gpu_people) {
            let d = a.bbox.iter().zip(&b.bbox).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(d <= 1e-2 && (a.score - b.score).abs() <= 1e-4, "{name}: boxes {d} pixels apart");
        }
        // Tracking through three frames: the detector once, the landmarks within a thousandth of
        // the crop every frame.
        let (mut on_cpu, mut on_gpu) = (PoseTracker::new(), PoseTracker::new());
        for frame in 0..3 {
            let a = on_cpu.track(&det, &img).unwrap_or_else(|e| panic!("{e}")).expect("a person on the CPU");
            let b = on_gpu.track_with(&gpu.on(&source)).unwrap_or_else(|e| panic!("{e}")).expect("a person on the GPU");
            let d = pose_difference(&a, &b);
            println!("{name}, frame {frame}: landmarks differ by {:.2e} of the crop at most", d / a.roi.size);
            assert!(d <= 1e-3 * a.roi.size, "{name}: {d} pixels in a crop of {}", a.roi.size);
            assert!((a.score - b.score).abs() <= 1e-3);
        }
        assert_eq!((on_cpu.detector_runs(), on_gpu.detector_runs()), (1, 1));
        // Nobody in an unusable ROI, as on the CPU.
        let roi = Roi { size: 0.0, ..person_roi(&det, &img) };
        assert!(gpu.landmarks_in(&source, &roi).unwrap_or_else(|e| panic!("{e}")).is_none());
    }
    // Nobody in a grey frame.
    let grey = RgbImage::new(64, 48, vec![128; 64 * 48 * 3]).unwrap_or_else(|e| panic!("{e}"));
    let source = CropSource::of_texture(&ctx.upload(&grey, wgpu::TextureFormat::Rgba8Unorm));
    let mut tracker = PoseTracker::new();
    assert!(tracker.track_with(&gpu.on(&source)).unwrap_or_else(|e| panic!("{e}")).is_none());
}
