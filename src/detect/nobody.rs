//! Why a view shows nobody: when the detector finds no person, a look at the image (its brightness
//! and contrast) and at what the person detector did find tells the likely cause, so an app can
//! say "too dark" instead of going quiet.

use super::image::RgbImage;
use super::pose::Detection;

/// Mean brightness (0 black to 1 white) under which an image is called dark.
pub const DARK_BRIGHTNESS: f32 = 0.08;

/// Spread of brightness (standard deviation, 0 to 1) under which an image is called featureless:
/// a covered lens, a blank wall, a frame that was never drawn.
pub const FEATURELESS_SPREAD: f32 = 0.02;

/// Height of a person's box, as a share of the image's larger side, under which the person is
/// called too small for the landmark network.
pub const SMALL_PERSON_SHARE: f32 = 0.15;

/// The likely reason a view shows nobody.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NobodyReason {
    /// The image is too dark for the detector.
    Dark {
        /// Mean brightness, 0 (black) to 1 (white).
        brightness: f32,
    },
    /// The image is nearly one colour: nothing to detect.
    Featureless {
        /// Standard deviation of brightness, 0 to 1.
        spread: f32,
    },
    /// A person was found but too small for the landmark network to read.
    TooSmall {
        /// The person's box height as a share of the image's larger side.
        share: f32,
    },
    /// A person was found but the landmark network was not confident of the pose (much of the
    /// body hidden or cut off by the image's edge).
    Unclear {
        /// The person detector's score, 0 to 1.
        score: f32,
    },
    /// The person detector found nobody in an image that is neither dark nor featureless.
    NoPerson,
}

impl std::fmt::Display for NobodyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dark { brightness } => write!(
                f,
                "the image is too dark (mean brightness {:.0}% of white, under {:.0}%): light the scene or raise the exposure",
                brightness * 100.0,
                DARK_BRIGHTNESS * 100.0
            ),
            Self::Featureless { spread } => write!(
                f,
                "the image is nearly one colour (brightness spread {:.1}%): is the lens covered or the target never drawn?",
                spread * 100.0
            ),
            Self::TooSmall { share } => write!(
                f,
                "the person is too small ({:.0}% of the image's larger side, under {:.0}%): move the camera closer or zoom in",
                share * 100.0,
                SMALL_PERSON_SHARE * 100.0
            ),
            Self::Unclear { score } => write!(
                f,
                "a person was found (score {score:.2}) but the pose is unclear: keep the whole body in view and unobstructed"
            ),
            Self::NoPerson => write!(f, "nobody is in view (or nobody the detector recognises as a person)"),
        }
    }
}

/// Mean and standard deviation of an image's brightness (Rec. 601 luma, 0 to 1), read on a grid
/// of at most 64 x 64 pixels.
pub fn brightness(image: &RgbImage) -> (f32, f32) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return (0.0, 0.0);
    }
    let (step_x, step_y) = (w.div_ceil(64).max(1), h.div_ceil(64).max(1));
    let raw = image.as_raw();
    let (mut sum, mut sum2, mut n) = (0.0f64, 0.0f64, 0usize);
    for y in (0..h).step_by(step_y) {
        for x in (0..w).step_by(step_x) {
            let i = (y * w + x) * 3;
            let luma = (0.299 * raw[i] as f64 + 0.587 * raw[i + 1] as f64 + 0.114 * raw[i + 2] as f64) / 255.0;
            sum += luma;
            sum2 += luma * luma;
            n += 1;
        }
    }
    let mean = sum / n as f64;
    ((mean) as f32, (sum2 / n as f64 - mean * mean).max(0.0).sqrt() as f32)
}

/// The likely reason nobody was found in `image`, given the best person the detector found there
/// (`None` when it found nobody).
pub fn nobody_reason(image: &RgbImage, candidate: Option<&Detection>) -> NobodyReason {
    let (mean, spread) = brightness(image);
    if mean < DARK_BRIGHTNESS {
        return NobodyReason::Dark { brightness: mean };
    }
    if spread < FEATURELESS_SPREAD {
        return NobodyReason::Featureless { spread };
    }
    candidate_reason([image.width(), image.height()], candidate)
}

/// The likely reason nobody was found in an image of `image_size` pixels that is neither dark nor
/// featureless (or whose pixels are not at hand), given the best person the detector found there.
pub fn candidate_reason(image_size: [u32; 2], candidate: Option<&Detection>) -> NobodyReason {
    match candidate {
        Some(d) => {
            let side = image_size[0].max(image_size[1]).max(1) as f32;
            let share = (d.bbox[3] - d.bbox[1]).max(d.bbox[2] - d.bbox[0]) / side;
            if share < SMALL_PERSON_SHARE {
                NobodyReason::TooSmall { share }
            } else {
                NobodyReason::Unclear { score: d.score }
            }
        }
        None => NobodyReason::NoPerson,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> RgbImage {
        let data = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).flat_map(|(x, y)| pixel(x, y)).collect();
        RgbImage::new(width, height, data).unwrap()
    }

    #[test]
    fn dark_featureless_and_busy_images_are_told_apart() {
        let dark = filled(320, 240, |x, y| [((x + y) % 12) as u8; 3]);
        assert!(matches!(nobody_reason(&dark, None), NobodyReason::Dark { brightness } if brightness < 0.05));
        let grey = filled(320, 240, |_, _| [128, 128, 128]);
        assert!(matches!(nobody_reason(&grey, None), NobodyReason::Featureless { .. }));
        let busy = filled(320, 240, |x, y| [((x * 7 + y * 3) % 256) as u8, (x % 256) as u8, (y % 256) as u8]);
        assert_eq!(nobody_reason(&busy, None), NobodyReason::NoPerson);
        let person = |height: f32| Detection {
            score: 0.8,
            bbox: [100.0, 10.0, 100.0 + height / 3.0, 10.0 + height],
            keypoints: [[0.0; 2]; 4],
        };
        assert!(
            matches!(nobody_reason(&busy, Some(&person(30.0))), NobodyReason::TooSmall { share } if (share - 30.0 / 320.0).abs() < 1e-6)
        );
        assert_eq!(nobody_reason(&busy, Some(&person(200.0))), NobodyReason::Unclear { score: 0.8 });
        let (mean, spread) = brightness(&grey);
        assert!((mean - 128.0 / 255.0).abs() < 1e-3 && spread < 1e-3);
    }
}
