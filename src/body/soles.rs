//! Where the feet touch the floor: heel and toe points of both feet, found once per body shape on the
//! T-pose mesh and carried rigidly by the ankle and foot joints, so a posed body can be stood on the
//! floor by its lowest foot point (the synthetic generator does), and its feet's contacts with the
//! floor judged (`cmanet::ground`).

use nalgebra::Vector3;

use super::{BodyModel, JointTransform, NUM_BETAS};

/// SMPL joints of the feet: left ankle, left foot, right ankle, right foot.
const FOOT_JOINTS: [[usize; 2]; 2] = [[7, 10], [8, 11]];

/// Heel and toe contact points of both feet, each attached to a joint.
#[derive(Clone, Debug, PartialEq)]
pub struct FootContacts {
    /// `(joint, offset from the joint's rest position)` for left heel, left toe, right heel, right toe.
    pub points: [(usize, Vector3<f32>); 4],
}

impl FootContacts {
    /// The heel (rearmost) and toe (foremost) sole points of each foot of the body with shape
    /// `betas`, at the height of the lowest vertex of the T-pose mesh.
    pub fn new(model: &BodyModel, betas: &[f32; NUM_BETAS]) -> Self {
        let shaped = model.shaped_vertices(betas);
        let rest = model.joint_regressor.apply(&shaped);
        let sole = shaped.iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
        let mut best: [Option<(usize, Vector3<f32>)>; 4] = [None; 4];
        for (v, p) in shaped.iter().enumerate() {
            if p.y > sole + 0.03 || v >= model.skin_weights.nrows() {
                continue;
            }
            let row = model.skin_weights.row(v);
            let Some((joint, _)) = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else { continue };
            for (side, joints) in FOOT_JOINTS.iter().enumerate() {
                if !joints.contains(&joint) {
                    continue;
                }
                let point = Vector3::new(p.x, sole, p.z);
                let heel = &mut best[2 * side];
                if heel.is_none_or(|(_, h)| p.z < h.z) {
                    *heel = Some((joint, point));
                }
                let toe = &mut best[2 * side + 1];
                if toe.is_none_or(|(_, h)| p.z > h.z) {
                    *toe = Some((joint, point));
                }
            }
        }
        let points = std::array::from_fn(|i| {
            let fallback_joint = FOOT_JOINTS[i / 2][i % 2];
            let (joint, point) = best[i].unwrap_or_else(|| {
                let j = rest.get(fallback_joint).copied().unwrap_or_default();
                (fallback_joint, Vector3::new(j.x, sole, j.z))
            });
            (joint, point - rest.get(joint).copied().unwrap_or_default())
        });
        Self { points }
    }

    /// World positions of the four contact points for posed joint transforms.
    pub fn world(&self, transforms: &[JointTransform]) -> [Vector3<f32>; 4] {
        std::array::from_fn(|i| {
            let (joint, offset) = self.points[i];
            transforms.get(joint).map_or(offset, |t| t.rotation * offset + t.translation)
        })
    }

    /// Height of the lowest contact point.
    pub fn lowest(&self, transforms: &[JointTransform]) -> f32 {
        self.world(transforms).iter().map(|p| p.y).fold(f32::INFINITY, f32::min)
    }

    /// Centre of each foot (midpoint of heel and toe), left then right.
    pub fn foot_centres(&self, transforms: &[JointTransform]) -> [Vector3<f32>; 2] {
        let w = self.world(transforms);
        [(w[0] + w[1]) * 0.5, (w[2] + w[3]) * 0.5]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::BodyParams;

    #[test]
    fn contacts_lie_under_the_feet_in_the_t_pose() {
        let model = BodyModel::open_body().unwrap();
        let betas = [0.0; NUM_BETAS];
        let contacts = FootContacts::new(&model, &betas);
        let posed = model.pose(&BodyParams::default(), false).unwrap();
        let w = contacts.world(&posed.joint_transforms);
        for (i, p) in w.iter().enumerate() {
            assert!(p.y.abs() < 1e-4, "contact {i} at height {}", p.y);
            // Left points on the left, heels behind the ankles, toes in front.
            let side = if i < 2 { 1.0 } else { -1.0 };
            assert!(side * p.x > 0.05, "{i}: {p:?}");
        }
        assert!(w[0].z < 0.0 && w[1].z > 0.12 && w[2].z < 0.0 && w[3].z > 0.12, "{w:?}");
        assert!(contacts.lowest(&posed.joint_transforms).abs() < 1e-4);
    }
}
