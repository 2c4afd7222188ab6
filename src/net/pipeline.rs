//! Which parts of CMANet run: the whole network, or one of the ablations the model card measures
//! (the same weights with a part left out).

use serde::{Deserialize, Serialize};

/// The parts of the network an estimate goes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pipeline {
    /// IRV, screening, IEV, every camera refined against the fused body, then the body and the
    /// cameras refined together against every view's keypoints (in a sequence, also pulled
    /// towards the previous frame's body). Default.
    #[default]
    Full,
    /// IRV alone on a single view: the first present view's body, every view's own camera; no
    /// screening, no IEV, no camera or body refinement.
    IrvSingleView,
    /// IRV and IEV, the IEV starting from the first present view's body and weighting all views
    /// alike instead of by the screening's scores; cameras and body refined.
    WithoutScreening,
    /// IRV and screening, no IEV (what stage 1 alone gives); cameras and body refined.
    WithoutIev,
    /// IRV, screening and IEV, then the body refinement straight from the network's cameras (no
    /// camera refinement before it).
    WithoutCameraRefinement,
    /// IRV, screening, IEV and the camera refinement, the network's body as it is (no body
    /// refinement).
    WithoutBodyRefinement,
    /// Everything, but every frame of a sequence on its own: the body refinement is not pulled
    /// towards the previous frame's body.
    WithoutTemporalPrior,
    /// Everything, but no view's left and right labels are questioned
    /// ([`super::camera_refinement::check_left_right`]).
    WithoutLeftRightCheck,
    /// Everything, but the body refinement keeps the body model's bones (no per-subject bone
    /// corrections, [`super::body_refinement::ADAPTED_BONES`]).
    WithoutBoneCorrections,
    /// Everything, but a sequence's cameras are not held to the rig learned over the previous
    /// frames ([`super::rig`]).
    WithoutRig,
    /// Everything, but the ankles and wrists are not turned to BlazePose's extra keypoints
    /// ([`super::extremities`]): the feet and hands as the network has them.
    WithoutFeetAndHands,
    /// Everything, but the cameras are aligned with the body's 17 keypoints alone, not also with
    /// the feet's extra keypoints where the views have them
    /// ([`super::camera_refinement::AlignmentPoints`]).
    WithoutFeetInCameras,
    /// Everything, but no keypoint that jumps in one view alone is held back
    /// ([`super::jumps::gate_jumps`]).
    WithoutJumpGate,
}

impl Pipeline {
    /// Every pipeline, the full one first.
    pub const ALL: [Pipeline; 13] = [
        Pipeline::Full,
        Pipeline::IrvSingleView,
        Pipeline::WithoutScreening,
        Pipeline::WithoutIev,
        Pipeline::WithoutCameraRefinement,
        Pipeline::WithoutBodyRefinement,
        Pipeline::WithoutTemporalPrior,
        Pipeline::WithoutLeftRightCheck,
        Pipeline::WithoutBoneCorrections,
        Pipeline::WithoutRig,
        Pipeline::WithoutFeetAndHands,
        Pipeline::WithoutFeetInCameras,
        Pipeline::WithoutJumpGate,
    ];

    /// Whether views are screened (otherwise the first present view is taken).
    pub fn screens(self) -> bool {
        !matches!(self, Pipeline::IrvSingleView | Pipeline::WithoutScreening)
    }

    /// Whether the IEV refines the start.
    pub fn refines(self) -> bool {
        !matches!(self, Pipeline::IrvSingleView | Pipeline::WithoutIev)
    }

    /// Whether the cameras are finally aligned with the body ([`super::camera_refinement`]).
    pub fn refines_cameras(self) -> bool {
        !matches!(self, Pipeline::IrvSingleView | Pipeline::WithoutCameraRefinement)
    }

    /// Whether every view is also tried with its left and right labels exchanged after the camera
    /// refinement ([`super::camera_refinement::check_left_right`]).
    pub fn checks_left_right(self) -> bool {
        self.refines_cameras() && self != Pipeline::WithoutLeftRightCheck
    }

    /// Whether the body and the cameras are finally refined together against every view's
    /// keypoints ([`super::body_refinement`]).
    pub fn refines_body(self) -> bool {
        !matches!(self, Pipeline::IrvSingleView | Pipeline::WithoutBodyRefinement)
    }

    /// Whether the body refinement corrects the subject's bones.
    pub fn corrects_bones(self) -> bool {
        self.refines_body() && self != Pipeline::WithoutBoneCorrections
    }

    /// Whether a sequence's cameras are held to its learned rig.
    pub fn uses_rig(self) -> bool {
        self.refines_body() && self != Pipeline::WithoutRig
    }

    /// Whether the body refinement of a frame in a sequence is pulled towards the previous
    /// frame's body.
    pub fn uses_previous_frame(self) -> bool {
        self.refines_body() && self != Pipeline::WithoutTemporalPrior
    }

    /// Whether the ankles and wrists are turned to the extra keypoints where the views have them.
    pub fn turns_feet_and_hands(self) -> bool {
        self.refines_body() && self != Pipeline::WithoutFeetAndHands
    }

    /// Whether the cameras are aligned with the feet's extra keypoints too, where the views have
    /// them.
    pub fn aligns_feet(self) -> bool {
        self.refines_cameras() && self != Pipeline::WithoutFeetInCameras
    }

    /// Whether a keypoint of a stream's frame that jumps in one view alone against the previous
    /// frame's estimate has its confidence scaled down ([`super::jumps::gate_jumps`]).
    pub fn gates_jumps(self) -> bool {
        self.uses_previous_frame() && self != Pipeline::WithoutJumpGate
    }

    /// A short name (`full`, `irv-single-view`, `without-screening`, `without-iev`,
    /// `without-camera-refinement`, `without-body-refinement`, `without-temporal-prior`,
    /// `without-left-right-check`, `without-bone-corrections`, `without-rig`,
    /// `without-feet-and-hands`, `without-feet-in-cameras`, `without-jump-gate`).
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Full => "full",
            Pipeline::IrvSingleView => "irv-single-view",
            Pipeline::WithoutScreening => "without-screening",
            Pipeline::WithoutIev => "without-iev",
            Pipeline::WithoutCameraRefinement => "without-camera-refinement",
            Pipeline::WithoutBodyRefinement => "without-body-refinement",
            Pipeline::WithoutTemporalPrior => "without-temporal-prior",
            Pipeline::WithoutLeftRightCheck => "without-left-right-check",
            Pipeline::WithoutBoneCorrections => "without-bone-corrections",
            Pipeline::WithoutRig => "without-rig",
            Pipeline::WithoutFeetAndHands => "without-feet-and-hands",
            Pipeline::WithoutFeetInCameras => "without-feet-in-cameras",
            Pipeline::WithoutJumpGate => "without-jump-gate",
        }
    }

    /// The pipeline called `name` (see [`Pipeline::name`]); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}
