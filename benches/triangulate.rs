//! Benchmarks of robust triangulation: the 17 COCO keypoints of one frame from 4 and from 8 views,
//! with a little pixel noise, one missing keypoint per view and one confidently wrong view per joint.

use std::hint::black_box;

use cmanet::geometry::{Camera, Extrinsics, Intrinsics, NUM_KEYPOINTS, TriangulationSettings, triangulate_keypoints};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Matrix3x4, Vector2, Vector3};

/// Deterministic pseudo-random numbers in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A ring of `views` cameras around a person, and that person's keypoints seen by each.
fn frame(views: usize) -> (Vec<Matrix3x4<f64>>, Vec<[[f32; 3]; NUM_KEYPOINTS]>) {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let cams: Vec<Camera> = (0..views)
        .map(|i| {
            let azimuth = i as f64 / views as f64 * std::f64::consts::TAU;
            let eye = Vector3::new(4.0 * azimuth.cos(), 1.5 + rng.next(), 4.0 * azimuth.sin());
            Camera {
                intrinsics: Intrinsics::from_horizontal_fov(60f64.to_radians(), 1280.0, 720.0),
                extrinsics: Extrinsics::look_at(&eye, &Vector3::new(0.0, 1.0, 0.0), &Vector3::y(), 0.0),
                image_size: Vector2::new(1280.0, 720.0),
            }
        })
        .collect();
    let joints: Vec<Vector3<f64>> =
        (0..NUM_KEYPOINTS).map(|_| Vector3::new(rng.next() - 0.5, 0.1 + 1.6 * rng.next(), rng.next() - 0.5)).collect();
    let keypoints = cams
        .iter()
        .enumerate()
        .map(|(v, cam)| {
            std::array::from_fn(|j| {
                let px = cam.project(&joints[j]).unwrap_or_default();
                let (dx, dy) = (2.0 * rng.next() - 1.0, 2.0 * rng.next() - 1.0);
                let mut kp = [(px.x + dx) as f32, (px.y + dy) as f32, (0.5 + 0.5 * rng.next()) as f32];
                if j % views == v {
                    kp[0] += 150.0; // confidently wrong
                    kp[2] = 0.95;
                }
                if (j + 3) % views == v {
                    kp[2] = 0.0; // missing
                }
                kp
            })
        })
        .collect();
    (cams.iter().map(Camera::projection_matrix).collect(), keypoints)
}

fn bench(c: &mut Criterion) {
    let settings = TriangulationSettings::default();
    for views in [4, 8] {
        let (projections, keypoints) = frame(views);
        c.bench_function(&format!("triangulate_17_joints_{views}_views"), |b| {
            b.iter(|| triangulate_keypoints(black_box(&projections), black_box(&keypoints), &settings))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
