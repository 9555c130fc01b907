//! `CephCluster`: the cluster as a whole (mons, mgrs, dashboard, network, storage).
//!
//! Defaults follow Rook where the local runtime can; where it cannot they are
//! chosen for one host and say so (e.g. `allowMultiplePerNode` defaults to true).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::de::nullable;
use crate::health::HealthCheckSpec;
use crate::meta::{ObjectMeta, ObjectRef};
use crate::storage::StorageSpec;
use crate::warnings::{join, Report};
use crate::{Extra, Warning, API_VERSION, KIND_CLUSTER};

/// Mgr modules that only work inside Kubernetes; the local runtime skips them.
pub const KUBERNETES_ONLY_MGR_MODULES: &[&str] = &["rook", "k8sevents"];

/// A Ceph cluster (`kind: CephCluster`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CephCluster {
    /// `ceph.rook.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `CephCluster`.
    #[serde(default)]
    pub kind: String,
    /// Name and namespace.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    /// The desired cluster.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ClusterSpec,
    /// Other top-level fields (e.g. `status`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CephCluster {
    /// A cluster with the default spec.
    pub fn new(name: &str, namespace: &str) -> Self {
        CephCluster {
            api_version: API_VERSION.to_owned(),
            kind: KIND_CLUSTER.to_owned(),
            metadata: ObjectMeta::named(name, namespace),
            spec: ClusterSpec::default(),
            extra: Extra::new(),
        }
    }

    /// `CephCluster/<name>`, for messages.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(KIND_CLUSTER, &self.metadata)
    }

    const FIELDS: &'static [&'static str] = &["apiVersion", "kind", "metadata", "spec"];
    const ROOK_ONLY: &'static [&'static str] = &["status"];

    /// Warnings about fields kept but not acted on, with their paths.
    pub(crate) fn report(&self, out: &mut Vec<Warning>) {
        let mut r = Report::new(self.object_ref(), out);
        r.extra("", &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        self.metadata.report(&mut r);
        self.spec.report("spec", &mut r);
    }
}

/// `spec` of a `CephCluster`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// The Ceph image (ignored locally: the host's Ceph packages run).
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub ceph_version: CephVersionSpec,
    /// Where Rook keeps state on each node (ignored locally: see `--dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir_host_path: Option<String>,
    /// Monitors.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub mon: MonSpec,
    /// Managers and their modules.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub mgr: MgrSpec,
    /// The mgr dashboard.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub dashboard: DashboardSpec,
    /// Network settings, with rookery's `ports`.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub network: NetworkSpec,
    /// Which disks and files become OSDs.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub storage: StorageSpec,
    /// When a mon out of quorum is replaced.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub health_check: HealthCheckSpec,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ClusterSpec {
    /// The mgr modules to enable: the enabled entries of `mgr.modules` in order,
    /// then `dashboard` when `dashboard.enabled`; each name once. Includes modules
    /// the local runtime skips (see [`KUBERNETES_ONLY_MGR_MODULES`]).
    pub fn mgr_modules_enabled(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let wanted = self
            .mgr
            .modules
            .iter()
            .filter(|m| m.enabled)
            .map(|m| m.name.as_str())
            .chain(self.dashboard.enabled.then_some("dashboard"));
        for name in wanted {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_owned());
            }
        }
        out
    }

    /// The mgr modules the local runtime enables: [`ClusterSpec::mgr_modules_enabled`]
    /// without the [`KUBERNETES_ONLY_MGR_MODULES`] (validation warns about those).
    pub fn local_mgr_modules(&self) -> Vec<String> {
        let mut modules = self.mgr_modules_enabled();
        modules.retain(|m| !KUBERNETES_ONLY_MGR_MODULES.contains(&m.as_str()));
        modules
    }

    /// How many OSDs the spec asks for: file-backed ones plus listed devices.
    pub fn osd_count(&self) -> u32 {
        self.storage.osd_count()
    }

    const FIELDS: &'static [&'static str] = &[
        "cephVersion",
        "dataDirHostPath",
        "mon",
        "mgr",
        "dashboard",
        "network",
        "storage",
        "healthCheck",
    ];
    const ROOK_ONLY: &'static [&'static str] = &[
        "annotations",
        "labels",
        "placement",
        "resources",
        "priorityClassNames",
        "skipUpgradeChecks",
        "continueUpgradeAfterChecksEvenIfNotHealthy",
        "waitTimeoutForHealthyOSDInMinutes",
        "upgradeOSDRequiresHealthyPGs",
        "disruptionManagement",
        "crashCollector",
        "monitoring",
        "external",
        "removeOSDsIfOutAndSafeToRemove",
        "cleanupPolicy",
        "security",
        "logCollector",
        "csi",
        "cephConfig",
        "cephConfigFromSecret",
    ];

    pub(crate) fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        if self.data_dir_host_path.is_some() {
            r.ignored(
                &join(path, "dataDirHostPath"),
                "its state lives in the directory given with --dir",
            );
        }
        self.ceph_version.report(&join(path, "cephVersion"), r);
        self.mon.report(&join(path, "mon"), r);
        self.mgr.report(&join(path, "mgr"), r);
        self.dashboard.report(&join(path, "dashboard"), r);
        self.network.report(&join(path, "network"), r);
        self.storage.report(&join(path, "storage"), r);
        self.health_check.report(&join(path, "healthCheck"), r);
    }
}

/// `spec.cephVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CephVersionSpec {
    /// Container image; the local runtime ignores it and runs the host's Ceph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Allow Ceph releases Rook does not support.
    pub allow_unsupported: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CephVersionSpec {
    const FIELDS: &'static [&'static str] = &["image", "allowUnsupported"];
    const ROOK_ONLY: &'static [&'static str] = &["imagePullPolicy"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        if self.image.is_some() {
            r.ignored(
                &join(path, "image"),
                "it runs the Ceph packages installed on this host",
            );
        }
    }
}

/// `spec.mon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MonSpec {
    /// How many monitors: odd, 1 to 9. Default 1.
    #[schemars(range(min = 1, max = crate::limits::MAX_MONS))]
    pub count: u32,
    /// Several mons on one node. Default true (Rook: false), because the local
    /// runtime has one node.
    pub allow_multiple_per_node: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for MonSpec {
    fn default() -> Self {
        MonSpec {
            count: 1,
            allow_multiple_per_node: true,
            extra: Extra::new(),
        }
    }
}

impl MonSpec {
    const FIELDS: &'static [&'static str] = &["count", "allowMultiplePerNode"];
    const ROOK_ONLY: &'static [&'static str] = &[
        "failureDomainLabel",
        "zones",
        "stretchCluster",
        "volumeClaimTemplate",
        "externalMonIDs",
    ];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
    }
}

/// `spec.mgr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MgrSpec {
    /// How many managers (one active, the rest standby): 1 or 2. Default 1.
    #[schemars(range(min = 1, max = crate::limits::MAX_MGRS))]
    pub count: u32,
    /// Several mgrs on one node. Default true (Rook: false), as for mons.
    pub allow_multiple_per_node: bool,
    /// Modules to enable or disable. Default: `prometheus` enabled. A list given
    /// in the manifest replaces the default.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub modules: Vec<MgrModule>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for MgrSpec {
    fn default() -> Self {
        MgrSpec {
            count: 1,
            allow_multiple_per_node: true,
            modules: vec![MgrModule::enabled("prometheus")],
            extra: Extra::new(),
        }
    }
}

impl MgrSpec {
    const FIELDS: &'static [&'static str] = &["count", "allowMultiplePerNode", "modules"];
    const ROOK_ONLY: &'static [&'static str] = &[];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        for (i, m) in self.modules.iter().enumerate() {
            m.report(&format!("{path}.modules[{i}]"), r);
        }
    }
}

/// One entry of `spec.mgr.modules`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MgrModule {
    /// The Ceph mgr module name, e.g. `pg_autoscaler`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: String,
    /// Whether to enable it. Default false, as in Rook: write `enabled: true`.
    pub enabled: bool,
    /// Other fields (Rook's `settings`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MgrModule {
    /// An enabled module.
    pub fn enabled(name: &str) -> Self {
        MgrModule {
            name: name.to_owned(),
            enabled: true,
            extra: Extra::new(),
        }
    }

    const FIELDS: &'static [&'static str] = &["name", "enabled"];
    const ROOK_ONLY: &'static [&'static str] = &["settings"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
    }
}

/// `spec.dashboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DashboardSpec {
    /// Enable the mgr dashboard module. Default true.
    pub enabled: bool,
    /// A URL prefix, for serving behind a reverse proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_prefix: Option<String>,
    /// The port; unset or 0 means the default, see [`DashboardSpec::port`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 65535))]
    pub port: Option<u32>,
    /// Serve HTTPS (with a self-signed certificate). Default true.
    pub ssl: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for DashboardSpec {
    fn default() -> Self {
        DashboardSpec {
            enabled: true,
            url_prefix: None,
            port: None,
            ssl: true,
            extra: Extra::new(),
        }
    }
}

impl DashboardSpec {
    /// The port the dashboard serves on: `port` if set (and not 0, which Rook
    /// reads as unset), else 8443 with SSL and 8080 without.
    pub fn port(&self) -> u32 {
        match self.port {
            Some(p) if p != 0 => p,
            _ if self.ssl => 8443,
            _ => 8080,
        }
    }

    const FIELDS: &'static [&'static str] = &["enabled", "urlPrefix", "port", "ssl"];
    const ROOK_ONLY: &'static [&'static str] =
        &["prometheusEndpoint", "prometheusEndpointSSLVerify"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
    }
}

/// `spec.network`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Rook's network provider (`host`, `multus`); locally daemons use the host network.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["", "host", "multus"]))]
    pub provider: Option<String>,
    /// Rook's host networking switch; locally always on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// rookery extension: the ports the daemons listen on.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub ports: NetworkPorts,
    /// rookery extension: give each mon its own loopback address, from this
    /// one up (mon `a` gets it, `b` the next, ...), every mon on the `monV2`
    /// and `monV1` ports. Lets a test cut one mon off the others (a route on
    /// its address) as if its host were partitioned. Unset: every mon on
    /// 127.0.0.1, mon `i` on `monV2 + i` and `monV1 + i`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_mon_address: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl NetworkSpec {
    /// `firstMonAddress` read: None when unset, an error (what is wrong and
    /// what to write) when it is not a usable loopback address.
    pub fn first_mon_ip(&self) -> Result<Option<std::net::Ipv4Addr>, String> {
        let Some(text) = self.first_mon_address.as_deref() else {
            return Ok(None);
        };
        let ip: std::net::Ipv4Addr = text.trim().parse().map_err(|_| {
            format!("{text:?} is not an IPv4 address; write a loopback address such as 127.0.10.1")
        })?;
        let [a, _, _, d] = ip.octets();
        if a != 127 {
            return Err(format!(
                "{ip} is not a loopback address; the local runtime binds loopback only: use one \
in 127.0.0.0/8, e.g. 127.0.10.1"
            ));
        }
        if d == 0 && ip == std::net::Ipv4Addr::new(127, 0, 0, 0) {
            return Err(
                "127.0.0.0 is the loopback network itself, not an address; use e.g. \
127.0.10.1"
                    .into(),
            );
        }
        // Later mons count up from here: leave room for many ids.
        if u32::from(ip) > u32::from(std::net::Ipv4Addr::new(127, 255, 254, 0)) {
            return Err(format!(
                "{ip} leaves no room for the mons after the first (each takes the next \
address); use a lower one, e.g. 127.0.10.1"
            ));
        }
        Ok(Some(ip))
    }

    const FIELDS: &'static [&'static str] =
        &["provider", "hostNetwork", "ports", "firstMonAddress"];
    const ROOK_ONLY: &'static [&'static str] = &[
        "selectors",
        "addressRanges",
        "connections",
        "ipFamily",
        "dualStack",
        "multiClusterService",
    ];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        const HOST: &str = "its daemons use the host network";
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        if self
            .provider
            .as_deref()
            .is_some_and(|p| !p.is_empty() && p != "host")
        {
            r.ignored(&join(path, "provider"), HOST);
        }
        if self.host_network == Some(false) {
            r.ignored(&join(path, "hostNetwork"), HOST);
        }
        self.ports.report(&join(path, "ports"), r);
    }
}

/// `spec.network.ports` (rookery extension). Mon `i` (counting from 0) listens
/// on `monV2 + i` and `monV1 + i`, so several mons fit on one host. The dashboard
/// port is `spec.dashboard.port`. All of them are bound on loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPorts {
    /// msgr2 port of the first mon. Default 3300.
    #[schemars(range(min = 1, max = 65535))]
    pub mon_v2: u32,
    /// msgr1 (legacy, kernel clients) port of the first mon. Default 6789.
    #[schemars(range(min = 1, max = 65535))]
    pub mon_v1: u32,
    /// The mgr prometheus module's port. Default 9283.
    #[schemars(range(min = 1, max = 65535))]
    pub prometheus: u32,
    /// The RBD CSI plugin's metrics and liveness endpoint (`/metrics`,
    /// `/healthz`). Default 9080, the port Rook gives ceph-csi's RBD liveness
    /// metrics.
    #[schemars(range(min = 1, max = 65535))]
    pub csi_metrics: u32,
    /// The RBD CSI node plugin's metrics and liveness endpoint. Default 9081.
    #[schemars(range(min = 1, max = 65535))]
    pub csi_node_metrics: u32,
    /// The CephFS CSI plugin's metrics and liveness endpoint (controller
    /// role; runs when the cluster has a filesystem). Default 9082.
    #[schemars(range(min = 1, max = 65535))]
    pub csi_cephfs_metrics: u32,
    /// The CephFS CSI node plugin's metrics and liveness endpoint. Default 9083.
    #[schemars(range(min = 1, max = 65535))]
    pub csi_cephfs_node_metrics: u32,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for NetworkPorts {
    fn default() -> Self {
        NetworkPorts {
            mon_v2: 3300,
            mon_v1: 6789,
            prometheus: 9283,
            csi_metrics: 9080,
            csi_node_metrics: 9081,
            csi_cephfs_metrics: 9082,
            csi_cephfs_node_metrics: 9083,
            extra: Extra::new(),
        }
    }
}

impl NetworkPorts {
    const FIELDS: &'static [&'static str] = &[
        "monV2",
        "monV1",
        "prometheus",
        "csiMetrics",
        "csiNodeMetrics",
        "csiCephfsMetrics",
        "csiCephfsNodeMetrics",
    ];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, &[]);
    }
}
