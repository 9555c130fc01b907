//! Serving CSI services on an endpoint: a unix socket (the normal case) or a
//! loopback TCP port.
//!
//! A unix socket left behind by a crashed plugin is removed before binding, but
//! only after checking that nobody answers on it: a second plugin must not steal
//! the socket of one that is running. The socket is created with mode 0660 and
//! removed again when the server stops.
//!
//! Every server goes through [`CsiListener::serve`]; with
//! [`CsiListener::with_metrics`] each call is also recorded for `/metrics`.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::service::Routes;
use tonic::transport::Server;

use super::endpoint::{CsiEndpoint, EndpointError};
use crate::metrics::{RecordRpcLayer, RpcMetrics};

/// Mode of the socket file: the plugin's user and group (the CO's sidecars) only.
pub const SOCKET_MODE: u32 = 0o660;

/// How long to wait for an existing socket to answer before calling it in use.
const IN_USE_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a CSI server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(
        "CSI socket {}: another process is serving on it; stop that plugin first or pass another --endpoint",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error(
        "CSI socket {}: the path exists and is not a socket; refusing to remove it — move it away or pass another --endpoint",
        path.display()
    )]
    NotASocket { path: PathBuf },
    #[error("CSI endpoint {endpoint}: {doing}: {source}")]
    Io {
        endpoint: String,
        doing: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("CSI server on {endpoint} failed: {source}")]
    Transport {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
}

/// Parses `endpoint`, binds it and serves `routes` until `shutdown` completes;
/// in-flight requests are then finished and a unix socket is removed.
///
/// `routes` holds the services, e.g.
/// `Routes::new(identity.into_server()).add_service(controller_server)`.
pub async fn serve<F>(endpoint: &str, routes: Routes, shutdown: F) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send,
{
    let endpoint = CsiEndpoint::parse(endpoint)?;
    bind(&endpoint).await?.serve(routes, shutdown).await
}

/// Binds `endpoint` without serving yet, so that a caller learns at once whether
/// the socket is usable (and, for `tcp://...:0`, which port it got).
pub async fn bind(endpoint: &CsiEndpoint) -> Result<CsiListener, ServeError> {
    match endpoint {
        CsiEndpoint::Unix(path) => bind_unix(endpoint, path).await,
        CsiEndpoint::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| io_err(endpoint, "bind", e))?;
            let local = listener
                .local_addr()
                .map_err(|e| io_err(endpoint, "read bound address", e))?;
            Ok(CsiListener {
                endpoint: CsiEndpoint::Tcp(local),
                inner: Inner::Tcp(listener),
                metrics: None,
            })
        }
    }
}

/// A bound CSI endpoint, ready to serve.
#[derive(Debug)]
pub struct CsiListener {
    endpoint: CsiEndpoint,
    inner: Inner,
    /// Where calls are recorded, if anywhere.
    metrics: Option<RpcMetrics>,
}

#[derive(Debug)]
enum Inner {
    Unix {
        listener: UnixListener,
        socket: SocketFile,
    },
    Tcp(TcpListener),
}

impl CsiListener {
    /// Where clients connect (for TCP, with the port actually bound).
    pub fn endpoint(&self) -> &CsiEndpoint {
        &self.endpoint
    }

    /// Records every call's method, gRPC code and latency into `metrics`.
    pub fn with_metrics(mut self, metrics: &RpcMetrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// Serves `routes` until `shutdown` completes, then removes a unix socket.
    pub async fn serve<F>(self, routes: Routes, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send,
    {
        let endpoint = self.endpoint.to_string();
        tracing::info!(endpoint = %endpoint, metrics = self.metrics.is_some(), "CSI server listening");
        let mut server = Server::builder().layer(RecordRpcLayer::new(self.metrics));
        let router = server.add_routes(routes);
        let result = match self.inner {
            Inner::Unix { listener, socket } => {
                let result = router
                    .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
                    .await;
                drop(socket);
                result
            }
            Inner::Tcp(listener) => {
                router
                    .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
                    .await
            }
        };
        tracing::info!(endpoint = %endpoint, ok = result.is_ok(), "CSI server stopped");
        result.map_err(|source| ServeError::Transport { endpoint, source })
    }
}

async fn bind_unix(endpoint: &CsiEndpoint, path: &Path) -> Result<CsiListener, ServeError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| io_err(endpoint, "create the socket's directory", e))?;
    }
    remove_stale_socket(endpoint, path).await?;
    let listener = UnixListener::bind(path).map_err(|e| match e.kind() {
        // Someone bound it between our check and our bind.
        io::ErrorKind::AddrInUse => ServeError::InUse {
            path: path.to_owned(),
        },
        _ => io_err(endpoint, "bind the socket", e),
    })?;
    // Set right after bind: with the usual umask the socket starts without
    // group/other write permission, so nobody else can connect in between.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|e| io_err(endpoint, "set socket mode 0660", e))?;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| io_err(endpoint, "inspect the new socket", e))?;
    Ok(CsiListener {
        endpoint: endpoint.clone(),
        inner: Inner::Unix {
            listener,
            socket: SocketFile {
                path: path.to_owned(),
                dev: meta.dev(),
                ino: meta.ino(),
            },
        },
        metrics: None,
    })
}

/// Removes a socket nobody listens on; refuses when someone answers or when
/// the path is not a socket at all.
async fn remove_stale_socket(endpoint: &CsiEndpoint, path: &Path) -> Result<(), ServeError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(endpoint, "inspect the existing socket path", e)),
    };
    if !meta.file_type().is_socket() {
        return Err(ServeError::NotASocket {
            path: path.to_owned(),
        });
    }
    match tokio::time::timeout(IN_USE_PROBE_TIMEOUT, UnixStream::connect(path)).await {
        // Connected, or accepted-but-slow: a live server owns it.
        Ok(Ok(_)) | Err(_) => Err(ServeError::InUse {
            path: path.to_owned(),
        }),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(socket = %path.display(), "removing stale CSI socket");
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err(endpoint, "remove the stale socket", e)),
            }
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(Err(e)) => Err(io_err(
            endpoint,
            "check whether the existing socket is in use",
            e,
        )),
    }
}

/// The socket file we created; removed on drop unless it has been replaced.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Another plugin may have replaced a socket it judged stale; leave theirs.
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.ino => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    tracing::warn!(socket = %self.path.display(), error = %e, "could not remove CSI socket");
                }
            }
            _ => {}
        }
    }
}

fn io_err(endpoint: &CsiEndpoint, doing: &'static str, source: io::Error) -> ServeError {
    ServeError::Io {
        endpoint: endpoint.to_string(),
        doing,
        source,
    }
}
