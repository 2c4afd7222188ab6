//! Webcams as views: a [`FrameSource`] gives a camera's frames one by one (a real device through
//! `nokhwa` with the `webcam` feature, or a [`FakeCamera`] in tests), and a [`WebcamStream`] reads
//! it on a thread of its own, stamping each frame with its capture time and keeping only the
//! newest, so a slow consumer always gets the latest picture and memory stays flat. A device that
//! is missing, busy or unplugged is a [`WebcamError`] naming it, never a panic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::RgbImage;

/// What can go wrong with a webcam. Every variant names the device.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WebcamError {
    /// The crate was built without webcam support.
    #[error("webcam {device}: cmanet was built without its `webcam` feature")]
    NotBuilt {
        /// The device asked for.
        device: String,
    },
    /// No device matches.
    #[error("webcam {device}: no such camera (found: {})", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    NotFound {
        /// The device asked for.
        device: String,
        /// The cameras there are.
        available: Vec<String>,
    },
    /// The device exists but could not be opened or started (busy, no permission, no usable format).
    #[error("webcam {device}: cannot open it: {message}")]
    Unavailable {
        /// The device.
        device: String,
        /// What the system said.
        message: String,
    },
    /// The device stopped giving frames (unplugged, or its driver failed).
    #[error("webcam {device}: stopped: {message}")]
    Stopped {
        /// The device.
        device: String,
        /// What the system said.
        message: String,
    },
}

/// A camera the system has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its index (`DeviceChoice::Index`).
    pub index: u32,
    /// Its name.
    pub name: String,
}

/// Which camera to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// By the system's index (0 is usually the built-in camera).
    Index(u32),
    /// The first camera whose name contains this (any case).
    Name(String),
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(i) => write!(f, "#{i}"),
            Self::Name(n) => write!(f, "\"{n}\""),
        }
    }
}

impl DeviceChoice {
    /// The device of `devices` this choice means.
    pub fn pick<'a>(&self, devices: &'a [DeviceInfo]) -> Option<&'a DeviceInfo> {
        match self {
            Self::Index(i) => devices.iter().find(|d| d.index == *i),
            Self::Name(n) => {
                let n = n.to_lowercase();
                devices.iter().find(|d| d.name.to_lowercase().contains(&n))
            }
        }
    }
}

/// What to ask a camera for. The device may give the nearest format it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebcamSettings {
    /// The camera. Default: `DeviceChoice::Index(0)`.
    pub device: DeviceChoice,
    /// Width, pixels. Default: 640.
    pub width: u32,
    /// Height, pixels. Default: 480.
    pub height: u32,
    /// Frames per second. Default: 30.
    pub fps: u32,
}

impl Default for WebcamSettings {
    fn default() -> Self {
        Self { device: DeviceChoice::Index(0), width: 640, height: 480, fps: 30 }
    }
}

/// A camera's frames, one after another: the seam between a device and the rest of the crate. A
/// source lives on the thread that opened it (device handles need not be `Send`).
pub trait FrameSource {
    /// The device's name (for messages).
    fn name(&self) -> String;
    /// Waits for the next frame.
    fn read(&mut self) -> Result<RgbImage, WebcamError>;
}

/// A camera that plays given frames at a frame rate and can be told to fail: for tests, and for
/// trying an app without a camera.
pub struct FakeCamera {
    /// Its name.
    pub name: String,
    /// The frames, played in a loop.
    pub frames: Vec<RgbImage>,
    /// Time between frames.
    pub interval: Duration,
    /// After this many frames it stops as if unplugged. Default: `None`.
    pub unplug_after: Option<usize>,
    given: usize,
    next_at: Option<Instant>,
}

impl FakeCamera {
    /// `frames` played at `fps`, forever.
    pub fn new(name: impl Into<String>, frames: Vec<RgbImage>, fps: f64) -> Self {
        let interval = Duration::from_secs_f64(1.0 / fps.clamp(1e-3, 1e4));
        Self { name: name.into(), frames, interval, unplug_after: None, given: 0, next_at: None }
    }
}

impl FrameSource for FakeCamera {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn read(&mut self) -> Result<RgbImage, WebcamError> {
        if self.frames.is_empty() || self.unplug_after.is_some_and(|n| self.given >= n) {
            return Err(WebcamError::Stopped {
                device: self.name.clone(),
                message: "the fake camera was unplugged".into(),
            });
        }
        let due = *self.next_at.get_or_insert_with(Instant::now);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.next_at = Some(due + self.interval);
        let frame = self.frames[self.given % self.frames.len()].clone();
        self.given += 1;
        Ok(frame)
    }
}

/// One frame from a webcam.
#[derive(Clone, Debug)]
pub struct WebcamFrame {
    /// The pixels.
    pub image: Arc<RgbImage>,
    /// When it was read, seconds since the stream started.
    pub seconds: f64,
    /// When it was read.
    pub instant: Instant,
    /// Frames read before it.
    pub index: u64,
}

#[derive(Default)]
struct Shared {
    latest: Option<WebcamFrame>,
    failure: Option<WebcamError>,
    running: bool,
}

/// Opens a camera (on the stream's own thread).
pub type OpenCamera = Box<dyn FnOnce() -> Result<Box<dyn FrameSource>, WebcamError> + Send>;

/// A camera read on a thread of its own (see the module's header). Dropping it stops the thread.
pub struct WebcamStream {
    name: String,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl WebcamStream {
    /// Opens the camera `name` with `open` on a thread of its own and starts reading it; a camera
    /// that cannot be opened is the stream's [`WebcamStream::failure`].
    pub fn spawn(name: impl Into<String>, open: OpenCamera) -> Self {
        let name = name.into();
        let shared = Arc::new((Mutex::new(Shared { running: true, ..Shared::default() }), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_shared, thread_stop) = (Arc::clone(&shared), Arc::clone(&stop));
        let started = Instant::now();
        let spawned = std::thread::Builder::new().name(format!("cmanet-webcam {name}")).spawn(move || {
            let (lock, wake) = &*thread_shared;
            let mut source = match open() {
                Ok(source) => source,
                Err(e) => {
                    if let Ok(mut shared) = lock.lock() {
                        shared.failure = Some(e);
                        shared.running = false;
                    }
                    wake.notify_all();
                    return;
                }
            };
            for index in 0.. {
                if thread_stop.load(Ordering::Relaxed) {
                    break;
                }
                let read = source.read();
                let instant = Instant::now();
                let Ok(mut shared) = lock.lock() else { return };
                match read {
                    Ok(image) => {
                        let seconds = instant.duration_since(started).as_secs_f64();
                        shared.latest = Some(WebcamFrame { image: Arc::new(image), seconds, instant, index });
                    }
                    Err(e) => {
                        shared.failure = Some(e);
                        break;
                    }
                }
                wake.notify_all();
            }
            if let Ok(mut shared) = lock.lock() {
                shared.running = false;
            }
            wake.notify_all();
        });
        if let Err(e) = spawned
            && let Ok(mut s) = shared.0.lock()
        {
            s.running = false;
            s.failure = Some(WebcamError::Unavailable { device: name.clone(), message: format!("no thread: {e}") });
        }
        Self { name, shared, stop }
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The newest frame not taken yet, if any.
    pub fn latest(&self) -> Option<WebcamFrame> {
        self.shared.0.lock().ok()?.latest.take()
    }

    /// Waits up to `timeout` for a frame not taken yet.
    pub fn wait_latest(&self, timeout: Duration) -> Option<WebcamFrame> {
        let (lock, wake) = &*self.shared;
        let guard = lock.lock().ok()?;
        let (mut guard, _) = wake.wait_timeout_while(guard, timeout, |s| s.latest.is_none() && s.running).ok()?;
        guard.latest.take()
    }

    /// Why the camera stopped, once (taken).
    pub fn failure(&self) -> Option<WebcamError> {
        self.shared.0.lock().ok()?.failure.take()
    }

    /// Whether the camera is still being read.
    pub fn is_running(&self) -> bool {
        self.shared.0.lock().is_ok_and(|s| s.running)
    }
}

impl Drop for WebcamStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The cameras the system has (empty without the `webcam` feature's backend).
pub fn list_devices() -> Result<Vec<DeviceInfo>, WebcamError> {
    #[cfg(feature = "webcam")]
    {
        super::webcam_device::list_devices()
    }
    #[cfg(not(feature = "webcam"))]
    {
        Ok(Vec::new())
    }
}

/// Opens the camera `settings` ask for (call it on the thread that reads it, e.g. inside
/// [`WebcamStream::spawn`]'s `open`).
pub fn open_device(settings: &WebcamSettings) -> Result<Box<dyn FrameSource>, WebcamError> {
    #[cfg(feature = "webcam")]
    {
        super::webcam_device::open_device(settings)
    }
    #[cfg(not(feature = "webcam"))]
    {
        Err(WebcamError::NotBuilt { device: settings.device.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(shade: u8) -> RgbImage {
        RgbImage::new(16, 16, vec![shade; 16 * 16 * 3]).unwrap()
    }

    #[test]
    fn the_stream_keeps_the_newest_frame_and_reports_an_unplugged_camera() {
        let mut camera = FakeCamera::new("fake", vec![frame(10), frame(20), frame(30)], 200.0);
        camera.unplug_after = Some(6);
        let stream = WebcamStream::spawn("fake", Box::new(move || Ok(Box::new(camera) as Box<dyn FrameSource>)));
        let first = stream.wait_latest(Duration::from_secs(2)).unwrap();
        assert_eq!(first.image.as_raw()[0], [10, 20, 30][first.index as usize % 3]);
        std::thread::sleep(Duration::from_millis(200));
        // Only the newest is kept: frame 5 (the last before the unplug), not the ones between.
        let last = stream.latest().unwrap();
        assert_eq!(last.index, 5);
        assert!(last.seconds > first.seconds);
        assert!(stream.latest().is_none(), "taken once");
        assert!(!stream.is_running());
        let failure = stream.failure().unwrap().to_string();
        assert!(failure.contains("fake") && failure.contains("unplugged"), "{failure}");
        // Picking devices.
        let devices =
            [DeviceInfo { index: 0, name: "Built-in".into() }, DeviceInfo { index: 2, name: "USB Cam".into() }];
        assert_eq!(DeviceChoice::Index(2).pick(&devices).unwrap().name, "USB Cam");
        assert_eq!(DeviceChoice::Name("usb".into()).pick(&devices).unwrap().index, 2);
        assert!(DeviceChoice::Index(1).pick(&devices).is_none());
        // A camera that cannot be opened: the stream says why and ends.
        let busy = WebcamError::Unavailable { device: "#3".into(), message: "Device or resource busy".into() };
        let expected = busy.clone();
        let stream = WebcamStream::spawn("#3", Box::new(move || Err(busy)));
        assert!(stream.wait_latest(Duration::from_secs(2)).is_none());
        assert_eq!(stream.failure(), Some(expected));
        assert!(!stream.is_running());
    }
}
