//! The plugin's runtime knobs, [`CmanetSettings`]: change them at any time (the egui panel does).

use bevy::prelude::*;

use crate::filter::OneEuroSettings;

/// Runtime knobs of the plugin.
#[derive(Resource, Reflect, Clone, Debug, PartialEq)]
#[reflect(Resource)]
pub struct CmanetSettings {
    /// Whether estimation runs at all. Default: true.
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
    /// Hold the estimated cameras still: views whose place in the world is not known (see
    /// `CaptureView::place_from_transform`) keep the place they had when this was switched on,
    /// and the body then moves and turns relative to them. Switch it on once the estimates have
    /// settled, with the person standing upright. Default: false.
    pub hold_rig: bool,
    /// Turn the avatar's feet and hands (ankles and wrists) to BlazePose's heel, foot-tip and hand
    /// landmarks (`net::ExtremitySettings`); off leaves them as the network has them. Default: true.
    pub feet_and_hands: bool,
    /// Stand the avatar on the floor and hold a planted foot where it landed (the root moved; see
    /// the feet-and-hands chapter). Default: true.
    pub ground_feet: bool,
    /// The floor's height (world +y), if known; `None` estimates it from where the feet rest.
    /// Default: `None`.
    pub floor_height: Option<f32>,
    /// How long the root's sideways correction takes to ease back once no foot is planted
    /// (time constant), seconds. Default: 0.2.
    pub ground_release_seconds: f32,
    /// Draw the estimated cameras as frusta. Default: true.
    pub show_cameras: bool,
    /// Draw the estimated 3D skeleton. Default: true.
    pub show_skeleton: bool,
}

impl Default for CmanetSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            smoothing: true,
            min_cutoff: 1.5,
            beta: 0.7,
            derivative_cutoff: 1.0,
            min_views: 2,
            repair_left_right: true,
            hold_rig: false,
            feet_and_hands: true,
            ground_feet: true,
            floor_height: None,
            ground_release_seconds: 0.2,
            show_cameras: true,
            show_skeleton: true,
        }
    }
}

impl CmanetSettings {
    /// The One Euro knobs.
    pub fn one_euro(&self) -> OneEuroSettings {
        OneEuroSettings { min_cutoff: self.min_cutoff, beta: self.beta, derivative_cutoff: self.derivative_cutoff }
    }
}
