//! The mons: per mon a ClusterIP Service (its stable address: the mon's
//! address is the Service's ClusterIP) and a Deployment pinned to its node;
//! the endpoints ConfigMap `rook-ceph-mon-endpoints` (Rook's `data`,
//! `mapping`, `maxMonId`, plus the monmap change in progress as an
//! annotation); the keys Secret `rook-ceph-mon` (fsid, mon and admin keys,
//! made once and kept); the keyrings and `rook-ceph-config` (`mon_host`).
//! Which mons exist is decided in [`super::monmap`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, ContainerPort, Secret, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::ByteString;
use rookery_core::MonChange;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::input::{FreshKeys, Owned};
use super::meta::{daemon_labels, selector_labels};
use super::object::Object;
use super::pod::{self, Runtime};

/// Rook's endpoints ConfigMap.
pub const ENDPOINTS: &str = "rook-ceph-mon-endpoints";
/// Rook's keys Secret: `fsid`, `mon-secret`, `admin-secret`, `cluster-name`.
pub const KEYS_SECRET: &str = "rook-ceph-mon";
/// The mons' keyring (`mon.` and `client.admin`), Rook's name.
pub const MONS_KEYRING: &str = "rook-ceph-mons-keyring";
/// `client.admin`'s keyring, Rook's name (the prepare Jobs use it).
pub const ADMIN_KEYRING: &str = "rook-ceph-admin-keyring";
/// Where the monmap change in progress is recorded (on [`ENDPOINTS`]), so
/// a restarted operator resumes it.
pub const CHANGE_ANNOTATION: &str = "rookery.io/mon-change";
/// msgr2.
pub const MSGR2_PORT: i32 = 3300;
/// msgr1 (kernel clients).
pub const MSGR1_PORT: i32 = 6789;

/// `rook-ceph-mon-<id>`: the Deployment and the Service.
pub fn mon_name(id: &str) -> String {
    format!("rook-ceph-mon-{id}")
}

/// What the endpoints ConfigMap records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Mon id -> its address (the Service's ClusterIP, or the node's address
    /// on the host network).
    pub addrs: BTreeMap<String, String>,
    /// Mon id -> its node (`mapping`).
    pub nodes: BTreeMap<String, NodeInfo>,
    /// The highest mon index ever given (`maxMonId`), so an id is never reused.
    pub max_mon_id: Option<u32>,
    /// The monmap change in progress.
    pub change: Option<MonChange>,
}

/// One entry of `mapping.node` (Rook's field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Its hostname label.
    #[serde(rename = "Hostname")]
    pub hostname: String,
    /// Its InternalIP.
    #[serde(rename = "Address")]
    pub address: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Mapping {
    #[serde(default)]
    node: BTreeMap<String, NodeInfo>,
}

impl Endpoints {
    /// Read from the ConfigMap; an unreadable part reads as empty (the
    /// mons' own monmap stays the authority).
    pub fn read(owned: &Owned) -> Self {
        let Some(cm) = owned.config_map(ENDPOINTS) else {
            return Endpoints::default();
        };
        let value = |k: &str| cm.data.as_ref().and_then(|d| d.get(k)).map(String::as_str);
        let addrs = value("data")
            .unwrap_or_default()
            .split(',')
            .filter_map(|e| e.split_once('='))
            .map(|(id, addr)| {
                let ip = addr.rsplit_once(':').map_or(addr, |(ip, _)| ip);
                (id.trim().to_owned(), ip.to_owned())
            })
            .collect();
        let nodes = value("mapping")
            .and_then(|m| serde_json::from_str::<Mapping>(m).ok())
            .unwrap_or_default()
            .node;
        let change = cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CHANGE_ANNOTATION))
            .filter(|c| !c.is_empty())
            .and_then(|c| serde_json::from_str(c).ok());
        Endpoints {
            addrs,
            nodes,
            max_mon_id: value("maxMonId").and_then(|v| v.parse().ok()),
            change,
        }
    }

    /// `mon_host` as daemons and clients take it: `[v2:ip:3300,v1:ip:6789],...`.
    pub fn mon_host(&self) -> String {
        self.addrs
            .values()
            .map(|ip| format!("[v2:{ip}:{MSGR2_PORT},v1:{ip}:{MSGR1_PORT}]"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The ConfigMap.
    pub fn render(&self, rt: &Runtime) -> ConfigMap {
        let data = self
            .addrs
            .iter()
            .map(|(id, ip)| format!("{id}={ip}:{MSGR1_PORT}"))
            .collect::<Vec<_>>()
            .join(",");
        let mapping = json!({ "node": self.nodes }).to_string();
        let mut meta = rt.owner.meta(ENDPOINTS, BTreeMap::new());
        // Always written, empty when no change is under way: an update only
        // writes the fields it sets, so dropping the key would leave it.
        let text = self
            .change
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
            .unwrap_or_default();
        meta.annotations = Some(BTreeMap::from([(CHANGE_ANNOTATION.into(), text)]));
        let max = self.max_mon_id.map_or("-1".into(), |m| m.to_string());
        ConfigMap {
            metadata: meta,
            data: Some(BTreeMap::from([
                ("data".into(), data),
                ("mapping".into(), mapping),
                ("maxMonId".into(), max),
            ])),
            ..ConfigMap::default()
        }
    }
}

/// The cluster's identity and keys: from `rook-ceph-mon` when it exists,
/// else the fresh ones (a key that exists is never made again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The fsid.
    pub fsid: String,
    /// `mon.`'s key.
    pub mon_key: String,
    /// `client.admin`'s key.
    pub admin_key: String,
}

impl Keys {
    /// Existing keys first; each missing one from `fresh`.
    pub fn read(owned: &Owned, fresh: &FreshKeys) -> Self {
        let get = |k: &str, f: &str| {
            owned
                .secret_value(KEYS_SECRET, k)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| f.to_owned())
        };
        Keys {
            fsid: get("fsid", &fresh.fsid),
            mon_key: get("mon-secret", &fresh.mon_key),
            admin_key: get("admin-secret", &fresh.admin_key),
        }
    }

    /// The Secrets: keys, mons' keyring, admin keyring, `rook-ceph-config`.
    pub fn render(&self, rt: &Runtime, endpoints: &Endpoints) -> Vec<Object> {
        let admin = format!(
            "[client.admin]\n\tkey = {}\n\tcaps mds = \"allow *\"\n\tcaps mgr = \"allow *\"\n\
\tcaps mon = \"allow *\"\n\tcaps osd = \"allow *\"\n",
            self.admin_key
        );
        let mons = format!(
            "[mon.]\n\tkey = {}\n\tcaps mon = \"allow *\"\n{admin}",
            self.mon_key
        );
        let initial: Vec<&str> = endpoints.addrs.keys().map(String::as_str).collect();
        vec![
            secret(
                rt,
                KEYS_SECRET,
                &[
                    ("admin-secret", &self.admin_key),
                    ("cluster-name", &rt.owner.namespace),
                    ("fsid", &self.fsid),
                    ("mon-secret", &self.mon_key),
                ],
            ),
            secret(rt, MONS_KEYRING, &[("keyring", &mons)]),
            secret(rt, ADMIN_KEYRING, &[("keyring", &admin)]),
            secret(
                rt,
                pod::CONFIG_SECRET,
                &[
                    ("mon_host", &endpoints.mon_host()),
                    ("mon_initial_members", &initial.join(",")),
                ],
            ),
        ]
    }
}

fn secret(rt: &Runtime, name: &str, data: &[(&str, &str)]) -> Object {
    let data = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
        .collect();
    Secret {
        metadata: rt.owner.meta(name, BTreeMap::new()),
        data: Some(data),
        type_: Some("kubernetes.io/rook".into()),
        ..Secret::default()
    }
    .into()
}

/// The mon's Service: ClusterIP, msgr1 and msgr2, selecting its pod.
pub fn service(rt: &Runtime, id: &str) -> Object {
    let port = |name: &str, p: i32| ServicePort {
        name: Some(name.into()),
        port: p,
        protocol: Some("TCP".into()),
        target_port: Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(p)),
        ..ServicePort::default()
    };
    Service {
        metadata: rt
            .owner
            .meta(&mon_name(id), daemon_labels(&rt.owner, "mon", id)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(&rt.owner, "mon", id)),
            ports: Some(vec![
                port("tcp-msgr1", MSGR1_PORT),
                port("tcp-msgr2", MSGR2_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
    .into()
}

/// The mon's Deployment: `ceph-mon` in the foreground at `addr`, its store
/// on its node under `dataDirHostPath` (made by `ceph-mon --mkfs` the first
/// time), `replicas` 1 (0 while it is being removed out of quorum).
pub fn deployment(
    rt: &Runtime,
    keys: &Keys,
    id: &str,
    addr: &str,
    node: Option<&str>,
    replicas: i32,
) -> Object {
    let store = format!("/var/lib/ceph/mon/ceph-{id}");
    let mut args = rt.daemon_args(&keys.fsid, id);
    args.push(format!("--public-addr={addr}"));
    if !rt.host_network {
        args.push("--public-bind-addr=$(ROOK_POD_IP)".into());
    }
    let mut mkfs = args.clone();
    mkfs.retain(|a| a != "--foreground");
    mkfs.push("--mkfs".into());
    let init_script = format!(
        "test -e {store}/store.db || exec ceph-mon {}",
        mkfs.join(" ")
    );
    let (volumes, mounts) = pod::split(vec![
        pod::keyring(MONS_KEYRING),
        rt.host_dir("ceph-daemon-data", &format!("mon-{id}/data"), &store),
    ]);
    let mut init = rt.container("init-mon-fs", &["sh", "-c"], vec![init_script]);
    init.volume_mounts = Some(mounts.clone());
    let mut mon = rt.container("mon", &["ceph-mon"], args);
    mon.volume_mounts = Some(mounts);
    let cport = |name: &str, p: i32| ContainerPort {
        name: Some(name.into()),
        container_port: p,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    };
    mon.ports = Some(vec![
        cport("tcp-msgr1", MSGR1_PORT),
        cport("tcp-msgr2", MSGR2_PORT),
    ]);
    let pod = rt.pod(vec![init], vec![mon], volumes, node);
    let labels = daemon_labels(&rt.owner, "mon", id);
    let mut labels = labels;
    labels.insert("mon_cluster".into(), rt.owner.namespace.clone());
    rt.deployment(
        &mon_name(id),
        labels,
        selector_labels(&rt.owner, "mon", id),
        pod,
        replicas,
    )
    .into()
}
