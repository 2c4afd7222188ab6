//! [`Webcam`]: a camera played live as a view. Read on a thread of its own
//! (`detect::WebcamStream`), each new frame becomes the view's [`CapturedFrame`] stamped with when
//! it was read; a camera that is missing, busy or unplugged is one `ViewFailed` naming it, the other
//! views go on, and it is tried again every `reconnect_seconds` until it comes back.

use std::sync::Arc;
use std::time::Instant;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;

use super::capture::{CaptureView, CapturedFrame, CapturedPixels};
use super::messages::{ViewFailed, warn};
use crate::detect::{FrameSource, WebcamError, WebcamSettings, WebcamStream, open_device};
use crate::geometry::Intrinsics;

/// The horizontal field of view assumed for a webcam without intrinsics, degrees (a typical
/// webcam's).
pub const DEFAULT_WEBCAM_HFOV_DEGREES: f64 = 70.0;

/// Opens a camera: the device the settings name, or any [`FrameSource`] (a fake in tests).
pub type CameraOpener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>, WebcamError> + Send + Sync>;

/// A webcam played as a view (put it next to a [`CaptureView`]).
#[derive(Component)]
pub struct Webcam {
    /// Which camera, at what size and rate (the nearest the device has).
    pub settings: WebcamSettings,
    /// The camera's intrinsics; `None` assumes a centred camera with a 70-degree horizontal field
    /// of view ([`DEFAULT_WEBCAM_HFOV_DEGREES`]). Default: `None`.
    pub intrinsics: Option<Intrinsics>,
    /// How long to wait before opening a camera again that failed or stopped, seconds. Default: 2.
    pub reconnect_seconds: f64,
    open: CameraOpener,
    name: String,
    stream: Option<WebcamStream>,
    retry_at: f64,
    /// Whether the current outage was reported.
    reported: bool,
    frames: u64,
}

impl Webcam {
    /// The camera `settings` name (needs the `webcam` feature; without it, the view reports that).
    pub fn new(settings: WebcamSettings) -> Self {
        let name = settings.device.to_string();
        let wanted = settings.clone();
        Self::with_opener(settings, name, Arc::new(move || open_device(&wanted)))
    }

    /// Camera number `index` at 640 x 480, 30 frames per second.
    pub fn index(index: u32) -> Self {
        Self::new(WebcamSettings { device: crate::detect::DeviceChoice::Index(index), ..Default::default() })
    }

    /// A view fed by `open` (called again on each reconnection), named `name` in messages: a
    /// [`FakeCamera`](crate::detect::FakeCamera) in tests, or a source of your own.
    pub fn from_source(
        name: impl Into<String>,
        open: impl Fn() -> Result<Box<dyn FrameSource>, WebcamError> + Send + Sync + 'static,
    ) -> Self {
        Self::with_opener(WebcamSettings::default(), name.into(), Arc::new(open))
    }

    fn with_opener(settings: WebcamSettings, name: String, open: CameraOpener) -> Self {
        Self {
            settings,
            intrinsics: None,
            reconnect_seconds: 2.0,
            open,
            name,
            stream: None,
            retry_at: 0.0,
            reported: false,
            frames: 0,
        }
    }

    /// The camera with these intrinsics.
    pub fn with_intrinsics(mut self, intrinsics: Intrinsics) -> Self {
        self.intrinsics = Some(intrinsics);
        self
    }

    /// Frames received so far.
    pub fn frames_received(&self) -> u64 {
        self.frames
    }

    /// Whether the camera is being read now.
    pub fn is_streaming(&self) -> bool {
        self.stream.as_ref().is_some_and(WebcamStream::is_running)
    }
}

/// Shows every [`Webcam`]'s newest frame; reports and retries cameras that fail.
pub(crate) fn play_webcams(
    mut commands: Commands,
    mut webcams: Query<(Entity, &mut Webcam), With<CaptureView>>,
    frame: Res<FrameCount>,
    time: Res<Time>,
) {
    let now = time.elapsed_secs_f64();
    for (entity, mut webcam) in &mut webcams {
        let webcam = &mut *webcam;
        if webcam.stream.is_none() && now >= webcam.retry_at {
            let open = Arc::clone(&webcam.open);
            webcam.stream = Some(WebcamStream::spawn(webcam.name.clone(), Box::new(move || open())));
        }
        let Some(stream) = &webcam.stream else { continue };
        if let Some(captured) = stream.latest() {
            if webcam.reported {
                info!("cmanet: view {entity}: webcam {} is back", webcam.name);
                webcam.reported = false;
            }
            webcam.frames += 1;
            let intrinsics = webcam.intrinsics.unwrap_or_else(|| {
                let (w, h) = (captured.image.width() as f64, captured.image.height() as f64);
                Intrinsics::from_horizontal_fov(DEFAULT_WEBCAM_HFOV_DEGREES.to_radians(), w, h)
            });
            // The app time of the capture: now, less how long the frame waited.
            let waited = Instant::now().saturating_duration_since(captured.instant).as_secs_f64();
            commands.entity(entity).try_insert(CapturedFrame {
                pixels: CapturedPixels::Rgb(Arc::clone(&captured.image)),
                frame: frame.0,
                time: now - waited.min(now.max(0.0)),
                instant: captured.instant,
                intrinsics: Some(intrinsics),
            });
        }
        if !stream.is_running() {
            let failure = stream.failure();
            webcam.stream = None;
            webcam.retry_at = now + webcam.reconnect_seconds.max(0.0);
            if !webcam.reported {
                webcam.reported = true;
                let why = failure.map_or_else(|| format!("webcam {}: stopped", webcam.name), |e| e.to_string());
                let message = format!("{why}; trying again every {} s", webcam.reconnect_seconds);
                warn(&mut commands, ViewFailed { entity, message });
            }
        }
    }
}
