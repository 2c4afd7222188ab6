//! Which parts of CMANet run: the whole network, or one of the ablations the model card measures
//! (the same weights with a part left out).

use serde::{Deserialize, Serialize};

/// The parts of the network an estimate goes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pipeline {
    /// IRV, screening, IEV: the network as trained. Default.
    #[default]
    Full,
    /// IRV alone on a single view: the first present view's body, every view's own camera; no
    /// screening, no IEV.
    IrvSingleView,
    /// IRV and IEV, the IEV starting from the first present view's body instead of the screened one.
    WithoutScreening,
    /// IRV and screening, no IEV (what stage 1 alone gives).
    WithoutIev,
}

impl Pipeline {
    /// Every pipeline, the full one first.
    pub const ALL: [Pipeline; 4] =
        [Pipeline::Full, Pipeline::IrvSingleView, Pipeline::WithoutScreening, Pipeline::WithoutIev];

    /// Whether views are screened (otherwise the first present view is taken).
    pub fn screens(self) -> bool {
        matches!(self, Pipeline::Full | Pipeline::WithoutIev)
    }

    /// Whether the IEV refines the start.
    pub fn refines(self) -> bool {
        matches!(self, Pipeline::Full | Pipeline::WithoutScreening)
    }

    /// A short name (`full`, `irv-single-view`, `without-screening`, `without-iev`).
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Full => "full",
            Pipeline::IrvSingleView => "irv-single-view",
            Pipeline::WithoutScreening => "without-screening",
            Pipeline::WithoutIev => "without-iev",
        }
    }
}
