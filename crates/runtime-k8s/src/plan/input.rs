//! What a reconcile starts from: the Ceph objects (typed, defaults applied,
//! validated for Kubernetes), the objects the operator owns and those it
//! reads (nodes, prepare reports, discover ConfigMaps), and Ceph's state as
//! librados reports it — `None` while Ceph cannot be reached.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret, Service};
use k8s_openapi::jiff::Timestamp;
use rookery_api::{CephBlockPool, CephCluster, CephFilesystem};
use rookery_core::removal::OsdLoad;
use rookery_core::MonObservation;

/// Everything one CephCluster reconcile reads.
#[derive(Debug, Clone)]
pub struct ClusterInput {
    /// The CephCluster, defaults applied, validated for Kubernetes.
    pub cluster: CephCluster,
    /// The CephBlockPools of its namespace (deletion waits for them).
    pub pools: Vec<CephBlockPool>,
    /// The CephFilesystems of its namespace.
    pub filesystems: Vec<CephFilesystem>,
    /// The objects of the namespace the operator reads or owns.
    pub owned: Owned,
    /// The cluster's nodes.
    pub nodes: Vec<Node>,
    /// Ceph's state; None while no mon answers.
    pub ceph: Option<CephObserved>,
    /// Keys and an fsid made by the controller for this reconcile, used only
    /// when the `rook-ceph-mon` Secret does not exist yet: a key that exists
    /// is never made again.
    pub fresh: FreshKeys,
    /// rookery's own image (the operator's), for the discover DaemonSet and
    /// the OSD prepare Jobs.
    pub operator_image: String,
    /// The time of this reconcile (conditions, backoffs).
    pub now: Timestamp,
}

/// Objects of the cluster's namespace, as listed from the API server.
#[derive(Debug, Clone, Default)]
pub struct Owned {
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// Services.
    pub services: Vec<Service>,
    /// ConfigMaps, including the prepare reports and `local-device-<node>`.
    pub config_maps: Vec<ConfigMap>,
    /// Secrets.
    pub secrets: Vec<Secret>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// DaemonSets.
    pub daemon_sets: Vec<DaemonSet>,
}

fn named<'a, T>(items: &'a [T], name: &str, meta: fn(&T) -> &Option<String>) -> Option<&'a T> {
    items.iter().find(|o| meta(o).as_deref() == Some(name))
}

impl Owned {
    /// The Deployment `name`.
    pub fn deployment(&self, name: &str) -> Option<&Deployment> {
        named(&self.deployments, name, |o| &o.metadata.name)
    }

    /// The Service `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        named(&self.services, name, |o| &o.metadata.name)
    }

    /// The ConfigMap `name`.
    pub fn config_map(&self, name: &str) -> Option<&ConfigMap> {
        named(&self.config_maps, name, |o| &o.metadata.name)
    }

    /// The Secret `name`.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        named(&self.secrets, name, |o| &o.metadata.name)
    }

    /// The Job `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        named(&self.jobs, name, |o| &o.metadata.name)
    }

    /// A ConfigMap's `data[key]`.
    pub fn config_value(&self, name: &str, key: &str) -> Option<&str> {
        self.config_map(name)?
            .data
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    /// A Secret's `data[key]` as text.
    pub fn secret_value(&self, name: &str, key: &str) -> Option<String> {
        let bytes = self.secret(name)?.data.as_ref()?.get(key)?;
        String::from_utf8(bytes.0.clone()).ok()
    }

    /// The ClusterIP of the Service `name`, once the API server gave one.
    pub fn cluster_ip(&self, name: &str) -> Option<&str> {
        let ip = self.service(name)?.spec.as_ref()?.cluster_ip.as_deref()?;
        (!ip.is_empty() && ip != "None").then_some(ip)
    }
}

/// Made by the controller (random) for a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshKeys {
    /// A new fsid (uuid).
    pub fsid: String,
    /// A new `mon.` key (cephx, base64).
    pub mon_key: String,
    /// A new `client.admin` key.
    pub admin_key: String,
}

/// Ceph's state, read through librados (`quorum_status`, `osd dump`,
/// `osd pool ls detail`, `osd crush rule dump`, `fs dump`, `auth ls`,
/// `mgr dump`, `status`, `df`, `versions`; images with librbd).
#[derive(Debug, Clone, Default)]
pub struct CephObserved {
    /// The cluster's fsid.
    pub fsid: String,
    /// Monmap, quorum, and how long each mon has been out (the controller
    /// keeps the first time it saw each one out).
    pub mons: MonObservation,
    /// The OSD map's OSDs with their use (`osd dump`, `osd df`), as the
    /// removal check takes them.
    pub osds: Vec<OsdLoad>,
    /// The backfill-full ratio of the OSD map.
    pub backfillfull_ratio: f64,
    /// The pools.
    pub pools: Vec<PoolState>,
    /// The CRUSH rules.
    pub crush_rules: Vec<CrushRule>,
    /// The filesystems.
    pub filesystems: Vec<FsState>,
    /// Names in `auth ls` (`mgr.a`, `client.csi-rbd-node`...).
    pub auth_entities: Vec<String>,
    /// Enabled mgr modules.
    pub mgr_modules: Vec<String>,
    /// The active mgr's id.
    pub active_mgr: Option<String>,
    /// `HEALTH_OK`, `HEALTH_WARN`, `HEALTH_ERR`.
    pub health: String,
    /// Firing health checks: name -> (severity, summary).
    pub checks: BTreeMap<String, (String, String)>,
    /// Raw capacity, bytes: (total, used, available).
    pub capacity: Option<(u64, u64, u64)>,
    /// `versions`: daemon type -> version text -> count.
    pub versions: BTreeMap<String, BTreeMap<String, u32>>,
}

/// One pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Its name.
    pub name: String,
    /// Replicas.
    pub size: u32,
    /// Replicas needed for I/O.
    pub min_size: u32,
    /// Its CRUSH rule's name.
    pub crush_rule: String,
    /// Enabled applications.
    pub applications: Vec<String>,
    /// Bytes stored (one copy).
    pub stored: u64,
    /// RBD images in it (librbd's list plus its trash): None when they
    /// could not be listed, which refuses a delete.
    pub images: Option<u64>,
}

/// One replicated CRUSH rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrushRule {
    /// Its name.
    pub name: String,
    /// The bucket type replicas are spread over.
    pub failure_domain: String,
    /// The device class it takes, if any.
    pub device_class: Option<String>,
}

/// One filesystem of the fs map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsState {
    /// Its name.
    pub name: String,
    /// Its metadata pool.
    pub metadata_pool: String,
    /// Its data pools.
    pub data_pools: Vec<String>,
    /// `max_mds`.
    pub max_mds: u32,
    /// `allow_standby_replay`.
    pub standby_replay: bool,
}

impl CephObserved {
    /// The pool `name`.
    pub fn pool(&self, name: &str) -> Option<&PoolState> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The CRUSH rule `name`.
    pub fn rule(&self, name: &str) -> Option<&CrushRule> {
        self.crush_rules.iter().find(|r| r.name == name)
    }

    /// The filesystem `name`.
    pub fn filesystem(&self, name: &str) -> Option<&FsState> {
        self.filesystems.iter().find(|f| f.name == name)
    }

    /// The OSD `id`.
    pub fn osd(&self, id: u32) -> Option<&OsdLoad> {
        self.osds.iter().find(|o| o.id == id)
    }

    /// `auth ls` has `entity`.
    pub fn has_user(&self, entity: &str) -> bool {
        self.auth_entities.iter().any(|e| e == entity)
    }
}
