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

/// Runs `work` on every item on up to `jobs` scoped threads (each takes the next item as it
/// finishes one) and returns the results in the items' order; `None` for the items of a worker
/// that panicked. With one job the items run on the calling thread.
pub fn parallel_map<I: Send, T: Send>(items: Vec<I>, jobs: usize, work: impl Fn(I) -> T + Sync) -> Vec<Option<T>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = items.len();
    let items: Vec<Mutex<Option<I>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let results: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= n {
                return;
            }
            let Some(item) = items[i].lock().ok().and_then(|mut slot| slot.take()) else { continue };
            let result = work(item);
            if let Ok(mut slot) = results[i].lock() {
                *slot = Some(result);
            }
        }
    };
    let workers = jobs.clamp(1, n.max(1));
    if workers == 1 {
        worker();
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(worker)).collect();
            for handle in handles {
                // A panicking worker leaves its item's result empty; the others go on.
                let _ = handle.join();
            }
        });
    }
    results.into_iter().map(|slot| slot.into_inner().ok().flatten()).collect()
}

/// The number of cores this machine offers (1 when it cannot be told).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
