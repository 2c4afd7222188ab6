//! Webcams drive the avatar: two or more cameras pointed at you (`--devices 0 2`, or parts of their
//! names), each a `Webcam` view; nobody calibrates them: the network estimates the cameras from
//! the person. Without cameras (or without the `webcam` feature), `--fake` plays the shipped
//! Pose2Sim clips through fake webcams, the same code path after the device read.
//!
//! ```text
//! cargo run --release --features webcam --example webcams -- --list
//! cargo run --release --features webcam --example webcams -- --devices 0 2
//! cargo run --release --example webcams -- --fake --headless --frames 120 --report webcams.json
//! ```

#[path = "common/mod.rs"]
mod common;

use bevy::prelude::*;
use clap::Parser;
use cmanet::detect::{DeviceChoice, FakeCamera, FrameSource, VideoReader, WebcamError, WebcamSettings, list_devices};
use cmanet::plugin::{CaptureView, CmanetAvatar, CmanetPlugin, CmanetSettings, Webcam};

#[derive(Parser, Clone, Debug)]
#[command(about = "Two or more webcams drive the avatar through CmanetPlugin")]
struct Args {
    #[command(flatten)]
    common: common::ExampleArgs,
    /// The cameras: indices or parts of their names (see `--list`).
    #[arg(long, num_args = 1.., default_values_t = ["0".to_string(), "1".to_string()])]
    devices: Vec<String>,
    /// List the cameras and stop.
    #[arg(long)]
    list: bool,
    /// Width and height to ask each camera for.
    #[arg(long, num_args = 2, default_values_t = [640, 480])]
    size: Vec<u32>,
    /// Frames per second to ask for.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Fake webcams playing the shipped sample's four clips instead of real cameras.
    #[arg(long)]
    fake: bool,
}

fn main() -> AppExit {
    let args = Args::parse();
    if args.list {
        match list_devices() {
            Ok(devices) if devices.is_empty() => {
                println!("no cameras found (without the `webcam` feature none can be: --features webcam)")
            }
            Ok(devices) => devices.iter().for_each(|d| println!("#{} {}", d.index, d.name)),
            Err(e) => {
                eprintln!("{e}");
                return AppExit::error();
            }
        }
        return AppExit::Success;
    }
    let mut app = common::app(args.common.clone(), "cmanet: webcams");
    // Cameras nobody placed: the body stands at the first camera's origin; `hold_rig` keeps the
    // estimated rig steady between estimates.
    let settings = CmanetSettings { hold_rig: true, ..default() };
    app.add_plugins(CmanetPlugin { settings, ..default() }).insert_resource(Choice(args)).add_systems(Startup, setup);
    app.run()
}

#[derive(Resource)]
struct Choice(Args);

/// A fake webcam playing one of the sample's clips (decoded once, at 60 fps).
fn fake_webcam(clip: u32) -> Webcam {
    let path = cmanet::assets::pose2sim_sample().join(format!("cam{clip:02}.mp4"));
    Webcam::from_source(format!("fake {}", path.display()), move || -> Result<Box<dyn FrameSource>, WebcamError> {
        let unavailable = |message: String| WebcamError::Unavailable { device: path.display().to_string(), message };
        let reader = VideoReader::open(&path).map_err(|e| unavailable(e.to_string()))?;
        let frames = reader.frames(0.0).map_err(|e| unavailable(e.to_string()))?;
        let images = frames.filter_map(Result::ok).map(|f| (*f.image).clone()).collect();
        Ok(Box::new(FakeCamera::new(path.display().to_string(), images, 60.0)))
    })
}

fn setup(
    mut commands: Commands,
    choice: Res<Choice>,
    assets: Res<AssetServer>,
    mut images: ResMut<Assets<Image>>,
    mut run: ResMut<common::Run>,
) {
    let args = &choice.0;
    let views: Vec<Webcam> = if args.fake {
        (1..=4).map(fake_webcam).collect()
    } else {
        args.devices
            .iter()
            .map(|d| {
                let device = d.parse().map_or_else(|_| DeviceChoice::Name(d.clone()), DeviceChoice::Index);
                let (width, height) = (args.size[0], args.size[1]);
                Webcam::new(WebcamSettings { device, width, height, fps: args.fps })
            })
            .collect()
    };
    for webcam in views {
        commands.spawn((CaptureView { place_from_transform: false, ..default() }, webcam));
    }
    commands.spawn((
        WorldAssetRoot(assets.load(GltfAssetLabel::Scene(0).from_asset(cmanet::plugin::AVATAR_PATH))),
        CmanetAvatar::default(),
    ));
    commands.spawn((DirectionalLight::default(), Transform::from_xyz(2.0, 4.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y)));
    let mut main = commands
        .spawn((Camera3d::default(), Transform::from_xyz(0.0, 1.2, 4.0).looking_at(Vec3::new(0.0, 0.9, 0.0), Vec3::Y)));
    common::main_view(&mut main, &mut run, &mut images);
}
