//! A headless app that can spawn the shipped avatar without a GPU or a window (`MinimalPlugins`,
//! assets from this crate's `assets/`, transforms, meshes, animation and glTF scenes): what the
//! plugin's tests and benchmarks run in, and a start for yours.

use bevy::gltf::GltfPlugin;
use bevy::mesh::MeshPlugin;
use bevy::prelude::*;
use bevy::world_serialization::WorldSerializationPlugin;

/// An app with `MinimalPlugins` and what spawning glTF avatars needs; add `CmanetPlugin` (and call
/// `finish` / `cleanup` before updating by hand).
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
