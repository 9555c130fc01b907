//! The tower layer on the tonic server that records every call into
//! [`RpcMetrics`]: method (the request path), gRPC code, latency.
//!
//! CSI calls are unary. tonic answers a failed unary call "trailers-only":
//! the `grpc-status` is in the response headers. A successful call carries
//! `grpc-status: 0` in the trailers after the message, so a response whose
//! headers have no `grpc-status` counts as OK. Latency runs until the
//! response headers are ready, i.e. until the handler has finished.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http::{HeaderMap, Request, Response};
use tower::{Layer, Service};

use super::rpc::RpcMetrics;

/// Wraps a service so that its calls are recorded; without metrics it passes
/// calls through untouched, so the server has one type either way.
#[derive(Debug, Clone, Default)]
pub struct RecordRpcLayer {
    metrics: Option<RpcMetrics>,
}

impl RecordRpcLayer {
    pub fn new(metrics: Option<RpcMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RecordRpcLayer {
    type Service = RecordRpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordRpc {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`RecordRpcLayer`] makes.
#[derive(Debug, Clone)]
pub struct RecordRpc<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RecordRpc<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(metrics) = self.metrics.clone() else {
            return Box::pin(self.inner.call(req));
        };
        let method = req.uri().path().to_owned();
        let start = Instant::now();
        let call = self.inner.call(req);
        Box::pin(async move {
            let result = call.await;
            let code = match &result {
                Ok(response) => grpc_code(response.headers()),
                // The transport failed the call before any status existed.
                Err(_) => tonic::Code::Unknown,
            };
            metrics.record(&method, code, start.elapsed());
            result
        })
    }
}

/// The call's code from the response headers: OK when absent (the status is
/// then in the trailers), Unknown when unreadable.
pub fn grpc_code(headers: &HeaderMap) -> tonic::Code {
    match headers.get("grpc-status") {
        None => tonic::Code::Ok,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i32>().ok())
            .map_or(tonic::Code::Unknown, tonic::Code::from_i32),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use super::*;

    #[test]
    fn code_from_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(grpc_code(&h), tonic::Code::Ok);
        h.insert("grpc-status", "3".parse().unwrap());
        assert_eq!(grpc_code(&h), tonic::Code::InvalidArgument);
        h.insert("grpc-status", "0".parse().unwrap());
        assert_eq!(grpc_code(&h), tonic::Code::Ok);
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(grpc_code(&h), tonic::Code::Unknown);
    }

    #[tokio::test]
    async fn records_path_code_and_latency() {
        let metrics = RpcMetrics::default();
        let inner = tower::service_fn(|req: Request<()>| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let mut response = Response::new(());
            if req.uri().path().ends_with("Bad") {
                response
                    .headers_mut()
                    .insert("grpc-status", "5".parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        });
        let mut svc = RecordRpcLayer::new(Some(metrics.clone())).layer(inner);
        for path in ["/s/Good", "/s/Bad", "/s/Good"] {
            let req = Request::builder().uri(path).body(()).unwrap();
            svc.call(req).await.unwrap();
        }
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(
            out.contains("csi_grpc_requests_total{method=\"/s/Good\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("csi_grpc_errors_total{method=\"/s/Bad\",code=\"NotFound\"} 1"),
            "{out}"
        );
        assert!(
            !out.contains("csi_grpc_errors_total{method=\"/s/Good\""),
            "{out}"
        );
        // 5 ms of sleep: nothing in the 1 ms and 2.5 ms buckets.
        assert!(
            out.contains(
                "csi_grpc_request_duration_seconds_bucket{method=\"/s/Good\",le=\"0.0025\"} 0"
            ),
            "{out}"
        );
    }

    #[tokio::test]
    async fn without_metrics_it_passes_through() {
        let inner =
            tower::service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(7)) });
        let mut svc = RecordRpcLayer::new(None).layer(inner);
        let req = Request::builder().uri("/a").body(()).unwrap();
        assert_eq!(*svc.call(req).await.unwrap().body(), 7);
    }
}
