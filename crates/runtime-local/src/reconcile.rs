//! After bring-up, the supervisor keeps the cluster as the spec wants it:
//! each [`Part`] (mon failover, disks becoming OSDs, OSD removals ...) looks
//! at the cluster every few seconds — or at once on SIGHUP, which other
//! `rookery` commands send when they have recorded a request — and acts.
//!
//! Every part runs in its own task, so a slow step of one (a mon failover
//! takes tens of seconds) never holds up another. A part keeps what it is
//! doing in files under the cluster directory, so a supervisor killed
//! mid-step resumes it on the next `up`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rookery_core::DesiredCluster;
use tokio::sync::watch;

use crate::ceph_ops::Admin;
use crate::error::Result;
use crate::events::EventLog;
use crate::layout::Layout;
use crate::supervisor::Supervisor;

/// What every part works with.
#[derive(Debug, Clone)]
pub struct Context {
    pub layout: Layout,
    pub desired: Arc<DesiredCluster>,
    pub admin: Admin,
    pub sup: Supervisor,
    pub events: EventLog,
}

/// A boxed future, so parts can be kept in one list.
pub type Step<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// One thing the supervisor keeps true after bring-up. `C` is what it works
/// with: [`Context`] in the supervisor.
pub trait Part<C = Context>: Send {
    /// For logs: `mons`, `devices`.
    fn name(&self) -> &'static str;
    /// How often to look when nothing wakes it.
    fn interval(&self) -> Duration {
        DEFAULT_INTERVAL
    }
    /// Looks once and acts on what it sees. An error is logged and the
    /// part tries again at its next turn.
    fn tick<'a>(&'a mut self, ctx: &'a C) -> Step<'a>;
}

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// Wakes every part at once (SIGHUP).
#[derive(Debug, Clone)]
pub struct Waker(Arc<watch::Sender<u64>>);

impl Waker {
    pub fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Starts every part in its own task; they run until the returned handles
/// are aborted (the supervisor does that before it stops the daemons).
pub fn start<C: Clone + Send + Sync + 'static>(
    ctx: C,
    parts: Vec<Box<dyn Part<C>>>,
) -> (Waker, Vec<tokio::task::JoinHandle<()>>) {
    let (tx, rx) = watch::channel(0u64);
    let tasks = parts
        .into_iter()
        .map(|part| tokio::spawn(run_part(ctx.clone(), part, rx.clone())))
        .collect();
    (Waker(Arc::new(tx)), tasks)
}

async fn run_part<C>(ctx: C, mut part: Box<dyn Part<C>>, mut wake: watch::Receiver<u64>) {
    let mut last_error: Option<String> = None;
    loop {
        match part.tick(&ctx).await {
            Ok(()) => {
                if last_error.take().is_some() {
                    tracing::info!(part = part.name(), "reconcile step works again");
                }
            }
            Err(e) => {
                let msg = e.to_string();
                // The same failure every 2 s would drown the log: say it once.
                if last_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(part = part.name(), error = %msg, "reconcile step failed");
                    last_error = Some(msg);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(part.interval()) => {}
            changed = wake.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counter(Arc<AtomicU32>, Duration);

    impl Part<()> for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }
        fn interval(&self) -> Duration {
            self.1
        }
        fn tick<'a>(&'a mut self, _ctx: &'a ()) -> Step<'a> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                // An error must not end the part's loop.
                if n == 0 {
                    Err(crate::Error::Refused("first turn fails".into()))
                } else {
                    Ok(())
                }
            })
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn parts_tick_on_their_interval_survive_errors_and_wake_at_once() {
        let slow = Arc::new(AtomicU32::new(0));
        let parts: Vec<Box<dyn Part<()>>> =
            vec![Box::new(Counter(slow.clone(), Duration::from_secs(60)))];
        let (waker, tasks) = start((), parts);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(slow.load(Ordering::SeqCst), 1, "first turn at start");
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(
            slow.load(Ordering::SeqCst),
            2,
            "after an interval, despite the error"
        );
        waker.wake();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(slow.load(Ordering::SeqCst), 3, "woken at once");
        for t in tasks {
            t.abort();
        }
    }
}
