//! The CSI plugin's metrics and liveness endpoint against the shared real
//! cluster: exact per-method counts, errors by gRPC code and latency
//! histograms after real calls, `csi_liveness` from the plugin's self-probe,
//! `/healthz`, and the URL `rookery status` shows for the plugin `up` started.
//!
//! Tests that count calls start their own plugin process, so that no other
//! test's calls land in their numbers.

#[allow(dead_code)]
#[path = "bodies/ceph_layer.rs"]
mod bodies;
mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::csi::create_request;
use rookery_csi::grpc::CsiEndpoint;
use rookery_csi::rbd::connect_controller;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CREATE: &str = "/csi.v1.Controller/CreateVolume";
/// Long enough for a plugin to connect to the cluster and probe itself once.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `rookery csi` process with metrics on a free loopback port; killed
/// (by its pid) on drop, even when the test fails.
struct Plugin {
    child: Child,
    endpoint: CsiEndpoint,
    metrics: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Plugin {
    fn start(conf: &Path, keyring: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("csi.sock");
        let log = dir.path().join("plugin.log");
        let port = rookery_runtime_local::ports::free_loopback_port().expect("a free port");
        let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(common::BIN)
            .args(["csi", "--type", "rbd", "--controller", "--user", "admin"])
            .arg("--endpoint")
            .arg(format!("unix://{}", sock.display()))
            .arg("--conf")
            .arg(conf)
            .arg("--keyring")
            .arg(keyring)
            .args(["--metrics-address", &metrics.to_string()])
            .args(["--liveness-interval", "1"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("plugin log"))
            .spawn()
            .expect("start rookery csi");
        Self {
            child,
            endpoint: CsiEndpoint::Unix(sock),
            metrics,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/healthz` answers 200, i.e. the self-probe went through.
    async fn wait_live(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("plugin exited with {status}:\n{}", self.log());
            }
            let last = get(self.metrics, "/healthz").await;
            if matches!(&last, Ok((200, _, _))) {
                return;
            }
            if start.elapsed() > START_TIMEOUT {
                panic!(
                    "plugin not live after {START_TIMEOUT:?}: {last:?}\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET: (status, headers, body).
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("no answer within 10 s"))??;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_owned(), body.to_owned()))
}

/// Sample lines of an exposition as `name{labels}` -> value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {l}"));
            (series.to_owned(), value)
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_calls_errors_and_latency_and_liveness_is_up() {
    let c = common::shared();
    let rados = c.rados().await;
    let (conf, keyring) = (c.conf(), c.keyring());
    bodies::in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let mut plugin = Plugin::start(&conf, &keyring);
        plugin.wait_live().await;
        let mut ctl = connect_controller(&plugin.endpoint).await.expect("connect");
        let req = create_request(&common::unique("pvc"), 1 << 20, rados.fsid(), &pool);
        // Twice the same name: both succeed (the second finds the first).
        for _ in 0..2 {
            ctl.create_volume(req.clone())
                .await
                .unwrap_or_else(|st| panic!("CreateVolume: {st:?}\n{}", plugin.log()));
        }
        let mut nameless = req.clone();
        nameless.name.clear();
        let st = ctl.create_volume(nameless).await.expect_err("no name");
        assert_eq!(st.code(), tonic::Code::InvalidArgument, "{st:?}");

        let (status, head, body) = get(plugin.metrics, "/metrics").await.expect("scrape");
        assert_eq!(status, 200, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        let s = samples(&body);
        let at = |series: String| {
            *s.get(&series)
                .unwrap_or_else(|| panic!("no {series} in\n{body}"))
        };
        let m = format!("method=\"{CREATE}\"");
        assert_eq!(at(format!("csi_grpc_requests_total{{{m}}}")), 3.0);
        assert_eq!(
            at(format!(
                "csi_grpc_errors_total{{{m},code=\"InvalidArgument\"}}"
            )),
            1.0
        );
        let create_errors: Vec<_> = s
            .keys()
            .filter(|k| k.starts_with("csi_grpc_errors_total{") && k.contains(&m))
            .collect();
        assert_eq!(create_errors.len(), 1, "{create_errors:?}");
        let duration = "csi_grpc_request_duration_seconds";
        assert_eq!(at(format!("{duration}_count{{{m}}}")), 3.0);
        assert_eq!(at(format!("{duration}_bucket{{{m},le=\"+Inf\"}}")), 3.0);
        assert_eq!(at(format!("{duration}_bucket{{{m},le=\"60\"}}")), 3.0);
        assert!(at(format!("{duration}_sum{{{m}}}")) > 0.0);
        for name in [
            "csi_liveness",
            "csi_grpc_requests_total",
            "csi_grpc_errors_total",
            duration,
        ] {
            assert!(body.contains(&format!("# HELP {name} ")), "{name}\n{body}");
        }
        assert!(body.contains("# TYPE csi_liveness gauge"), "{body}");
        assert!(
            body.contains(&format!("# TYPE {duration} histogram")),
            "{body}"
        );
        assert_eq!(at("csi_liveness".into()), 1.0);
        // The self-probe itself goes over the socket and is counted.
        assert!(at("csi_grpc_requests_total{method=\"/csi.v1.Identity/Probe\"}".into()) >= 1.0);

        let (status, _, body) = get(plugin.metrics, "/healthz").await.expect("healthz");
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        let (status, _, body) = get(plugin.metrics, "/nope").await.expect("404");
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("/metrics"), "{body}");
    })
    .await;
}

#[test]
fn a_non_loopback_metrics_address_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("csi.sock");
    let o = Command::new(common::BIN)
        .args([
            "csi",
            "--type",
            "rbd",
            "--controller",
            "--conf",
            "/nonexistent",
        ])
        .arg("--endpoint")
        .arg(format!("unix://{}", sock.display()))
        .args(["--metrics-address", "0.0.0.0:9080"])
        .output()
        .expect("run rookery csi");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{}", common::text(&o));
    assert!(
        err.contains("--metrics-address") && err.contains("0.0.0.0") && err.contains("127.0.0.1"),
        "{err}"
    );
    assert!(!sock.exists());
}

/// `up` gives every plugin (RBD and CephFS, controller and node) a metrics
/// port from the spec; `status` shows the URLs, and each endpoint answers with
/// its plugin live.
#[tokio::test]
async fn status_shows_the_metrics_url_of_the_plugin_up_started() {
    let c = common::shared();
    let s = c.status();
    let metrics = |driver: &str| s["csi_metrics"][driver].as_str();
    let node = |driver: &str| s["csi_node"][driver]["metrics"].as_str();
    let (rbd, cephfs) = ("rbd.csi.ceph.com", "cephfs.csi.ceph.com");
    let spec = std::fs::read_to_string(c.dir.join("cluster.yaml")).unwrap();
    let o = common::rookery(&["status", "--dir", c.dir_str()]);
    // The shared cluster has a filesystem, so the CephFS plugins run too.
    for (url, key) in [
        (metrics(rbd), "csiMetrics"),
        (node(rbd), "csiNodeMetrics"),
        (metrics(cephfs), "csiCephfsMetrics"),
        (node(cephfs), "csiCephfsNodeMetrics"),
    ] {
        let url = url.unwrap_or_else(|| panic!("no {key} URL in status: {s:#}"));
        let port: u16 = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected metrics URL {url}"));
        assert!(spec.contains(&format!("{key}: {port}")), "{spec}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(url),
            "{}",
            common::text(&o)
        );
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        loop {
            let last = get(addr, "/healthz").await;
            if matches!(&last, Ok((200, _, _))) {
                break;
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "the plugin behind {url} is not live: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let (status, _, body) = get(addr, "/metrics").await.expect("scrape");
        assert_eq!(status, 200);
        assert_eq!(samples(&body).get("csi_liveness"), Some(&1.0), "{body}");
    }
}
