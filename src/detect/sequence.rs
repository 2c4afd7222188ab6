//! Multi-view image folders to a `cmanet-mv2d` sequence: one folder per view (frames in file-name
//! order, JPEG or PNG, any size), one [`PoseTracker`] per view, COCO-17 keypoints with the
//! detector's confidences, intrinsics from a calibration or a stated default field of view, and
//! optional PNG overlays. It records what the detector saw: no left/right repair, no smoothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::DetectError;
use super::image::RgbImage;
use super::pose::{LandmarkModel, PoseDetector, PoseTracker};
use super::video::{VideoReader, is_video_file};
use crate::data::calibration::{CalibratedCamera, extrinsics_from_z_up};
use crate::data::{ExtraKeypoints2d, Keypoints2d, Mv2d};
use crate::geometry::Intrinsics;

pub use crate::keypoints::COCO_EDGES;
use crate::keypoints::{EXTRA_EDGES, EXTRA_NAMES, KEYPOINT_NAMES, NUM_EXTRA_KEYPOINTS, NUM_KEYPOINTS};

/// How the world axes of a calibration's extrinsics relate to ours (+y up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorldUp {
    /// The calibration's world is z-up (Pose2Sim): converted to +y up.
    #[default]
    Z,
    /// The calibration's world is already +y up: kept.
    Y,
}

/// Settings of [`detect_views`].
#[derive(Clone, Debug)]
pub struct SequenceSettings {
    /// The landmark network.
    pub model: LandmarkModel,
    /// Horizontal field of view, radians, for views without calibration.
    pub default_hfov: f64,
    /// Frames per second written to the file, and the rate of image folders' frames (videos'
    /// frames come at their containers' timestamps).
    pub fps: f32,
    /// Cameras from a calibration file, one per view in view order (their extrinsics are written).
    pub calibration: Option<(PathBuf, Vec<CalibratedCamera>)>,
    /// The world axes of the calibration.
    pub world_up: WorldUp,
    /// Where to write PNG overlays (`DIR/view{v}/{frame file stem}.png`).
    pub overlays: Option<PathBuf>,
    /// Views processed in parallel (each view's frames run in order on one thread).
    pub jobs: usize,
    /// Detect at most this many frames of each view (the first ones). Default: `None` (all).
    pub max_frames: Option<usize>,
}

impl Default for SequenceSettings {
    fn default() -> Self {
        Self {
            model: LandmarkModel::Full,
            default_hfov: 60f64.to_radians(),
            fps: 30.0,
            calibration: None,
            world_up: WorldUp::Z,
            overlays: None,
            jobs: 1,
            max_frames: None,
        }
    }
}

/// The image files of a folder (`.jpg`, `.jpeg`, `.png`, any case), sorted by file name.
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>, DetectError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DetectError::Io { path: dir.into(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Draws COCO-17 keypoints (and the extra BlazePose ones, when given) with confidence >=
/// `min_confidence` and the limbs between them: the person's left in orange, right in blue, the
/// rest in green.
pub fn draw_keypoints(img: &mut RgbImage, kp: &Keypoints2d, extra: Option<&ExtraKeypoints2d>, min_confidence: f32) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let thick = ((w.max(h) as f32) / 400.0).ceil().max(1.0) as i64;
    let data = img.as_raw_mut();
    let mut dot = |x: f32, y: f32, r: i64, color: [u8; 3]| {
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for yy in cy - r..=cy + r {
            for xx in cx - r..=cx + r {
                if xx >= 0 && yy >= 0 && xx < w && yy < h && (xx - cx).pow(2) + (yy - cy).pow(2) <= r * r {
                    let i = ((yy * w + xx) * 3) as usize;
                    data[i..i + 3].copy_from_slice(&color);
                }
            }
        }
    };
    // COCO-17 followed by the extras, as `EXTRA_EDGES` counts them.
    let points: Vec<[f32; 3]> = kp.iter().chain(extra.into_iter().flatten()).copied().collect();
    let name = |i: usize| if i < NUM_KEYPOINTS { KEYPOINT_NAMES[i] } else { EXTRA_NAMES[i - NUM_KEYPOINTS] };
    // The face's points (COCO 0-4, extras 0-5) stay green.
    let face = |i: usize| i < 5 || (NUM_KEYPOINTS..NUM_KEYPOINTS + 6).contains(&i);
    let side = |i: usize| {
        if face(i) { 0 } else { name(i).starts_with("left") as u8 + 2 * name(i).starts_with("right") as u8 }
    };
    let edges = COCO_EDGES.iter().chain(if extra.is_some() { &EXTRA_EDGES[..] } else { &[] });
    for &(a, b) in edges {
        let (p, q) = (points[a], points[b]);
        if p[2] < min_confidence || q[2] < min_confidence {
            continue;
        }
        let color = match (side(a), side(b)) {
            (1, 1) => [255, 140, 0],
            (2, 2) => [40, 120, 255],
            _ => [60, 220, 60],
        };
        let steps = ((q[0] - p[0]).abs().max((q[1] - p[1]).abs()).ceil() as usize).clamp(1, 10_000);
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            dot(p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t, thick / 2, color);
        }
    }
    for p in points.iter().filter(|p| p[2] >= min_confidence) {
        dot(p[0], p[1], thick + 1, [255, 255, 255]);
    }
}

/// One view's input: a folder of images or a video file.
enum ViewInput {
    /// The image files, in order.
    Folder(Vec<PathBuf>),
    /// The video.
    Video(VideoReader),
}

impl ViewInput {
    fn open(path: &Path) -> Result<Self, DetectError> {
        if is_video_file(path) {
            return Ok(Self::Video(VideoReader::open(path)?));
        }
        let files = frame_files(path)?;
        if files.is_empty() {
            return Err(DetectError::Sequence(format!("{}: no JPEG or PNG images", path.display())));
        }
        Ok(Self::Folder(files))
    }

    /// The view's image size (a folder's first image's, read from its header).
    fn size(&self) -> Result<[u32; 2], DetectError> {
        match self {
            Self::Folder(files) => {
                let Some(first) = files.first() else { return Ok([0, 0]) };
                RgbImage::dimensions_of(first)
            }
            Self::Video(video) => Ok(video.size()),
        }
    }

    /// When each frame was taken, seconds: a folder's frames at `fps`, a video's from its container.
    fn times(&self, fps: f64) -> Vec<f64> {
        match self {
            Self::Folder(files) => (0..files.len()).map(|i| i as f64 / fps).collect(),
            Self::Video(video) => video.timestamps().to_vec(),
        }
    }
}

/// The frames a view input holds: a folder's image files or a video's frames (see
/// [`detect_views`]); errors name the folder or file.
pub fn view_frame_count(path: &Path) -> Result<usize, DetectError> {
    Ok(match ViewInput::open(path)? {
        ViewInput::Folder(files) => files.len(),
        ViewInput::Video(video) => video.frame_count(),
    })
}

/// One view's detections: image size, per-frame keypoints and when each frame was taken.
struct ViewResult {
    size: [u32; 2],
    keypoints: Vec<Keypoints2d>,
    extra: Vec<ExtraKeypoints2d>,
    times: Vec<f64>,
    /// A damaged video: what went wrong (the frames before it were used).
    damage: Option<String>,
}

fn run_view(
    detector: &PoseDetector,
    view: usize,
    input: &ViewInput,
    frames: usize,
    fps: f64,
    overlays: Option<&Path>,
    progress: &(dyn Fn() + Sync),
) -> Result<ViewResult, DetectError> {
    let mut tracker = PoseTracker::new();
    let mut size = None;
    let mut result =
        ViewResult { size: [0, 0], keypoints: Vec::new(), extra: Vec::new(), times: Vec::new(), damage: None };
    let overlay_dir = overlays.map(|d| d.join(format!("view{view}")));
    if let Some(d) = &overlay_dir {
        std::fs::create_dir_all(d).map_err(|source| DetectError::Io { path: d.clone(), source })?;
    }
    let source: Box<dyn Iterator<Item = Result<ViewFrame, DetectError>>> = match input {
        ViewInput::Folder(files) => Box::new(files.iter().take(frames).enumerate().map(move |(i, file)| {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("frame").to_string();
            Ok((RgbImage::open(file)?, stem, i as f64 / fps, file.clone()))
        })),
        ViewInput::Video(video) => {
            let path = video.path().to_path_buf();
            Box::new(video.frames(0.0)?.take(frames).map(move |f| {
                let f = f?;
                let image = std::sync::Arc::try_unwrap(f.image).unwrap_or_else(|shared| RgbImage::clone(&shared));
                Ok((image, format!("{:05}", f.index), f.seconds, path.clone()))
            }))
        }
    };
    for next in source {
        let (mut img, stem, time, file) = match next {
            Ok(frame) => frame,
            // A damaged or cut video: the frames before the damage are kept.
            Err(DetectError::Video(e)) if !result.keypoints.is_empty() => {
                result.damage = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e),
        };
        let s = [img.width(), img.height()];
        match size {
            None => size = Some(s),
            Some(first) if first != s => {
                return Err(DetectError::Decode {
                    path: file,
                    problem: format!(
                        "{}x{} differs from the view's first frame ({}x{})",
                        s[0], s[1], first[0], first[1]
                    ),
                });
            }
            _ => {}
        }
        let pose = tracker.track(detector, &img)?;
        let kp = pose.as_ref().map_or([[0.0; 3]; NUM_KEYPOINTS], |p| p.coco17());
        let extra = pose.as_ref().map_or([[0.0; 3]; NUM_EXTRA_KEYPOINTS], |p| p.extra());
        if let Some(d) = &overlay_dir {
            draw_keypoints(&mut img, &kp, Some(&extra), 0.3);
            img.save_png(&d.join(format!("{stem}.png")))?;
        }
        result.keypoints.push(kp);
        result.extra.push(extra);
        result.times.push(time);
        progress();
    }
    result.size = size.unwrap_or([0, 0]);
    Ok(result)
}

/// One frame of a view: its pixels, a name for its overlay, its time and the file it came from.
type ViewFrame = (RgbImage, String, f64, PathBuf);

/// For each time of `reference`, the frame of `times` taken nearest to it.
fn nearest_frames(reference: &[f64], times: &[f64]) -> Vec<usize> {
    reference
        .iter()
        .map(|&t| {
            let i = times.partition_point(|&s| s < t);
            match (i.checked_sub(1), times.get(i)) {
                (Some(before), Some(&after)) if t - times[before] <= after - t => before,
                (Some(before), None) => before,
                _ => i,
            }
        })
        .collect()
}

/// Frames this close to the end of the time all views cover are inside it, seconds (a view of one
/// frame covers its instant only).
const TIME_TOLERANCE: f64 = 1e-6;

/// Where the time every view covers ends (each view's frames stand for half an interval around
/// them): frames before it are inside.
fn common_end<'a>(views: impl Iterator<Item = &'a [f64]>) -> f64 {
    let ends = views.map(|t| t.last().copied().unwrap_or(0.0) + half_interval(t));
    ends.fold(f64::INFINITY, f64::min) + TIME_TOLERANCE
}

/// Half the median interval between frames (how far from a frame's time it still stands for it).
fn half_interval(times: &[f64]) -> f64 {
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2).map_or(0.0, |g| g / 2.0)
}

/// Detects the person in every frame of every view: an image folder (frames in file-name order,
/// taken at `settings.fps`) or a video file (MP4/MOV, H.264; its frames at the container's
/// timestamps, which may vary). The views are put side by side by time: each frame of the first
/// view with the frame of every other view taken nearest to it, over the time all views cover
/// (folders of different lengths are cut to the shortest; the returned warning says what was cut,
/// and names a damaged video whose frames before the damage were used). `progress` is called once
/// per image.
pub fn detect_views(
    detector: &PoseDetector,
    views: &[PathBuf],
    settings: &SequenceSettings,
    progress: &(dyn Fn() + Sync),
) -> Result<(Mv2d, Option<String>), DetectError> {
    if views.is_empty() {
        return Err(DetectError::Sequence("no view folders given".into()));
    }
    if let Some((path, cams)) = &settings.calibration
        && cams.len() != views.len()
    {
        return Err(DetectError::Sequence(format!(
            "{}: {} cameras for {} view folders",
            path.display(),
            cams.len(),
            views.len()
        )));
    }
    let inputs = views.iter().map(|v| ViewInput::open(v)).collect::<Result<Vec<_>, _>>()?;
    // The calibration against the images, before any detection.
    if let Some((path, cams)) = &settings.calibration {
        for ((cam, input), view) in cams.iter().zip(&inputs).zip(views) {
            let [w, h] = input.size()?;
            if let Some(problem) = cam.size_mismatch(w as f64, h as f64) {
                return Err(DetectError::Sequence(format!("{}: {problem} ({})", path.display(), view.display())));
            }
        }
    }
    let fps = settings.fps as f64;
    let all_times: Vec<Vec<f64>> = inputs.iter().map(|i| i.times(fps)).collect();
    let end = common_end(all_times.iter().map(Vec::as_slice));
    let limit = settings.max_frames.unwrap_or(usize::MAX);
    let counts: Vec<usize> = all_times.iter().map(|t| t.partition_point(|&s| s < end).min(limit)).collect();
    let mut warnings = Vec::new();
    if all_times.iter().zip(&counts).any(|(t, &c)| t.len() != c && c < limit) {
        let lengths: Vec<String> = all_times.iter().map(|t| t.len().to_string()).collect();
        warnings.push(format!("views have {} frames: using the time all of them cover", lengths.join(", ")));
    }
    // Views in parallel, `jobs` at a time.
    let overlays = settings.overlays.as_deref();
    let jobs: Vec<(usize, (&ViewInput, usize))> = inputs.iter().zip(counts.iter().copied()).enumerate().collect();
    let results = crate::compute::parallel_map(jobs, settings.jobs, |(v, (input, frames))| {
        run_view(detector, v, input, frames, fps, overlays, progress)
    });
    let mut per_view: Vec<ViewResult> = Vec::new();
    for r in results {
        per_view.push(r.unwrap_or_else(|| Err(DetectError::Internal("a view thread panicked".into())))?);
    }
    for (v, r) in per_view.iter().enumerate() {
        if r.keypoints.is_empty() {
            return Err(DetectError::Sequence(format!("{}: no frame could be read", views[v].display())));
        }
        if let Some(damage) = &r.damage {
            warnings.push(format!("view {v}: {damage}; its {} frames before were used", r.keypoints.len()));
        }
    }
    // The first view's frames, each with the nearest frame of every view, over the time all cover
    // (a damaged video may cover less than it announced).
    let end = common_end(per_view.iter().map(|r| r.times.as_slice()));
    let reference: Vec<f64> = per_view[0].times.iter().copied().take_while(|&t| t < end).collect();
    let picks: Vec<Vec<usize>> = per_view.iter().map(|r| nearest_frames(&reference, &r.times)).collect();
    let frames = reference.len();
    let warning = (!warnings.is_empty()).then(|| warnings.join("; "));
    let image_size: Vec<[f32; 2]> = per_view.iter().map(|r| [r.size[0] as f32, r.size[1] as f32]).collect();
    let mut metadata = BTreeMap::new();
    metadata.insert("detector".into(), settings.model.detector_name());
    metadata.insert("views".into(), views.iter().map(|v| v.display().to_string()).collect::<Vec<_>>().join(";"));
    let (intrinsics, extrinsics) = match &settings.calibration {
        Some((path, cams)) => {
            metadata.insert("intrinsics".into(), format!("calibration {}", path.display()));
            let k: Vec<Intrinsics> =
                cams.iter().zip(&image_size).map(|(c, s)| c.intrinsics_for(s[0] as f64, s[1] as f64)).collect();
            let e = cams
                .iter()
                .map(|c| match settings.world_up {
                    WorldUp::Z => extrinsics_from_z_up(&c.extrinsics),
                    WorldUp::Y => c.extrinsics,
                })
                .collect();
            metadata.insert(
                "extrinsics".into(),
                match settings.world_up {
                    WorldUp::Z => "calibration, z-up world converted to +y up".into(),
                    WorldUp::Y => "calibration, world kept (+y up)".into(),
                },
            );
            (k, Some(e))
        }
        None => {
            let deg = settings.default_hfov.to_degrees();
            metadata
                .insert("intrinsics".into(), format!("default: centred, square pixels, horizontal fov {deg:.1} deg"));
            let k = image_size
                .iter()
                .map(|s| Intrinsics::from_horizontal_fov(settings.default_hfov, s[0] as f64, s[1] as f64))
                .collect();
            (k, None)
        }
    };
    // A calibration's lens distortion taken out of the keypoints: they are pinhole pixels from here.
    if let Some((_, cams)) = &settings.calibration {
        for (r, cam) in per_view.iter_mut().zip(cams) {
            let (w, h) = (r.size[0] as f64, r.size[1] as f64);
            let undistort = |p: &mut [f32; 3]| {
                let [x, y] = cam.undistort([p[0] as f64, p[1] as f64], w, h);
                (p[0], p[1]) = (x as f32, y as f32);
            };
            r.keypoints.iter_mut().flatten().for_each(undistort);
            r.extra.iter_mut().flatten().for_each(undistort);
        }
        if cams.iter().any(|c| c.is_distorted()) {
            metadata.insert("undistorted".into(), "keypoints undistorted with the calibration's coefficients".into());
        }
    }
    let keypoints2d =
        (0..frames).map(|f| per_view.iter().zip(&picks).map(|(r, p)| r.keypoints[p[f]]).collect()).collect();
    let extra2d = (0..frames).map(|f| per_view.iter().zip(&picks).map(|(r, p)| r.extra[p[f]]).collect()).collect();
    // Videos' timestamps are kept (folders' frames are at `fps` by definition).
    let frame_time = inputs.iter().any(|i| matches!(i, ViewInput::Video(_))).then(|| reference.clone());
    let data = Mv2d {
        fps: settings.fps,
        image_size,
        intrinsics,
        keypoints2d,
        extra2d: Some(extra2d),
        extrinsics,
        extra3d: None,
        frame_time,
        joints3d: None,
        params: None,
        metadata,
    };
    data.validate().map_err(|e| DetectError::Sequence(e.to_string()))?;
    Ok((data, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_at_other_rates_are_matched_by_time() {
        // A 30 fps reference, a 24 fps view and a variable-rate one.
        let reference: Vec<f64> = (0..5).map(|i| i as f64 / 30.0).collect();
        let slower: Vec<f64> = (0..5).map(|i| i as f64 / 24.0).collect();
        assert_eq!(nearest_frames(&reference, &slower), [0, 1, 2, 2, 3]);
        let uneven = [0.0, 0.01, 0.1, 0.2];
        assert_eq!(nearest_frames(&reference, &uneven), [0, 1, 2, 2, 2]);
        assert!((half_interval(&slower) - 1.0 / 48.0).abs() < 1e-12);
        assert_eq!(half_interval(&[0.0]), 0.0);
        assert_eq!(nearest_frames(&[0.0], &[0.0]), [0]);
    }
}
