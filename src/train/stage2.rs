//! Stage 2: train the inter-view module (IEV) with the IRV frozen — the refined shared body seen
//! through every view's refined camera, against all views' keypoints and the pseudo-labels.

use candle_core::{Result, Tensor};

use super::labelled::LabelBatch;
use super::stage1::{LossTerms, LossWeights, view_losses};
use crate::body::BodyTensors;
use crate::net::Forward;
use crate::net::params::PARAM_DIM;

/// The stage-2 loss of a forward pass of the whole network (the view and confidence terms are 0:
/// the body is shared, the IRV frozen).
pub fn stage2_loss(fwd: &Forward, body: &BodyTensors, labels: &LabelBatch, w: &LossWeights) -> Result<LossTerms> {
    let (b, v, _) = fwd.batch.inputs.dims3()?;
    let shared = fwd.body.unsqueeze(1)?.broadcast_as((b, v, fwd.body.dim(1)?))?;
    let params = Tensor::cat(&[&fwd.cameras, &shared], 2)?.reshape((b * v, PARAM_DIM))?;
    Ok(view_losses(body, &fwd.batch, labels, &params, w)?.0)
}
