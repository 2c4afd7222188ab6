//! Headless apps. [`headless_app`]: `MinimalPlugins` and what spawning glTF avatars needs, without
//! a GPU or a window (what the plugin's tests and benchmarks run in). [`headless_render_app`]:
//! Bevy's `DefaultPlugins` without a window, so cameras render into images (Mesa's software Vulkan
//! works) — capture views filming a scene in a test or on a server.

use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::gltf::GltfPlugin;
use bevy::mesh::MeshPlugin;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy::world_serialization::WorldSerializationPlugin;

/// An app with `MinimalPlugins` and what spawning glTF avatars needs; add `CmanetPlugin` (and call
/// `finish` / `cleanup` before updating by hand). It cannot render: see [`headless_render_app`].
pub fn headless_app() -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin { file_path: crate::assets::dir().to_string_lossy().into_owned(), ..default() },
        TransformPlugin,
        WorldSerializationPlugin,
        MeshPlugin,
        AnimationPlugin,
        GltfPlugin::default(),
    ));
    app
}

/// An app that renders without a window: `DefaultPlugins` with no primary window and no winit,
/// pipelines compiled before their first use (so the first frames are not blank), updated in a
/// loop as fast as it goes. Cameras must render into images ([`super::capture_target`]); add
/// `CmanetPlugin`, then `app.run()` (stop it with `AppExit`) or call `update` yourself after
/// `finish` / `cleanup`. `assets` is your `AssetPlugin` (`AssetPlugin::default()` reads
/// `assets/`; the shipped avatar is always at [`super::AVATAR_PATH`]).
pub fn headless_render_app(assets: AssetPlugin) -> App {
    let mut app = App::new();
    app.add_plugins((
        DefaultPlugins
            .set(WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() })
            .set(RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
            .set(assets)
            .disable::<WinitPlugin>(),
        ScheduleRunnerPlugin::run_loop(Duration::ZERO),
    ));
    app
}
