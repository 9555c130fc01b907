//! The discover DaemonSet `rook-discover`: `rookery discover --watch` on
//! every node, publishing the node's devices (with the verdicts it can tell
//! without the spec) into the ConfigMap `local-device-<node>`, key
//! `devices`: a JSON list of `rookery_discover::Device` (as
//! `rookery discover --output json` prints them). The operator judges them
//! against the storage spec ([`rookery_discover::Selection`]).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rookery_discover::Device;

use super::input::Owned;
use super::meta::selector;
use super::object::Object;
use super::pod::{self, Runtime};

/// The DaemonSet's name (Rook's).
pub const DAEMON_SET: &str = "rook-discover";
/// The key of the inventory in `local-device-<node>`.
pub const DEVICES_KEY: &str = "devices";

/// `local-device-<node>`.
pub fn config_map_name(node: &str) -> String {
    format!("local-device-{node}")
}

/// The inventory of `node`: None until discover has published one, or when
/// it cannot be read (then the node is waited for, not judged empty).
pub fn devices(owned: &Owned, node: &str) -> Option<Vec<Device>> {
    let text = owned.config_value(&config_map_name(node), DEVICES_KEY)?;
    serde_json::from_str(text).ok()
}

/// The DaemonSet, on rookery's image.
pub fn daemon_set(rt: &Runtime, image: &str) -> Object {
    let labels = BTreeMap::from([
        ("app".to_owned(), DAEMON_SET.to_owned()),
        ("rook_cluster".to_owned(), rt.owner.namespace.clone()),
    ]);
    let env = |name: &str, path: &str| EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                api_version: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    };
    let (volumes, mut mounts) = pod::split(vec![
        pod::host_path("dev", "/dev", "/dev"),
        pod::host_path("sys", "/sys", "/sys"),
        pod::host_path("udev", "/run/udev", "/run/udev"),
    ]);
    for m in &mut mounts {
        m.read_only = Some(true);
    }
    let container = Container {
        name: "rook-discover".into(),
        image: Some(image.into()),
        command: Some(vec!["rookery".into()]),
        args: Some(vec!["discover".into(), "--watch".into()]),
        env: Some(vec![
            env("NODE_NAME", "spec.nodeName"),
            env("POD_NAMESPACE", "metadata.namespace"),
        ]),
        security_context: Some(pod::privileged()),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    DaemonSet {
        metadata: rt.owner.meta(DAEMON_SET, labels.clone()),
        spec: Some(DaemonSetSpec {
            selector: selector(labels.clone()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: Some(volumes),
                    service_account_name: Some(pod::DISCOVER_ACCOUNT.into()),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        status: None,
    }
    .into()
}
