//! What the network sees of one view: the 17 keypoints in normalised camera coordinates (through K),
//! centred on the person and scaled by the person's size, their confidences, and the centre and size
//! themselves (where the person is in the view and how far). Views and keypoints may be missing.

use candle_core::{Device, Result, Tensor};
use nalgebra::Vector2;

use crate::body::NUM_KEYPOINTS;
use crate::data::format::MIN_CONFIDENCE;
use crate::data::{ExtraKeypoints2d, Keypoints2d, Mv2d};
use crate::geometry::Intrinsics;

/// Length of one view's input vector: 17 x (x, y, confidence), centre (2), log size (1).
pub const VIEW_INPUT_DIM: usize = NUM_KEYPOINTS * 3 + 3;

/// One camera's observation of the person: pixel keypoints and the camera's intrinsics.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewObservation {
    /// The 17 keypoints: pixel x, pixel y, confidence (0 = missing).
    pub keypoints: Keypoints2d,
    /// The camera's intrinsics.
    pub intrinsics: Intrinsics,
    /// BlazePose's 16 extra keypoints (heels, foot tips, hand points, ...), labelled as
    /// `keypoints`, when the detector gave them: the body refinement turns the ankles and wrists
    /// to them ([`super::BodyRefiner::refine_extremities`]). The network does not read them.
    pub extra: Option<ExtraKeypoints2d>,
}

/// One multi-view frame: every view's observation, `None` for a view that saw nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiViewFrame {
    /// The views, in any order.
    pub views: Vec<Option<ViewObservation>>,
}

impl MultiViewFrame {
    /// A frame in which every view is present: view `i` saw `keypoints[i]` through
    /// `intrinsics[i]`.
    pub fn from_views(keypoints: &[Keypoints2d], intrinsics: &[Intrinsics]) -> Self {
        Self {
            views: keypoints
                .iter()
                .zip(intrinsics)
                .map(|(k, i)| Some(ViewObservation { keypoints: *k, intrinsics: *i, extra: None }))
                .collect(),
        }
    }

    /// Frame `t` of `data`, every view present, with the extra keypoints when the file has them.
    /// Panics if `t` is out of range.
    pub fn from_mv2d(data: &Mv2d, t: usize) -> Self {
        let mut frame = Self::from_views(&data.keypoints2d[t], &data.intrinsics);
        if let Some(extra) = &data.extra2d {
            for (view, e) in frame.views.iter_mut().zip(&extra[t]) {
                if let Some(view) = view {
                    view.extra = Some(*e);
                }
            }
        }
        frame
    }
}

/// Where the person is in a view: centre and size in normalised image coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement2d {
    /// Confidence-weighted centre of the keypoints.
    pub centre: Vector2<f64>,
    /// Bounding-box diagonal of the keypoints.
    pub size: f64,
}

/// The encoded view: the network input and the placement it was made with; `None` when fewer
/// than four keypoints are seen (the view counts as missing).
pub fn encode_view(view: &ViewObservation) -> Option<([f32; VIEW_INPUT_DIM], Placement2d)> {
    let points: Vec<(Vector2<f64>, f64)> = view
        .keypoints
        .iter()
        .map(|k| {
            let seen = k[2] >= MIN_CONFIDENCE && k[0].is_finite() && k[1].is_finite() && k[2].is_finite();
            let c = if seen { k[2].min(1.0) as f64 } else { 0.0 };
            (view.intrinsics.normalize(&Vector2::new(k[0] as f64, k[1] as f64)), c)
        })
        .collect();
    let seen: Vec<&(Vector2<f64>, f64)> = points.iter().filter(|(_, c)| *c > 0.0).collect();
    if seen.len() < 4 {
        return None;
    }
    let total: f64 = seen.iter().map(|(_, c)| c).sum();
    let centre = seen.iter().map(|(p, c)| p * *c).sum::<Vector2<f64>>() / total;
    let size = crate::geometry::person_size(seen.iter().map(|(p, _)| *p))?.max(1e-3);
    let mut out = [0f32; VIEW_INPUT_DIM];
    for (k, (p, c)) in points.iter().enumerate() {
        if *c > 0.0 {
            let q = (p - centre) / size;
            out[3 * k] = q.x as f32;
            out[3 * k + 1] = q.y as f32;
            out[3 * k + 2] = *c as f32;
        }
    }
    let tail = NUM_KEYPOINTS * 3;
    out[tail] = centre.x as f32;
    out[tail + 1] = centre.y as f32;
    out[tail + 2] = size.ln() as f32;
    Some((out, Placement2d { centre, size }))
}

/// A batch of frames as tensors, every frame padded to the largest view count.
#[derive(Clone, Debug)]
pub struct EncodedBatch {
    /// `[B, V, VIEW_INPUT_DIM]` inputs (zeros for missing views).
    pub inputs: Tensor,
    /// `[B, V]` 1 for a present view, 0 for a missing one.
    pub mask: Tensor,
    /// `[B, V, 2]` centres (normalised coordinates).
    pub centres: Tensor,
    /// `[B, V]` person sizes (normalised units; 1 for missing views).
    pub sizes: Tensor,
    /// `[B][V]` whether each view is present.
    pub present: Vec<Vec<bool>>,
}

impl EncodedBatch {
    /// The observed keypoints back from the encoding, flattened over frames and views:
    /// normalised image coordinates `[B * V, 17, 2]` (centre + size x encoded) and confidences
    /// `[B * V, 17]` (0 for missing keypoints and views).
    pub fn observed(&self) -> Result<(Tensor, Tensor)> {
        let (b, v, _) = self.inputs.dims3()?;
        let n = b * v;
        let kp = self.inputs.reshape((n, VIEW_INPUT_DIM))?.narrow(1, 0, NUM_KEYPOINTS * 3)?.reshape((
            n,
            NUM_KEYPOINTS,
            3,
        ))?;
        let sizes = self.sizes.reshape((n, 1, 1))?;
        let observed = kp.narrow(2, 0, 2)?.broadcast_mul(&sizes)?.broadcast_add(&self.centres.reshape((n, 1, 2))?)?;
        Ok((observed, kp.narrow(2, 2, 1)?.squeeze(2)?))
    }
}

/// Encodes frames for the network.
pub fn encode_batch(frames: &[MultiViewFrame], device: &Device) -> Result<EncodedBatch> {
    let b = frames.len();
    let v = frames.iter().map(|f| f.views.len()).max().unwrap_or(0).max(1);
    let mut inputs = vec![0f32; b * v * VIEW_INPUT_DIM];
    let mut mask = vec![0f32; b * v];
    let mut centres = vec![0f32; b * v * 2];
    let mut sizes = vec![1f32; b * v];
    let mut present = vec![vec![false; v]; b];
    for (t, frame) in frames.iter().enumerate() {
        for (i, view) in frame.views.iter().enumerate() {
            let Some((x, placement)) = view.as_ref().and_then(encode_view) else { continue };
            let at = t * v + i;
            inputs[at * VIEW_INPUT_DIM..(at + 1) * VIEW_INPUT_DIM].copy_from_slice(&x);
            mask[at] = 1.0;
            centres[2 * at] = placement.centre.x as f32;
            centres[2 * at + 1] = placement.centre.y as f32;
            sizes[at] = placement.size as f32;
            present[t][i] = true;
        }
    }
    Ok(EncodedBatch {
        inputs: Tensor::from_vec(inputs, (b, v, VIEW_INPUT_DIM), device)?,
        mask: Tensor::from_vec(mask, (b, v), device)?,
        centres: Tensor::from_vec(centres, (b, v, 2), device)?,
        sizes: Tensor::from_vec(sizes, (b, v), device)?,
        present,
    })
}
