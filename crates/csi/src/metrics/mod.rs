//! Metrics and liveness of a CSI plugin, for Prometheus and for probes:
//!
//! - `csi_liveness` (gauge): 1 while the plugin's own Identity/Probe, called
//!   over its CSI endpoint every probe interval, says ready; as ceph-csi's
//!   liveness sidecar exports it.
//! - `csi_grpc_requests_total{method}`, `csi_grpc_errors_total{method,code}`
//!   (counters) and `csi_grpc_request_duration_seconds{method}` (histogram,
//!   1 ms to 60 s), recorded by a layer on the gRPC server.
//!
//! Served over HTTP on a loopback port: `GET /metrics` and `GET /healthz`.
//! The text format is written by hand ([`exposition`]); a framework would
//! bring more than these few families need.

pub mod exposition;
pub mod histogram;
pub mod http;
pub mod layer;
pub mod liveness;
pub mod rpc;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use http::{parse_address, MetricsError, MetricsListener};
pub use layer::RecordRpcLayer;
pub use liveness::Liveness;
pub use rpc::RpcMetrics;

use crate::grpc::CsiEndpoint;

/// The default time between two liveness self-probes.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(30);

/// Everything the endpoint exposes. Cheap to clone; clones share the values.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    rpc: RpcMetrics,
    liveness: Liveness,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the gRPC server records into (see `CsiListener::with_metrics`).
    pub fn rpc(&self) -> &RpcMetrics {
        &self.rpc
    }

    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// The exposition text of all families.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.liveness.render(&mut out);
        self.rpc.render(&mut out);
        out
    }
}

/// A running metrics endpoint and liveness prober; both stop when this is
/// dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    metrics: Metrics,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl MetricsEndpoint {
    /// Binds `addr` and serves `/metrics` and `/healthz` there, and probes
    /// `csi_endpoint` now and every `probe_interval`. Bind the CSI endpoint
    /// first: the first probe then waits in its backlog until it serves.
    pub async fn start(
        addr: SocketAddr,
        csi_endpoint: &CsiEndpoint,
        probe_interval: Duration,
    ) -> Result<Self, MetricsError> {
        let listener = MetricsListener::bind(addr).await?;
        let addr = listener.local_addr();
        let metrics = Metrics::new();
        let tasks = vec![
            tokio::spawn(listener.serve(metrics.clone())),
            tokio::spawn(liveness::run(
                csi_endpoint.clone(),
                metrics.liveness().clone(),
                probe_interval,
            )),
        ];
        Ok(Self {
            metrics,
            addr,
            tasks,
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests;
