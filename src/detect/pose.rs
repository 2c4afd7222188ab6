//! MediaPipe's pose pipeline around the two networks, as in its `pose_detection` and
//! `pose_landmark` graphs:
//!
//! 1. Detection: the image letterboxed into 224x224 (black bars, values in [-1, 1]); 2254 SSD
//!    anchors (5 layers, strides 8, 16, 32, 32, 32, fixed size 1, offset 0.5); boxes and 4 keypoints
//!    decoded x before y with scale 224; scores `sigmoid(clip(logit, +-100))` kept above 0.5;
//!    weighted NMS at IoU 0.3.
//! 2. ROI: centre at keypoint 0 (hips), side `2 |kp1 - kp0|`, rotated so kp0 -> kp1 points up,
//!    square, scaled by 1.25.
//! 3. Landmarks: the ROI warped to 256x256 in [0, 1] (edge pixels repeated outside the image); 39
//!    points (x, y, z, visibility and presence logits), x and y refined on the 64x64 heatmap
//!    (7x7 window, refined where its peak confidence is at least 0.5), projected back to the image;
//!    world landmarks rotated by the ROI's rotation; the pose flag says whether a person is there.
//! 4. Tracking: the next ROI from the auxiliary landmarks 33 (centre) and 34 (scale and rotation),
//!    again x1.25; the detector runs only when there is no ROI or the pose flag drops below 0.5.
//!
//! The first 33 landmarks are BlazePose's body landmarks; [`BLAZEPOSE_TO_COCO`] picks COCO-17.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};

use super::DetectError;
use super::graph::{Network, Output};
use super::image::{Border, RgbImage, Warp, warp};
use super::kernels::sigmoid;
use crate::body::{BodyError, KeypointProfile};
use crate::data::{ExtraKeypoints2d, Keypoints2d};
use crate::keypoints::BLAZEPOSE_TO_EXTRA;

/// BlazePose's body landmarks (the model outputs 39: 33 body points and 6 auxiliary ones).
pub const NUM_LANDMARKS: usize = 33;
const NUM_RAW_LANDMARKS: usize = 39;
pub(crate) const DETECTOR_SIZE: usize = 224;
pub(crate) const CROP_SIZE: usize = 256;
const HEATMAP_SIZE: usize = 64;
const NUM_ANCHORS: usize = 2254;
const REFINE_KERNEL: usize = 7;
const MIN_REFINE_CONFIDENCE: f32 = 0.5;
const ROI_SCALE: f32 = 1.25;

pub use crate::keypoints::BLAZEPOSE_TO_COCO;

/// Which landmark network to run after the detector (with the `cli` feature, also a command-line
/// value: `lite`, `full`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum LandmarkModel {
    /// `pose_landmark_lite` (about half the work of full).
    Lite,
    /// `pose_landmark_full` (MediaPipe's default).
    #[default]
    Full,
}

impl LandmarkModel {
    /// The shipped converted model file.
    pub fn default_path(self) -> PathBuf {
        let name = match self {
            Self::Lite => "blazepose_landmark_lite.safetensors",
            Self::Full => "blazepose_landmark_full.safetensors",
        };
        crate::assets::models_dir().join(name)
    }

    /// Its short name: `lite` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lite => "lite",
            Self::Full => "full",
        }
    }

    /// The value of a `cmanet-mv2d` file's `detector` metadata for detections by this network.
    pub fn detector_name(self) -> String {
        format!("BlazePose {} (MediaPipe pose 0.5.1675469404, cmanet port)", self.name())
    }

    /// The network whose detections a `detector` metadata value describes, if any.
    pub fn from_detector_name(detector: &str) -> Option<Self> {
        [Self::Lite, Self::Full].into_iter().find(|m| detector.starts_with(&format!("BlazePose {}", m.name())))
    }

    /// The shipped keypoint profile of this network (`tools/detector_profile.sh` measures it).
    pub fn profile_path(self) -> PathBuf {
        crate::assets::models_dir().join(format!("blazepose_{}_profile.safetensors", self.name()))
    }

    /// Loads the shipped keypoint profile of this network.
    pub fn profile(self) -> Result<KeypointProfile, BodyError> {
        KeypointProfile::read(&self.profile_path())
    }
}

/// The shipped converted pose detector file.
pub fn detector_path() -> PathBuf {
    crate::assets::models_dir().join("blazepose_detector.safetensors")
}

/// A rotated square region of the image in pixels: the landmark network's view of the person.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roi {
    /// Centre, pixels.
    pub center: [f32; 2],
    /// Side length, pixels.
    pub size: f32,
    /// Rotation in radians (image y points down, so positive turns clockwise on screen); the crop's
    /// up direction is the image's up direction rotated by this.
    pub rotation: f32,
}

impl Roi {
    /// MediaPipe's alignment ROI: centre `p0`, side `2 |p1 - p0| * 1.25`, rotated so that
    /// `p0 -> p1` points up in the crop.
    pub fn from_alignment(p0: [f32; 2], p1: [f32; 2]) -> Self {
        let (dx, dy) = (p1[0] - p0[0], p1[1] - p0[1]);
        let size = 2.0 * (dx * dx + dy * dy).sqrt() * ROI_SCALE;
        let rotation = normalize_angle(PI / 2.0 - (-dy).atan2(dx));
        Self { center: p0, size, rotation }
    }

    /// The image point (pixels) of a crop point given in crop units (`[0, 1]` across the crop).
    pub fn to_image(&self, u: f32, v: f32) -> [f32; 2] {
        let (s, c) = self.rotation.sin_cos();
        let (x, y) = ((u - 0.5) * self.size, (v - 0.5) * self.size);
        [c * x - s * y + self.center[0], s * x + c * y + self.center[1]]
    }

    /// Whether the ROI can be cropped (finite and at least a few pixels wide).
    pub fn is_usable(&self) -> bool {
        self.center.iter().all(|v| v.is_finite())
            && self.rotation.is_finite()
            && self.size.is_finite()
            && self.size >= 4.0
    }
}

fn normalize_angle(a: f32) -> f32 {
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

/// One person found by the detector (image pixels).
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Score in [0, 1].
    pub score: f32,
    /// Box `[x_min, y_min, x_max, y_max]`, pixels.
    pub bbox: [f32; 4],
    /// Keypoints: 0 hip centre, 1 a point above the head (full-body scale and rotation), 2 shoulder
    /// centre, 3 a point above the head (upper-body scale), pixels.
    pub keypoints: [[f32; 2]; 4],
}

impl Detection {
    /// The landmark ROI of this detection.
    pub fn roi(&self) -> Roi {
        Roi::from_alignment(self.keypoints[0], self.keypoints[1])
    }
}

/// One BlazePose landmark in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Landmark {
    /// x, pixels.
    pub x: f32,
    /// y, pixels.
    pub y: f32,
    /// Depth relative to the hips, in pixels at the ROI's scale (smaller is nearer the camera).
    pub z: f32,
    /// Probability that the point is visible (not occluded), in [0, 1].
    pub visibility: f32,
    /// Probability that the point is inside the image, in [0, 1].
    pub presence: f32,
}

/// One person's pose in one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Pose {
    /// The 33 BlazePose landmarks, image pixels.
    pub landmarks: Vec<Landmark>,
    /// The 33 world landmarks: metres, origin between the hips, axes of the image (x right, y down)
    /// and z away from the camera.
    pub world_landmarks: Vec<[f32; 3]>,
    /// The pose flag: probability that a person is in the ROI.
    pub score: f32,
    /// The ROI the landmarks were computed in.
    pub roi: Roi,
    /// The ROI for the next frame (from the auxiliary landmarks).
    pub next_roi: Roi,
    /// Width and height of the image, pixels.
    pub image_size: [u32; 2],
}

impl Pose {
    /// The COCO-17 keypoints: pixel x, pixel y, confidence = visibility x presence (0 for points
    /// outside the image).
    pub fn coco17(&self) -> Keypoints2d {
        BLAZEPOSE_TO_COCO.map(|i| self.keypoint(i))
    }

    /// The 16 landmarks COCO-17 lacks (eye and mouth corners, hands, heels, foot tips), scored as
    /// [`Pose::coco17`].
    pub fn extra(&self) -> ExtraKeypoints2d {
        BLAZEPOSE_TO_EXTRA.map(|i| self.keypoint(i))
    }

    /// Landmark `i` as a keypoint: pixel x, pixel y, confidence = visibility x presence (all 0
    /// outside the image).
    fn keypoint(&self, i: usize) -> [f32; 3] {
        let [w, h] = [self.image_size[0] as f32, self.image_size[1] as f32];
        let l = self.landmarks[i];
        let inside = l.x.is_finite() && l.y.is_finite() && l.x >= 0.0 && l.y >= 0.0 && l.x < w && l.y < h;
        if inside { [l.x, l.y, (l.visibility * l.presence).clamp(0.0, 1.0)] } else { [0.0; 3] }
    }
}

/// The anchor centres (normalised) of the detector's SSD head, in output order.
fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    // Layers with equal strides share a grid; 2 anchors per layer and cell (aspect 1 + interpolated).
    for (stride, per_cell) in [(8usize, 2usize), (16, 2), (32, 6)] {
        let n = DETECTOR_SIZE.div_ceil(stride);
        for y in 0..n {
            for x in 0..n {
                for _ in 0..per_cell {
                    out.push([(x as f32 + 0.5) / n as f32, (y as f32 + 0.5) / n as f32]);
                }
            }
        }
    }
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Weighted non-maximum suppression (MediaPipe's WEIGHTED algorithm): each kept detection is the
/// score-weighted mean of the boxes and keypoints that overlap the best remaining one by more than
/// `threshold` IoU, with the best one's score.
pub fn weighted_nms(mut dets: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !dets.is_empty() {
        let best = dets.remove(0);
        let (mut cands, rest): (Vec<Detection>, Vec<Detection>) =
            dets.into_iter().partition(|d| iou(&d.bbox, &best.bbox) > threshold);
        dets = rest;
        let mut merged = best.clone();
        cands.push(best);
        let total: f32 = cands.iter().map(|d| d.score).sum();
        if total > 0.0 {
            merged.bbox = [0.0; 4];
            merged.keypoints = [[0.0; 2]; 4];
            for d in &cands {
                let w = d.score / total;
                for k in 0..4 {
                    merged.bbox[k] += w * d.bbox[k];
                    merged.keypoints[k][0] += w * d.keypoints[k][0];
                    merged.keypoints[k][1] += w * d.keypoints[k][1];
                }
            }
        }
        out.push(merged);
    }
    out
}

fn output<'a>(outs: &'a [Output], name: &str, len: usize) -> Result<&'a [f32], DetectError> {
    outs.iter()
        .find(|o| o.name == name && o.data.len() == len)
        .map(|o| o.data.as_slice())
        .ok_or_else(|| DetectError::Internal(format!("network output {name} with {len} values missing")))
}

/// The BlazePose detector and one landmark network, with MediaPipe's thresholds.
#[derive(Debug)]
pub struct PoseDetector {
    detector: Network,
    landmark: Network,
    anchors: Vec<[f32; 2]>,
    /// Detections scoring below this are dropped (MediaPipe: 0.5).
    pub min_detection_score: f32,
    /// IoU above which detections are merged (0.3).
    pub nms_iou: f32,
    /// Poses whose flag is below this are reported missing, and tracking re-detects (0.5).
    pub min_pose_score: f32,
    /// Whether the landmark network also sees each crop mirrored (left and right exchanged) and
    /// the two answers are averaged ([`merge_mirrored`]): about twice the landmark work. Default:
    /// false.
    pub mirror_average: bool,
}

/// The landmark network's outputs the pose is decoded from ([`PoseDetector::pose_in_outputs`]):
/// landmarks, pose flag, heatmap and world landmarks; not the segmentation mask (`Identity_2`).
pub const LANDMARK_OUTPUTS: [&str; 4] = ["Identity", "Identity_1", "Identity_3", "Identity_4"];

impl PoseDetector {
    /// Loads the shipped detector and the chosen landmark network (`assets/models/`).
    pub fn load(model: LandmarkModel) -> Result<Self, DetectError> {
        Self::from_files(&detector_path(), &model.default_path())
    }

    /// Loads a detector and a landmark network from converted model files.
    pub fn from_files(detector: &Path, landmark: &Path) -> Result<Self, DetectError> {
        let (detector_file, landmark_path) = (detector, landmark);
        let detector = Network::load(detector)?;
        let landmark = Network::load(landmark)?;
        let check = |n: &Network, shape: [usize; 4], path: &Path, outs: &[&str]| {
            let names = n.output_names();
            if n.input_shape() != shape || outs.iter().any(|o| !names.contains(o)) {
                return Err(DetectError::Model { path: path.into(), problem: "unexpected inputs or outputs".into() });
            }
            Ok(())
        };
        check(&detector, [1, DETECTOR_SIZE, DETECTOR_SIZE, 3], detector_file, &["Identity", "Identity_1"])?;
        check(&landmark, [1, CROP_SIZE, CROP_SIZE, 3], landmark_path, &LANDMARK_OUTPUTS)?;
        // The segmentation mask (`Identity_2`) is never read: its decoder is not run.
        let landmark = landmark.with_outputs(&LANDMARK_OUTPUTS)?;
        Ok(Self {
            detector,
            landmark,
            anchors: anchors(),
            min_detection_score: 0.5,
            nms_iou: 0.3,
            min_pose_score: 0.5,
            mirror_average: false,
        })
    }

    /// The detector network.
    pub fn detector_network(&self) -> &Network {
        &self.detector
    }

    /// The landmark network, computing [`LANDMARK_OUTPUTS`] only.
    pub fn landmark_network(&self) -> &Network {
        &self.landmark
    }

    /// The letterboxed detector input `[1, 224, 224, 3]` in [-1, 1], with the letterbox: the image
    /// point of the input's top-left corner and the side of the input square, in pixels.
    pub fn detector_input(img: &RgbImage) -> (Vec<f32>, [f32; 2], f32) {
        let (crop, origin, side) = detector_warp([img.width(), img.height()]);
        (warp(img, DETECTOR_SIZE, &crop), origin, side)
    }

    /// Every person the detector finds, best first (pixels).
    pub fn detect_people(&self, img: &RgbImage) -> Result<Vec<Detection>, DetectError> {
        let (x, origin, side) = Self::detector_input(img);
        self.people_in_outputs(&self.detector.run(&x)?, origin, side)
    }

    /// The people in the detector network's outputs for the letterbox `origin`, `side` (as
    /// [`PoseDetector::detector_input`] gives them), best first (pixels).
    pub fn people_in_outputs(
        &self,
        outs: &[Output],
        origin: [f32; 2],
        side: f32,
    ) -> Result<Vec<Detection>, DetectError> {
        let boxes = output(outs, "Identity", NUM_ANCHORS * 12)?;
        let logits = output(outs, "Identity_1", NUM_ANCHORS)?;
        let s = DETECTOR_SIZE as f32;
        let to_px = |p: [f32; 2]| [p[0] * side + origin[0], p[1] * side + origin[1]];
        let mut dets = Vec::new();
        for (i, (a, &logit)) in self.anchors.iter().zip(logits).enumerate() {
            let score = sigmoid(logit.clamp(-100.0, 100.0));
            let r = &boxes[i * 12..(i + 1) * 12];
            if score.is_nan() || score < self.min_detection_score || !r.iter().all(|v| v.is_finite()) {
                continue;
            }
            let (cx, cy) = (r[0] / s + a[0], r[1] / s + a[1]);
            let (bw, bh) = (r[2] / s, r[3] / s);
            let p0 = to_px([cx - bw / 2.0, cy - bh / 2.0]);
            let p1 = to_px([cx + bw / 2.0, cy + bh / 2.0]);
            let mut keypoints = [[0.0; 2]; 4];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp = to_px([r[4 + 2 * k] / s + a[0], r[5 + 2 * k] / s + a[1]]);
            }
            dets.push(Detection { score, bbox: [p0[0], p0[1], p1[0], p1[1]], keypoints });
        }
        Ok(weighted_nms(dets, self.nms_iou))
    }

    /// The pose in the landmark network's outputs for `roi` in an image of `image_size`, or
    /// `None` when its flag is below [`PoseDetector::min_pose_score`].
    pub fn pose_in_outputs(
        &self,
        outs: &[Output],
        roi: &Roi,
        image_size: [u32; 2],
    ) -> Result<Option<Pose>, DetectError> {
        Ok(self.kept(decode_landmarks(outs, roi, image_size)?))
    }

    /// As [`PoseDetector::pose_in_outputs`] for the outputs of the crop of `roi` and of its mirror
    /// image ([`landmark_warp_mirrored`]): the two poses averaged ([`merge_mirrored`]).
    pub fn pose_in_mirrored_outputs(
        &self,
        outs: &[Output],
        mirrored: &[Output],
        roi: &Roi,
        image_size: [u32; 2],
    ) -> Result<Option<Pose>, DetectError> {
        let straight = decode_landmarks(outs, roi, image_size)?;
        Ok(self.kept(merge_mirrored(&straight, &decode_crop(mirrored, roi, image_size, true)?)))
    }

    /// `pose`, unless its flag is below [`PoseDetector::min_pose_score`] or its next ROI cannot be
    /// cropped.
    fn kept(&self, pose: Pose) -> Option<Pose> {
        (pose.score >= self.min_pose_score && pose.next_roi.is_usable()).then_some(pose)
    }

    /// The landmark network's input for `roi`: `[1, 256, 256, 3]` in [0, 1], edge pixels repeated.
    pub fn crop(img: &RgbImage, roi: &Roi) -> Vec<f32> {
        warp(img, CROP_SIZE, &landmark_warp(roi))
    }

    /// Landmarks of the person in `roi`, or `None` when the pose flag is below `min_pose_score`.
    pub fn landmarks_in(&self, img: &RgbImage, roi: &Roi) -> Result<Option<Pose>, DetectError> {
        if !roi.is_usable() {
            return Ok(None);
        }
        let outs = self.landmark.run(&Self::crop(img, roi))?;
        let size = [img.width(), img.height()];
        if !self.mirror_average {
            return self.pose_in_outputs(&outs, roi, size);
        }
        let mirrored = self.landmark.run(&warp(img, CROP_SIZE, &landmark_warp_mirrored(roi)))?;
        self.pose_in_mirrored_outputs(&outs, &mirrored, roi, size)
    }

    /// The pose of the best-scoring person, or `None` when nobody is found.
    pub fn detect(&self, img: &RgbImage) -> Result<Option<Pose>, DetectError> {
        match self.detect_people(img)?.first() {
            Some(d) => self.landmarks_in(img, &d.roi()),
            None => Ok(None),
        }
    }
}

/// Heatmap refinement (MediaPipe's `RefineLandmarksFromHeatmapCalculator`): the confidence-weighted
/// mean cell of the 7x7 window around the point, where its peak confidence is high enough.
fn refine(x: f32, y: f32, heatmap: &[f32], channel: usize) -> (f32, f32) {
    let n = HEATMAP_SIZE as i64;
    let (col, row) = ((x * n as f32) as i64, (y * n as f32) as i64);
    if !(x.is_finite() && y.is_finite()) || col < 0 || col >= n || row < 0 || row >= n {
        return (x, y);
    }
    let off = (REFINE_KERNEL as i64 - 1) / 2;
    let (mut sum, mut wc, mut wr, mut peak) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for r in (row - off).max(0)..(row + off + 1).min(n) {
        for c in (col - off).max(0)..(col + off + 1).min(n) {
            let v = sigmoid(heatmap[((r * n + c) as usize) * NUM_RAW_LANDMARKS + channel]);
            sum += v;
            peak = peak.max(v);
            wc += c as f32 * v;
            wr += r as f32 * v;
        }
    }
    if peak >= MIN_REFINE_CONFIDENCE && sum > 0.0 { (wc / n as f32 / sum, wr / n as f32 / sum) } else { (x, y) }
}

/// Decodes the landmark network's outputs for a crop of `roi` into image pixels.
pub fn decode_landmarks(outs: &[Output], roi: &Roi, image_size: [u32; 2]) -> Result<Pose, DetectError> {
    decode_crop(outs, roi, image_size, false)
}

/// [`decode_landmarks`] for the crop of `roi` or (`mirrored`) of its mirror image: a mirrored
/// crop's point `(x, y)` is the ROI's `(1 - x, y)`, and its landmarks are the other side's.
fn decode_crop(outs: &[Output], roi: &Roi, image_size: [u32; 2], mirrored: bool) -> Result<Pose, DetectError> {
    let raw = output(outs, "Identity", NUM_RAW_LANDMARKS * 5)?;
    let flag = output(outs, "Identity_1", 1)?[0];
    let heatmap = output(outs, "Identity_3", HEATMAP_SIZE * HEATMAP_SIZE * NUM_RAW_LANDMARKS)?;
    let world = output(outs, "Identity_4", NUM_RAW_LANDMARKS * 3)?;
    let s = CROP_SIZE as f32;
    let side = |i: usize| if mirrored { LANDMARK_FLIP[i] } else { i };
    let all: Vec<Landmark> = (0..NUM_RAW_LANDMARKS)
        .map(|i| {
            let i = side(i);
            let r = &raw[i * 5..i * 5 + 5];
            let (x, y) = refine(r[0] / s, r[1] / s, heatmap, i);
            let [px, py] = roi.to_image(if mirrored { 1.0 - x } else { x }, y);
            Landmark { x: px, y: py, z: r[2] / s * roi.size, visibility: sigmoid(r[3]), presence: sigmoid(r[4]) }
        })
        .collect();
    let (sn, cs) = roi.rotation.sin_cos();
    let world_landmarks = (0..NUM_LANDMARKS)
        .map(|i| {
            let i = side(i);
            let (x, y, z) = (world[i * 3], world[i * 3 + 1], world[i * 3 + 2]);
            let x = if mirrored { -x } else { x };
            [cs * x - sn * y, sn * x + cs * y, z]
        })
        .collect();
    let next_roi = Roi::from_alignment([all[33].x, all[33].y], [all[34].x, all[34].y]);
    Ok(Pose {
        landmarks: all[..NUM_LANDMARKS].to_vec(),
        world_landmarks,
        score: if flag.is_finite() { flag } else { 0.0 },
        roi: *roi,
        next_roi,
        image_size,
    })
}

/// The letterbox of the detector's input for an image of `size` pixels: the image point of the
/// input's top-left corner and the side of the input square (the image centred in it).
pub(crate) fn letterbox(size: [u32; 2]) -> ([f32; 2], f32) {
    let (w, h) = (size[0] as f32, size[1] as f32);
    let side = w.max(h);
    ([-(side - w) / 2.0, -(side - h) / 2.0], side)
}

/// How the person detector's input is cut from an image of `size` pixels: the letterbox as a
/// warp to `DETECTOR_SIZE` square, black outside the image, values in [-1, 1]; with the letterbox's
/// origin and side (see [`letterbox`]). The CPU's and the GPU's detector input both.
pub(crate) fn detector_warp(size: [u32; 2]) -> (Warp, [f32; 2], f32) {
    let (origin, side) = letterbox(size);
    let step = side / DETECTOR_SIZE as f32;
    let crop =
        Warp { origin, du: [step, 0.0], dv: [0.0, step], border: Border::Zero, scale: 1.0 / 127.5, offset: -1.0 };
    (crop, origin, side)
}

/// How the landmark network's input is cut for `roi`: the rotated square to `CROP_SIZE`, edge
/// pixels repeated, values in [0, 1]. The CPU's and the GPU's landmark input both.
pub(crate) fn landmark_warp(roi: &Roi) -> Warp {
    let (s, c) = roi.rotation.sin_cos();
    let step = roi.size / CROP_SIZE as f32;
    Warp {
        origin: roi.to_image(0.0, 0.0),
        du: [c * step, s * step],
        dv: [-s * step, c * step],
        border: Border::Replicate,
        scale: 1.0 / 255.0,
        offset: 0.0,
    }
}

/// [`landmark_warp`] mirrored: the crop's column `u` is the ROI's column `1 - u`.
pub(crate) fn landmark_warp_mirrored(roi: &Roi) -> Warp {
    let straight = landmark_warp(roi);
    Warp { origin: roi.to_image(1.0, 0.0), du: straight.du.map(|d| -d), ..straight }
}

/// Each of the landmark network's 39 points' mirror image: BlazePose's left and right body points
/// exchanged (eyes, ears, mouth corners, arms, hands, legs, feet), the others (nose, auxiliary
/// points) their own.
const LANDMARK_FLIP: [usize; NUM_RAW_LANDMARKS] = {
    let mut flip = [0; NUM_RAW_LANDMARKS];
    let mut i = 0;
    while i < NUM_RAW_LANDMARKS {
        flip[i] = match i {
            1..=3 => i + 3,
            4..=6 => i - 3,
            7..=32 if i % 2 == 1 => i + 1,
            7..=32 => i - 1,
            _ => i,
        };
        i += 1;
    }
    flip
};

/// How far apart (a fraction of the ROI's side) the straight and the mirrored crop's answers for a
/// landmark may lie to be averaged ([`merge_mirrored`]); beyond it the straight answer is kept
/// (the two saw different limbs). 0.045 (about 7 % of the person's height) was chosen on the
/// studio's development recordings among 0.01-0.07 (plugin-docs, model card); without it the
/// arms' spread grows.
pub const MIRROR_AGREEMENT: f32 = 0.045;

/// The mean of a pose and the pose of the same ROI's mirrored crop, landmark by landmark where
/// the two agree within [`MIRROR_AGREEMENT`] (positions, depth, scores; the straight one's
/// elsewhere); the world landmarks averaged, the ROI and the next ROI the straight pose's
/// (tracking is unchanged).
pub fn merge_mirrored(straight: &Pose, mirrored: &Pose) -> Pose {
    let mean = |a: f32, b: f32| 0.5 * (a + b);
    let landmarks = straight
        .landmarks
        .iter()
        .zip(&mirrored.landmarks)
        .map(|(a, b)| {
            if ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt() > MIRROR_AGREEMENT * straight.roi.size {
                return *a;
            }
            Landmark {
                x: mean(a.x, b.x),
                y: mean(a.y, b.y),
                z: mean(a.z, b.z),
                visibility: mean(a.visibility, b.visibility),
                presence: mean(a.presence, b.presence),
            }
        })
        .collect();
    let world_landmarks = straight
        .world_landmarks
        .iter()
        .zip(&mirrored.world_landmarks)
        .map(|(a, b)| [0, 1, 2].map(|k| mean(a[k], b[k])))
        .collect();
    Pose { landmarks, world_landmarks, score: mean(straight.score, mirrored.score), ..straight.clone() }
}

/// Where a [`PoseTracker`] finds people and their landmarks in one frame: a [`PoseDetector`] on
/// an image, or its GPU twin on a texture (`detect::gpu`, feature `wgpu`).
pub trait PoseFinder {
    /// What can go wrong.
    type Error;
    /// Every person the detector finds, best first.
    fn people(&self) -> Result<Vec<Detection>, Self::Error>;
    /// The landmarks of the person in `roi`, or `None` when there is nobody.
    fn landmarks_in(&self, roi: &Roi) -> Result<Option<Pose>, Self::Error>;
}

/// A [`PoseDetector`] on one image.
struct OnImage<'a> {
    detector: &'a PoseDetector,
    img: &'a RgbImage,
}

impl PoseFinder for OnImage<'_> {
    type Error = DetectError;
    fn people(&self) -> Result<Vec<Detection>, DetectError> {
        self.detector.detect_people(self.img)
    }
    fn landmarks_in(&self, roi: &Roi) -> Result<Option<Pose>, DetectError> {
        self.detector.landmarks_in(self.img, roi)
    }
}

/// Tracks one person through a sequence of frames from one camera: the landmarks of each frame give
/// the next frame's ROI; the detector runs on the first frame and whenever the person is lost.
#[derive(Clone, Debug, Default)]
pub struct PoseTracker {
    roi: Option<Roi>,
    detections: usize,
    /// The best person of the last detector run that gave no pose.
    candidate: Option<Detection>,
}

impl PoseTracker {
    /// A tracker that has not seen a frame yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pose in the next frame (`None` when nobody is found).
    pub fn track(&mut self, detector: &PoseDetector, img: &RgbImage) -> Result<Option<Pose>, DetectError> {
        self.track_with(&OnImage { detector, img })
    }

    /// The pose in the next frame, as `finder` sees it (`None` when nobody is found).
    pub fn track_with<F: PoseFinder>(&mut self, finder: &F) -> Result<Option<Pose>, F::Error> {
        if let Some(roi) = self.roi
            && let Some(pose) = finder.landmarks_in(&roi)?
        {
            self.roi = Some(pose.next_roi);
            return Ok(Some(pose));
        }
        self.detections += 1;
        let best = finder.people()?.into_iter().next();
        let pose = match &best {
            Some(d) => finder.landmarks_in(&d.roi())?,
            None => None,
        };
        self.roi = pose.as_ref().map(|p| p.next_roi);
        self.candidate = if pose.is_none() { best } else { None };
        Ok(pose)
    }

    /// When the last frame gave no pose: the best person the detector found in it, if any (a
    /// person too small or too hidden for the landmark network), for [`super::nobody_reason`].
    pub fn candidate(&self) -> Option<&Detection> {
        self.candidate.as_ref()
    }

    /// Forgets the tracked person (the next frame runs the detector).
    pub fn reset(&mut self) {
        self.roi = None;
        self.candidate = None;
    }

    /// How many times the detector has run.
    pub fn detector_runs(&self) -> usize {
        self.detections
    }
}
