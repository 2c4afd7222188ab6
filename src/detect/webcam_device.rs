//! The `webcam` feature's devices: cameras through `nokhwa` (Video4Linux on Linux, AVFoundation on
//! macOS, Media Foundation on Windows), asked for RGB frames at the nearest format to the settings.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::{Camera, query};

use super::RgbImage;
use super::webcam::{DeviceInfo, FrameSource, WebcamError, WebcamSettings};

/// The system's cameras.
pub(crate) fn list_devices() -> Result<Vec<DeviceInfo>, WebcamError> {
    let cameras = query(ApiBackend::Auto)
        .map_err(|e| WebcamError::Unavailable { device: "(listing the cameras)".into(), message: e.to_string() })?;
    Ok(cameras
        .iter()
        .enumerate()
        .map(|(i, c)| DeviceInfo {
            index: match c.index() {
                CameraIndex::Index(n) => *n,
                CameraIndex::String(_) => i as u32,
            },
            name: c.human_name(),
        })
        .collect())
}

/// An open camera.
struct DeviceCamera {
    camera: Camera,
    name: String,
}

impl FrameSource for DeviceCamera {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn read(&mut self) -> Result<RgbImage, WebcamError> {
        let stopped = |message: String| WebcamError::Stopped { device: self.name.clone(), message };
        let buffer = self.camera.frame().map_err(|e| stopped(e.to_string()))?;
        let image = buffer.decode_image::<RgbFormat>().map_err(|e| stopped(e.to_string()))?;
        let (w, h) = (image.width(), image.height());
        RgbImage::new(w, h, image.into_raw()).map_err(|e| stopped(e.to_string()))
    }
}

impl Drop for DeviceCamera {
    fn drop(&mut self) {
        let _ = self.camera.stop_stream();
    }
}

/// Opens and starts the camera `settings` ask for.
pub(crate) fn open_device(settings: &WebcamSettings) -> Result<Box<dyn FrameSource>, WebcamError> {
    let devices = list_devices()?;
    let device = settings.device.pick(&devices).ok_or_else(|| WebcamError::NotFound {
        device: settings.device.to_string(),
        available: devices.iter().map(|d| format!("#{} {}", d.index, d.name)).collect(),
    })?;
    let name = format!("#{} {}", device.index, device.name);
    let unavailable =
        |e: nokhwa::NokhwaError| WebcamError::Unavailable { device: name.clone(), message: e.to_string() };
    let wanted = CameraFormat::new(Resolution::new(settings.width, settings.height), FrameFormat::MJPEG, settings.fps);
    let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
    let mut camera = Camera::new(CameraIndex::Index(device.index), format).map_err(unavailable)?;
    camera.open_stream().map_err(unavailable)?;
    Ok(Box::new(DeviceCamera { camera, name }))
}
