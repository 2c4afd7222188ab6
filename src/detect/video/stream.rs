//! A video decoded on a thread of its own into a bounded queue: the thread waits while the queue
//! is full, so memory stays flat however slow the consumer; a consumer that wants the newest frame
//! drains the queue. Looping starts the file again after its last frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::time::Duration;

use super::VideoError;
use super::reader::{DecodedFrame, VideoReader};

/// How a [`VideoStream`] plays its file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamSettings {
    /// Where to start, seconds into the video. Default: 0.
    pub start: f64,
    /// Start again from the beginning after the last frame (each pass counted in
    /// [`DecodedFrame::pass`]). Default: false.
    pub looping: bool,
    /// Decoded frames held ready at most. Default: 4.
    pub queue: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self { start: 0.0, looping: false, queue: 4 }
    }
}

/// A video being decoded in the background (see the module's header). Dropping it stops the thread.
pub struct VideoStream {
    reader: VideoReader,
    frames: Receiver<Result<DecodedFrame, VideoError>>,
    stop: Arc<AtomicBool>,
    finished: bool,
}

impl VideoStream {
    /// Starts decoding `reader`'s file with `settings`.
    pub fn spawn(reader: VideoReader, settings: StreamSettings) -> Self {
        let (sender, frames) = sync_channel(settings.queue.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_reader, thread_stop) = (reader.clone(), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("cmanet-video".into())
            .spawn(move || {
                let mut start = settings.start;
                for pass in 0.. {
                    let frames = match thread_reader.frames(start) {
                        Ok(frames) => frames,
                        Err(e) => {
                            let _ = sender.send(Err(e));
                            return;
                        }
                    };
                    let mut delivered = false;
                    for item in frames {
                        if thread_stop.load(Ordering::Relaxed) {
                            return;
                        }
                        delivered |= item.is_ok();
                        if sender.send(item.map(|f| DecodedFrame { pass, ..f })).is_err() {
                            return;
                        }
                    }
                    if !settings.looping || !delivered {
                        return;
                    }
                    start = 0.0;
                }
            })
            .map_or_else(
                |e| {
                    // No thread: say so through the queue itself.
                    let (sender, frames) = sync_channel(1);
                    let _ = sender.send(Err(VideoError::Io { path: reader.path().into(), source: e }));
                    Self { reader: reader.clone(), frames, stop: Arc::clone(&stop), finished: false }
                },
                |_| Self { reader: reader.clone(), frames, stop: Arc::clone(&stop), finished: false },
            )
    }

    /// The file being played.
    pub fn reader(&self) -> &VideoReader {
        &self.reader
    }

    /// The next decoded frame (or error) if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<Result<DecodedFrame, VideoError>> {
        match self.frames.try_recv() {
            Ok(item) => Some(item),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.finished = true;
                None
            }
        }
    }

    /// The next decoded frame (or error), waiting for it at most `timeout`; `None` when none came
    /// in time or the video has ended ([`VideoStream::is_finished`] tells which).
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<DecodedFrame, VideoError>> {
        match self.frames.recv_timeout(timeout) {
            Ok(item) => Some(item),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.finished = true;
                None
            }
        }
    }

    /// The next decoded frame (or error), waiting for it; `None` once the video has ended.
    pub fn next_blocking(&mut self) -> Option<Result<DecodedFrame, VideoError>> {
        let item = self.frames.recv().ok();
        self.finished |= item.is_none();
        item
    }

    /// Whether the video has ended (no frame will come any more); known once a read found the
    /// queue closed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Drop for VideoStream {
    fn drop(&mut self) {
        // The thread ends at its next frame (its send fails once the queue is gone).
        self.stop.store(true, Ordering::Relaxed);
    }
}
