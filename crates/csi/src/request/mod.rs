//! One CSI request's life, the same for every driver: its error type and the
//! runner that gives it a deadline.
//!
//! The body runs in a task of its own that goes on past the deadline: a
//! librados call cannot be stopped, and one that lands after a retry started
//! (an image created, a key removed) would race with it. The reply is
//! DEADLINE_EXCEEDED all the same; the work's locks stay with it, marked
//! abandoned, so a retry waits for it instead of being refused ABORTED
//! ([`crate::locks`]). Each librados call is bounded by the connection's op
//! timeouts, so the work always ends.

pub(crate) mod capabilities;
pub(crate) mod capacity;
#[macro_use]
pub(crate) mod controller;
mod error;
pub(crate) mod paging;
pub(crate) mod params;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tonic::{Response, Status};

pub use error::RequestError;
pub(crate) use error::Result;

use crate::locks::Request as LockScope;

/// Runs `work` for RPC `rpc` under `deadline`. `in_flight` is held until the
/// work ends (a driver's record of busy time, e.g. to defer background purges).
pub(crate) async fn run<T, Fut>(
    rpc: &'static str,
    deadline: Duration,
    in_flight: impl Send + 'static,
    work: Fut,
) -> std::result::Result<Response<T>, Status>
where
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let scope = LockScope::new();
    // On every way out, the caller going away included: whatever of the
    // request still runs (past the deadline, or work after the reply) holds
    // its locks as one a retry waits for instead of being refused.
    let _abandon = AbandonOnDrop(scope.clone());
    let mut task = tokio::spawn(scope.scope(async move {
        let result = work.await;
        drop(in_flight);
        result
    }));
    let result = match tokio::time::timeout(deadline, &mut task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(_)) => Err(RequestError::Unavailable(format!(
            "{rpc} was cancelled: the plugin is shutting down; retry"
        ))),
        Err(_) => {
            tracing::warn!(
                rpc,
                deadline_ms = deadline.as_millis() as u64,
                "request past its deadline; its Ceph calls finish in the background"
            );
            Err(RequestError::Deadline { rpc, deadline })
        }
    };
    respond(rpc, result)
}

/// A request's result as gRPC answers it; failures are logged with their code.
pub(crate) fn respond<T>(
    rpc: &'static str,
    result: Result<T>,
) -> std::result::Result<Response<T>, Status> {
    match result {
        Ok(reply) => Ok(Response::new(reply)),
        Err(e) => {
            tracing::debug!(rpc, code = %e.code(), error = %e, "request failed");
            Err(e.into())
        }
    }
}

/// Marks a request abandoned when dropped: nobody awaits its reply any more.
struct AbandonOnDrop(Arc<LockScope>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
