//! Renders the shipped open-body avatar headless (no window; Mesa's software Vulkan works) in the
//! T-pose and a few poses, and saves one PNG per pose.
//!
//! ```text
//! cargo run --release --example render_avatar -- [--out plugin-docs/src/images] [--size 512]
//! ```
//! The poses are SMPL parameters written onto the glTF bones by name, exactly as the plugin will.

use std::path::PathBuf;

use bevy::app::SubApps;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::render_resource::{Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy::world_serialization::WorldInstanceReady;
use cmanet::body::{BodyModel, BodyParams, JOINT_NAMES, joint_index};
use cmanet::plugin::AvatarRig;
use nalgebra::Vector3;

#[derive(Resource, Default)]
struct Ready(bool);

fn pose(rotations: &[(&str, [f32; 3])]) -> BodyParams {
    let mut params = BodyParams::default();
    for (name, r) in rotations {
        let j = joint_index(name).unwrap_or_else(|| panic!("no joint {name}"));
        params.set_local_rotation(j, Vector3::new(r[0], r[1], r[2]));
    }
    params
}

fn poses() -> Vec<(&'static str, BodyParams)> {
    let half_pi = std::f32::consts::FRAC_PI_2;
    vec![
        ("tpose", BodyParams::default()),
        ("elbows_bent", pose(&[("left_elbow", [0.0, 0.0, half_pi]), ("right_elbow", [0.0, 0.0, -half_pi])])),
        (
            "squat",
            pose(&[
                ("left_hip", [-1.5, 0.0, -0.15]),
                ("right_hip", [-1.5, 0.0, 0.15]),
                ("left_knee", [2.1, 0.0, 0.0]),
                ("right_knee", [2.1, 0.0, 0.0]),
                ("left_ankle", [-0.5, 0.0, 0.0]),
                ("right_ankle", [-0.5, 0.0, 0.0]),
                ("spine1", [0.35, 0.0, 0.0]),
                ("left_shoulder", [0.0, -1.3, 0.0]),
                ("right_shoulder", [0.0, 1.3, 0.0]),
            ]),
        ),
        (
            "arms_raised",
            pose(&[
                ("left_shoulder", [0.0, 0.0, 1.4]),
                ("right_shoulder", [0.0, 0.0, -1.4]),
                ("neck", [-0.3, 0.0, 0.0]),
            ]),
        ),
    ]
}

fn main() {
    let mut out = PathBuf::from("plugin-docs/src/images");
    let mut size = 512u32;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--out", Some(v)) => out = PathBuf::from(v),
            ("--size", Some(v)) => size = v.parse().expect("--size takes a number of pixels"),
            (other, _) => {
                eprintln!("usage: render_avatar [--out DIR] [--size PIXELS]  (unknown argument {other})");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    std::fs::create_dir_all(&out).expect("create the output folder");
    let model = BodyModel::open_body().expect("the open body model loads");

    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() })
            .set(RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
            .set(AssetPlugin { file_path: cmanet::assets::dir().to_string_lossy().into_owned(), ..default() })
            .disable::<WinitPlugin>(),
    )
    .init_resource::<Ready>()
    .add_observer(|_: On<WorldInstanceReady>, mut ready: ResMut<Ready>| ready.0 = true);
    app.finish();
    app.cleanup();
    let mut apps = std::mem::take(app.sub_apps_mut());

    let mut target = Image::new_uninit(
        Extent3d { width: size, height: size, depth_or_array_layers: 1 },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    target.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC;
    let world = apps.main.world_mut();
    let image = world.resource_mut::<Assets<Image>>().add(target);
    let scene = world.resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"));
    let root = world.spawn(WorldAssetRoot(scene)).id();
    world.spawn((
        Camera3d::default(),
        Camera { clear_color: ClearColorConfig::Custom(Color::srgb(0.93, 0.94, 0.96)), ..default() },
        RenderTarget::Image(image.clone().into()),
        Transform::from_xyz(1.25, 1.3, 2.9).looking_at(Vec3::new(0.0, 1.02, 0.0), Vec3::Y),
    ));
    world.spawn((
        DirectionalLight { illuminance: 9000.0, shadow_maps_enabled: true, ..default() },
        Transform::from_xyz(2.0, 4.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    world.spawn((
        DirectionalLight { illuminance: 2500.0, ..default() },
        Transform::from_xyz(-3.0, 2.0, -1.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    world.insert_resource(GlobalAmbientLight { brightness: 300.0, ..default() });
    let ground = world.resource_mut::<Assets<Mesh>>().add(Circle::new(1.6));
    let ground_material = world.resource_mut::<Assets<StandardMaterial>>().add(Color::srgb(0.72, 0.74, 0.78));
    world.spawn((
        Mesh3d(ground),
        MeshMaterial3d(ground_material),
        Transform::from_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2)),
    ));

    let update = |apps: &mut SubApps| {
        apps.update();
        if let Some(device) = apps.main.world().get_resource::<RenderDevice>() {
            let _ = device.wgpu_device().poll(PollType::Wait { submission_index: None, timeout: None });
        }
    };
    for _ in 0..5000 {
        update(&mut apps);
        if apps.main.world().resource::<Ready>().0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let rig = apps
        .main
        .world_mut()
        .run_system_once(move |children: Query<&Children>, names: Query<&Name>| {
            AvatarRig::find(root, &JOINT_NAMES, &children, &names)
        })
        .expect("find the rig");
    if !rig.missing().is_empty() {
        eprintln!("the avatar lacks joints {:?}", rig.missing());
        std::process::exit(1);
    }
    let pelvis_rest = model.rest_joints(&[0.0; 10])[0];
    let pelvis_rest = Vec3::new(pelvis_rest.x, pelvis_rest.y, pelvis_rest.z);
    for (name, mut params) in poses() {
        // Keep the feet on the ground: lift or lower the root by the lowest skinned vertex.
        let lowest = model
            .pose(&params, true)
            .ok()
            .and_then(|p| p.vertices)
            .map_or(0.0, |v| v.iter().map(|p| p.y).fold(f32::INFINITY, f32::min));
        params.transl.y = -lowest;
        let rig_for_pose = rig.clone();
        apps.main
            .world_mut()
            .run_system_once(move |mut transforms: Query<&mut Transform>| {
                rig_for_pose.apply(&params, Some(pelvis_rest), &mut transforms)
            })
            .expect("pose the rig");
        for _ in 0..3 {
            update(&mut apps);
        }
        let path = out.join(format!("avatar_{name}.png"));
        apps.main.world_mut().spawn(Screenshot::image(image.clone())).observe(save_to_disk(path.clone()));
        for _ in 0..4 {
            update(&mut apps);
        }
        println!("wrote {}", path.display());
    }
}
