//! Multi-view image folders to a `cmanet-mv2d` sequence: one folder per view (frames in file-name
//! order, JPEG or PNG, any size), one [`PoseTracker`] per view, COCO-17 keypoints with the
//! detector's confidences, intrinsics from a calibration or a stated default field of view, and
//! optional PNG overlays. It records what the detector saw: no left/right repair, no smoothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::DetectError;
use super::image::RgbImage;
use super::pose::{LandmarkModel, PoseDetector, PoseTracker};
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
    /// Frames per second written to the file.
    pub fps: f32,
    /// Cameras from a calibration file, one per view in view order (their extrinsics are written).
    pub calibration: Option<(PathBuf, Vec<CalibratedCamera>)>,
    /// The world axes of the calibration.
    pub world_up: WorldUp,
    /// Where to write PNG overlays (`DIR/view{v}/{frame file stem}.png`).
    pub overlays: Option<PathBuf>,
    /// Views processed in parallel (each view's frames run in order on one thread).
    pub jobs: usize,
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

/// One view's detections: image size and per-frame keypoints.
struct ViewResult {
    size: [u32; 2],
    keypoints: Vec<Keypoints2d>,
    extra: Vec<ExtraKeypoints2d>,
}

fn run_view(
    detector: &PoseDetector,
    view: usize,
    files: &[PathBuf],
    overlays: Option<&Path>,
    progress: &(dyn Fn() + Sync),
) -> Result<ViewResult, DetectError> {
    let mut tracker = PoseTracker::new();
    let mut size = None;
    let mut keypoints = Vec::with_capacity(files.len());
    let mut extras = Vec::with_capacity(files.len());
    let overlay_dir = overlays.map(|d| d.join(format!("view{view}")));
    if let Some(d) = &overlay_dir {
        std::fs::create_dir_all(d).map_err(|source| DetectError::Io { path: d.clone(), source })?;
    }
    for file in files {
        let mut img = RgbImage::open(file)?;
        let s = [img.width(), img.height()];
        match size {
            None => size = Some(s),
            Some(first) if first != s => {
                return Err(DetectError::Decode {
                    path: file.clone(),
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
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("frame");
            img.save_png(&d.join(format!("{stem}.png")))?;
        }
        keypoints.push(kp);
        extras.push(extra);
        progress();
    }
    Ok(ViewResult { size: size.unwrap_or([0, 0]), keypoints, extra: extras })
}

/// Detects the person in every frame of every view folder. Views with different frame counts are
/// cut to the shortest (the returned warning says so). `progress` is called once per image.
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
    let mut files = Vec::new();
    for dir in views {
        let f = frame_files(dir)?;
        if f.is_empty() {
            return Err(DetectError::Sequence(format!("{}: no JPEG or PNG images", dir.display())));
        }
        files.push(f);
    }
    let frames = files.iter().map(Vec::len).min().unwrap_or(0);
    let warning = (files.iter().any(|f| f.len() != frames)).then(|| {
        let counts: Vec<String> = files.iter().map(|f| f.len().to_string()).collect();
        format!("views have {} frames: using the first {frames} of each", counts.join(", "))
    });
    for f in &mut files {
        f.truncate(frames);
    }
    // Views in parallel, `jobs` at a time.
    let overlays = settings.overlays.as_deref();
    let results = crate::compute::parallel_map(files.iter().enumerate().collect(), settings.jobs, |(v, files)| {
        run_view(detector, v, files, overlays, progress)
    });
    let mut per_view = Vec::new();
    for r in results {
        per_view.push(r.unwrap_or_else(|| Err(DetectError::Internal("a view thread panicked".into())))?);
    }
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
    let keypoints2d = (0..frames).map(|f| per_view.iter().map(|r| r.keypoints[f]).collect()).collect();
    let extra2d = (0..frames).map(|f| per_view.iter().map(|r| r.extra[f]).collect()).collect();
    let data = Mv2d {
        fps: settings.fps,
        image_size,
        intrinsics,
        keypoints2d,
        extra2d: Some(extra2d),
        extrinsics,
        extra3d: None,
        joints3d: None,
        params: None,
        metadata,
    };
    data.validate().map_err(|e| DetectError::Sequence(e.to_string()))?;
    Ok((data, warning))
}
