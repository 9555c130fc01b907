//! The pieces together, in process: a served Identity service whose
//! readiness is switched, the self-prober, and the HTTP endpoint.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::grpc::{bind, DriverKind, IdentityService, Routes};

#[test]
fn exposition_has_every_family_once_with_help_and_type() {
    let m = Metrics::new();
    m.rpc().record(
        "/csi.v1.Identity/Probe",
        tonic::Code::Ok,
        Duration::from_millis(1),
    );
    m.liveness().set(Ok(()));
    let out = m.render();
    for name in [
        liveness::LIVENESS,
        rpc::REQUESTS,
        rpc::ERRORS,
        rpc::DURATION,
    ] {
        for line in ["# TYPE", "# HELP"] {
            let prefix = format!("{line} {name} ");
            assert_eq!(out.matches(&prefix).count(), 1, "{prefix}\n{out}");
        }
    }
    assert!(out.lines().any(|l| l == "csi_liveness 1"), "{out}");
    // Every sample line is `name[{labels}] value` with a numeric value.
    for line in out.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').expect("a value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

/// `(status, body)` of a GET.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    (status.expect("a status"), body.to_owned())
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn healthz_and_gauge_follow_the_self_probe() {
    let ready = Arc::new(AtomicBool::new(false));
    let check = ready.clone();
    let identity = IdentityService::for_driver(DriverKind::Rbd).with_readiness(move || {
        let ready = check.load(Ordering::SeqCst);
        async move { ready.then_some(()).ok_or("cluster unreachable") }
    });
    let sock = std::env::temp_dir().join(format!("rookery-metrics-{}.sock", std::process::id()));
    let listener = bind(&CsiEndpoint::Unix(sock)).await.expect("bind");
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let ep = MetricsEndpoint::start(loopback, listener.endpoint(), Duration::from_millis(50))
        .await
        .expect("metrics endpoint");
    let listener = listener.with_metrics(ep.metrics().rpc());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener.serve(Routes::new(identity.into_server()), async {
        let _ = stopped.await;
    }));

    let liveness = ep.metrics().liveness().clone();
    wait_until("a probe answering not ready", || {
        liveness.status().is_err_and(|r| r.contains("not ready"))
    })
    .await;
    let (status, body) = get(ep.local_addr(), "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    let (_, body) = get(ep.local_addr(), "/metrics").await;
    assert!(body.lines().any(|l| l == "csi_liveness 0"), "{body}");

    ready.store(true, Ordering::SeqCst);
    wait_until("a probe answering ready", || liveness.status().is_ok()).await;
    assert_eq!(get(ep.local_addr(), "/healthz").await, (200, "ok\n".into()));
    let (status, body) = get(ep.local_addr(), "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.lines().any(|l| l == "csi_liveness 1"), "{body}");
    assert!(
        body.contains("csi_grpc_requests_total{method=\"/csi.v1.Identity/Probe\"}"),
        "{body}"
    );
    assert_eq!(get(ep.local_addr(), "/other").await.0, 404);

    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    drop(ep);
}
