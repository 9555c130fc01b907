//! The parts every Ceph daemon's pod shares: image, the mon hosts and the
//! keyring from Secrets, the state directory on the node, the Deployment
//! around it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, HostPathVolumeSource,
    ObjectFieldSelector, PodSpec, PodTemplateSpec, SecretKeySelector, SecretVolumeSource, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rookery_api::CephCluster;

use super::meta::{selector, Owner};

/// The image when `spec.cephVersion.image` is unset: Pacific, the release
/// rookery is built and tested with (deploy/Dockerfile's base).
pub const DEFAULT_CEPH_IMAGE: &str = "quay.io/ceph/ceph:v16";
/// `spec.dataDirHostPath` when unset (Rook's).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/rook";
/// The Secret with `mon_host` (Rook's name), read by every daemon.
pub const CONFIG_SECRET: &str = "rook-ceph-config";
/// Where a daemon's keyring Secret is mounted.
pub const KEYRING_DIR: &str = "/etc/ceph/keyring-store";
/// The daemons' service account (deploy/common.yaml): no API access.
pub const DAEMON_ACCOUNT: &str = "rookery-ceph-daemon";
/// discover's and the OSD prepare Jobs' account: it may write ConfigMaps
/// of the namespace (the inventories, the prepare reports).
pub const DISCOVER_ACCOUNT: &str = "rookery-discover";
/// The node label pods are pinned to nodes by.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// How the cluster's daemons run, from the CephCluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The owner of the rendered objects.
    pub owner: Owner,
    /// The Ceph image.
    pub image: String,
    /// `dataDirHostPath`.
    pub data_dir: String,
    /// Daemons on the host network (`network.provider: host` or
    /// `network.hostNetwork: true`).
    pub host_network: bool,
}

impl Runtime {
    /// Read from the CephCluster.
    pub fn of(cluster: &CephCluster) -> Self {
        let spec = &cluster.spec;
        Runtime {
            owner: Owner::cluster(cluster),
            image: spec
                .ceph_version
                .image
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| DEFAULT_CEPH_IMAGE.into()),
            data_dir: spec
                .data_dir_host_path
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
            host_network: spec.network.provider.as_deref() == Some("host")
                || spec.network.host_network == Some(true),
        }
    }

    /// The arguments every daemon gets: fsid, keyring, logs to stderr, the
    /// mons from `$(ROOK_CEPH_MON_HOST)`, its id, in the foreground.
    pub fn daemon_args(&self, fsid: &str, id: &str) -> Vec<String> {
        vec![
            format!("--fsid={fsid}"),
            format!("--keyring={KEYRING_DIR}/keyring"),
            "--log-to-stderr=true".into(),
            "--err-to-stderr=true".into(),
            "--default-log-to-file=false".into(),
            "--mon-host=$(ROOK_CEPH_MON_HOST)".into(),
            format!("--id={id}"),
            "--setuser=ceph".into(),
            "--setgroup=ceph".into(),
            "--foreground".into(),
        ]
    }

    /// A container of the Ceph image.
    pub fn container(&self, name: &str, command: &[&str], args: Vec<String>) -> Container {
        Container {
            name: name.into(),
            image: Some(self.image.clone()),
            command: Some(command.iter().map(|c| (*c).to_owned()).collect()),
            args: Some(args),
            env: Some(vec![mon_host_env(), pod_ip_env()]),
            ..Container::default()
        }
    }

    /// `<dataDirHostPath>/<sub>` on the node, mounted at `mount`.
    pub fn host_dir(&self, name: &str, sub: &str, mount: &str) -> (Volume, VolumeMount) {
        host_path(name, &format!("{}/{sub}", self.data_dir), mount)
    }

    /// A pod spec: these containers, on `node` when given.
    pub fn pod(
        &self,
        init: Vec<Container>,
        containers: Vec<Container>,
        volumes: Vec<Volume>,
        node: Option<&str>,
    ) -> PodSpec {
        PodSpec {
            init_containers: (!init.is_empty()).then_some(init),
            containers,
            volumes: Some(volumes),
            host_network: self.host_network.then_some(true),
            dns_policy: self
                .host_network
                .then(|| "ClusterFirstWithHostNet".to_owned()),
            node_selector: node.map(|n| BTreeMap::from([(HOSTNAME_LABEL.into(), n.into())])),
            restart_policy: Some("Always".into()),
            service_account_name: Some(DAEMON_ACCOUNT.into()),
            automount_service_account_token: Some(false),
            ..PodSpec::default()
        }
    }

    /// A Deployment of one daemon: `replicas` pods of `pod`, recreated (not
    /// rolled) on change, as Rook runs its daemons (two pods of one daemon
    /// must never run at once).
    pub fn deployment(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        select: BTreeMap<String, String>,
        pod: PodSpec,
        replicas: i32,
    ) -> Deployment {
        Deployment {
            metadata: self.owner.meta(name, labels.clone()),
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector: selector(select),
                strategy: Some(DeploymentStrategy {
                    type_: Some("Recreate".into()),
                    ..DeploymentStrategy::default()
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        name: Some(name.into()),
                        labels: Some(labels),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(pod),
                },
                ..DeploymentSpec::default()
            }),
            status: None,
        }
    }
}

/// `ROOK_CEPH_MON_HOST` from the `rook-ceph-config` Secret.
pub fn mon_host_env() -> EnvVar {
    EnvVar {
        name: "ROOK_CEPH_MON_HOST".into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: CONFIG_SECRET.into(),
                key: "mon_host".into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    }
}

/// `ROOK_POD_IP`: the pod's own address.
pub fn pod_ip_env() -> EnvVar {
    EnvVar {
        name: "ROOK_POD_IP".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "status.podIP".into(),
                api_version: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    }
}

/// A Secret mounted read-only at [`KEYRING_DIR`].
pub fn keyring(secret: &str) -> (Volume, VolumeMount) {
    (
        Volume {
            name: "keyring".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.into()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: "keyring".into(),
            mount_path: KEYRING_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
    )
}

/// A directory of the node, made if missing.
pub fn host_path(name: &str, path: &str, mount: &str) -> (Volume, VolumeMount) {
    (
        Volume {
            name: name.into(),
            host_path: Some(HostPathVolumeSource {
                path: path.into(),
                type_: Some("DirectoryOrCreate".into()),
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: name.into(),
            mount_path: mount.into(),
            ..VolumeMount::default()
        },
    )
}

/// A daemon's data directory that lives as long as its pod (mgr, MDS: they
/// keep nothing that must outlive it).
pub fn scratch_dir(mount: &str) -> (Volume, VolumeMount) {
    (
        Volume {
            name: "ceph-daemon-data".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
        VolumeMount {
            name: "ceph-daemon-data".into(),
            mount_path: mount.into(),
            ..VolumeMount::default()
        },
    )
}

/// A Job running `spec` once, its pods labelled `labels`; `backoff_limit`
/// is Kubernetes' own retries.
pub fn job(
    metadata: ObjectMeta,
    labels: BTreeMap<String, String>,
    spec: PodSpec,
    backoff_limit: i32,
) -> Job {
    Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(backoff_limit),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(spec),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// A privileged security context (OSDs, prepare, discover: raw devices).
pub fn privileged() -> k8s_openapi::api::core::v1::SecurityContext {
    k8s_openapi::api::core::v1::SecurityContext {
        privileged: Some(true),
        ..Default::default()
    }
}

/// Splits volume/mount pairs.
pub fn split(pairs: Vec<(Volume, VolumeMount)>) -> (Vec<Volume>, Vec<VolumeMount>) {
    pairs.into_iter().unzip()
}
