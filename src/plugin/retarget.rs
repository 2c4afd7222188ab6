//! Retargeting: a [`CmanetAvatar`] on a glTF scene root (or any hierarchy of named bones) gets
//! its 24 SMPL joints found by name once it is spawned, then every frame the pose of
//! [`CmanetPose`] written onto them, after animation and before transform propagation, so an
//! `AnimationPlayer` on the same rig does not override it.
//!
//! Bones whose rest orientation is not the body frame's (Mixamo, Unreal) are handled by
//! conjugating with their rest orientation: a bone's local rotation is `G_D⁻¹ · L · G`, where `L`
//! is the SMPL local rotation, `G` the bone's rest orientation in the avatar and `G_D` that of the
//! bone's parent in the rig. For the shipped avatar (rest frames aligned with the body) it is `L`.

use bevy::asset::{LoadState, UntypedAssetId};
use bevy::prelude::*;
use bevy::world_serialization::{WorldAsset, WorldInstanceReady};
use nalgebra::Vector3;

use super::AVATAR_PATH;
use super::inference::CmanetBodyModel;
use super::messages::{CmanetWarning, MissingBones, warn};
use super::rig::{AvatarRig, axis_angle_to_quat};
use super::settings::CmanetSettings;
use super::smoothing::CmanetPose;
use crate::body::{BodyParams, JOINT_NAMES, NUM_BETAS, NUM_JOINTS, PARENTS};

/// Marks a character to be driven by the estimated pose.
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component, Default)]
pub struct CmanetAvatar {
    /// The rig's name for every SMPL joint. Default: [`BoneMap::smpl`].
    pub bones: BoneMap,
    /// Move the pelvis with the person (the world place of the estimate, relative to this
    /// entity's transform); false keeps it at its rest place. Default: true.
    pub root_motion: bool,
    /// Let the estimated shape (`betas`) set the bones' offsets (the proportions). Default: true.
    pub shape: bool,
}

impl Default for CmanetAvatar {
    fn default() -> Self {
        Self { bones: BoneMap::smpl(), root_motion: true, shape: true }
    }
}

/// The name of the bone that plays each SMPL joint, in SMPL order.
#[derive(Reflect, Clone, Debug, PartialEq)]
pub struct BoneMap {
    /// Bone names, SMPL joint order (`crate::body::JOINT_NAMES`).
    pub names: [String; NUM_JOINTS],
}

impl BoneMap {
    /// Rigs whose bones carry SMPL's joint names (the shipped avatar).
    pub fn smpl() -> Self {
        Self { names: JOINT_NAMES.map(String::from) }
    }

    /// Mixamo rigs; `prefix` is what the exporter put before the names (`"mixamorig:"` usually).
    pub fn mixamo(prefix: &str) -> Self {
        const NAMES: [&str; NUM_JOINTS] = [
            "Hips",
            "LeftUpLeg",
            "RightUpLeg",
            "Spine",
            "LeftLeg",
            "RightLeg",
            "Spine1",
            "LeftFoot",
            "RightFoot",
            "Spine2",
            "LeftToeBase",
            "RightToeBase",
            "Neck",
            "LeftShoulder",
            "RightShoulder",
            "Head",
            "LeftArm",
            "RightArm",
            "LeftForeArm",
            "RightForeArm",
            "LeftHand",
            "RightHand",
            "LeftHandMiddle1",
            "RightHandMiddle1",
        ];
        Self { names: NAMES.map(|n| format!("{prefix}{n}")) }
    }

    /// Unreal Engine mannequin rigs.
    pub fn unreal() -> Self {
        const NAMES: [&str; NUM_JOINTS] = [
            "pelvis",
            "thigh_l",
            "thigh_r",
            "spine_01",
            "calf_l",
            "calf_r",
            "spine_02",
            "foot_l",
            "foot_r",
            "spine_03",
            "ball_l",
            "ball_r",
            "neck_01",
            "clavicle_l",
            "clavicle_r",
            "head",
            "upperarm_l",
            "upperarm_r",
            "lowerarm_l",
            "lowerarm_r",
            "hand_l",
            "hand_r",
            "middle_01_l",
            "middle_01_r",
        ];
        Self { names: NAMES.map(String::from) }
    }
}

/// A bone's rest state, measured in the avatar's frame when the rig was found.
#[derive(Reflect, Clone, Copy, Debug, PartialEq)]
pub struct BoneRest {
    /// The bone's rest local transform.
    pub local: Transform,
    /// The bone's rest orientation in the avatar (`G`).
    pub orientation: Quat,
    /// The rest transform of the bone's parent in the avatar (`G_D` and its place).
    pub parent: Transform,
}

/// The found rig of a [`CmanetAvatar`]: joint entities and their rest states.
#[derive(Component, Reflect, Clone, Debug, PartialEq)]
#[reflect(Component)]
pub struct AvatarBones {
    /// The joint entities.
    pub rig: AvatarRig,
    /// Every found joint's rest state.
    pub rest: [Option<BoneRest>; NUM_JOINTS],
    /// Rest joints of the mean shape (from the body model).
    mean_joints: Option<[Vec3; NUM_JOINTS]>,
    /// Rest joints of the last shape shown, and that shape.
    shape_cache: Option<([f32; NUM_BETAS], [Vec3; NUM_JOINTS])>,
}

/// Set on an avatar's entity when its glTF scene has finished spawning.
#[derive(Component, Clone, Copy, Debug, Default)]
pub(crate) struct AvatarSceneReady;

/// Marks avatar scenes as ready when they finish spawning.
pub(crate) fn on_scene_ready(
    ready: On<WorldInstanceReady>,
    avatars: Query<(), With<CmanetAvatar>>,
    mut commands: Commands,
) {
    if avatars.contains(ready.entity)
        && let Ok(mut entity) = commands.get_entity(ready.entity)
    {
        entity.try_insert(AvatarSceneReady);
    }
}

/// Set on an avatar's entity once its scene's failure to load has been told.
#[derive(Component, Clone, Copy, Debug, Default)]
pub(crate) struct AvatarFailureTold;

/// Tells, once per avatar, when its glTF scene failed to load (a missing file, a file that is not
/// glTF): without it the avatar never gets bones and would stay still without a word.
#[allow(clippy::type_complexity)]
pub(crate) fn check_avatar_scenes(
    mut commands: Commands,
    avatars: Query<
        (Entity, &WorldAssetRoot),
        (With<CmanetAvatar>, Without<AvatarBones>, Without<AvatarSceneReady>, Without<AvatarFailureTold>),
    >,
    server: Option<Res<AssetServer>>,
) {
    let Some(server) = server else { return };
    for (entity, root) in &avatars {
        if let Some(problem) = scene_failure(&server, &root.0) {
            commands.entity(entity).try_insert(AvatarFailureTold);
            warn(&mut commands, CmanetWarning::AvatarFailed { avatar: entity, message: problem });
        }
    }
}

/// Why `scene` failed to load, naming its path, or `None` while it loads or once it has.
fn scene_failure(server: &AssetServer, scene: &Handle<WorldAsset>) -> Option<String> {
    let failure = |id: UntypedAssetId| match server.get_load_state(id) {
        Some(LoadState::Failed(error)) => Some(error),
        _ => None,
    };
    let path = server.get_path(scene.id());
    // A labelled scene (`file.glb#Scene0`) fails with its file.
    let error = failure(scene.id().untyped()).or_else(|| {
        let file = path.as_ref()?.without_label().into_owned();
        server.get_path_ids(file).into_iter().find_map(failure)
    })?;
    let path = path.map_or_else(|| "(unnamed)".to_string(), |p| p.to_string());
    Some(format!(
        "its scene {path} could not be loaded ({error}); it is not driven. The shipped avatar is built in: \
         load {AVATAR_PATH} (or copy it into your app's assets folder with `cmanet assets install`)"
    ))
}

/// Finds the bones of avatars that have none yet (glTF scenes once they are ready).
#[allow(clippy::type_complexity)]
pub(crate) fn find_bones(
    mut commands: Commands,
    avatars: Query<(Entity, &CmanetAvatar, Has<WorldAssetRoot>, Has<AvatarSceneReady>), Without<AvatarBones>>,
    children: Query<&Children>,
    names: Query<&Name>,
    transforms: Query<(&Transform, Option<&ChildOf>)>,
) {
    for (entity, avatar, is_scene, ready) in &avatars {
        if is_scene && !ready {
            continue;
        }
        let bone_names: [&str; NUM_JOINTS] = std::array::from_fn(|j| avatar.bones.names[j].as_str());
        let rig = AvatarRig::find(entity, &bone_names, &children, &names);
        let missing = rig.missing();
        if missing.len() == NUM_JOINTS {
            // Nothing to drive: the avatar would stand still without a word.
            let message = format!(
                "none of its bones is named as the plugin expects (the pelvis as `{}`, the left hip as `{}`, ...); \
                 it is not driven. Name them in `CmanetAvatar::bones` (`BoneMap`)",
                bone_names[0], bone_names[1]
            );
            warn(&mut commands, CmanetWarning::AvatarFailed { avatar: entity, message });
        } else if !missing.is_empty() {
            warn(&mut commands, MissingBones { entity, joints: missing });
        }
        let rest = rig.joints.map(|joint| {
            let joint = joint?;
            let (local, parent) = transforms.get(joint).ok()?;
            let parent = parent.map_or(Transform::IDENTITY, |p| rest_in_avatar(p.parent(), entity, &transforms));
            let orientation = parent.rotation * local.rotation;
            Some(BoneRest { local: *local, orientation, parent })
        });
        commands.entity(entity).try_insert(AvatarBones { rig, rest, mean_joints: None, shape_cache: None });
    }
}

/// The transform of `bone` relative to `avatar`, from the local transforms up the hierarchy.
fn rest_in_avatar(bone: Entity, avatar: Entity, transforms: &Query<(&Transform, Option<&ChildOf>)>) -> Transform {
    let mut out = Transform::IDENTITY;
    let mut at = bone;
    while at != avatar {
        let Ok((local, parent)) = transforms.get(at) else { break };
        out = local.mul_transform(out);
        let Some(parent) = parent else { break };
        at = parent.parent();
    }
    out
}

/// Writes the current pose onto every avatar's bones.
pub(crate) fn drive_avatars(
    pose: Res<CmanetPose>,
    settings: Res<CmanetSettings>,
    body: Option<Res<CmanetBodyModel>>,
    mut avatars: Query<(&CmanetAvatar, &mut AvatarBones)>,
    mut transforms: Query<&mut Transform>,
) {
    let Some(params) = pose.current(&settings).filter(|p| p.is_finite()) else { return };
    for (avatar, mut bones) in &mut avatars {
        let joints = rest_joints(&mut bones, body.as_deref(), &params.betas);
        let targets = bone_transforms(params, &bones.rest, joints.as_ref(), avatar);
        for (entity, target) in bones.rig.joints.iter().zip(targets) {
            let (Some(entity), Some(target)) = (entity, target) else { continue };
            if let Ok(mut transform) = transforms.get_mut(*entity) {
                *transform = target;
            }
        }
    }
}

/// The rest joints of the mean shape and of `betas`, cached per avatar (the body model is
/// needed; `None` until it is loaded).
fn rest_joints(
    bones: &mut AvatarBones,
    body: Option<&CmanetBodyModel>,
    betas: &[f32; NUM_BETAS],
) -> Option<([Vec3; NUM_JOINTS], [Vec3; NUM_JOINTS])> {
    let body = body?;
    let to_vec3 = |joints: Vec<Vector3<f32>>| -> [Vec3; NUM_JOINTS] {
        std::array::from_fn(|j| joints.get(j).map_or(Vec3::ZERO, |p| Vec3::new(p.x, p.y, p.z)))
    };
    let mean = *bones.mean_joints.get_or_insert_with(|| to_vec3(body.0.rest_joints(&[0.0; NUM_BETAS])));
    match bones.shape_cache {
        Some((cached, joints)) if cached == *betas => Some((mean, joints)),
        _ => {
            let joints = to_vec3(body.0.rest_joints(betas));
            bones.shape_cache = Some((*betas, joints));
            Some((mean, joints))
        }
    }
}

/// Every joint's local transform for `params` (`None` for joints the rig lacks). `joints` are
/// the body model's rest joints of the mean shape and of `params.betas` (without them the
/// shape and the pelvis's rest height are the rig's own).
pub fn bone_transforms(
    params: &BodyParams,
    rest: &[Option<BoneRest>; NUM_JOINTS],
    joints: Option<&([Vec3; NUM_JOINTS], [Vec3; NUM_JOINTS])>,
    avatar: &CmanetAvatar,
) -> [Option<Transform>; NUM_JOINTS] {
    std::array::from_fn(|j| {
        let rest_j = rest[j]?;
        let local = axis_angle_to_quat(&params.local_rotation(j));
        let mut out = rest_j.local;
        out.rotation = (rest_j.parent.rotation.inverse() * local * rest_j.orientation).normalize();
        let shaped = joints.filter(|_| avatar.shape);
        if j == 0 {
            if avatar.root_motion {
                let pelvis = joints.map_or(rest_j.parent.transform_point(rest_j.local.translation), |(_, s)| s[0]);
                let target = pelvis + Vec3::new(params.transl.x, params.transl.y, params.transl.z);
                out.translation = rest_j.parent.compute_affine().inverse().transform_point3(target);
            }
        } else if let (Some((mean, shaped)), Some(p)) = (shaped, PARENTS[j]) {
            let delta = (shaped[j] - shaped[p]) - (mean[j] - mean[p]);
            out.translation = rest_j.local.translation + rest_j.parent.rotation.inverse() * delta;
        }
        Some(out)
    })
}
