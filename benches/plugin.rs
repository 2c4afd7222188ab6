//! The plugin's cost to the app: the main thread's time per frame (`app.update()` with four views
//! delivering new images every frame, an avatar driven, inference running off-thread), and the
//! end-to-end latency from the views' capture to the avatar's bones (detection in every view,
//! CMANet, smoothing, bone writes) for 2, 4 and 8 views and images 1, 2 and 4 times the size.
//! Images: the shipped real sample (Pose2Sim, 216x384). Streaming:
//! the same main-thread frame with the VMC sender on, and one pose's own cost out (pose to frame,
//! OSC encoding, the UDP send) and in (a datagram read, assembled and turned into a pose).
//!
//! ```text
//! cargo bench --bench plugin
//! ```
#![cfg(feature = "bevy")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use cmanet::data::calibration::read_calibration_toml;
use cmanet::detect::{RgbImage, frame_files};
use cmanet::geometry::Intrinsics;
use cmanet::plugin::{
    AvatarBones, CaptureView, CapturedFrame, CapturedPixels, CmanetAvatar, CmanetPlugin, CmanetPose, CmanetSettings,
    CmanetVmcSender, VmcStatus, headless_app,
};
use cmanet::stream::{FrameSettings, VmcFrame, VmcReceiver, VmcSender};
use criterion::Criterion;

/// The first frames of `views` views (30, or 10 of enlarged images), with their intrinsics: the
/// sample's four cameras (taken again from the first for more than four), every image enlarged
/// `scale` times.
fn sample(views: usize, scale: u32) -> Vec<(Vec<Arc<RgbImage>>, Intrinsics)> {
    let dir = cmanet::assets::pose2sim_sample();
    let cameras = read_calibration_toml(&dir.join("calibration.toml")).expect("the sample's calibration");
    (0..views)
        .map(|v| {
            let i = v % cameras.len();
            let files = frame_files(&dir.join(format!("cam{:02}", i + 1))).expect("the sample's frames");
            let images: Vec<Arc<RgbImage>> = files
                .iter()
                .take(if scale > 1 { 10 } else { 30 })
                .map(|f| Arc::new(enlarged(&RgbImage::open(f).expect("a sample frame"), scale)))
                .collect();
            let intrinsics = cameras[i].intrinsics_for(images[0].width() as f64, images[0].height() as f64);
            (images, intrinsics)
        })
        .collect()
}

/// `image` enlarged `scale` times (nearest pixel).
fn enlarged(image: &RgbImage, scale: u32) -> RgbImage {
    if scale <= 1 {
        return image.clone();
    }
    let (w, h) = (image.width() * scale, image.height() * scale);
    let source = image.as_raw();
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let at = (((y / scale) * image.width() + x / scale) * 3) as usize;
            data.extend_from_slice(&source[at..at + 3]);
        }
    }
    RgbImage::new(w, h, data).expect("an enlarged image")
}

struct Studio {
    app: App,
    views: Vec<Entity>,
    sample: Vec<(Vec<Arc<RgbImage>>, Intrinsics)>,
    frame: u32,
    /// Where the VMC sender sends, when it is on (kept open so the port stays ours).
    _receiver: Option<VmcReceiver>,
}

impl Studio {
    fn new(with_plugin: bool, enabled: bool, streaming: bool) -> Self {
        Self::with_views(with_plugin, enabled, streaming, 4, 1)
    }

    fn with_views(with_plugin: bool, enabled: bool, streaming: bool, views: usize, scale: u32) -> Self {
        let mut app = headless_app();
        if with_plugin {
            let settings = CmanetSettings { enabled, ..default() };
            app.add_plugins(CmanetPlugin { settings, ..default() });
        }
        let receiver = streaming.then(|| VmcReceiver::bind("127.0.0.1:0").expect("a loopback port"));
        if let Some(port) = receiver.as_ref().and_then(|r| r.local_addr()) {
            app.insert_resource(CmanetVmcSender { enabled: true, target: port.to_string(), ..default() });
        }
        app.finish();
        app.cleanup();
        let scene =
            app.world().resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"));
        let avatar = app.world_mut().spawn((WorldAssetRoot(scene), CmanetAvatar::default())).id();
        let sample = sample(views, scale);
        let views = sample.iter().map(|_| app.world_mut().spawn(CaptureView::default()).id()).collect();
        let start = Instant::now();
        while with_plugin
            && app.world().get::<AvatarBones>(avatar).is_none()
            && start.elapsed() < Duration::from_secs(60)
        {
            app.update();
            std::thread::sleep(Duration::from_millis(5));
        }
        Self { app, views, sample, frame: 0, _receiver: receiver }
    }

    /// Gives every view its next image, as a read-back would.
    fn capture(&mut self) {
        self.frame += 1;
        let now = self.app.world().resource::<Time>().elapsed_secs_f64();
        for (view, (images, intrinsics)) in self.views.iter().zip(&self.sample) {
            let image = images[self.frame as usize % images.len()].clone();
            self.app.world_mut().entity_mut(*view).insert(CapturedFrame {
                pixels: CapturedPixels::Rgb(image),
                frame: self.frame,
                time: now,
                instant: Instant::now(),
                intrinsics: Some(*intrinsics),
            });
        }
    }

    fn estimates(&self) -> u64 {
        self.app.world().get_resource::<CmanetPose>().map_or(0, |p| p.estimates)
    }
}

fn main_thread(c: &mut Criterion) {
    // For reference: the same app without the plugin, and with the plugin but estimation off
    // (the main thread's own work without two busy detection threads beside it).
    for (name, with_plugin, enabled, streaming) in [
        ("plugin_main_thread_per_frame_4_views", true, true, false),
        ("plugin_main_thread_per_frame_4_views_streaming", true, true, true),
        ("plugin_main_thread_per_frame_4_views_estimation_off", true, false, false),
        ("app_without_plugin_per_frame", false, false, false),
    ] {
        let mut studio = Studio::new(with_plugin, enabled, streaming);
        c.bench_function(name, |b| {
            b.iter(|| {
                studio.capture();
                studio.app.update();
            })
        });
        let ran = studio.frame > 100; // not filtered out
        assert!(!enabled || !ran || studio.estimates() > 0, "the plugin estimated nothing while benchmarked");
        let sent = studio.app.world().get_resource::<VmcStatus>().map_or(0, |s| s.sent);
        assert!(!streaming || !ran || sent > 0, "the plugin streamed nothing while benchmarked");
    }
}

fn streaming(c: &mut Criterion) {
    let model = cmanet::body::BodyModel::open_body().expect("the shipped body model");
    let rest = cmanet::body::RestJoints::new(&model);
    let mut params = cmanet::body::BodyParams::default();
    for j in 0..22 {
        params.set_local_rotation(j, nalgebra::Vector3::new(0.1 * j as f32, -0.2, 0.3));
    }
    params.betas[0] = 1.0;
    let mut receiver = VmcReceiver::bind("127.0.0.1:0").expect("a loopback port");
    let target = receiver.local_addr().expect("bound").to_string();
    let sender = VmcSender::new(&target).expect("a sender");
    c.bench_function("vmc_send_one_pose", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let frame = VmcFrame::from_params(&params, &rest, 0.0, &FrameSettings::default());
                sender.send(&frame).expect("sent");
                total += start.elapsed();
                receiver.poll(4); // keeps the socket from filling, untimed (the next benchmark's)
            }
            total
        })
    });
    c.bench_function("vmc_receive_one_pose", |b| {
        let frame = VmcFrame::from_params(&params, &rest, 0.0, &FrameSettings::default());
        b.iter(|| {
            sender.send(&frame).expect("sent");
            let got = receiver.poll(4).frame.expect("the frame arrived");
            got.to_params(&rest, true)
        })
    });
}

fn latency(c: &mut Criterion) {
    // Four views at the sample's size, then how the cost grows with the views and the images.
    for (views, scale) in [(4, 1), (2, 1), (8, 1), (4, 2), (4, 4)] {
        let mut studio = Studio::with_views(true, true, false, views, scale);
        let (w, h) = (216 * scale, 384 * scale);
        let name = if (views, scale) == (4, 1) {
            "plugin_capture_to_bones_4_views".to_string()
        } else {
            format!("plugin_capture_to_bones_{views}_views_{w}x{h}")
        };
        capture_to_bones(c, &name, &mut studio);
    }
}

/// One capture of every view to the avatar's bones, timed.
fn capture_to_bones(c: &mut Criterion, name: &str, studio: &mut Studio) {
    c.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let before = studio.estimates();
                studio.capture();
                let start = Instant::now();
                // The bones are written in the same update that receives the estimate.
                while studio.estimates() == before && start.elapsed() < Duration::from_secs(10) {
                    studio.app.update();
                }
                total += start.elapsed();
            }
            total
        })
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    main_thread(&mut c);
    streaming(&mut c);
    latency(&mut c);
    c.final_summary();
}
