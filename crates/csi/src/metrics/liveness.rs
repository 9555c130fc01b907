//! Liveness the way ceph-csi's liveness sidecar measures it: the plugin calls
//! its own Identity/Probe over its CSI endpoint, so the gauge covers the whole
//! path a CO uses (socket, gRPC server, readiness check against the cluster),
//! not just "the process exists".

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rookery_csi_proto::v1::identity_client::IdentityClient;
use rookery_csi_proto::v1::ProbeRequest;

use super::exposition::{family, sample, Kind};
use crate::grpc::{connect, CsiEndpoint};

pub const LIVENESS: &str = "csi_liveness";

/// How long one self-probe may take. Longer than the Identity service's own
/// readiness timeout, so a slow cluster is reported as "not ready" by the
/// plugin rather than as a timeout here.
pub const PROBE_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of the last self-probe. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct Liveness {
    last: Arc<Mutex<Result<(), String>>>,
}

impl Default for Liveness {
    fn default() -> Self {
        Self {
            last: Arc::new(Mutex::new(Err("no self-probe has finished yet".into()))),
        }
    }
}

impl Liveness {
    /// `Ok` if the last probe said ready, else why not.
    pub fn status(&self) -> Result<(), String> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stores a probe's outcome; changes are logged.
    pub fn set(&self, outcome: Result<(), String>) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_ok() != outcome.is_ok() {
            match &outcome {
                Ok(()) => tracing::info!("CSI liveness: self-probe ready"),
                Err(reason) => tracing::warn!(reason = %reason, "CSI liveness: self-probe failed"),
            }
        }
        *last = outcome;
    }

    /// Appends the `csi_liveness` gauge.
    pub fn render(&self, out: &mut String) {
        family(
            out,
            LIVENESS,
            Kind::Gauge,
            "1 if the plugin's last self-probe (Identity/Probe over its own CSI endpoint) said ready, else 0.",
        );
        sample(out, LIVENESS, &[], u8::from(self.status().is_ok()));
    }
}

/// One Identity/Probe call over `endpoint`. An unset `ready` counts as ready,
/// as the CSI spec tells COs to read it.
pub async fn probe_once(endpoint: &CsiEndpoint, timeout: Duration) -> Result<(), String> {
    let call = async {
        let channel = connect(endpoint).await.map_err(|e| with_causes(&e))?;
        let response = IdentityClient::new(channel)
            .probe(ProbeRequest {})
            .await
            .map_err(|st| format!("Probe on {endpoint} failed: {}", st.message()))?;
        match response.into_inner().ready {
            Some(false) => Err(format!(
                "Probe on {endpoint} answered not ready; the plugin's log says why"
            )),
            Some(true) | None => Ok(()),
        }
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(format!("Probe on {endpoint} took longer than {timeout:?}")))
}

/// `err: cause: cause`, so that /healthz says e.g. "No such file or
/// directory" rather than tonic's bare "transport error".
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Probes `endpoint` now and then every `interval`, forever (abort the task
/// to stop).
pub async fn run(endpoint: CsiEndpoint, liveness: Liveness, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    // A probe slower than the interval delays the next one rather than
    // firing a burst to catch up.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        liveness.set(probe_once(&endpoint, PROBE_CALL_TIMEOUT).await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_follows_the_last_outcome() {
        let l = Liveness::default();
        let gauge = |l: &Liveness| {
            let mut out = String::new();
            l.render(&mut out);
            out.lines().last().unwrap().to_owned()
        };
        assert_eq!(gauge(&l), "csi_liveness 0");
        assert!(l.status().unwrap_err().contains("no self-probe"));
        l.set(Ok(()));
        assert_eq!(gauge(&l), "csi_liveness 1");
        l.set(Err("down".into()));
        assert_eq!(gauge(&l), "csi_liveness 0");
        assert_eq!(l.status(), Err("down".into()));
    }

    #[tokio::test]
    async fn probe_of_a_missing_socket_fails_with_the_endpoint() {
        let path = std::env::temp_dir().join(format!("rookery-none-{}.sock", std::process::id()));
        let ep = CsiEndpoint::Unix(path.clone());
        let err = probe_once(&ep, Duration::from_secs(5)).await.unwrap_err();
        assert!(err.contains(&path.display().to_string()), "{err}");
        // The cause, not just tonic's "transport error".
        assert!(err.contains("No such file"), "{err}");
    }
}
