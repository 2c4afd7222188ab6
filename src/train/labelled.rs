//! Training frames with their pseudo-labels, flattened out of sequences, and batches of them as
//! tensors.

use candle_core::{Device, Result, Tensor};
use nalgebra::{Matrix3, Vector3};

use super::data::TrainingSequence;
use super::pseudo::PseudoLabels;
use crate::body::{NUM_BETAS, NUM_BODY_JOINTS, NUM_JOINTS, NUM_KEYPOINTS};
use crate::data::Keypoints3d;
use crate::geometry::axis_angle_to_matrix;
use crate::net::MultiViewFrame;
use crate::net::body_refinement::ADAPTED_BONES;
use crate::net::params::BONES_DIM;

/// One training frame: what the cameras saw, and the fit's body and cameras for it.
#[derive(Clone, Debug)]
pub struct LabelledFrame {
    /// The network's input.
    pub frame: MultiViewFrame,
    /// Pseudo-label body pose as rotation matrices.
    pub body_pose: [Matrix3<f32>; NUM_BODY_JOINTS],
    /// Pseudo-label shape.
    pub betas: [f32; NUM_BETAS],
    /// Pseudo-label body-to-camera rotation of every view.
    pub camera_rotations: Vec<Matrix3<f32>>,
    /// Pseudo-label body-to-camera translation of every view.
    pub camera_translations: Vec<Vector3<f32>>,
    /// Pseudo-label keypoints in the canonical frame.
    pub keypoints: Keypoints3d,
    /// Pseudo-label bone corrections (zero when the labels have none, as fits do).
    pub bones: [Vector3<f32>; NUM_JOINTS],
    /// How far the label can be trusted, in [0, 1].
    pub trust: f32,
}

impl LabelledFrame {
    /// The frame with only the views `keep` (indices, in the order given), labels in step.
    pub fn with_views(&self, keep: &[usize]) -> Self {
        let pick = |i: &usize| self.frame.views.get(*i).cloned().flatten();
        Self {
            frame: MultiViewFrame { views: keep.iter().map(pick).collect() },
            camera_rotations: keep.iter().filter_map(|&i| self.camera_rotations.get(i).copied()).collect(),
            camera_translations: keep.iter().filter_map(|&i| self.camera_translations.get(i).copied()).collect(),
            ..self.clone()
        }
    }
}

/// Every frame of every sequence with its label.
pub fn labelled_frames(sequences: &[TrainingSequence], labels: &[PseudoLabels]) -> Vec<LabelledFrame> {
    let mut out = Vec::new();
    for (sequence, label) in sequences.iter().zip(labels) {
        let trust = label.trust();
        for (t, fit) in label.estimate.frames.iter().enumerate() {
            let Some(frame) = sequence.frame(t) else { continue };
            out.push(LabelledFrame {
                frame,
                body_pose: std::array::from_fn(|j| axis_angle_to_matrix(&fit.params.body_pose[j])),
                betas: fit.params.betas,
                camera_rotations: fit.extrinsics.iter().map(|e| e.rotation.cast::<f32>()).collect(),
                camera_translations: fit.extrinsics.iter().map(|e| e.translation.cast::<f32>()).collect(),
                keypoints: fit.joints3d,
                bones: fit.bones.unwrap_or([Vector3::zeros(); NUM_JOINTS]),
                trust: trust.get(t).copied().unwrap_or(0.0),
            });
        }
    }
    out
}

/// The labels of a batch as tensors, every frame padded to `views` views.
#[derive(Clone, Debug)]
pub struct LabelBatch {
    /// `[B, 23, 3, 3]`.
    pub body_pose: Tensor,
    /// `[B, 10]`.
    pub betas: Tensor,
    /// `[B, V, 3, 3]` (identity for padded views).
    pub camera_rotations: Tensor,
    /// `[B, V, 3]` (zero for padded views).
    pub camera_translations: Tensor,
    /// `[B, 17, 3]` canonical keypoints.
    pub keypoints: Tensor,
    /// `[B, BONES_DIM]` bone corrections of the adapted bones.
    pub bones: Tensor,
    /// `[B]`.
    pub trust: Tensor,
}

/// Stacks the labels of `frames` with `views` views each.
pub fn label_batch(frames: &[&LabelledFrame], views: usize, device: &Device) -> Result<LabelBatch> {
    let b = frames.len();
    fn flat(m: &Matrix3<f32>) -> [f32; 9] {
        std::array::from_fn(|i| m[(i / 3, i % 3)])
    }
    let pose: Vec<f32> = frames.iter().flat_map(|f| f.body_pose.iter().flat_map(flat)).collect();
    let betas: Vec<f32> = frames.iter().flat_map(|f| f.betas).collect();
    let cams: Vec<f32> = frames
        .iter()
        .flat_map(|f| {
            (0..views).flat_map(|i| flat(&f.camera_rotations.get(i).copied().unwrap_or_else(Matrix3::identity)))
        })
        .collect();
    let translations: Vec<f32> = frames
        .iter()
        .flat_map(|f| {
            (0..views).flat_map(|i| {
                let t = f.camera_translations.get(i).copied().unwrap_or_else(Vector3::zeros);
                [t.x, t.y, t.z]
            })
        })
        .collect();
    let keypoints: Vec<f32> = frames.iter().flat_map(|f| f.keypoints.iter().flatten().copied()).collect();
    let bones: Vec<f32> = frames
        .iter()
        .flat_map(|f| ADAPTED_BONES.iter().flat_map(|&j| [f.bones[j].x, f.bones[j].y, f.bones[j].z]))
        .collect();
    Ok(LabelBatch {
        body_pose: Tensor::from_vec(pose, (b, NUM_BODY_JOINTS, 3, 3), device)?,
        betas: Tensor::from_vec(betas, (b, NUM_BETAS), device)?,
        camera_rotations: Tensor::from_vec(cams, (b, views, 3, 3), device)?,
        camera_translations: Tensor::from_vec(translations, (b, views, 3), device)?,
        keypoints: Tensor::from_vec(keypoints, (b, NUM_KEYPOINTS, 3), device)?,
        bones: Tensor::from_vec(bones, (b, BONES_DIM), device)?,
        trust: Tensor::from_vec(frames.iter().map(|f| f.trust).collect::<Vec<_>>(), b, device)?,
    })
}
