//! The CSI Identity service, shared by the RBD and CephFS drivers: who the plugin
//! is, what it can do, and whether it is ready.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rookery_csi_proto::v1::identity_server::{Identity, IdentityServer};
use rookery_csi_proto::v1::plugin_capability::{self, service, volume_expansion};
use rookery_csi_proto::v1::{
    GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse, GetPluginInfoRequest,
    GetPluginInfoResponse, PluginCapability, ProbeRequest, ProbeResponse,
};
use tonic::{Request, Response, Status};

/// ceph-csi's driver name for RBD; StorageClasses name it as `provisioner`.
pub const RBD_DRIVER_NAME: &str = "rbd.csi.ceph.com";
/// ceph-csi's driver name for CephFS.
pub const CEPHFS_DRIVER_NAME: &str = "cephfs.csi.ceph.com";
/// How long `Probe` waits for the readiness check before answering "not ready".
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which ceph-csi driver this plugin stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Rbd,
    CephFs,
}

impl DriverKind {
    /// The driver name ceph-csi uses by default, so existing StorageClasses and
    /// volumes keep working.
    pub fn default_name(self) -> &'static str {
        match self {
            Self::Rbd => RBD_DRIVER_NAME,
            Self::CephFs => CEPHFS_DRIVER_NAME,
        }
    }
}

/// A driver name that breaks the spec's rule for `GetPluginInfoResponse.name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CSI driver name {name:?}: {reason}; a driver name is at most 63 characters of \
     letters, digits, '-' and '.', starting and ending with a letter or digit \
     (e.g. rbd.csi.ceph.com)"
)]
pub struct InvalidDriverName {
    pub name: String,
    pub reason: &'static str,
}

/// Checks a driver name against the CSI spec (domain-name notation, <= 63 chars).
pub fn validate_driver_name(name: &str) -> Result<(), InvalidDriverName> {
    let fail = |reason| {
        Err(InvalidDriverName {
            name: name.to_owned(),
            reason,
        })
    };
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => return fail("it is empty"),
        (Some(first), Some(last)) => {
            if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
                return fail("it must start and end with a letter or digit");
            }
        }
    }
    if bytes.len() > 63 {
        return fail("it is longer than 63 characters");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
    {
        return fail("it contains a character other than letters, digits, '-' and '.'");
    }
    Ok(())
}

type ReadinessFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type ReadinessCheck = Arc<dyn Fn() -> ReadinessFuture + Send + Sync>;

/// The Identity service. Cheap to clone; clones share the readiness state.
#[derive(Clone)]
pub struct IdentityService {
    name: String,
    controller_service: bool,
    readiness: ReadinessCheck,
    probe_timeout: Duration,
    /// Last answer of `Probe`, so that only changes are logged above debug.
    last_ready: Arc<AtomicBool>,
}

impl fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityService")
            .field("name", &self.name)
            .field("controller_service", &self.controller_service)
            .field("probe_timeout", &self.probe_timeout)
            .finish_non_exhaustive()
    }
}

impl IdentityService {
    /// A service named `name` that advertises the controller service and online
    /// volume expansion, and is always ready until [`Self::with_readiness`] says
    /// otherwise.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidDriverName> {
        let name = name.into();
        validate_driver_name(&name)?;
        Ok(Self {
            name,
            controller_service: true,
            readiness: Arc::new(|| Box::pin(async { Ok(()) })),
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            last_ready: Arc::new(AtomicBool::new(true)),
        })
    }

    /// The service under ceph-csi's default name for `kind`.
    pub fn for_driver(kind: DriverKind) -> Self {
        Self::new(kind.default_name()).expect("default driver names are valid")
    }

    /// Sets the check `Probe` runs (e.g. "can we reach the cluster"). `Err` or a
    /// check slower than the probe timeout makes `Probe` answer `ready: false`;
    /// the reason is logged, never sent to the CO as an error.
    pub fn with_readiness<F, Fut, E>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        self.readiness = Arc::new(move || {
            let fut = check();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        self
    }

    /// How long `Probe` waits for the readiness check.
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// For a node-only plugin: do not advertise `CONTROLLER_SERVICE`.
    pub fn node_only(mut self) -> Self {
        self.controller_service = false;
        self
    }

    /// The driver name reported by `GetPluginInfo`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capabilities reported by `GetPluginCapabilities`.
    pub fn capabilities(&self) -> Vec<PluginCapability> {
        let mut caps = Vec::with_capacity(2);
        if self.controller_service {
            caps.push(PluginCapability {
                r#type: Some(plugin_capability::Type::Service(
                    plugin_capability::Service {
                        r#type: service::Type::ControllerService as i32,
                    },
                )),
            });
        }
        // RBD images and CephFS subvolumes both grow while in use.
        caps.push(PluginCapability {
            r#type: Some(plugin_capability::Type::VolumeExpansion(
                plugin_capability::VolumeExpansion {
                    r#type: volume_expansion::Type::Online as i32,
                },
            )),
        });
        caps
    }

    /// Runs the readiness check within the probe timeout.
    pub async fn is_ready(&self) -> bool {
        let outcome = tokio::time::timeout(self.probe_timeout, (self.readiness)()).await;
        let (ready, reason) = match outcome {
            Ok(Ok(())) => (true, String::new()),
            Ok(Err(reason)) => (false, reason),
            Err(_) => (
                false,
                format!(
                    "readiness check did not finish within {:?}",
                    self.probe_timeout
                ),
            ),
        };
        let was_ready = self.last_ready.swap(ready, Ordering::Relaxed);
        if ready != was_ready {
            tracing::info!(driver = %self.name, ready, reason = %reason, "CSI plugin readiness changed");
        } else if !ready {
            tracing::debug!(driver = %self.name, reason = %reason, "CSI plugin not ready");
        }
        ready
    }

    /// The tonic server wrapping this service.
    pub fn into_server(self) -> IdentityServer<Self> {
        IdentityServer::new(self)
    }
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn get_plugin_info(
        &self,
        _request: Request<GetPluginInfoRequest>,
    ) -> Result<Response<GetPluginInfoResponse>, Status> {
        Ok(Response::new(GetPluginInfoResponse {
            name: self.name.clone(),
            vendor_version: env!("CARGO_PKG_VERSION").to_owned(),
            manifest: Default::default(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _request: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities: self.capabilities(),
        }))
    }

    async fn probe(
        &self,
        _request: Request<ProbeRequest>,
    ) -> Result<Response<ProbeResponse>, Status> {
        Ok(Response::new(ProbeResponse {
            ready: Some(self.is_ready().await),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_names() {
        for ok in [
            RBD_DRIVER_NAME,
            CEPHFS_DRIVER_NAME,
            "a",
            "x-1.example.com",
            &"a".repeat(63),
        ] {
            assert_eq!(validate_driver_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-rbd",
            "rbd.",
            "rbd_csi",
            "rbd csi",
            "rbd/csi",
            &"a".repeat(64),
        ] {
            assert!(validate_driver_name(bad).is_err(), "{bad:?}");
        }
        let msg = IdentityService::new("rbd_csi").unwrap_err().to_string();
        assert!(
            msg.contains("rbd_csi") && msg.contains("rbd.csi.ceph.com"),
            "{msg}"
        );
    }

    #[test]
    fn capabilities_follow_mode() {
        let svc = IdentityService::for_driver(DriverKind::Rbd);
        assert_eq!(svc.name(), RBD_DRIVER_NAME);
        assert_eq!(svc.capabilities().len(), 2);
        let node = IdentityService::for_driver(DriverKind::CephFs).node_only();
        let caps = node.capabilities();
        assert_eq!(caps.len(), 1);
        assert!(matches!(
            caps[0].r#type,
            Some(plugin_capability::Type::VolumeExpansion(_))
        ));
    }

    #[tokio::test]
    async fn slow_readiness_check_is_not_ready() {
        let svc = IdentityService::for_driver(DriverKind::Rbd)
            .with_probe_timeout(Duration::from_millis(20))
            .with_readiness(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok::<(), String>(())
            });
        assert!(!svc.is_ready().await);
    }
}
