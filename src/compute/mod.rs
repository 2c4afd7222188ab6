//! Where candle's CPU kernels run. Candle parallelises most operations with rayon; on this crate's
//! small tensors handing each operation to a pool thread and waiting for it costs more than the
//! operation (a 9x128 layer norm: 21 µs called from an ordinary thread, 2.3 µs from inside a
//! pool thread, where rayon runs the work inline). [`single_threaded`] runs a whole computation
//! on a one-thread rayon pool whose worker is the calling thread itself, so nothing is handed
//! over. The performance chapter of plugin-docs has the measurements.
//!
//! The module also holds the fused matrix products CMANet and BlazePose run on ([`matmul`]) and
//! the products with pruned weights the BlazePose detector's pointwise layers run on ([`sparse`]),
//! the choice of candle device ([`ComputeDevice`]), and which SIMD kernels they run ([`SimdLevel`]).

mod device;
pub mod matmul;
mod simd;
pub mod sparse;
mod threads;

pub use device::{ComputeDevice, DeviceError, device_name};
pub use simd::SimdLevel;
pub use threads::{available_cores, parallel_map, single_threaded};
