//! The shipped avatar glb, read with the `gltf` crate: 24 SMPL joints, sound skinning data, and rest
//! joints that match the body model.

use cmanet::body::{BodyModel, JOINT_NAMES, NUM_BETAS, PARENTS};
use nalgebra::Vector3;

const AVATAR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/avatar/open_body.glb");

#[test]
fn the_avatar_has_24_smpl_joints_matching_the_body_model() {
    let (doc, buffers, _) = gltf::import(AVATAR).expect("the glb loads");
    let skin = doc.skins().next().expect("a skin");
    let joints: Vec<gltf::Node> = skin.joints().collect();
    let names: Vec<&str> = joints.iter().map(|n| n.name().unwrap_or("")).collect();
    assert_eq!(names, JOINT_NAMES.to_vec());
    // Identity rest rotations, no scale; the hierarchy is SMPL's tree.
    let model = BodyModel::open_body().unwrap();
    let rest = model.rest_joints(&[0.0; NUM_BETAS]);
    let mut global = vec![Vector3::zeros(); 24];
    for (j, node) in joints.iter().enumerate() {
        let (t, r, s) = node.transform().decomposed();
        assert!((r[3] - 1.0).abs() < 1e-6 && r[..3].iter().all(|x| x.abs() < 1e-6), "{} rotation {r:?}", names[j]);
        assert!(s.iter().all(|x| (x - 1.0).abs() < 1e-6));
        let parent_pos = PARENTS[j].map_or(Vector3::zeros(), |p| global[p]);
        if let Some(p) = PARENTS[j] {
            assert!(joints[p].children().any(|c| c.index() == node.index()), "{} under {}", names[j], names[p]);
        }
        global[j] = parent_pos + Vector3::new(t[0], t[1], t[2]);
        assert!((global[j] - rest[j]).norm() < 1e-4, "{}: glb {:?} vs model {:?}", names[j], global[j], rest[j]);
    }
    // Inverse bind matrices undo each joint's rest position.
    let reader = skin.reader(|b| Some(&buffers[b.index()]));
    let ibms: Vec<[[f32; 4]; 4]> = reader.read_inverse_bind_matrices().expect("inverse bind matrices").collect();
    assert_eq!(ibms.len(), 24);
    for (j, m) in ibms.iter().enumerate() {
        let translation = Vector3::new(m[3][0], m[3][1], m[3][2]);
        assert!((translation + global[j]).norm() < 1e-4, "{}", names[j]);
    }
    // One skinned primitive: normals, at most 4 weights per vertex summing to 1, the model's mesh.
    let mesh = doc.meshes().next().expect("a mesh");
    let primitive = mesh.primitives().next().unwrap();
    let reader = primitive.reader(|b| Some(&buffers[b.index()]));
    let positions: Vec<[f32; 3]> = reader.read_positions().unwrap().collect();
    assert_eq!(positions.len(), model.num_vertices());
    assert_eq!(reader.read_normals().unwrap().count(), positions.len());
    let weights: Vec<[f32; 4]> = reader.read_weights(0).unwrap().into_f32().collect();
    let influences: Vec<[u16; 4]> = reader.read_joints(0).unwrap().into_u16().collect();
    for (v, (w, idx)) in weights.iter().zip(&influences).enumerate() {
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-4, "vertex {v}");
        for (wi, ji) in w.iter().zip(idx) {
            assert!(*ji < 24);
            if *wi > 0.0 {
                assert!((model.skin_weights[(v, *ji as usize)] - wi).abs() < 1e-4, "vertex {v} joint {ji}");
            }
        }
    }
    let lowest = positions.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min);
    assert!(lowest.abs() < 0.01, "feet on y = 0, lowest {lowest}");
    let indices = reader.read_indices().unwrap().into_u32().count();
    assert_eq!(indices, 3 * model.faces.len());
}
