//! The Bevy plugin (feature `bevy`): camera textures, image sequences or video files in, a moving
//! avatar out.
//!
//! ```ignore
//! app.add_plugins(CmanetPlugin::default());
//! commands.spawn((Camera3d::default(), RenderTarget::Image(image.into()), CaptureView::default()));
//! commands.spawn((
//!     WorldAssetRoot(asset_server.load(GltfAssetLabel::Scene(0).from_asset("avatar/open_body.glb"))),
//!     CmanetAvatar::default(),
//! ));
//! ```
//!
//! Systems, in order ([`CmanetSystems`]): `Capture` (read-backs, image sequences, video files and
//! webcams into
//! [`CapturedFrame`]), `Inference` (detection and CMANet on `AsyncComputeTaskPool`, results as
//! [`PoseEstimated`]), `Filter` (One Euro smoothing into [`CmanetPose`]), `Stream` (VMC in and out,
//! [`CmanetVmcReceiver`], [`CmanetVmcSender`]) in `Update`; `Retarget`
//! (bone writes) in `PostUpdate` after `AnimationSystems` and before
//! `TransformSystems::Propagate`. plugin-docs has the chapter.

pub(crate) mod capture;
pub(crate) mod gizmos;
#[cfg(feature = "wgpu")]
pub(crate) mod gpu;
pub(crate) mod grounding;
pub(crate) mod headless;
pub(crate) mod inference;
pub(crate) mod messages;
#[cfg(feature = "egui")]
pub(crate) mod panel;
pub(crate) mod performer;
pub(crate) mod recording;
pub(crate) mod retarget;
pub(crate) mod rig;
pub(crate) mod settings;
pub(crate) mod smoothing;
pub(crate) mod streaming;
#[cfg(feature = "video")]
pub(crate) mod sync;
#[cfg(feature = "video")]
pub(crate) mod video;
pub(crate) mod webcam;

use bevy::prelude::*;
use bevy::transform::TransformSystems;

pub use capture::{
    CaptureView, CapturedFrame, CapturedPixels, ImageSequence, TARGET_MISSING_WARNING_SECONDS, camera_extrinsics,
    camera_transform, capture_target, intrinsics_from_projection,
};
pub use gizmos::{CmanetGizmos, GIZMO_LAYER, LatestEstimate};
pub use headless::{headless_app, headless_render_app};
pub use inference::{CmanetBodyModel, ModelFiles, PREVIEW_WIDTH, ViewPreview, ViewStatus};
pub use messages::{CmanetWarning, MissingBones, ModelLoaded, PoseEstimated, PoseTiming, ViewEstimate, ViewFailed};
#[cfg(feature = "egui")]
pub use panel::{CmanetPanelPlugin, PanelState};
pub use performer::{Performance, TestPerformer};
pub use recording::TakeRecorder;
pub use retarget::{AvatarBones, BoneMap, BoneRest, CmanetAvatar, bone_transforms};
pub use rig::{AvatarRig, axis_angle_to_quat};
pub use settings::CmanetSettings;
pub use smoothing::CmanetPose;
pub use streaming::{CmanetVmcReceiver, CmanetVmcSender, MAX_PACKETS_PER_FRAME, VmcStatus};
#[cfg(feature = "video")]
pub use sync::SyncRecordings;
#[cfg(feature = "video")]
pub use video::{DEFAULT_VIDEO_HFOV_DEGREES, ShownFrame, VideoFile};
pub use webcam::{CameraOpener, DEFAULT_WEBCAM_HFOV_DEGREES, Webcam};

/// [`AVATAR_PATH`] inside Bevy's embedded asset source (a macro so that both are one literal).
macro_rules! avatar_embedded {
    () => {
        "cmanet/avatar/open_body.glb"
    };
}

/// The shipped avatar (a glTF scene with SMPL's bone names), embedded in the crate: load it with
/// `asset_server.load(GltfAssetLabel::Scene(0).from_asset(AVATAR_PATH))` in any app that adds
/// [`CmanetPlugin`] after Bevy's `AssetPlugin`, without copying files into the app's `assets/`.
pub const AVATAR_PATH: &str = concat!("embedded://", avatar_embedded!());

/// [`AVATAR_PATH`] inside Bevy's embedded asset source.
const AVATAR_EMBEDDED: &str = avatar_embedded!();

/// The avatar's bytes, built into the crate.
const AVATAR_BYTES: &[u8] = include_bytes!("../../assets/avatar/open_body.glb");

/// The system sets of the plugin, in the order they run.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmanetSystems {
    /// `Update`: views' pixels into [`CapturedFrame`].
    Capture,
    /// `Update`: starting and collecting inference; writes [`PoseEstimated`].
    Inference,
    /// `Update`: smoothing into [`CmanetPose`], the grounding (floor, contacts, planted feet held); gizmos.
    Filter,
    /// `Update`: streaming, VMC in ([`CmanetVmcReceiver`], which replaces [`CmanetPose`]) then
    /// out ([`CmanetVmcSender`]).
    Stream,
    /// `PostUpdate`, after `AnimationSystems`, before `TransformSystems::Propagate`: bone writes.
    Retarget,
}

/// Markerless multi-view motion capture: add it, mark two or more views with [`CaptureView`] and
/// a character with [`CmanetAvatar`].
#[derive(Clone, Debug, Default)]
pub struct CmanetPlugin {
    /// The networks to load. Default: the shipped CMANet weights and BlazePose lite.
    pub models: ModelFiles,
    /// The knobs to start with. Default: [`CmanetSettings::default`].
    pub settings: CmanetSettings,
    /// Draw gizmos (needs Bevy's gizmo plugin, part of `DefaultPlugins`). Default: true in apps
    /// that have `GizmoPlugin`.
    pub gizmos: GizmoChoice,
}

/// Whether the plugin adds its gizmo system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GizmoChoice {
    /// When the app has Bevy's `GizmoPlugin` (`DefaultPlugins`). Default.
    #[default]
    Auto,
    /// Never.
    Off,
}

impl Plugin for CmanetPlugin {
    fn build(&self, app: &mut App) {
        match app.world().get_resource::<bevy::asset::io::embedded::EmbeddedAssetRegistry>() {
            Some(registry) => {
                registry.insert_asset(AVATAR_EMBEDDED.into(), std::path::Path::new(AVATAR_EMBEDDED), AVATAR_BYTES)
            }
            None => bevy::log::warn!("cmanet: add CmanetPlugin after AssetPlugin to load {AVATAR_PATH}"),
        }
        app.insert_resource(self.settings.clone())
            .register_type::<CmanetSettings>()
            .insert_resource(inference::Inference::new(self.models.clone()))
            .insert_resource(smoothing::Smoother(crate::filter::PoseFilter::new(self.settings.one_euro())))
            .init_resource::<CmanetPose>()
            .init_resource::<grounding::Grounding>()
            .init_resource::<LatestEstimate>()
            .init_resource::<TakeRecorder>()
            .init_resource::<CmanetVmcSender>()
            .init_resource::<CmanetVmcReceiver>()
            .init_resource::<VmcStatus>()
            .init_resource::<streaming::VmcLinks>()
            .register_type::<CmanetVmcSender>()
            .register_type::<CmanetVmcReceiver>()
            .add_message::<PoseEstimated>()
            .configure_sets(
                Update,
                (CmanetSystems::Capture, CmanetSystems::Inference, CmanetSystems::Filter, CmanetSystems::Stream)
                    .chain(),
            )
            .configure_sets(
                PostUpdate,
                CmanetSystems::Retarget.after(bevy::app::AnimationSystems).before(TransformSystems::Propagate),
            )
            .add_observer(capture::on_readback)
            .add_observer(retarget::on_scene_ready)
            .add_observer(performer::on_performer_ready)
            .add_systems(Startup, inference::start_loading);
        #[cfg(feature = "video")]
        app.add_systems(Update, (video::play_videos, sync::sync_recordings).in_set(CmanetSystems::Capture));
        #[cfg(feature = "wgpu")]
        {
            gpu::build(app);
            app.add_systems(Update, gpu::receive_detections.in_set(CmanetSystems::Capture));
        }
        #[cfg(not(feature = "wgpu"))]
        app.add_systems(Update, settings::refuse_gpu_detection.in_set(CmanetSystems::Capture));
        app.add_systems(
            Update,
            (
                (capture::request_readbacks, capture::stop_readbacks, capture::play_sequences, webcam::play_webcams)
                    .in_set(CmanetSystems::Capture),
                inference::run_inference.in_set(CmanetSystems::Inference),
                (smoothing::smooth_poses, grounding::ground_poses, recording::record_takes, gizmos::keep_latest)
                    .chain()
                    .in_set(CmanetSystems::Filter),
                (streaming::receive_poses, streaming::send_poses).chain().in_set(CmanetSystems::Stream),
            ),
        )
        .add_systems(
            PostUpdate,
            (
                performer::perform.before(CmanetSystems::Retarget).before(TransformSystems::Propagate),
                (retarget::check_avatar_scenes, retarget::find_bones, retarget::drive_avatars)
                    .chain()
                    .in_set(CmanetSystems::Retarget),
            ),
        );
    }

    fn finish(&self, app: &mut App) {
        if self.gizmos == GizmoChoice::Auto && app.is_plugin_added::<bevy::gizmos::GizmoPlugin>() {
            app.init_gizmo_group::<gizmos::CmanetGizmos>().add_systems(Startup, gizmos::configure_gizmos).add_systems(
                Update,
                (gizmos::show_gizmos_to_viewers, gizmos::draw_gizmos).after(CmanetSystems::Filter),
            );
        }
    }
}
