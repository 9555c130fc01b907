//! The Identity service served on a unix socket and called with the generated
//! client over the same socket; socket ownership rules of the server.

use std::future::Future;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::plugin_capability::{self, service, volume_expansion};
use rookery_csi::grpc::proto::v1::{
    GetPluginCapabilitiesRequest, GetPluginInfoRequest, ProbeRequest,
};
use rookery_csi::grpc::{
    bind, connect, serve, CsiEndpoint, DriverKind, IdentityService, Routes, ServeError,
    RBD_DRIVER_NAME,
};
use tokio::sync::oneshot;
use tonic::transport::Channel;

const STEP: Duration = Duration::from_secs(10);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("rookery-csi-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        Self(dir)
    }
    fn socket(&self) -> PathBuf {
        self.0.join("csi.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
}

fn unix_endpoint(path: &Path) -> CsiEndpoint {
    CsiEndpoint::parse(&format!("unix://{}", path.display())).unwrap()
}

/// An Identity service whose readiness follows `ready`.
fn identity(ready: Arc<AtomicBool>) -> IdentityService {
    IdentityService::for_driver(DriverKind::Rbd).with_readiness(move || {
        let ready = ready.clone();
        async move {
            if ready.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("not connected to the cluster yet")
            }
        }
    })
}

async fn client(endpoint: &CsiEndpoint) -> IdentityClient<Channel> {
    IdentityClient::new(within("connect", connect(endpoint)).await.unwrap())
}

#[tokio::test]
async fn identity_over_unix_socket() {
    let dir = TempDir::new();
    let sock = dir.socket();
    let endpoint = unix_endpoint(&sock);
    let ready = Arc::new(AtomicBool::new(false));

    let listener = within("bind", bind(&endpoint)).await.unwrap();
    let meta = std::fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);

    let (stop, stopped) = oneshot::channel::<()>();
    let routes = Routes::new(identity(ready.clone()).into_server());
    let server = tokio::spawn(listener.serve(routes, async {
        let _ = stopped.await;
    }));

    let mut client = client(&endpoint).await;

    let info = within(
        "GetPluginInfo",
        client.get_plugin_info(GetPluginInfoRequest {}),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(info.name, RBD_DRIVER_NAME);
    assert_eq!(info.vendor_version, env!("CARGO_PKG_VERSION"));

    let caps = within(
        "GetPluginCapabilities",
        client.get_plugin_capabilities(GetPluginCapabilitiesRequest {}),
    )
    .await
    .unwrap()
    .into_inner()
    .capabilities;
    let kinds: Vec<_> = caps.iter().filter_map(|c| c.r#type).collect();
    assert_eq!(
        kinds,
        vec![
            plugin_capability::Type::Service(plugin_capability::Service {
                r#type: service::Type::ControllerService as i32
            }),
            plugin_capability::Type::VolumeExpansion(plugin_capability::VolumeExpansion {
                r#type: volume_expansion::Type::Online as i32
            }),
        ]
    );

    // Probe follows the readiness check, and "not ready" is an answer, not an error.
    let probe = within("Probe", client.probe(ProbeRequest {}))
        .await
        .unwrap();
    assert_eq!(probe.into_inner().ready, Some(false));
    ready.store(true, Ordering::SeqCst);
    let probe = within("Probe", client.probe(ProbeRequest {}))
        .await
        .unwrap();
    assert_eq!(probe.into_inner().ready, Some(true));
    ready.store(false, Ordering::SeqCst);
    let probe = within("Probe", client.probe(ProbeRequest {}))
        .await
        .unwrap();
    assert_eq!(probe.into_inner().ready, Some(false));

    // A second server on the same socket is refused and leaves the first alone.
    let second = within(
        "second serve",
        serve(
            &endpoint.to_string(),
            Routes::new(identity(ready.clone()).into_server()),
            std::future::pending(),
        ),
    )
    .await;
    match second {
        Err(err @ ServeError::InUse { .. }) => {
            assert!(
                err.to_string().contains(&sock.display().to_string()),
                "{err}"
            );
        }
        other => panic!("second server on a live socket: {other:?}"),
    }
    assert!(sock.exists(), "the refused server removed the live socket");
    let info = within(
        "GetPluginInfo again",
        client.get_plugin_info(GetPluginInfoRequest {}),
    )
    .await
    .unwrap();
    assert_eq!(info.into_inner().name, RBD_DRIVER_NAME);

    // Shutdown stops the server and removes its socket.
    stop.send(()).unwrap();
    within("server shutdown", server).await.unwrap().unwrap();
    assert!(!sock.exists(), "socket left behind after shutdown");
}

#[tokio::test]
async fn stale_socket_is_replaced() {
    let dir = TempDir::new();
    let sock = dir.socket();
    // A socket file nobody listens on, as left by a killed plugin.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());

    let endpoint = unix_endpoint(&sock);
    let (stop, stopped) = oneshot::channel::<()>();
    let endpoint_arg = endpoint.to_string();
    let routes = Routes::new(IdentityService::for_driver(DriverKind::CephFs).into_server());
    let server = tokio::spawn(async move {
        serve(&endpoint_arg, routes, async {
            let _ = stopped.await;
        })
        .await
    });
    // The server binds in the background; retry until it answers.
    let mut client = within("connect after stale socket", async {
        loop {
            if let Ok(channel) = connect(&endpoint).await {
                break IdentityClient::new(channel);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let info = within(
        "GetPluginInfo",
        client.get_plugin_info(GetPluginInfoRequest {}),
    )
    .await
    .unwrap();
    assert_eq!(info.into_inner().name, "cephfs.csi.ceph.com");
    stop.send(()).unwrap();
    within("server shutdown", server).await.unwrap().unwrap();
    assert!(!sock.exists());
}

#[tokio::test]
async fn refuses_to_replace_a_file_that_is_not_a_socket() {
    let dir = TempDir::new();
    let path = dir.socket();
    std::fs::write(&path, b"not a socket").unwrap();
    match within("bind", bind(&unix_endpoint(&path))).await {
        Err(ServeError::NotASocket { .. }) => {}
        other => panic!("bind over a regular file: {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}

#[tokio::test]
async fn identity_over_loopback_tcp() {
    let listener = within(
        "bind",
        bind(&CsiEndpoint::parse("tcp://127.0.0.1:0").unwrap()),
    )
    .await
    .unwrap();
    let endpoint = listener.endpoint().clone();
    assert!(matches!(endpoint, CsiEndpoint::Tcp(addr) if addr.port() != 0));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(listener.serve(
        Routes::new(identity(Arc::new(AtomicBool::new(true))).into_server()),
        async {
            let _ = stopped.await;
        },
    ));
    let mut client = client(&endpoint).await;
    let probe = within("Probe", client.probe(ProbeRequest {}))
        .await
        .unwrap();
    assert_eq!(probe.into_inner().ready, Some(true));
    stop.send(()).unwrap();
    within("server shutdown", server).await.unwrap().unwrap();
}

#[tokio::test]
async fn rejects_routable_tcp_endpoint() {
    let err = serve(
        "tcp://0.0.0.0:10000",
        Routes::new(IdentityService::for_driver(DriverKind::Rbd).into_server()),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServeError::Endpoint(_)), "{err:?}");
}
