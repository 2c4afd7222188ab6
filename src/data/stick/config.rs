//! The stick generator's knobs, with the settings of the frozen generalisation test sets.

/// Everything the stick generator can be told. `Default` gives the settings of the frozen
/// generalisation sets ([`super::TEST_SEED`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StickConfig {
    /// Frames per sequence. Default: 90.
    pub frames: usize,
    /// Frame rate. Default: 30.
    pub fps: f32,
    /// Fewest cameras per rig. Default: 2.
    pub min_views: usize,
    /// Most cameras per rig. Default: 8.
    pub max_views: usize,
    /// Nearest camera distance from the middle of the motion, metres (farther when the motion
    /// itself is wide). Default: 2.5.
    pub min_distance: f32,
    /// Farthest camera distance, metres. Default: 6.
    pub max_distance: f32,
    /// Lowest camera height, metres. Default: 0.5.
    pub min_camera_height: f32,
    /// Highest camera height, metres. Default: 2.8.
    pub max_camera_height: f32,
    /// Image sizes (width, height). Default: 640x480, 800x600, 1280x720, 1920x1080 and the
    /// portrait 480x640, 720x1280, 1080x1920.
    pub resolutions: Vec<[u32; 2]>,
    /// Shortest subject, metres. Default: 1.05 (a child).
    pub min_subject_height: f32,
    /// Tallest subject, metres. Default: 1.95.
    pub max_subject_height: f32,
    /// Standard deviation of the detector's position error per axis, fraction of the person's
    /// height in the image, before the per-view and per-keypoint factors. Default: 0.007.
    pub noise_sigma: f32,
}

impl Default for StickConfig {
    fn default() -> Self {
        Self {
            frames: 90,
            fps: 30.0,
            min_views: 2,
            max_views: 8,
            min_distance: 2.5,
            max_distance: 6.0,
            min_camera_height: 0.5,
            max_camera_height: 2.8,
            resolutions: vec![[640, 480], [800, 600], [1280, 720], [1920, 1080], [480, 640], [720, 1280], [1080, 1920]],
            min_subject_height: 1.05,
            max_subject_height: 1.95,
            noise_sigma: 0.007,
        }
    }
}

impl StickConfig {
    /// The first knob that makes no sense, if any.
    pub fn validate(&self) -> Result<(), String> {
        let ordered = |lo: f32, hi: f32| lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi;
        if self.frames == 0 {
            return Err("frames must be at least 1".into());
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(format!("fps {} must be positive", self.fps));
        }
        if self.min_views < 2 || self.min_views > self.max_views {
            return Err(format!("views {}..{}: need 2 <= min <= max", self.min_views, self.max_views));
        }
        if !ordered(self.min_distance, self.max_distance) {
            return Err(format!("camera distance {}..{} m", self.min_distance, self.max_distance));
        }
        if !ordered(self.min_camera_height, self.max_camera_height) {
            return Err(format!("camera height {}..{} m", self.min_camera_height, self.max_camera_height));
        }
        if !ordered(self.min_subject_height, self.max_subject_height) {
            return Err(format!("subject height {}..{} m", self.min_subject_height, self.max_subject_height));
        }
        if self.resolutions.is_empty() || self.resolutions.iter().any(|r| r[0] == 0 || r[1] == 0) {
            return Err("resolutions must be non-empty and positive".into());
        }
        if !(self.noise_sigma.is_finite() && self.noise_sigma >= 0.0) {
            return Err(format!("noise_sigma {} must be finite and non-negative", self.noise_sigma));
        }
        Ok(())
    }
}
