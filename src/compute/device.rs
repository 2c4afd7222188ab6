//! Which candle device CMANet runs on: the CPU (where its linear layers use the packed kernels of
//! [`super::matmul`]), a CUDA GPU or a Metal GPU (the crate's `cuda` / `metal` features, forwarded
//! to candle), or the first GPU there is. The detector (BlazePose) always runs on the CPU: it is
//! this crate's own interpreter, not candle.

use candle_core::Device;
use thiserror::Error;

/// A device choice, as settings and the command line give it. `Default`: [`ComputeDevice::Auto`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ComputeDevice {
    /// A CUDA GPU (ordinal 0) if the crate was built with `cuda` and one answers, else a Metal GPU
    /// if built with `metal` and one answers, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The CUDA GPU of this ordinal (needs the `cuda` feature).
    Cuda(usize),
    /// The Metal GPU of this ordinal (needs the `metal` feature).
    Metal(usize),
}

/// A device that was asked for and cannot be had.
#[derive(Debug, Error)]
#[error("device {choice}: {reason}")]
pub struct DeviceError {
    /// What was asked for (`cuda:0`...).
    pub choice: String,
    /// Why it cannot be had: not built in, or candle's error opening it.
    pub reason: String,
}

impl ComputeDevice {
    /// The candle device. `Auto` never fails (it falls back to the CPU); an explicit GPU fails
    /// with the reason when the crate was built without its feature or the GPU does not answer.
    pub fn device(self) -> Result<Device, DeviceError> {
        let refused = |reason: String| DeviceError { choice: self.to_string(), reason };
        let not_built = |feature: &str| refused(format!("cmanet was built without its `{feature}` feature"));
        match self {
            ComputeDevice::Cpu => Ok(Device::Cpu),
            ComputeDevice::Cuda(i) if cfg!(feature = "cuda") => Device::new_cuda(i).map_err(|e| refused(e.to_string())),
            ComputeDevice::Cuda(_) => Err(not_built("cuda")),
            ComputeDevice::Metal(i) if cfg!(feature = "metal") => {
                Device::new_metal(i).map_err(|e| refused(e.to_string()))
            }
            ComputeDevice::Metal(_) => Err(not_built("metal")),
            ComputeDevice::Auto => {
                Ok(ComputeDevice::Cuda(0).device().or_else(|_| ComputeDevice::Metal(0).device()).unwrap_or(Device::Cpu))
            }
        }
    }
}

/// A short name of a candle device: `cpu`, `cuda:0`, `metal:0`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeDevice::Auto => f.write_str("auto"),
            ComputeDevice::Cpu => f.write_str("cpu"),
            ComputeDevice::Cuda(i) => write!(f, "cuda:{i}"),
            ComputeDevice::Metal(i) => write!(f, "metal:{i}"),
        }
    }
}

impl std::str::FromStr for ComputeDevice {
    type Err = String;

    /// `auto`, `cpu`, `cuda`, `cuda:N`, `metal`, `metal:N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, ordinal) = match s.split_once(':') {
            Some((kind, n)) => {
                (kind, Some(n.parse::<usize>().map_err(|_| format!("`{s}`: `{n}` is not a device number"))?))
            }
            None => (s, None),
        };
        match (kind, ordinal) {
            ("auto", None) => Ok(ComputeDevice::Auto),
            ("cpu", None) => Ok(ComputeDevice::Cpu),
            ("cuda", n) => Ok(ComputeDevice::Cuda(n.unwrap_or(0))),
            ("metal", n) => Ok(ComputeDevice::Metal(n.unwrap_or(0))),
            _ => Err(format!("`{s}`: not a device (auto, cpu, cuda[:N], metal[:N])")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_print_the_same() {
        for choice in [ComputeDevice::Auto, ComputeDevice::Cpu, ComputeDevice::Cuda(1), ComputeDevice::Metal(0)] {
            assert_eq!(choice.to_string().parse::<ComputeDevice>(), Ok(choice));
        }
        assert_eq!("cuda".parse::<ComputeDevice>(), Ok(ComputeDevice::Cuda(0)));
        assert!("gpu".parse::<ComputeDevice>().is_err());
        assert!("cuda:x".parse::<ComputeDevice>().is_err());
        assert!("cpu:1".parse::<ComputeDevice>().is_err());
    }

    #[test]
    fn cpu_and_auto_open_and_a_missing_gpu_says_why() {
        assert!(ComputeDevice::Cpu.device().is_ok_and(|d| d.is_cpu()));
        // Auto always gives a device: a GPU when one is built in and answers, else the CPU.
        let auto = ComputeDevice::Auto.device().expect("auto never fails");
        if !cfg!(feature = "cuda") && !cfg!(feature = "metal") {
            assert!(auto.is_cpu());
            assert_eq!(device_name(&auto), "cpu");
        }
        if !cfg!(feature = "cuda") {
            let e = ComputeDevice::Cuda(0).device().expect_err("no cuda in this build");
            assert!(e.to_string().contains("`cuda` feature"), "{e}");
        }
        if !cfg!(feature = "metal") {
            let e = ComputeDevice::Metal(0).device().expect_err("no metal in this build");
            assert!(e.to_string().contains("cuda:0") || e.to_string().contains("metal:0"), "{e}");
        }
    }
}
