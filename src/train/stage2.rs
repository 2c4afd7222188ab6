//! Stage 2: train the inter-view module (IEV) with the IRV frozen — the refined shared body seen
//! through every view's refined camera, against all views' keypoints and the pseudo-labels.

use candle_core::{Result, Tensor};

use super::labelled::LabelBatch;
use super::losses::weighted_squared_distance;
use super::stage1::{LossTerms, LossWeights, view_losses};
use crate::body::{BodyTensors, NUM_JOINTS};
use crate::net::Forward;
use crate::net::params::{PARAM_DIM, expand_bones};

/// The stage-2 loss of a forward pass of the whole network (the view and confidence terms are 0:
/// the body is shared, the IRV frozen). With the IEV's bone corrections, the body is posed with
/// them and they are compared with the pseudo-label's.
pub fn stage2_loss(fwd: &Forward, body: &BodyTensors, labels: &LabelBatch, w: &LossWeights) -> Result<LossTerms> {
    let (b, v, _) = fwd.batch.inputs.dims3()?;
    let shared = fwd.body.unsqueeze(1)?.broadcast_as((b, v, fwd.body.dim(1)?))?;
    let params = Tensor::cat(&[&fwd.cameras, &shared], 2)?.reshape((b * v, PARAM_DIM))?;
    let bones = match &fwd.bones {
        Some(bones) => {
            let expanded = expand_bones(bones)?; // [B, 24, 3]
            Some(expanded.unsqueeze(1)?.broadcast_as((b, v, NUM_JOINTS, 3))?.reshape((b * v, NUM_JOINTS, 3))?)
        }
        None => None,
    };
    let mut terms = view_losses(body, &fwd.batch, labels, &params, bones.as_ref(), w)?.0;
    if let Some(bones) = &fwd.bones {
        let agreement = weighted_squared_distance(bones, &labels.bones, &labels.trust)?;
        terms.total = (terms.total + (&agreement * w.bones)?)?;
        terms.bones = agreement.to_scalar()?;
    }
    Ok(terms)
}
