//! ABORTED means "an operation on this volume is in progress, call again"
//! (a CephFS clone still copying, a subvolume with clones in flight): the
//! CLI retries as a CO would, for a while, then says what is still going on.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::{Code, Response, Status};

use super::status_error;

/// How long to keep retrying before giving up.
const PATIENCE: Duration = Duration::from_secs(300);

/// Calls `call` until it answers something other than ABORTED.
pub async fn retry_aborted<T, F, Fut>(mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let deadline = Instant::now() + PATIENCE;
    let mut wait = Duration::from_millis(250);
    loop {
        match call().await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if s.code() == Code::Aborted && Instant::now() < deadline => {
                tracing::debug!(message = s.message(), "plugin busy; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(s) => return Err(status_error(s)),
        }
    }
}
