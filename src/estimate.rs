//! Estimating a whole `cmanet-mv2d` sequence with any of the crate's methods: the one entry point
//! the `cmanet estimate` command is a shell over. It owns what the methods share: which inputs a
//! method may see (the true cameras only with `calibrated`), the left/right repair before the
//! uncalibrated methods ([`crate::data::labels::repair_temporal`]), which keypoint profile explains
//! a file's detections, and placing CMANet's estimate in the world of known cameras.

use std::path::PathBuf;

use crate::body::{BodyError, BodyModel};
use candle_core::Device;

use crate::compute::{ComputeDevice, DeviceError};
use crate::data::labels::repair_temporal;
use crate::data::{DataError, Mv2d, Mv3d};
use crate::detect::LandmarkModel;
use crate::eval::{PLAIN_DLT_MIN_CONFIDENCE, dlt_sequence, triangulate_sequence};
use crate::fit::{FitError, FitSettings, Fitter};
use crate::geometry::{Extrinsics, TriangulationSettings};
use crate::net::body_refinement::BodyRefinementSettings;
use crate::net::{Cmanet, NetError, Pipeline};

/// How a sequence is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// CMANet: unknown cameras, the shipped or given weights.
    #[default]
    Cmanet,
    /// Multi-view SMPLify (`crate::fit`): unknown extrinsics (only the intrinsics) unless
    /// calibrated.
    Fit,
    /// Robust confidence-weighted DLT from the true cameras (`crate::eval::triangulate_sequence`).
    Triangulate,
    /// Plain confidence-weighted DLT from the true cameras, keypoints under confidence 0.3 dropped
    /// (`crate::eval::dlt_sequence`): the simplest calibrated baseline.
    Dlt,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 4] = [Method::Cmanet, Method::Fit, Method::Triangulate, Method::Dlt];

    /// Its name on the command line and in reports: `cmanet`, `fit`, `triangulate`, `dlt`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Cmanet => "cmanet",
            Method::Fit => "fit",
            Method::Triangulate => "triangulate",
            Method::Dlt => "dlt",
        }
    }

    /// The method called `name` ([`Method::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the method works only from the true cameras.
    pub fn needs_cameras(self) -> bool {
        matches!(self, Method::Triangulate | Method::Dlt)
    }
}

/// What to estimate and how.
#[derive(Clone, Debug, PartialEq)]
pub struct EstimateSettings {
    /// The method. Default: CMANet.
    pub method: Method,
    /// Whether the method may read the true cameras of the input. Required by `triangulate` and
    /// `dlt`, refused by CMANet (it estimates the cameras itself). Default: false.
    pub calibrated: bool,
    /// CMANet only: place the estimate in the world of the input's known cameras (they are used
    /// for nothing else; [`Cmanet::estimate_sequence_in_world`]). Default: false (canonical frame).
    pub place_in_world: bool,
    /// Keep the detector's left/right labels as they are (no [`repair_temporal`] before `fit` and
    /// CMANet). Default: false.
    pub keep_left_right: bool,
    /// Which parts of CMANet run (for `fit`, only [`Pipeline::WithoutFeetAndHands`] means
    /// something: it leaves the fitted ankles and wrists unturned). Default: [`Pipeline::Full`].
    pub pipeline: Pipeline,
    /// CMANet's weights. Default: the shipped ones ([`crate::assets::weights`]).
    pub weights: PathBuf,
    /// The body model `fit` uses. Default: `None`, the shipped open body.
    pub body_model: Option<PathBuf>,
    /// The candle device CMANet and `fit` run on. Default: [`ComputeDevice::Auto`].
    pub device: ComputeDevice,
    /// CMANet's body refinement settings. Default: [`BodyRefinementSettings::default`].
    pub refinement: BodyRefinementSettings,
}

impl Default for EstimateSettings {
    fn default() -> Self {
        Self {
            method: Method::Cmanet,
            calibrated: false,
            place_in_world: false,
            keep_left_right: false,
            pipeline: Pipeline::Full,
            weights: crate::assets::weights(),
            body_model: None,
            device: ComputeDevice::Auto,
            refinement: BodyRefinementSettings::default(),
        }
    }
}

/// What can go wrong estimating a sequence.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    /// The settings ask for something the method cannot do.
    #[error("{0}")]
    Settings(String),
    /// The input does not fit the settings.
    #[error(transparent)]
    Data(#[from] DataError),
    /// CMANet failed (weights, input).
    #[error(transparent)]
    Net(#[from] NetError),
    /// `fit` failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// The body model or a keypoint profile could not be loaded.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The device asked for cannot be had.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// A method ready to estimate sequences: settings checked and every file it needs loaded.
pub struct Estimator {
    settings: EstimateSettings,
    body: BodyModel,
    /// CMANet once per keypoint profile: no profile (our own keypoints), BlazePose lite, full.
    networks: Vec<(Option<LandmarkModel>, Cmanet)>,
    /// The candle device of [`EstimateSettings::device`], opened once.
    device: Device,
}

impl Estimator {
    /// Checks the settings and loads what the method needs (a missing or bad weights file, body
    /// model or keypoint profile is an error here, before any work).
    pub fn new(settings: EstimateSettings) -> Result<Self, EstimateError> {
        let method = settings.method;
        if method.needs_cameras() && !settings.calibrated {
            return Err(EstimateError::Settings(format!(
                "{} needs the true cameras: pass --calibrated",
                method.name()
            )));
        }
        if method == Method::Cmanet && settings.calibrated {
            return Err(EstimateError::Settings("cmanet estimates the cameras itself: drop --calibrated".into()));
        }
        if settings.place_in_world && method != Method::Cmanet {
            return Err(EstimateError::Settings(format!(
                "placing in the world is for cmanet ({} already works in the cameras' world or in its own)",
                method.name()
            )));
        }
        if method != Method::Cmanet && settings.refinement != BodyRefinementSettings::default() {
            return Err(EstimateError::Settings(format!(
                "the body refinement's settings are cmanet's ({} has none)",
                method.name()
            )));
        }
        let body = match &settings.body_model {
            Some(path) => BodyModel::load(path)?,
            None => BodyModel::open_body()?,
        };
        // The methods that run on a candle device open it here: one that cannot be had is refused
        // before any work.
        let device = match method {
            Method::Cmanet | Method::Fit => settings.device.device()?,
            _ => Device::Cpu,
        };
        let mut networks = Vec::new();
        if method == Method::Cmanet {
            let mut net = Cmanet::load(&settings.weights, &device)?;
            net.pipeline = settings.pipeline;
            net.refiner = net.refiner.with_settings(settings.refinement.clone());
            for landmarks in [LandmarkModel::Lite, LandmarkModel::Full] {
                let mut profiled = net.clone();
                profiled.set_profile(&landmarks.profile()?);
                networks.push((Some(landmarks), profiled));
            }
            networks.push((None, net));
        }
        Ok(Self { settings, body, networks, device })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &EstimateSettings {
        &self.settings
    }

    /// Estimates every frame of `data` as read from a file (what the method may not see is
    /// removed first); `progress` is told how many frames are done.
    pub fn estimate(&self, data: &Mv2d, progress: &mut (dyn FnMut(usize) + Send)) -> Result<Mv3d, EstimateError> {
        let settings = &self.settings;
        let world: Option<Vec<Extrinsics>> = if settings.place_in_world {
            let cameras = data.cameras().ok_or_else(|| {
                EstimateError::Settings("placing in the world needs the input's cameras (extrinsics_R/t)".into())
            })?;
            Some(cameras.iter().map(|c| c.extrinsics).collect())
        } else {
            None
        };
        // Without `calibrated` nothing downstream can see the true cameras or any ground truth.
        let mut data = if settings.calibrated { data.clone() } else { data.clone().without_ground_truth() };
        if !settings.keep_left_right && !settings.method.needs_cameras() {
            repair_temporal(&mut data);
        }
        let frames = data.num_frames();
        let mut warnings = set_aside_impossible_keypoints(&mut data);
        for (v, k) in data.intrinsics.iter().enumerate() {
            let width = data.image_size.get(v).map_or(0.0, |s| s[0] as f64);
            let ratio = k.fx.max(k.fy) / width.max(1.0);
            if !(MIN_FOCAL_RATIO..=MAX_FOCAL_RATIO).contains(&ratio) {
                return Err(EstimateError::Data(DataError::Mismatch(format!(
                    "view {v}: focal length {:.3e} px for an image {width} px wide is not a camera's (a field of \
                     view between 0.6 and 170 degrees has {MIN_FOCAL_RATIO} to {MAX_FOCAL_RATIO} times the width)",
                    k.fx.max(k.fy)
                ))));
            }
        }
        let seen = views_that_saw(&data);
        if !seen.iter().flatten().any(|&v| v) {
            return Err(EstimateError::Data(DataError::Mismatch(format!(
                "no view saw the person in any of the {frames} frames (no view has {SEEN_KEYPOINTS} keypoints \
                 of confidence {SEEN_CONFIDENCE} or more): nothing to estimate"
            ))));
        }
        let mut result = match settings.method {
            Method::Fit => {
                let feet_and_hands = settings.pipeline != Pipeline::WithoutFeetAndHands;
                let fitter = Fitter::new(
                    self.body.clone(),
                    &self.device,
                    FitSettings { feet_and_hands, ..FitSettings::default() },
                )?;
                fitter.fit_sequence(&data, settings.calibrated, progress)?
            }
            Method::Triangulate => {
                let result = triangulate_sequence(&data, &TriangulationSettings::default())?;
                progress(frames);
                result
            }
            Method::Dlt => {
                let result = dlt_sequence(&data, PLAIN_DLT_MIN_CONFIDENCE)?;
                progress(frames);
                result
            }
            Method::Cmanet => {
                let detector = data.metadata.get("detector").and_then(|d| LandmarkModel::from_detector_name(d));
                let net = self
                    .networks
                    .iter()
                    .find(|(profile, _)| *profile == detector)
                    .map(|(_, net)| net)
                    .ok_or_else(|| EstimateError::Settings("no network for this detector".into()))?;
                match &world {
                    Some(world) => net.estimate_sequence_in_world(&data, world, progress)?,
                    None => net.estimate_sequence(&data, progress)?,
                }
            }
        };
        // A result that is not finite is refused here, with what in the input could have caused it
        // (writing it would only have said "frame t is not finite").
        if let Err(problem) = result.validate() {
            let frame = result
                .frames
                .iter()
                .position(|f| !(f.joints3d.iter().flatten().all(|x| x.is_finite()) && f.params.is_finite()));
            let cause = frame.map(|t| input_extremes(&data, t)).unwrap_or_default();
            return Err(EstimateError::Data(DataError::Mismatch(format!(
                "the {} estimate is not usable ({problem}){cause}",
                settings.method.name()
            ))));
        }
        // What nobody saw is not a result: frames no view saw are marked unmeasured, views that
        // never saw the person are named (their cameras in the file are placeholders).
        for (frame, views) in result.frames.iter_mut().zip(&seen) {
            if !views.contains(&true) {
                frame.measured = Some([false; crate::keypoints::NUM_KEYPOINTS]);
            }
        }
        let never: Vec<String> = (0..data.num_views())
            .filter(|&v| !seen.iter().any(|views| views[v]))
            .map(|v| format!("view {v}"))
            .collect();
        let largest_beta = result.frames.iter().flat_map(|f| f.params.betas).fold(0.0f32, |m, b| m.max(b.abs()));
        if largest_beta > PLAUSIBLE_BETA {
            warnings.push(format!(
                "the body's shape is implausible (a beta of {largest_beta:.1}, beyond {PLAUSIBLE_BETA}): check the \
                 keypoints and the intrinsics"
            ));
        }
        let farthest = result
            .frames
            .iter()
            .flat_map(|f| {
                let body = f
                    .joints3d
                    .iter()
                    .map(|k| nalgebra::Vector3::from(*k).cast::<f64>())
                    .sum::<nalgebra::Vector3<f64>>()
                    / f.joints3d.len() as f64;
                f.extrinsics.iter().map(move |e| (e.center() - body).norm())
            })
            .fold(0.0f64, f64::max);
        if farthest > PLAUSIBLE_CAMERA_DISTANCE {
            warnings.push(format!(
                "a camera is placed {farthest:.0} m from the body (beyond {PLAUSIBLE_CAMERA_DISTANCE} m): check the \
                 keypoints and the intrinsics"
            ));
        }
        if !warnings.is_empty() {
            result.metadata.insert(WARNINGS_KEY.into(), warnings.join("; "));
        }
        if !never.is_empty() {
            result.metadata.insert(
                VIEWS_NEVER_SEEN_KEY.into(),
                format!(
                    "{}: never saw the person ({SEEN_KEYPOINTS} keypoints of confidence {SEEN_CONFIDENCE}); their \
                     cameras here are not estimates",
                    never.join(", ")
                ),
            );
        }
        Ok(result)
    }
}

/// What in frame `t` of the input is most extreme, for a message about a result that is not
/// finite: the largest keypoint coordinate and the largest focal length, with their views.
fn input_extremes(data: &Mv2d, t: usize) -> String {
    let Some(frame) = data.keypoints2d.get(t) else { return String::new() };
    let (mut coordinate, mut at) = (0.0f32, (0, 0));
    for (v, view) in frame.iter().enumerate() {
        for (k, p) in view.iter().enumerate() {
            if p[2] > 0.0 && p[0].abs().max(p[1].abs()) > coordinate {
                (coordinate, at) = (p[0].abs().max(p[1].abs()), (v, k));
            }
        }
    }
    let (focal, focal_view) = data
        .intrinsics
        .iter()
        .enumerate()
        .map(|(v, k)| (k.fx.max(k.fy), v))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
    format!(
        "; in the input's frame {t} the largest keypoint coordinate is {coordinate:.3e} px (view {}, keypoint {}) \
         and the largest focal length {focal:.3e} px (view {focal_view})",
        at.0, at.1
    )
}

/// The output metadata key of what else the estimate warns about (keypoints set aside,
/// implausible results), `; `-separated.
pub const WARNINGS_KEY: &str = "warnings";

/// Focal length over image width outside which intrinsics are refused (fields of view of about 170
/// and 0.6 degrees).
pub const MIN_FOCAL_RATIO: f64 = 0.05;
/// See [`MIN_FOCAL_RATIO`].
pub const MAX_FOCAL_RATIO: f64 = 100.0;

/// A beta beyond this is not a person (the shape space's training range is about ±3).
pub const PLAUSIBLE_BETA: f32 = 5.0;

/// A camera farther than this from the body, metres, is not a capture setup.
pub const PLAUSIBLE_CAMERA_DISTANCE: f64 = 100.0;

/// Sets aside (confidence 0) what no detector gives: keypoints far off the image (more than half
/// its size beyond an edge) and views whose confident keypoints all lie within 2 pixels of each
/// other. Returns what was set aside, for the output's warnings.
fn set_aside_impossible_keypoints(data: &mut Mv2d) -> Vec<String> {
    let (mut off_image, mut collapsed) = (0usize, 0usize);
    let sizes = data.image_size.clone();
    for frame in data.keypoints2d.iter_mut() {
        for (view, size) in frame.iter_mut().zip(&sizes) {
            let (w, h) = (size[0], size[1]);
            for k in view.iter_mut() {
                let inside = k[0] >= -0.5 * w && k[0] <= 1.5 * w && k[1] >= -0.5 * h && k[1] <= 1.5 * h;
                if k[2] > 0.0 && !inside {
                    k[2] = 0.0;
                    off_image += 1;
                }
            }
            let confident: Vec<&[f32; 3]> = view.iter().filter(|k| k[2] >= SEEN_CONFIDENCE).collect();
            let spread = |c: usize| {
                let (lo, hi) = confident
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), k| (lo.min(k[c]), hi.max(k[c])));
                hi - lo
            };
            if confident.len() >= 2 && spread(0).hypot(spread(1)) < 2.0 {
                view.iter_mut().for_each(|k| k[2] = 0.0);
                collapsed += 1;
            }
        }
    }
    let mut notes = Vec::new();
    if off_image > 0 {
        notes.push(format!("{off_image} keypoints far off the image set aside"));
    }
    if collapsed > 0 {
        notes.push(format!("{collapsed} view-frames whose keypoints all lie on one point set aside"));
    }
    notes
}

/// The output metadata key naming the views that never saw the person.
pub const VIEWS_NEVER_SEEN_KEY: &str = "views_never_seen";

/// How many keypoints of at least [`SEEN_CONFIDENCE`] a view needs to have seen the person in a
/// frame (as many as the body refinement needs to use a view, counted at the confidence the
/// plain DLT baseline and CMANet's reprojection feedback require).
pub const SEEN_KEYPOINTS: usize = 6;

/// The confidence a keypoint needs to count as seen.
pub const SEEN_CONFIDENCE: f32 = 0.3;

/// Per frame and view, whether the view saw the person ([`SEEN_KEYPOINTS`]).
pub fn views_that_saw(data: &Mv2d) -> Vec<Vec<bool>> {
    data.keypoints2d
        .iter()
        .map(|views| {
            views
                .iter()
                .map(|k| {
                    k.iter().filter(|p| p[2] >= SEEN_CONFIDENCE && p[0].is_finite() && p[1].is_finite()).count()
                        >= SEEN_KEYPOINTS
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Intrinsics;

    /// The message about a result that is not finite names the input's extreme keypoint and focal
    /// length, with their views.
    #[test]
    fn an_unusable_result_is_traced_to_the_input() {
        let k = Intrinsics::from_horizontal_fov(1.0, 640.0, 480.0);
        let mut frame = vec![[[100.0f32, 100.0, 0.9]; 17]; 2];
        frame[1][7] = [3.0e4, 10.0, 0.8];
        let data = Mv2d {
            fps: 30.0,
            image_size: vec![[640.0, 480.0]; 2],
            intrinsics: vec![k, Intrinsics { fx: 2.0e9, ..k }],
            keypoints2d: vec![frame],
            extra2d: None,
            extrinsics: None,
            joints3d: None,
            extra3d: None,
            params: None,
            frame_time: None,
            metadata: Default::default(),
        };
        let said = input_extremes(&data, 0);
        assert!(said.contains("3.000e4 px (view 1, keypoint 7)") && said.contains("2.000e9 px (view 1)"), "{said}");
        assert_eq!(input_extremes(&data, 5), "");
    }
}
