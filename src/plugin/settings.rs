//! The plugin's runtime knobs, [`CmanetSettings`]: change them at any time (the egui panel does).

use bevy::prelude::*;

use crate::filter::OneEuroSettings;
use crate::ground::{ContactSettings, GroundSettings};

/// Runtime knobs of the plugin.
#[derive(Resource, Reflect, Clone, Debug, PartialEq)]
#[reflect(Resource)]
pub struct CmanetSettings {
    /// Whether estimation runs at all (off, the capture cameras are not read back either).
    /// Default: true.
    pub enabled: bool,
    /// Whether the avatar gets the smoothed pose; false drives it with the raw estimates.
    /// Default: true.
    pub smoothing: bool,
    /// One Euro cutoff at rest, Hz: lower removes more jitter from a still pose. Default: 1.5.
    pub min_cutoff: f64,
    /// One Euro speed coefficient: higher follows fast motion with less lag. Default: 0.7.
    pub beta: f64,
    /// One Euro cutoff of the speed estimate, Hz. Default: 1.0.
    pub derivative_cutoff: f64,
    /// Fewest views with a detected person for a frame to be estimated. Default: 2.
    pub min_views: usize,
    /// Repair left/right swaps of the detector: a view's keypoints are mirrored when the previous
    /// estimate (if less than half a second old), seen from that view, says the detector
    /// exchanged the person's left and right (`data::labels::swapped_against_estimate`).
    /// Default: true.
    pub repair_left_right: bool,
    /// Also repair crossed feet: a view's ankles (with heels and foot tips) are exchanged when the
    /// previous estimate says the detector exchanged them alone
    /// (`data::labels::feet_swapped_against_estimate`; needs `repair_left_right`). Default: true.
    pub repair_crossed_feet: bool,
    /// Hold the estimated cameras still: views whose place in the world is not known (see
    /// `CaptureView::place_from_transform`) keep the place they had when this was switched on,
    /// and the body then moves and turns relative to them. Switch it on once the estimates have
    /// settled, with the person standing upright. Default: false.
    pub hold_rig: bool,
    /// Turn the avatar's feet and hands (ankles and wrists) to BlazePose's heel, foot-tip and hand
    /// landmarks (`net::ExtremitySettings`); off leaves them as the network has them. Default: true.
    pub feet_and_hands: bool,
    /// Stand the avatar on the floor (the root moved up or down) and judge which foot is planted
    /// (see the feet-and-hands chapter). Default: true.
    pub ground_feet: bool,
    /// Hold a planted foot where it landed with two-bone IK on its leg, blended out when it lifts
    /// (needs `ground_feet`). Default: true.
    pub hold_planted_feet: bool,
    /// A foot may plant when its lowest sole point is this close to the floor; it lifts past twice
    /// this. Metres. Default: 0.03.
    pub contact_height: f32,
    /// A foot may plant when its centre moves slower than this; it lifts past twice this. m/s.
    /// Default: 0.3.
    pub contact_speed: f32,
    /// The floor's height (world +y), if known; `None` estimates it from where the feet rest.
    /// Default: `None`.
    pub floor_height: Option<f32>,
    /// How long a lifted foot's hold, and the root's height correction once no foot is planted,
    /// take to ease out (time constant), seconds. Default: 0.2.
    pub ground_release_seconds: f32,
    /// A view that has found nobody for this long (capture time, seconds) gets one
    /// [`super::CmanetWarning::NoPerson`] with the likely reason (dark, featureless, too small);
    /// it is told again only after the view has found someone. Default: 1.0.
    pub no_person_warning_seconds: f64,
    /// Whether the app waits for inference, blocking the frame: the first update for the networks
    /// to load, every later one for the estimate under way to finish. For offline and headless
    /// runs whose results should not depend on timing (which frame the networks are ready by,
    /// which frames inference keeps up with). Default: false.
    pub wait_for_inference: bool,
    /// Whether the capture cameras' frames are detected on Bevy's own GPU device (BlazePose as
    /// compute shaders reading the render targets, only keypoints read back) instead of being read
    /// back and detected on the CPU. Needs the crate's `wgpu` feature; without it, the CPU path
    /// runs and a [`super::CmanetWarning::GpuDetection`] says why. Views that are not cameras
    /// (image sequences, videos, webcams) are detected on the CPU either way. Default: false.
    pub detect_on_gpu: bool,
    /// Draw the estimated cameras as frusta. Default: true.
    pub show_cameras: bool,
    /// Draw the estimated 3D skeleton. Default: true.
    pub show_skeleton: bool,
}

impl Default for CmanetSettings {
    fn default() -> Self {
        // The grounding's defaults are the library's (`ground::GroundSettings`).
        let ground = GroundSettings::default();
        Self {
            enabled: true,
            smoothing: true,
            min_cutoff: 1.5,
            beta: 0.7,
            derivative_cutoff: 1.0,
            min_views: 2,
            repair_left_right: true,
            repair_crossed_feet: true,
            hold_rig: false,
            feet_and_hands: true,
            ground_feet: true,
            hold_planted_feet: ground.hold_feet,
            contact_height: ground.contacts.height_on,
            contact_speed: ground.contacts.speed_on,
            floor_height: ground.floor_height,
            ground_release_seconds: ground.release_seconds,
            no_person_warning_seconds: 1.0,
            wait_for_inference: false,
            detect_on_gpu: false,
            show_cameras: true,
            show_skeleton: true,
        }
    }
}

impl CmanetSettings {
    /// Whether the capture cameras are detected on the GPU now: [`CmanetSettings::detect_on_gpu`]
    /// in a build with the `wgpu` feature.
    pub fn gpu_detection_active(&self) -> bool {
        self.detect_on_gpu && cfg!(feature = "wgpu")
    }

    /// The grounding's knobs.
    pub fn ground(&self) -> GroundSettings {
        GroundSettings {
            contacts: ContactSettings {
                height_on: self.contact_height,
                height_off: 2.0 * self.contact_height,
                speed_on: self.contact_speed,
                speed_off: 2.0 * self.contact_speed,
                ..ContactSettings::default()
            },
            floor_height: self.floor_height,
            hold_feet: self.hold_planted_feet,
            release_seconds: self.ground_release_seconds,
            ..GroundSettings::default()
        }
    }

    /// The One Euro knobs.
    pub fn one_euro(&self) -> OneEuroSettings {
        OneEuroSettings { min_cutoff: self.min_cutoff, beta: self.beta, derivative_cutoff: self.derivative_cutoff }
    }
}

/// Turns [`CmanetSettings::detect_on_gpu`] off, with a warning, in a build without the `wgpu`
/// feature.
#[cfg(not(feature = "wgpu"))]
pub(crate) fn refuse_gpu_detection(mut commands: Commands, mut settings: ResMut<CmanetSettings>) {
    if settings.detect_on_gpu {
        settings.detect_on_gpu = false;
        let message = "the crate was built without its `wgpu` feature".to_string();
        super::messages::warn(&mut commands, super::messages::CmanetWarning::GpuDetection { message });
    }
}
