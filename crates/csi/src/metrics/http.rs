//! The HTTP side: `GET /metrics` (Prometheus text) and `GET /healthz` (200
//! while the last self-probe said ready, else 503 with the reason) on a
//! loopback TCP port. Like the CSI endpoint, it has no authentication, so it
//! never listens on a routable address.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::exposition::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use super::Metrics;

/// A client that sends no complete request head within this time is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the metrics endpoint could not start. Messages name the flag.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("--metrics-address {input:?}: expected <loopback ip>:<port>, e.g. 127.0.0.1:9080 or [::1]:9080")]
    BadAddress { input: String },
    #[error("--metrics-address {input:?}: refusing to serve metrics on non-loopback address {ip}; the endpoint has no authentication, so bind 127.0.0.1 or ::1 and scrape from this host")]
    NotLoopback { input: String, ip: IpAddr },
    #[error("--metrics-address {addr}: cannot listen: {source}; is another process (or another plugin) on that port? Choose a free port")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// Parses `--metrics-address`: `127.0.0.1:9080`, `[::1]:9080` or
/// `localhost:9080`; anything not loopback is refused.
pub fn parse_address(input: &str) -> Result<SocketAddr, MetricsError> {
    let trimmed = input.trim();
    let bad = || MetricsError::BadAddress {
        input: input.to_owned(),
    };
    let addr = match trimmed.strip_prefix("localhost:") {
        Some(port) => SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            port.parse().map_err(|_| bad())?,
        ),
        // IP literals only: a name could resolve to a routable address.
        None => trimmed.parse().map_err(|_| bad())?,
    };
    if !addr.ip().is_loopback() {
        return Err(MetricsError::NotLoopback {
            input: input.to_owned(),
            ip: addr.ip(),
        });
    }
    Ok(addr)
}

/// A bound metrics port, ready to serve.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsListener {
    /// Binds `addr` (which must be loopback; see [`parse_address`]).
    pub async fn bind(addr: SocketAddr) -> Result<Self, MetricsError> {
        if !addr.ip().is_loopback() {
            return Err(MetricsError::NotLoopback {
                input: addr.to_string(),
                ip: addr.ip(),
            });
        }
        let bind_err = |source| MetricsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        Ok(Self { listener, addr })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Serves `metrics` until the task is dropped or aborted.
    pub async fn serve(self, metrics: Metrics) {
        tracing::info!(url = %self.url(), "CSI metrics endpoint listening");
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(addr = %self.addr, error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let response = respond(&metrics, &req);
                    async move { Ok::<_, Infallible>(response) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "metrics endpoint: connection ended with an error");
                }
            });
        }
    }
}

/// The answer to one request.
fn respond(metrics: &Metrics, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(path, "/metrics" | "/healthz") {
        return text(
            StatusCode::NOT_FOUND,
            format!("no such path {path}; try /metrics or /healthz\n"),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} answers GET only\n"),
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if path == "/metrics" {
        let mut r = text(StatusCode::OK, metrics.render());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
        return r;
    }
    match metrics.liveness().status() {
        Ok(()) => text(StatusCode::OK, "ok\n".into()),
        Err(reason) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not live: {reason}\n"),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for (input, want) in [
            ("127.0.0.1:9080", "127.0.0.1:9080"),
            ("[::1]:9080", "[::1]:9080"),
            ("localhost:9081", "127.0.0.1:9081"),
            (" 127.0.0.2:1 ", "127.0.0.2:1"),
        ] {
            assert_eq!(
                parse_address(input).unwrap(),
                want.parse::<SocketAddr>().unwrap()
            );
        }
        for input in ["0.0.0.0:9080", "10.1.2.3:9080", "[::]:9080"] {
            let err = parse_address(input).unwrap_err();
            assert!(matches!(err, MetricsError::NotLoopback { .. }), "{input}");
            let msg = err.to_string();
            assert!(
                msg.contains("--metrics-address") && msg.contains("127.0.0.1"),
                "{msg}"
            );
        }
        for input in ["", "9080", "127.0.0.1", "example.com:9080", "localhost:x"] {
            assert!(
                matches!(parse_address(input), Err(MetricsError::BadAddress { .. })),
                "{input}"
            );
        }
    }
}
