//! The shipped avatar spawns in a headless Bevy app (no GPU) and all 24 SMPL joints are found by name.
#![cfg(feature = "bevy")]

use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy::world_serialization::WorldInstanceReady;
use cmanet::body::{BodyModel, BodyParams, JOINT_NAMES, NUM_BETAS};
use cmanet::plugin::{AvatarRig, headless_app};
use nalgebra::Vector3;

#[derive(Resource, Default)]
struct Ready(Option<Entity>);

fn app_with_avatar_support() -> App {
    let mut app = headless_app();
    app.init_resource::<Ready>()
        .add_observer(|ready: On<WorldInstanceReady>, mut r: ResMut<Ready>| r.0 = Some(ready.entity));
    app.finish();
    app.cleanup();
    app
}

fn spawn_avatar(app: &mut App) -> Entity {
    let scene = app.world().resource::<AssetServer>().load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"));
    let root = app.world_mut().spawn(WorldAssetRoot(scene)).id();
    for _ in 0..2000 {
        app.update();
        if app.world().resource::<Ready>().0.is_some() {
            return root;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("the avatar scene never became ready");
}

fn find_rig(app: &mut App, root: Entity) -> AvatarRig {
    app.world_mut()
        .run_system_once(move |children: Query<&Children>, names: Query<&Name>| {
            AvatarRig::find(root, &JOINT_NAMES, &children, &names)
        })
        .unwrap()
}

#[test]
fn the_avatar_spawns_and_every_joint_is_found_by_name() {
    let mut app = app_with_avatar_support();
    let root = spawn_avatar(&mut app);
    let rig = find_rig(&mut app, root);
    assert!(rig.missing().is_empty(), "missing joints: {:?}", rig.missing());
    // After transform propagation the joints sit at the body model's rest joints.
    app.update();
    let model = BodyModel::open_body().unwrap();
    let rest = model.rest_joints(&[0.0; NUM_BETAS]);
    for (j, entity) in rig.joints.iter().enumerate() {
        let p = app.world().get::<GlobalTransform>(entity.unwrap()).unwrap().translation();
        assert!((Vector3::new(p.x, p.y, p.z) - rest[j]).norm() < 1e-4, "{}", JOINT_NAMES[j]);
    }
}

#[test]
fn posing_the_avatar_moves_its_joints_like_the_body_model() {
    let mut app = app_with_avatar_support();
    let root = spawn_avatar(&mut app);
    let rig = find_rig(&mut app, root);
    let mut params = BodyParams::default();
    params.set_local_rotation(18, Vector3::new(0.0, -1.2, 0.3)); // left elbow
    params.set_local_rotation(16, Vector3::new(0.0, 0.0, 0.8)); // left shoulder
    params.set_local_rotation(2, Vector3::new(-0.9, 0.0, 0.0)); // right hip
    params.set_local_rotation(3, Vector3::new(0.3, 0.2, 0.0)); // spine1
    let applied = rig.clone();
    let posed = params.clone();
    app.world_mut()
        .run_system_once(move |mut transforms: Query<&mut Transform>| applied.apply(&posed, None, &mut transforms))
        .unwrap();
    app.update();
    let model = BodyModel::open_body().unwrap();
    let expected = model.pose(&params, false).unwrap().joints;
    for (j, entity) in rig.joints.iter().enumerate() {
        let p = app.world().get::<GlobalTransform>(entity.unwrap()).unwrap().translation();
        assert!((Vector3::new(p.x, p.y, p.z) - expected[j]).norm() < 1e-4, "{}", JOINT_NAMES[j]);
    }
}
