//! Running candle's kernels on the calling thread ([`single_threaded`]).

use std::cell::OnceCell;

thread_local! {
    static POOL: OnceCell<Option<rayon::ThreadPool>> = const { OnceCell::new() };
}

/// Runs `f` with candle's kernels single-threaded and inline: on a one-thread rayon pool whose
/// worker is the calling thread (made on first use; the thread stays that pool's worker, so
/// candle's kernels called on it later run single-threaded too), or directly when already on a
/// rayon thread or when no pool can be made.
pub fn single_threaded<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    POOL.with(|cell| {
        match cell.get_or_init(|| {
            // The calling thread itself becomes the pool's one worker, so nothing is handed over
            // to another thread (waking one, maybe on the other core, cost about 0.5 ms per
            // estimate). From then on this thread counts as a rayon worker: candle's kernels
            // called on it run inline, single-threaded, inside `single_threaded` or not.
            rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().ok()
        }) {
            Some(pool) => pool.install(f),
            None => f(),
        }
    })
}
