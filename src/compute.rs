//! Where candle's CPU kernels run. Candle parallelises most operations with rayon; on this crate's
//! small tensors handing each operation to a pool thread and waiting for it costs more than the
//! operation (a 9x128 layer norm: 21 µs called from an ordinary thread, 2.3 µs from inside a
//! pool thread, where rayon runs the work inline). [`single_threaded`] runs a whole computation
//! on a one-thread rayon pool of the calling thread's own, so only the computation is handed over,
//! once. The performance chapter of plugin-docs has the measurements.

use std::cell::OnceCell;

thread_local! {
    static POOL: OnceCell<Option<rayon::ThreadPool>> = const { OnceCell::new() };
}

/// Runs `f` with candle's kernels single-threaded and inline: on a one-thread rayon pool owned by
/// the calling thread (made on first use), or directly when already on a rayon thread or when no
/// pool can be made.
pub fn single_threaded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    POOL.with(|cell| {
        match cell.get_or_init(|| {
            rayon::ThreadPoolBuilder::new().num_threads(1).thread_name(|_| "cmanet-compute".into()).build().ok()
        }) {
            Some(pool) => pool.install(f),
            None => f(),
        }
    })
}
