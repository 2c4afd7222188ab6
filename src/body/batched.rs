//! Forward kinematics and linear blend skinning on candle tensors, for any batch of bodies at once.
//!
//! Differentiable with respect to the rotations, the shape and the translation, so networks and
//! fitting can put losses on joints, keypoints or vertices. The keypoints come from levers precomputed
//! from the few vertices the keypoint regressor touches, so asking for keypoints skins no vertex.

use candle_core::{D, DType, Device, Tensor};

use super::error::{BodyError, Result};
use super::levers::{RestJoints, keypoint_levers};
use super::model::BodyModel;
use super::skeleton::{NUM_BETAS, NUM_JOINTS, NUM_KEYPOINTS, PARENTS};
use crate::geometry::axis_angle_to_matrix_tensor;

/// The tensors of one set of vertices to skin: template, shape and pose blend shapes, weights.
#[derive(Clone, Debug)]
struct SkinnedSet {
    /// `[N, 3]`.
    template: Tensor,
    /// `[10, N * 3]`.
    shapedirs: Tensor,
    /// `[207, N * 3]`.
    posedirs: Option<Tensor>,
    /// `[N, 24]`.
    weights: Tensor,
}

/// Numbers the local transforms are gathered from: 24 row-major rotations, 24 offsets, 0 and 1.
const LOCAL_SOURCE: usize = NUM_JOINTS * 12 + 2;

/// One level of the kinematic tree: joints at the same depth.
#[derive(Clone, Debug)]
struct Level {
    /// `[n]` (u32): the level's slots (positions in level order).
    slots: Tensor,
    /// `[n]` (u32): every joint's parent's position within the previous level; `None` when that is
    /// the previous level itself, in order.
    parents: Option<Tensor>,
}

/// A body model's tensors on a device, ready for batched forward passes.
///
/// The forward pass costs a few dozen tensor operations whatever the batch: the local transforms of
/// all joints are gathered into one `[B, 24, 4, 4]` tensor (joints in level order: by depth in the
/// tree), the tree is chained one level at a time (one batched product for all joints at the same
/// depth, nine levels for SMPL), and the keypoints are one product of the world transforms with
/// per-keypoint, per-joint levers that are linear in the shape and precomputed. Everything is
/// transposed (`[R^T 0; t^T 1]`), so the world transforms are already laid out for that product.
#[derive(Clone, Debug)]
pub struct BodyTensors {
    mesh: SkinnedSet,
    /// `[17 * 24 * 4]`: per keypoint and joint (level order), `sum_v R_kv w_vj [v - J_j; 1]` of the
    /// mean body, so that keypoint `k` is `sum_j G_j lever_kj` for world transforms `G_j`.
    keypoint_template: Tensor,
    /// `[10, 17 * 24 * 4]`: how the levers move per unit beta.
    keypoint_shapedirs: Tensor,
    /// `[207, 17 * 24 * 4]`: how the levers move with the pose feature, for models with correctives.
    keypoint_posedirs: Option<Tensor>,
    /// `[74]`: every joint's rest offset from its parent (the root's from the origin) of the mean
    /// body, then 0 and 1 for the homogeneous parts of the local transforms.
    offset_template: Tensor,
    /// `[10, 74]`: how the offsets move per unit beta.
    offset_shapedirs: Tensor,
    /// `[24 * 16]` (u32): where each entry of the transposed local transforms `[R^T 0; o^T 1]` (level
    /// order) comes from in the `[rotations | offsets | 0 1]` row of a body.
    local_layout: Tensor,
    /// The levels of the tree, root first.
    levels: Vec<Level>,
    /// `[24 * 9]` (u32): the world rotations (joint order) in the flattened transposed world
    /// transforms.
    rotation_layout: Tensor,
    /// `[24 * 3]` (u32): the world positions (joint order) in the flattened transposed world
    /// transforms.
    position_layout: Tensor,
    /// `[24, 3]`: rest joints of the mean body.
    joint_template: Tensor,
    /// `[10, 72]`: how the rest joints move per unit beta.
    joint_shapedirs: Tensor,
    dtype: DType,
}

/// Output of a batched forward pass (`B` bodies).
#[derive(Clone, Debug)]
pub struct BatchedBody {
    /// `[B, 24, 3]` posed joints, translation included.
    pub joints: Tensor,
    /// `[B, 24, 3, 3]` world rotation of every joint.
    pub joint_rotations: Tensor,
    /// `[B, 17, 3]` COCO-17 keypoints regressed from the skinned mesh.
    pub keypoints: Tensor,
    /// `[B, V, 3]` skinned vertices, when asked for.
    pub vertices: Option<Tensor>,
}

impl BodyTensors {
    /// Copies `model` to `device` in `dtype` (F32 for speed, F64 for gradient checks).
    pub fn new(model: &BodyModel, device: &Device, dtype: DType) -> Result<Self> {
        model.validate()?;
        let all: Vec<u32> = (0..model.num_vertices() as u32).collect();
        let mesh = SkinnedSet::new(model, &all, device, dtype)?;
        let tensor = |data: Vec<f64>, shape: &[usize]| -> Result<Tensor> {
            Ok(Tensor::from_vec(data, shape, device)?.to_dtype(dtype)?)
        };
        let indices = |data: Vec<u32>| -> Result<Tensor> {
            let n = data.len();
            Ok(Tensor::from_vec(data, n, device)?)
        };
        let rest = RestJoints::new(model);
        // Rest joints and offsets from the parents (the root's from the origin), then the homogeneous
        // 0 and 1 of the local transforms; per unit beta `[10, 72]` and `[10, 74]`, beta-major.
        let rest_joints: Vec<f64> = rest.joints.iter().flat_map(|j| j.iter().copied()).collect();
        let joint_dirs: Vec<f64> = (0..NUM_BETAS)
            .flat_map(|beta| rest.dirs.iter().flat_map(move |d| d[beta].iter().copied().collect::<Vec<_>>()))
            .collect();
        let offset = |x: &[f64], i: usize| x[i] - PARENTS[i / 3].map_or(0.0, |p| x[p * 3 + i % 3]);
        let mut offsets: Vec<f64> = (0..NUM_JOINTS * 3).map(|i| offset(&rest_joints, i)).collect();
        offsets.extend([0.0, 1.0]);
        let offset_dirs = joint_dirs
            .chunks_exact(NUM_JOINTS * 3)
            .flat_map(|dirs| (0..NUM_JOINTS * 3).map(|i| offset(dirs, i)).chain([0.0, 0.0]).collect::<Vec<_>>())
            .collect();
        let tree = Tree::new();
        let levers = Levers::new(model, &rest, &tree);
        let width = levers.template.len();
        let mut levels = Vec::with_capacity(tree.levels.len());
        for (slots, parents) in &tree.levels {
            let parents = parents.as_ref().map(|p| indices(p.clone())).transpose()?;
            levels.push(Level { slots: indices(slots.clone())?, parents });
        }
        Ok(Self {
            mesh,
            keypoint_template: tensor(levers.template, &[width])?,
            keypoint_shapedirs: tensor(levers.shapedirs, &[NUM_BETAS, width])?,
            keypoint_posedirs: levers.posedirs.map(|p| tensor(p, &[9 * (NUM_JOINTS - 1), width])).transpose()?,
            offset_template: tensor(offsets, &[NUM_JOINTS * 3 + 2])?,
            offset_shapedirs: tensor(offset_dirs, &[NUM_BETAS, NUM_JOINTS * 3 + 2])?,
            local_layout: indices(tree.local_layout())?,
            levels,
            rotation_layout: indices(tree.rotation_layout())?,
            position_layout: indices(tree.position_layout())?,
            joint_template: tensor(rest_joints, &[NUM_JOINTS, 3])?,
            joint_shapedirs: tensor(joint_dirs, &[NUM_BETAS, NUM_JOINTS * 3])?,
            dtype,
        })
    }

    /// The dtype the tensors were made in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Rest joints `[B, 24, 3]` for shapes `betas` `[B, 10]`.
    pub fn rest_joints(&self, betas: &Tensor) -> Result<Tensor> {
        let b = betas.dim(0)?;
        Ok(betas.matmul(&self.joint_shapedirs)?.reshape((b, NUM_JOINTS, 3))?.broadcast_add(&self.joint_template)?)
    }

    /// Forward pass from axis-angle rotations `[B, 24, 3]` (root first), `betas` `[B, 10]` and
    /// `transl` `[B, 3]`.
    pub fn forward_axis_angle(
        &self,
        pose: &Tensor,
        betas: &Tensor,
        transl: &Tensor,
        with_vertices: bool,
    ) -> Result<BatchedBody> {
        let rotations = axis_angle_to_matrix_tensor(pose)?;
        self.forward(&rotations, betas, transl, with_vertices)
    }

    /// Forward pass from local rotation matrices `[B, 24, 3, 3]` (root first), `betas` `[B, 10]`
    /// and `transl` `[B, 3]`.
    pub fn forward(
        &self,
        rotations: &Tensor,
        betas: &Tensor,
        transl: &Tensor,
        with_vertices: bool,
    ) -> Result<BatchedBody> {
        self.forward_with_bones(rotations, betas, None, transl, with_vertices)
    }

    /// [`BodyTensors::forward`] with per-body bone corrections `bones` `[B, 24, 3]`: each joint's
    /// rest offset from its parent (in the parent's rest frame) moved by its correction, so the
    /// joint and everything below it follow (the subject's proportions beyond the betas, as the
    /// body refinement estimates them).
    pub fn forward_with_bones(
        &self,
        rotations: &Tensor,
        betas: &Tensor,
        bones: Option<&Tensor>,
        transl: &Tensor,
        with_vertices: bool,
    ) -> Result<BatchedBody> {
        let b = rotations.dim(0)?;
        if let Some(bones) = bones
            && bones.dims() != [b, NUM_JOINTS, 3]
        {
            return Err(BodyError::BadInput(format!("expected bones [B,24,3], got {:?}", bones.dims())));
        }
        if rotations.dims() != [b, NUM_JOINTS, 3, 3] || betas.dims() != [b, NUM_BETAS] || transl.dims() != [b, 3] {
            return Err(BodyError::BadInput(format!(
                "expected rotations [B,24,3,3], betas [B,10], transl [B,3], got {:?}, {:?}, {:?}",
                rotations.dims(),
                betas.dims(),
                transl.dims()
            )));
        }
        // Transposed local transforms [R^T 0; o^T 1] in level order: [B, 24, 4, 4].
        let mut offsets = betas.matmul(&self.offset_shapedirs)?.broadcast_add(&self.offset_template)?; // [B,74]
        if let Some(bones) = bones {
            let homogeneous = Tensor::zeros((b, 2), bones.dtype(), bones.device())?;
            let padded = Tensor::cat(&[&bones.reshape((b, NUM_JOINTS * 3))?, &homogeneous], 1)?;
            offsets = (offsets + padded)?;
        }
        let source = Tensor::cat(&[&rotations.reshape((b, NUM_JOINTS * 9))?, &offsets], 1)?;
        let locals = source.index_select(&self.local_layout, 1)?.reshape((b, NUM_JOINTS, 4, 4))?;
        // Down the tree a level at a time: G_j^T = L_j^T G_parent^T for all joints of a level at once.
        let mut worlds: Vec<Tensor> = Vec::with_capacity(self.levels.len());
        for level in &self.levels {
            let local = locals.index_select(&level.slots, 1)?;
            let world = match (worlds.last(), &level.parents) {
                (None, _) => local,
                (Some(above), None) => local.matmul(above)?,
                (Some(above), Some(parents)) => local.matmul(&above.index_select(parents, 1)?)?,
            };
            worlds.push(world);
        }
        let chain = Tensor::cat(&worlds, 1)?; // [B, 24, 4, 4]
        let world = chain.reshape((b, NUM_JOINTS * 16))?;
        let joint_rotations = world.index_select(&self.rotation_layout, 1)?.reshape((b, NUM_JOINTS, 3, 3))?;
        let joints_unmoved = world.index_select(&self.position_layout, 1)?.reshape((b, NUM_JOINTS, 3))?;
        let pose_feature = match self.keypoint_posedirs {
            Some(_) => {
                let eye = Tensor::eye(3, self.dtype, rotations.device())?;
                Some(rotations.narrow(1, 1, NUM_JOINTS - 1)?.broadcast_sub(&eye)?.reshape((b, 9 * (NUM_JOINTS - 1)))?)
            }
            None => None,
        };
        // Keypoint k = sum_j G_j lever_kj: one product [B, 17, 96] x [B, 96, 4].
        let mut lever = betas.matmul(&self.keypoint_shapedirs)?.broadcast_add(&self.keypoint_template)?;
        if let (Some(dirs), Some(feature)) = (&self.keypoint_posedirs, &pose_feature) {
            lever = (lever + feature.matmul(dirs)?)?;
        }
        let transl_row = transl.unsqueeze(1)?;
        let keypoints = lever
            .reshape((b, NUM_KEYPOINTS, NUM_JOINTS * 4))?
            .matmul(&chain.reshape((b, NUM_JOINTS * 4, 4))?)?
            .narrow(2, 0, 3)?
            .broadcast_add(&transl_row)?;
        let vertices = if with_vertices {
            // Skinning transforms A_k = [R_k | t_k - R_k J_k].
            let rest = self.rest_joints(betas)?;
            let rotated_rest = joint_rotations.matmul(&rest.unsqueeze(3)?)?.squeeze(3)?;
            let shift = (&joints_unmoved - rotated_rest)?.unsqueeze(3)?; // [B,24,3,1]
            let transforms = Tensor::cat(&[&joint_rotations, &shift], 3)?; // [B,24,3,4]
            Some(self.mesh.skin(&transforms, betas, pose_feature.as_ref())?.broadcast_add(&transl_row)?)
        } else {
            None
        };
        Ok(BatchedBody { joints: joints_unmoved.broadcast_add(&transl_row)?, joint_rotations, keypoints, vertices })
    }
}

/// The kinematic tree in level order (joints by depth, root first) and its gather tables.
struct Tree {
    /// `slot[j]`: joint `j`'s place in level order.
    slot: [usize; NUM_JOINTS],
    /// Joints in level order.
    order: Vec<usize>,
    /// Per level: its slots, and its joints' parents' positions in the previous level (`None` when
    /// that is the previous level itself, in order).
    levels: Vec<(Vec<u32>, Option<Vec<u32>>)>,
}

impl Tree {
    fn new() -> Self {
        let depth = |j: usize| std::iter::successors(PARENTS[j], |&p| PARENTS[p]).count();
        let max_depth = (0..NUM_JOINTS).map(depth).max().unwrap_or(0);
        let members: Vec<Vec<usize>> =
            (0..=max_depth).map(|d| (0..NUM_JOINTS).filter(|&j| depth(j) == d).collect()).collect();
        let order: Vec<usize> = members.iter().flatten().copied().collect();
        let mut slot = [0usize; NUM_JOINTS];
        for (s, &j) in order.iter().enumerate() {
            slot[j] = s;
        }
        let mut levels = Vec::with_capacity(members.len());
        for (d, level) in members.iter().enumerate() {
            let above: &[usize] = if d == 0 { &[] } else { &members[d - 1] };
            let parents: Vec<u32> =
                level.iter().map(|&j| above.iter().position(|&p| Some(p) == PARENTS[j]).unwrap_or(0) as u32).collect();
            let in_order = parents.len() == above.len() && parents.iter().enumerate().all(|(i, &p)| p as usize == i);
            let slots = level.iter().map(|&j| slot[j] as u32).collect();
            levels.push((slots, (d > 0 && !in_order).then_some(parents)));
        }
        Self { slot, order, levels }
    }

    /// `[24 * 16]`: where each entry of the transposed local transforms `[R^T 0; o^T 1]` (level order)
    /// comes from in the `[24 row-major rotations | 24 offsets | 0 1]` row of a body.
    fn local_layout(&self) -> Vec<u32> {
        let (zero, one) = (LOCAL_SOURCE as u32 - 2, LOCAL_SOURCE as u32 - 1);
        let mut out = Vec::with_capacity(NUM_JOINTS * 16);
        for &j in &self.order {
            for r in 0..4 {
                out.extend((0..4).map(|c| match (r < 3, c < 3) {
                    (true, true) => (j * 9 + c * 3 + r) as u32,
                    (false, true) => (NUM_JOINTS * 9 + j * 3 + c) as u32,
                    (true, false) => zero,
                    (false, false) => one,
                }));
            }
        }
        out
    }

    /// `[24 * 9]`: the row-major world rotations (joint order) in the flattened transposed world
    /// transforms.
    fn rotation_layout(&self) -> Vec<u32> {
        (0..NUM_JOINTS * 9).map(|i| (self.slot[i / 9] * 16 + i % 3 * 4 + i % 9 / 3) as u32).collect()
    }

    /// `[24 * 3]`: the world positions (joint order) in the flattened transposed world transforms.
    fn position_layout(&self) -> Vec<u32> {
        (0..NUM_JOINTS * 3).map(|i| (self.slot[i / 3] * 16 + 12 + i % 3) as u32).collect()
    }
}

/// Per keypoint `k` and joint `j` (level order), `sum_v R_kv w_vj [v - J_j; 1]` over the vertices the
/// keypoint regressor `R` touches (skin weights `w`, rest joints `J`): the mean body's, and how they
/// move per unit beta and per unit of the pose feature. Linear blend skinning makes keypoint `k`
/// `sum_j G_j lever_kj` for the world transforms `G_j`.
struct Levers {
    /// `[17 * 24 * 4]`.
    template: Vec<f64>,
    /// `[10, 17 * 24 * 4]`.
    shapedirs: Vec<f64>,
    /// `[207, 17 * 24 * 4]`, for models with pose correctives.
    posedirs: Option<Vec<f64>>,
}

impl Levers {
    /// The dense layout of the shared sparse levers ([`keypoint_levers`]).
    fn new(model: &BodyModel, rest: &RestJoints, tree: &Tree) -> Self {
        let width = NUM_KEYPOINTS * NUM_JOINTS * 4;
        let mut template = vec![0f64; width];
        let mut shapedirs = vec![0f64; NUM_BETAS * width];
        let mut posedirs = model.posedirs.as_ref().map(|p| vec![0f64; p.ncols() * width]);
        for (k, levers) in keypoint_levers(model, rest).iter().enumerate() {
            for lever in levers {
                let at = (k * NUM_JOINTS + tree.slot[lever.joint]) * 4;
                for axis in 0..3 {
                    template[at + axis] = lever.point[axis];
                    for (beta, dir) in lever.point_dirs.iter().enumerate() {
                        shapedirs[beta * width + at + axis] = dir[axis];
                    }
                    if let Some(dst) = &mut posedirs {
                        for (f, dir) in lever.pose_dirs.iter().enumerate() {
                            dst[f * width + at + axis] = dir[axis];
                        }
                    }
                }
                template[at + 3] = lever.weight;
            }
        }
        Self { template, shapedirs, posedirs }
    }
}

impl SkinnedSet {
    fn new(model: &BodyModel, vertices: &[u32], device: &Device, dtype: DType) -> Result<Self> {
        let n = vertices.len();
        let mut template = Vec::with_capacity(n * 3);
        let mut shapedirs = vec![0f32; NUM_BETAS * n * 3];
        let mut weights = Vec::with_capacity(n * NUM_JOINTS);
        let mut posedirs = model.posedirs.as_ref().map(|p| vec![0f32; p.ncols() * n * 3]);
        for (i, &v) in vertices.iter().enumerate() {
            let v = v as usize;
            template.extend(model.v_template[v].iter());
            for axis in 0..3 {
                for beta in 0..NUM_BETAS {
                    shapedirs[beta * n * 3 + i * 3 + axis] = model.shapedirs[(3 * v + axis, beta)];
                }
                if let (Some(src), Some(dst)) = (&model.posedirs, &mut posedirs) {
                    for f in 0..src.ncols() {
                        dst[f * n * 3 + i * 3 + axis] = src[(3 * v + axis, f)];
                    }
                }
            }
            weights.extend((0..NUM_JOINTS).map(|k| model.skin_weights[(v, k)]));
        }
        let t = |data: Vec<f32>, shape: (usize, usize)| -> Result<Tensor> {
            Ok(Tensor::from_vec(data, shape, device)?.to_dtype(dtype)?)
        };
        Ok(Self {
            template: t(template, (n, 3))?,
            shapedirs: t(shapedirs, (NUM_BETAS, n * 3))?,
            posedirs: posedirs.map(|p| t(p, (9 * (NUM_JOINTS - 1), n * 3))).transpose()?,
            weights: t(weights, (n, NUM_JOINTS))?,
        })
    }

    /// Skins the set: `[B, N, 3]` from transforms `[B, 24, 3, 4]`, betas `[B, 10]` and the optional
    /// pose feature `[B, 207]`.
    fn skin(&self, transforms: &Tensor, betas: &Tensor, pose_feature: Option<&Tensor>) -> Result<Tensor> {
        let b = betas.dim(0)?;
        let n = self.template.dim(0)?;
        let mut shaped =
            self.template.unsqueeze(0)?.broadcast_add(&betas.matmul(&self.shapedirs)?.reshape((b, n, 3))?)?;
        if let (Some(dirs), Some(feature)) = (&self.posedirs, pose_feature) {
            shaped = (shaped + feature.matmul(dirs)?.reshape((b, n, 3))?)?;
        }
        // One product for the whole batch: [N,24] x [24, B*12] -> [N, B, 3, 4] -> [B, N, 3, 4].
        let per_joint = transforms.reshape((b, NUM_JOINTS, 12))?.transpose(0, 1)?.reshape((NUM_JOINTS, b * 12))?;
        let blended = self.weights.matmul(&per_joint)?.reshape((n, b, 3, 4))?.transpose(0, 1)?;
        let rotation = blended.narrow(3, 0, 3)?;
        let translation = blended.narrow(3, 3, 1)?.squeeze(3)?;
        Ok((rotation.broadcast_mul(&shaped.unsqueeze(2)?)?.sum(D::Minus1)? + translation)?)
    }
}
