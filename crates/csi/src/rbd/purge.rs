//! The background purge DeleteVolume leaves behind: removing a trashed image's
//! data takes far longer than the move (one RADOS delete per object: 256 for a
//! 1 GiB image), so it runs after the reply — throttled, and deferred while
//! controller requests are in flight, so it does not slow them down. A purge
//! waits at most [`MAX_DEFERRAL`]; [`Purges::wait`] ends every deferral at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rookery_ceph::rbd;
use rookery_ceph::IoCtx;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Attempts of a purge; a just-unmapped image may briefly still have a watcher.
const PURGE_ATTEMPTS: u32 = 5;
const PURGE_RETRY: Duration = Duration::from_millis(500);
/// Purges running at once (each removes up to `rbd_concurrent_management_ops`
/// objects at a time).
const CONCURRENT_PURGES: usize = 2;
/// How long the controller must have had no request in flight before a purge starts.
const QUIET: Duration = Duration::from_millis(200);
/// The longest a purge defers to requests, so a busy controller still purges.
const MAX_DEFERRAL: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
/// Outcomes kept for [`Purges::wait`]; older ones are dropped so a long-running
/// controller nobody asks does not grow without bound.
const KEPT_OUTCOMES: usize = 1024;

/// How one background purge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeOutcome {
    pub pool: String,
    pub image: String,
    pub image_id: String,
    /// None when the trash entry is gone; otherwise why it stayed.
    pub error: Option<String>,
}

/// Background purges: tasks still running, outcomes not yet reported, and the
/// controller's requests in flight they yield to. Clones share all of it.
#[derive(Debug, Clone)]
pub(crate) struct Purges(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    state: Mutex<PurgeState>,
    running_at_once: Semaphore,
    requests: AtomicUsize,
    last_request_end: Mutex<Instant>,
    /// How many wait for the purges; while any does, no more deferring.
    hurry: AtomicUsize,
}

#[derive(Debug, Default)]
struct PurgeState {
    running: Vec<JoinHandle<()>>,
    done: VecDeque<PurgeOutcome>,
}

/// A controller request in flight, counted until dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *lock(&self.0.last_request_end) = Instant::now();
        self.0.requests.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Default for Purges {
    fn default() -> Self {
        Self(Arc::new(Shared {
            state: Mutex::default(),
            running_at_once: Semaphore::new(CONCURRENT_PURGES),
            requests: AtomicUsize::new(0),
            last_request_end: Mutex::new(Instant::now()),
            hurry: AtomicUsize::new(0),
        }))
    }
}

impl Purges {
    /// Counts a controller request as in flight until the guard drops.
    pub fn request(&self) -> InFlight {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        InFlight(self.0.clone())
    }

    /// Purges trash entry `image_id` (once image `image`) in the background.
    pub fn start(&self, io: IoCtx, image: String, image_id: String) {
        let shared = self.0.clone();
        let task = tokio::spawn(async move {
            let _turn = shared.running_at_once.acquire().await;
            shared.defer().await;
            let error = purge(&io, &image, &image_id).await;
            let outcome = PurgeOutcome {
                pool: io.pool().to_owned(),
                image,
                image_id,
                error,
            };
            let mut state = lock(&shared.state);
            if state.done.len() == KEPT_OUTCOMES {
                state.done.pop_front();
            }
            state.done.push_back(outcome);
        });
        let mut state = lock(&self.0.state);
        state.running.retain(|t| !t.is_finished());
        state.running.push(task);
    }

    /// Waits for the running purges, deferring no more; returns every outcome not
    /// reported before.
    pub async fn wait(&self) -> Vec<PurgeOutcome> {
        self.0.hurry.fetch_add(1, Ordering::SeqCst);
        let running = std::mem::take(&mut lock(&self.0.state).running);
        for task in running {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        self.0.hurry.fetch_sub(1, Ordering::SeqCst);
        lock(&self.0.state).done.drain(..).collect()
    }
}

impl Shared {
    /// Returns once no request has been in flight for [`QUIET`], after
    /// [`MAX_DEFERRAL`], or when someone waits for the purges.
    async fn defer(&self) {
        let started = Instant::now();
        loop {
            let quiet = self.requests.load(Ordering::SeqCst) == 0
                && lock(&self.last_request_end).elapsed() >= QUIET;
            if quiet || self.hurry.load(Ordering::SeqCst) > 0 || started.elapsed() >= MAX_DEFERRAL {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the trash entry, retrying a few times; None once it is gone.
async fn purge(io: &IoCtx, image: &str, image_id: &str) -> Option<String> {
    let mut error = None;
    for attempt in 1..=PURGE_ATTEMPTS {
        match rbd::trash_remove(io, image_id, true).await {
            Ok(()) => return done(io, image, None),
            Err(e) if e.is_not_found() => return done(io, image, None),
            Err(e) => {
                tracing::debug!(pool = io.pool(), image, attempt, error = %e, "trash purge failed");
                error = Some(e.to_string());
                if attempt < PURGE_ATTEMPTS {
                    tokio::time::sleep(PURGE_RETRY).await;
                }
            }
        }
    }
    done(io, image, error)
}

fn done(io: &IoCtx, image: &str, error: Option<String>) -> Option<String> {
    match &error {
        None => tracing::debug!(pool = io.pool(), image, "image purged from trash"),
        Some(e) => tracing::warn!(
            pool = io.pool(),
            image,
            error = e,
            "image left in the trash; remove it with `rbd trash rm`"
        ),
    }
    error
}
