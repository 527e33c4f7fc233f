//! A progress line on stderr every few seconds for long phases.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// How often progress is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Counters of a phase with `total` items.
#[derive(Debug, Default)]
pub struct Counters {
    pub done: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub fn record(&self, ok: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Prints `<label>: done/total (errors), elapsed` every [`PROGRESS_EVERY`]
/// until dropped.
pub struct Progress {
    ticker: JoinHandle<()>,
}

impl Progress {
    pub fn start(label: impl Into<String>, total: usize, counters: Arc<Counters>) -> Self {
        let label = label.into();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
            loop {
                interval.tick().await;
                let done = counters.done.load(Ordering::Relaxed);
                let errors = counters.errors.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "  {label}: {done}/{total} done, {errors} errors, {secs:.0} s ({:.0}/s)",
                    done as f64 / secs.max(1e-9)
                );
            }
        });
        Self { ticker }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}
