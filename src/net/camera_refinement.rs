//! The last, geometric step of an estimate: every view's camera is aligned with the fused body by
//! robust perspective-n-point refinement ([`crate::geometry::refine_pose`]) against that view's
//! keypoints, starting from the network's camera. The network's cameras come from each view's
//! own reading of the body's orientation; once the views agree on one body, its keypoints pin
//! every camera down more tightly than any single view could. Microseconds per view.

use nalgebra::{Vector2, Vector3};

use super::input::MultiViewFrame;
use crate::data::Keypoints3d;
use crate::data::format::MIN_CONFIDENCE;
use crate::geometry::{Correspondence, Extrinsics, refine_pose};

/// Robust scales of the two refinement passes, fractions of the person's size in the image.
pub const REFINEMENT_SCALES: [f64; 2] = [0.1, 0.05];

/// Levenberg–Marquardt steps per pass at most (the network's camera is a close start).
pub const REFINEMENT_STEPS: usize = 6;

/// Refines the present `cameras` of `frame` (body to camera) against the canonical `keypoints`;
/// `sizes` are the views' person sizes (normalised image units). A view with fewer than six usable
/// keypoints keeps the network's camera.
pub fn refine_cameras(
    keypoints: &Keypoints3d,
    cameras: &mut [Option<Extrinsics>],
    frame: &MultiViewFrame,
    sizes: &[f64],
) {
    for ((camera, view), size) in cameras.iter_mut().zip(&frame.views).zip(sizes) {
        let (Some(start), Some(view)) = (camera.as_ref(), view.as_ref()) else { continue };
        let used: Vec<Correspondence> = keypoints
            .iter()
            .zip(&view.keypoints)
            .filter(|(_, k)| k[2] >= MIN_CONFIDENCE && k.iter().all(|x| x.is_finite()))
            .map(|(p, k)| {
                let point = Vector3::new(p[0] as f64, p[1] as f64, p[2] as f64);
                let observed = view.intrinsics.normalize(&Vector2::new(k[0] as f64, k[1] as f64));
                (point, observed, k[2].min(1.0) as f64)
            })
            .collect();
        if used.len() < 6 || !size.is_finite() || *size <= 0.0 {
            continue;
        }
        let mut pose = *start;
        for scale in REFINEMENT_SCALES {
            pose = refine_pose(pose, &used, *size, scale, REFINEMENT_STEPS).0;
        }
        *camera = Some(pose);
    }
}
