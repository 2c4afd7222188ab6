//! The 24 SMPL joints of a spawned glTF avatar, found by name, and writing a body pose onto them.
//!
//! Joint rest frames of a cmanet avatar are axis-aligned with the body frame (identity rest
//! rotations), so a joint's SMPL local rotation is exactly its bone's local `Transform::rotation`.

use bevy::prelude::*;
use nalgebra::Vector3;

use super::retarget::{BoneRest, CmanetAvatar, bone_transforms};
use crate::body::{BodyParams, JOINT_NAMES, NUM_JOINTS};

/// The joint entities of one avatar, in SMPL order; `None` where the rig has no bone of that name.
#[derive(Component, Reflect, Clone, Debug, Default, PartialEq)]
#[reflect(Component, Default)]
pub struct AvatarRig {
    /// Entity of every SMPL joint.
    pub joints: [Option<Entity>; NUM_JOINTS],
}

impl AvatarRig {
    /// Finds the SMPL-named joints among `root` and its descendants.
    ///
    /// `bone_names` maps each SMPL joint to the name to look for (pass [`JOINT_NAMES`] for rigs
    /// that use SMPL's names).
    pub fn find(
        root: Entity,
        bone_names: &[&str; NUM_JOINTS],
        children: &Query<&Children>,
        names: &Query<&Name>,
    ) -> Self {
        let mut rig = Self::default();
        for entity in std::iter::once(root).chain(children.iter_descendants(root)) {
            let Ok(name) = names.get(entity) else { continue };
            if let Some(j) = bone_names.iter().position(|n| *n == name.as_str())
                && rig.joints[j].is_none()
            {
                rig.joints[j] = Some(entity);
            }
        }
        rig
    }

    /// Names of the SMPL joints the rig lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        self.joints.iter().zip(JOINT_NAMES).filter(|(e, _)| e.is_none()).map(|(_, n)| n).collect()
    }

    /// Writes the local rotations of `params` onto the joints that exist, for a rig whose rest
    /// rotations are the identity (a cmanet avatar); with `pelvis_rest`, the pelvis also moves to
    /// it plus `transl`. The posing is [`bone_transforms`]'s, with the bones' current transforms as
    /// their rests.
    pub fn apply(&self, params: &BodyParams, pelvis_rest: Option<Vec3>, transforms: &mut Query<&mut Transform>) {
        let rest: [Option<BoneRest>; NUM_JOINTS] = std::array::from_fn(|j| {
            let current = *transforms.get(self.joints[j]?).ok()?;
            let translation = if j == 0 { pelvis_rest.unwrap_or(current.translation) } else { current.translation };
            Some(BoneRest {
                local: Transform { translation, ..current },
                orientation: Quat::IDENTITY,
                parent: Transform::IDENTITY,
            })
        });
        let avatar = CmanetAvatar { root_motion: pelvis_rest.is_some(), shape: false, ..default() };
        let posed = bone_transforms(params, &rest, None, &avatar);
        for (entity, posed) in self.joints.iter().zip(posed) {
            if let (Some(entity), Some(posed)) = (entity, posed)
                && let Ok(mut transform) = transforms.get_mut(*entity)
            {
                *transform = posed;
            }
        }
    }
}

/// Bevy quaternion of an axis-angle vector.
pub fn axis_angle_to_quat(axis_angle: &Vector3<f32>) -> Quat {
    let v = Vec3::new(axis_angle.x, axis_angle.y, axis_angle.z);
    Quat::from_scaled_axis(v)
}
