//! OSD prepare: one Job per node with devices to prepare
//! (`rook-ceph-osd-prepare-<node>`), which makes the OSDs
//! (`ceph-volume raw prepare`) and reports them in the ConfigMap
//! `rook-ceph-osd-<node>-status` (key `status`, Rook's shape: `status`,
//! `message`, `osds`). Only a `completed` report makes OSD Deployments, so a
//! failed or interrupted prepare leaves nothing half-made. A failed Job is
//! run again after a backoff (core's [`RestartBackoff`]), its attempt
//! counted on the Job.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::jiff::Timestamp;
use rookery_core::devices::DiskIdentity;
use rookery_core::RestartBackoff;
use serde::{Deserialize, Serialize};

use super::diff::owned_field_differs;
use super::input::Owned;
use super::mon::ADMIN_KEYRING;
use super::object::{Object, ObjectKey};
use super::pod::{self, Runtime};
use super::Event;

/// The Job's attempt count (1 for the first run).
pub const ATTEMPT_ANNOTATION: &str = "rookery.io/attempt";
/// The report's key in its ConfigMap.
pub const REPORT_KEY: &str = "status";

/// `rook-ceph-osd-prepare-<node>`.
pub fn job_name(node: &str) -> String {
    format!("rook-ceph-osd-prepare-{node}")
}

/// `rook-ceph-osd-<node>-status`.
pub fn report_name(node: &str) -> String {
    format!("rook-ceph-osd-{node}-status")
}

/// The wait before a failed prepare runs again: 30 s, then 1, 2, 4 ...
/// minutes, at most 30.
pub fn backoff() -> RestartBackoff {
    RestartBackoff::new(
        Duration::from_secs(30),
        Duration::from_secs(60),
        Duration::from_secs(1800),
        Duration::MAX,
    )
}

/// What a prepare Job reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `orchestrating`, `completed` or `failed`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub message: String,
    /// The OSDs on the node's devices.
    #[serde(default)]
    pub osds: Vec<ReportedOsd>,
}

/// One OSD a prepare made (or found made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedOsd {
    /// Its id.
    pub id: u32,
    /// Its uuid (the BlueStore label's).
    pub uuid: String,
    /// The device it was prepared on.
    #[serde(rename = "device-path")]
    pub device_path: String,
    /// The device's identity across renames.
    pub identity: DiskIdentity,
    /// The device's size.
    pub size: u64,
}

/// The node's report, if it has one that parses.
pub fn report(owned: &Owned, node: &str) -> Option<Report> {
    serde_json::from_str(owned.config_value(&report_name(node), REPORT_KEY)?).ok()
}

/// The node's OSDs from a completed report; none otherwise.
pub fn completed_osds(owned: &Owned, node: &str) -> Vec<ReportedOsd> {
    match report(owned, node) {
        Some(r) if r.status == "completed" => r.osds,
        _ => Vec::new(),
    }
}

/// Where a node's prepare stands.
#[derive(Debug, Clone, PartialEq)]
enum JobState {
    Missing,
    Running,
    Succeeded,
    Failed {
        attempt: u32,
        at: Option<Timestamp>,
        message: String,
    },
}

fn job_state<'a>(owned: &'a Owned, node: &str) -> (JobState, Option<&'a Job>) {
    let Some(job) = owned.job(&job_name(node)) else {
        return (JobState::Missing, None);
    };
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    let cond = |t: &str| {
        conditions
            .into_iter()
            .flatten()
            .find(|c| c.type_ == t && c.status == "True")
    };
    let state = if cond("Complete").is_some() {
        JobState::Succeeded
    } else if let Some(c) = cond("Failed") {
        let attempt = attempt(job);
        let from_report = report(owned, node)
            .filter(|r| r.status == "failed" && !r.message.is_empty())
            .map(|r| r.message);
        JobState::Failed {
            attempt,
            at: c.last_transition_time.as_ref().map(|t| t.0),
            message: from_report
                .or_else(|| c.message.clone())
                .unwrap_or_else(|| "the Job failed".into()),
        }
    } else {
        JobState::Running
    };
    (state, Some(job))
}

fn attempt(job: &Job) -> u32 {
    job.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ATTEMPT_ANNOTATION))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1)
}

/// What the prepare of one node needs.
#[derive(Debug, Clone, Default)]
pub struct PreparePlan {
    /// The Job to create.
    pub create: Option<Object>,
    /// The Job to delete and create again.
    pub replace: Option<Object>,
    /// The Job to leave as it is.
    pub keep: Option<ObjectKey>,
    /// Events.
    pub events: Vec<Event>,
    /// Why the node has no OSDs on its new devices yet (a failure).
    pub failure: Option<String>,
    /// Look again then.
    pub requeue_after_secs: Option<u64>,
}

/// The prepare of `node` (`hostname` its hostname label) for `devices`
/// (new usable devices, by path; empty: nothing to prepare).
pub fn plan_prepare(
    rt: &Runtime,
    image: &str,
    owned: &Owned,
    node: &str,
    hostname: &str,
    devices: &[String],
    now: Timestamp,
) -> PreparePlan {
    let mut out = PreparePlan::default();
    let (state, job) = job_state(owned, node);
    let key = ObjectKey::new("Job", job_name(node));
    if devices.is_empty() {
        out.keep = job.map(|_| key);
        return out;
    }
    match state {
        JobState::Missing => out.create = Some(render(rt, image, node, hostname, devices, 1)),
        JobState::Running => out.keep = Some(key),
        JobState::Succeeded => {
            // Devices appeared since it ran: a new run for them.
            let wanted = render(rt, image, node, hostname, devices, 1);
            let same = job.is_some_and(|j| {
                let spec = |o: &Object| o.to_value()["spec"]["template"].clone();
                owned_field_differs(&spec(&wanted), &spec(&Object::from(j.clone()))).is_none()
            });
            if same {
                out.keep = Some(key);
            } else {
                out.replace = Some(wanted);
            }
        }
        JobState::Failed {
            attempt,
            at,
            message,
        } => {
            let wait = backoff().delay_after(attempt);
            let since = at.map_or(Duration::MAX, |at| {
                Duration::try_from(now.duration_since(at)).unwrap_or_default()
            });
            out.failure = Some(format!(
                "OSD prepare on node {node} failed (attempt {attempt}): {message}"
            ));
            if since >= wait {
                out.events.push(Event::warning(
                    "OSDPrepareFailed",
                    format!(
                        "OSD prepare on node {node} failed (attempt {attempt}): {message}; \
running it again"
                    ),
                ));
                out.replace = Some(render(rt, image, node, hostname, devices, attempt + 1));
            } else {
                out.keep = Some(key);
                out.requeue_after_secs = Some((wait - since).as_secs().max(1));
            }
        }
    }
    out
}

fn render(
    rt: &Runtime,
    image: &str,
    node: &str,
    hostname: &str,
    devices: &[String],
    attempt: u32,
) -> Object {
    let labels = BTreeMap::from([
        ("app".to_owned(), "rook-ceph-osd-prepare".to_owned()),
        ("rook_cluster".to_owned(), rt.owner.namespace.clone()),
        ("node".to_owned(), node.to_owned()),
    ]);
    let mut meta = rt.owner.meta(&job_name(node), labels.clone());
    meta.annotations = Some(BTreeMap::from([(
        ATTEMPT_ANNOTATION.to_owned(),
        attempt.to_string(),
    )]));
    let mut args = vec![
        "osd".to_owned(),
        "prepare".to_owned(),
        format!("--node={node}"),
        format!("--report={}", report_name(node)),
    ];
    args.extend(devices.iter().map(|d| format!("--device={d}")));
    let (volumes, mounts) = pod::split(vec![
        pod::keyring(ADMIN_KEYRING),
        pod::host_path("dev", "/dev", "/dev"),
        pod::host_path("udev", "/run/udev", "/run/udev"),
        pod::host_path("rook-data", &rt.data_dir, "/var/lib/rook"),
    ]);
    let container = Container {
        name: "provision".into(),
        image: Some(image.into()),
        command: Some(vec!["rookery".into()]),
        args: Some(args),
        env: Some(vec![pod::mon_host_env()]),
        security_context: Some(pod::privileged()),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let mut spec = rt.pod(Vec::new(), vec![container], volumes, Some(hostname));
    spec.restart_policy = Some("Never".into());
    spec.service_account_name = Some(pod::DISCOVER_ACCOUNT.into());
    spec.automount_service_account_token = None;
    // Retries are the operator's (with its backoff and a count).
    pod::job(meta, labels, spec, 0).into()
}
