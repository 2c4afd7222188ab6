//! Which parts of CMANet run: the whole network, or one of the ablations the model card measures
//! (the same weights with a part left out).

use serde::{Deserialize, Serialize};

/// The parts of the network an estimate goes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pipeline {
    /// IRV, screening, IEV, then every camera refined against the fused body. Default.
    #[default]
    Full,
    /// IRV alone on a single view: the first present view's body, every view's own camera; no
    /// screening, no IEV, no camera refinement.
    IrvSingleView,
    /// IRV and IEV, the IEV starting from the first present view's body and weighting all views
    /// alike instead of by the screening's scores; cameras refined.
    WithoutScreening,
    /// IRV and screening, no IEV (what stage 1 alone gives); cameras refined.
    WithoutIev,
    /// IRV, screening and IEV, the network's cameras as they are (no geometric refinement).
    WithoutCameraRefinement,
}

impl Pipeline {
    /// Every pipeline, the full one first.
    pub const ALL: [Pipeline; 5] = [
        Pipeline::Full,
        Pipeline::IrvSingleView,
        Pipeline::WithoutScreening,
        Pipeline::WithoutIev,
        Pipeline::WithoutCameraRefinement,
    ];

    /// Whether views are screened (otherwise the first present view is taken).
    pub fn screens(self) -> bool {
        matches!(self, Pipeline::Full | Pipeline::WithoutIev | Pipeline::WithoutCameraRefinement)
    }

    /// Whether the IEV refines the start.
    pub fn refines(self) -> bool {
        matches!(self, Pipeline::Full | Pipeline::WithoutScreening | Pipeline::WithoutCameraRefinement)
    }

    /// Whether the cameras are finally aligned with the body ([`super::camera_refinement`]).
    pub fn refines_cameras(self) -> bool {
        !matches!(self, Pipeline::IrvSingleView | Pipeline::WithoutCameraRefinement)
    }

    /// A short name (`full`, `irv-single-view`, `without-screening`, `without-iev`,
    /// `without-camera-refinement`).
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Full => "full",
            Pipeline::IrvSingleView => "irv-single-view",
            Pipeline::WithoutScreening => "without-screening",
            Pipeline::WithoutIev => "without-iev",
            Pipeline::WithoutCameraRefinement => "without-camera-refinement",
        }
    }
}
