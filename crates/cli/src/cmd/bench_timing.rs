//! Timing for the benchmark commands: run an operation n times on c workers and
//! report latency percentiles and wall time.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Latencies of one batch of operations.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figures {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub wall_secs: f64,
}

/// Runs `op(0..n)` on `c` workers that each take the next index; per-op
/// latencies and the wall time of the whole batch. The first error fails it.
pub(crate) async fn timed<F, Fut>(n: usize, c: usize, op: F) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..c.min(n.max(1)))
        .map(|_| {
            let (next, op) = (next.clone(), op.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, anyhow::Error>(lat);
                    }
                    let t = Instant::now();
                    op(i).await?;
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(n);
    let mut failure = None;
    for w in workers {
        match w.await? {
            Ok(l) => lat.extend(l),
            Err(e) => {
                // Stop the others at their next pick.
                next.store(n, Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let wall_secs = started.elapsed().as_secs_f64();
    lat.sort();
    Ok(Figures {
        p50_ms: ms(percentile(&lat, 0.50)),
        p99_ms: ms(percentile(&lat, 0.99)),
        max_ms: ms(lat.last().copied().unwrap_or_default()),
        wall_secs,
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn report(text: bool, what: &str, f: &Figures) {
    if text {
        println!(
            "  {what:<22} p50 {:8.2} ms  p99 {:8.2} ms  wall {:6.2} s",
            f.p50_ms, f.p99_ms, f.wall_secs
        );
    }
}
