//! Restart policy for supervised daemons: restart at once after the first
//! crash, then back off exponentially so a daemon that cannot start does not
//! spin; a daemon that stayed up long enough is considered healthy again.

use std::time::Duration;

/// Exponential restart backoff with a reset after a stable run.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    pub first: Duration,
    pub base: Duration,
    pub max: Duration,
    /// A run at least this long resets the failure count.
    pub stable_after: Duration,
    failures: u32,
}

impl Default for RestartBackoff {
    fn default() -> Self {
        Self::new(
            Duration::from_millis(200),
            Duration::from_secs(1),
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
    }
}

impl RestartBackoff {
    pub fn new(first: Duration, base: Duration, max: Duration, stable_after: Duration) -> Self {
        Self {
            first,
            base,
            max,
            stable_after,
            failures: 0,
        }
    }

    /// Records an exit after a run of `ran_for` and returns how long to wait
    /// before the next start.
    pub fn on_exit(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= self.stable_after {
            self.failures = 0;
        }
        self.failures += 1;
        self.delay_after(self.failures)
    }

    /// The wait after `failures` consecutive failures (0 or 1: `first`),
    /// without recording anything: for a runtime that keeps the count
    /// elsewhere (the Kubernetes operator keeps it on the object it retries).
    pub fn delay_after(&self, failures: u32) -> Duration {
        match failures {
            0 | 1 => self.first,
            n => {
                let exp = (n - 2).min(16);
                self.base.saturating_mul(1u32 << exp).min(self.max)
            }
        }
    }

    /// Consecutive failures without a stable run in between.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_restart_is_quick_then_grows_to_the_cap() {
        let mut b = RestartBackoff::default();
        let short = Duration::from_secs(1);
        let delays: Vec<_> = (0..8).map(|_| b.on_exit(short).as_millis()).collect();
        assert_eq!(delays, [200, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(b.failures(), 8);
    }

    #[test]
    fn delay_after_matches_the_recorded_sequence() {
        let mut b = RestartBackoff::default();
        let fresh = RestartBackoff::default();
        for n in 1..10 {
            assert_eq!(
                b.on_exit(Duration::from_secs(1)),
                fresh.delay_after(n),
                "{n}"
            );
        }
        assert_eq!(fresh.delay_after(0), fresh.first);
    }

    #[test]
    fn stable_run_resets() {
        let mut b = RestartBackoff::default();
        for _ in 0..5 {
            b.on_exit(Duration::from_secs(1));
        }
        assert_eq!(
            b.on_exit(Duration::from_secs(120)),
            Duration::from_millis(200)
        );
        assert_eq!(b.failures(), 1);
    }
}
