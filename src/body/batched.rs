//! Forward kinematics and linear blend skinning on candle tensors, for any batch of bodies at once.
//!
//! Differentiable with respect to the rotations, the shape and the translation, so networks and
//! fitting can put losses on joints, keypoints or vertices. The keypoints are regressed from only the
//! few vertices the keypoint regressor touches, so asking for keypoints does not skin the whole mesh.

use candle_core::{D, DType, Device, Tensor};

use super::error::{BodyError, Result};
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

/// A body model's tensors on a device, ready for batched forward passes.
#[derive(Clone, Debug)]
pub struct BodyTensors {
    mesh: SkinnedSet,
    keypoint_vertices: SkinnedSet,
    /// `[17, S]`: the keypoint regressor restricted to the vertices it touches.
    keypoint_regressor: Tensor,
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
        let used = model.keypoint_regressor.used_columns();
        let keypoint_vertices = SkinnedSet::new(model, &used, device, dtype)?;
        let mut regressor = vec![0f32; NUM_KEYPOINTS * used.len()];
        for (k, row) in model.keypoint_regressor.rows.iter().enumerate() {
            for &(c, v) in row {
                let s = used.binary_search(&c).map_err(|_| BodyError::BadInput("regressor column".into()))?;
                regressor[k * used.len() + s] += v;
            }
        }
        let keypoint_regressor = Tensor::from_vec(regressor, (NUM_KEYPOINTS, used.len()), device)?.to_dtype(dtype)?;
        let dense = Tensor::from_vec(model.joint_regressor.to_dense(), (NUM_JOINTS, model.num_vertices()), device)?
            .to_dtype(dtype)?;
        let joint_template = dense.matmul(&mesh.template)?;
        // [10, V*3] -> [10, V, 3] -> per beta, regress: [10, 24, 3].
        let per_beta = mesh.shapedirs.reshape((NUM_BETAS, model.num_vertices(), 3))?;
        let joint_shapedirs = dense
            .unsqueeze(0)?
            .broadcast_as((NUM_BETAS, NUM_JOINTS, model.num_vertices()))?
            .contiguous()?
            .matmul(&per_beta)?
            .reshape((NUM_BETAS, NUM_JOINTS * 3))?;
        Ok(Self { mesh, keypoint_vertices, keypoint_regressor, joint_template, joint_shapedirs, dtype })
    }

    /// The dtype the tensors were made in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Rest joints `[B, 24, 3]` for shapes `betas` `[B, 10]`.
    pub fn rest_joints(&self, betas: &Tensor) -> Result<Tensor> {
        let b = betas.dim(0)?;
        Ok(self
            .joint_template
            .unsqueeze(0)?
            .broadcast_add(&betas.matmul(&self.joint_shapedirs)?.reshape((b, NUM_JOINTS, 3))?)?)
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
        let b = rotations.dim(0)?;
        if rotations.dims() != [b, NUM_JOINTS, 3, 3] || betas.dims() != [b, NUM_BETAS] || transl.dims() != [b, 3] {
            return Err(BodyError::BadInput(format!(
                "expected rotations [B,24,3,3], betas [B,10], transl [B,3], got {:?}, {:?}, {:?}",
                rotations.dims(),
                betas.dims(),
                transl.dims()
            )));
        }
        let rest = self.rest_joints(betas)?;
        // Chain down the tree.
        let mut world_rot: Vec<Tensor> = Vec::with_capacity(NUM_JOINTS);
        let mut world_pos: Vec<Tensor> = Vec::with_capacity(NUM_JOINTS);
        for (j, parent) in PARENTS.iter().enumerate() {
            let local = rotations.narrow(1, j, 1)?.squeeze(1)?.contiguous()?; // [B,3,3]
            let joint = rest.narrow(1, j, 1)?.squeeze(1)?; // [B,3]
            match *parent {
                None => {
                    world_rot.push(local);
                    world_pos.push(joint);
                }
                Some(p) => {
                    let offset = (joint - rest.narrow(1, p, 1)?.squeeze(1)?)?.unsqueeze(2)?; // [B,3,1]
                    let pos = (world_rot[p].matmul(&offset)?.squeeze(2)? + &world_pos[p])?;
                    let rot = world_rot[p].matmul(&local)?;
                    world_rot.push(rot);
                    world_pos.push(pos);
                }
            }
        }
        let joint_rotations = Tensor::stack(&world_rot, 1)?; // [B,24,3,3]
        let joints_unmoved = Tensor::stack(&world_pos, 1)?; // [B,24,3]
        // Skinning transforms A_k = [R_k | t_k - R_k J_k], flattened to 12 numbers.
        let rotated_rest = joint_rotations.matmul(&rest.unsqueeze(3)?.contiguous()?)?.squeeze(3)?;
        let shift = (&joints_unmoved - rotated_rest)?.unsqueeze(3)?; // [B,24,3,1]
        let transforms = Tensor::cat(&[&joint_rotations, &shift], 3)?; // [B,24,3,4]
        let pose_feature = match self.mesh.posedirs {
            Some(_) => {
                let eye = Tensor::eye(3, self.dtype, rotations.device())?;
                Some(rotations.narrow(1, 1, NUM_JOINTS - 1)?.broadcast_sub(&eye)?.reshape((b, 9 * (NUM_JOINTS - 1)))?)
            }
            None => None,
        };
        let transl_row = transl.unsqueeze(1)?;
        let keypoint_vertices = self.keypoint_vertices.skin(&transforms, betas, pose_feature.as_ref())?;
        let keypoints = self
            .keypoint_regressor
            .unsqueeze(0)?
            .broadcast_as((b, NUM_KEYPOINTS, self.keypoint_regressor.dim(1)?))?
            .contiguous()?
            .matmul(&keypoint_vertices)?
            .broadcast_add(&transl_row)?;
        let vertices = if with_vertices {
            Some(self.mesh.skin(&transforms, betas, pose_feature.as_ref())?.broadcast_add(&transl_row)?)
        } else {
            None
        };
        Ok(BatchedBody { joints: joints_unmoved.broadcast_add(&transl_row)?, joint_rotations, keypoints, vertices })
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
