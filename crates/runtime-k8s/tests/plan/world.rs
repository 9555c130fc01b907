//! A small stand-in for the API server and the controller around the pure
//! plan: it applies a plan's writes to the objects (giving Services a
//! ClusterIP, adding the defaults the API server adds, keeping status), runs
//! `auth get-or-create` by writing the key Secret, and records every Ceph
//! operation. Ceph's own state is set by each test.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use rookery_api::CephCluster;
use rookery_runtime_k8s::objects::round_trip;
use rookery_runtime_k8s::plan::input::{CephObserved, ClusterInput, FreshKeys, Owned};
use rookery_runtime_k8s::plan::ops::KeyFormat;
use rookery_runtime_k8s::plan::{plan_cluster, CephOp, FinalizerChange, Object, Plan, StatusWrite};
use serde_json::json;

use crate::fixtures::{at, OPERATOR_IMAGE};

/// One cluster, its objects, and what was done to them.
#[derive(Debug, Clone)]
pub struct World {
    pub input: ClusterInput,
    /// Every Ceph operation run, in order.
    pub ran: Vec<CephOp>,
    /// Every object ever written, for the round-trip check.
    pub written: Vec<Object>,
    next_ip: u32,
}

impl World {
    pub fn new(cluster: CephCluster, nodes: Vec<Node>) -> Self {
        World {
            input: ClusterInput {
                cluster,
                pools: Vec::new(),
                filesystems: Vec::new(),
                owned: Owned::default(),
                nodes,
                ceph: None,
                fresh: FreshKeys {
                    fsid: "fsid-1".into(),
                    mon_key: "AQmonkey==".into(),
                    admin_key: "AQadminkey==".into(),
                },
                operator_image: OPERATOR_IMAGE.into(),
                now: at(0),
            },
            ran: Vec::new(),
            written: Vec::new(),
            next_ip: 1,
        }
    }

    pub fn plan(&self) -> Plan {
        plan_cluster(&self.input)
    }

    pub fn ceph(&mut self) -> &mut CephObserved {
        self.input.ceph.as_mut().expect("Ceph is reachable")
    }

    /// Plans and applies once; returns the plan.
    pub fn reconcile(&mut self) -> Plan {
        let plan = self.plan();
        self.apply(&plan);
        plan
    }

    /// Reconciles until a plan has nothing to do (at most `max` times).
    pub fn settle(&mut self, max: usize) -> Plan {
        for _ in 0..max {
            let plan = self.reconcile();
            if plan.is_empty() {
                return plan;
            }
        }
        let p = self.plan();
        panic!(
            "no steady state after {max} reconciles: {:?} {:?} {:?}",
            p.writes(),
            p.ceph,
            p.events
        );
    }

    pub fn apply(&mut self, plan: &Plan) {
        for op in &plan.ceph {
            if let CephOp::AuthGetOrCreate { entity, secret, .. } = op {
                self.write_key(entity, &secret.name, &secret.format);
            }
            self.ran.push(op.clone());
        }
        for o in plan.create.iter().chain(&plan.replace) {
            self.remove(o.key().kind, &o.key().name);
            self.store(o.clone());
        }
        for u in &plan.update {
            self.remove(u.object.key().kind, &u.object.key().name);
            self.store(u.object.clone());
        }
        for k in &plan.delete {
            self.remove(k.kind, &k.name);
        }
        let meta = &mut self.input.cluster.metadata.extra;
        match plan.finalizer {
            Some(FinalizerChange::Add) => {
                meta.insert("finalizers".into(), json!(["cephcluster.ceph.rook.io"]));
            }
            Some(FinalizerChange::Remove) => {
                meta.insert("finalizers".into(), json!([]));
            }
            None => {}
        }
        if let Some(StatusWrite::Cluster(s)) = &plan.status {
            let value = serde_json::to_value(s).unwrap();
            self.input.cluster.extra.insert("status".into(), value);
        }
    }

    fn write_key(&mut self, entity: &str, name: &str, format: &KeyFormat) {
        let key = format!("AQkey-of-{entity}==");
        let data: BTreeMap<String, ByteString> = match format {
            KeyFormat::Keyring => BTreeMap::from([(
                "keyring".into(),
                ByteString(format!("[{entity}]\n\tkey = {key}\n").into_bytes()),
            )]),
            KeyFormat::Csi {
                user,
                id_field,
                key_field,
            } => BTreeMap::from([
                (id_field.clone(), ByteString(user.clone().into_bytes())),
                (key_field.clone(), ByteString(key.into_bytes())),
            ]),
        };
        self.remove("Secret", name);
        self.input.owned.secrets.push(Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        });
        if let Some(c) = self.input.ceph.as_mut() {
            if !c.auth_entities.iter().any(|e| e == entity) {
                c.auth_entities.push(entity.into());
            }
        }
    }

    /// Stores `o` as the API server would: with the defaults it adds and a
    /// ClusterIP for a Service.
    fn store(&mut self, o: Object) {
        assert!(
            round_trip_ok(&o),
            "{} does not round-trip: {:?}",
            o.key(),
            o
        );
        self.written.push(o.clone());
        let owned = &mut self.input.owned;
        match o {
            Object::Deployment(mut d) => {
                let spec = d.spec.as_mut().unwrap();
                spec.progress_deadline_seconds = Some(600);
                spec.revision_history_limit = Some(10);
                let pod = spec.template.spec.as_mut().unwrap();
                pod.termination_grace_period_seconds = Some(30);
                for c in &mut pod.containers {
                    c.image_pull_policy = Some("IfNotPresent".into());
                    c.termination_message_path = Some("/dev/termination-log".into());
                }
                d.metadata.uid = Some("uid-x".into());
                d.metadata.resource_version = Some("1".into());
                owned.deployments.push(*d);
            }
            Object::Service(mut s) => {
                let ip = format!("10.96.0.{}", self.next_ip);
                self.next_ip += 1;
                let spec = s.spec.as_mut().unwrap();
                spec.cluster_ip = Some(ip.clone());
                spec.cluster_ips = Some(vec![ip]);
                spec.session_affinity = Some("None".into());
                owned.services.push(*s);
            }
            Object::ConfigMap(c) => owned.config_maps.push(*c),
            Object::Secret(s) => owned.secrets.push(*s),
            Object::Job(j) => owned.jobs.push(*j),
            Object::DaemonSet(d) => owned.daemon_sets.push(*d),
        }
    }

    pub fn remove(&mut self, kind: &str, name: &str) {
        let owned = &mut self.input.owned;
        let n = Some(name.to_owned());
        match kind {
            "Deployment" => owned.deployments.retain(|o| o.metadata.name != n),
            "Service" => owned.services.retain(|o| o.metadata.name != n),
            "ConfigMap" => owned.config_maps.retain(|o| o.metadata.name != n),
            "Secret" => owned.secrets.retain(|o| o.metadata.name != n),
            "Job" => owned.jobs.retain(|o| o.metadata.name != n),
            "DaemonSet" => owned.daemon_sets.retain(|o| o.metadata.name != n),
            other => panic!("unknown kind {other}"),
        }
    }

    pub fn deployment(&self, name: &str) -> serde_json::Value {
        let d = self
            .input
            .owned
            .deployment(name)
            .unwrap_or_else(|| panic!("no {name}"));
        serde_json::to_value(d).unwrap()
    }

    pub fn config(&self, name: &str, key: &str) -> String {
        self.input
            .owned
            .config_value(name, key)
            .unwrap_or_else(|| panic!("no {name}.{key}"))
            .to_owned()
    }
}

/// The strict check of tests/deploy.rs (crate::objects): the object parses
/// into its typed struct and comes back unchanged.
pub fn round_trip_ok(o: &Object) -> bool {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::{ConfigMap, Service};
    let v = o.to_value();
    let problems = match o {
        Object::Deployment(_) => round_trip::<Deployment>(&v),
        Object::Service(_) => round_trip::<Service>(&v),
        Object::ConfigMap(_) => round_trip::<ConfigMap>(&v),
        Object::Secret(_) => round_trip::<Secret>(&v),
        Object::Job(_) => round_trip::<Job>(&v),
        Object::DaemonSet(_) => round_trip::<DaemonSet>(&v),
    };
    problems.is_empty()
        && matches!(
            rookery_runtime_k8s::objects::check_document(&v),
            Ok(rookery_runtime_k8s::objects::Checked::Typed(..))
        )
}

/// Job condition helpers: the Job `name` finished (`Complete` or `Failed`)
/// at `at`.
pub fn finish_job(w: &mut World, name: &str, kind: &str, at: k8s_openapi::jiff::Timestamp) {
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let job = w
        .input
        .owned
        .jobs
        .iter_mut()
        .find(|j| j.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no Job {name}"));
    let succeeded = kind == "Complete";
    job.status = Some(JobStatus {
        succeeded: Some(i32::from(succeeded)),
        failed: Some(i32::from(!succeeded)),
        conditions: Some(vec![JobCondition {
            type_: kind.into(),
            status: "True".into(),
            last_transition_time: Some(Time(at)),
            message: (!succeeded).then(|| "Job has reached the specified backoff limit".into()),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    });
}

/// Sets (replaces) a ConfigMap the operator does not render (an inventory,
/// a report).
pub fn put_config_map(w: &mut World, cm: k8s_openapi::api::core::v1::ConfigMap) {
    let name = cm.metadata.name.clone().unwrap();
    w.remove("ConfigMap", &name);
    w.input.owned.config_maps.push(cm);
}

/// A steady cluster of three mons (a, b, c on n1..n3) and three OSDs
/// (0, 1, 2: /dev/sdb of each node), Ceph healthy.
pub fn steady() -> World {
    use crate::fixtures::*;
    let mut w = World::new(cluster(), three_nodes());
    for i in 1..=3 {
        put_config_map(
            &mut w,
            inventory(&format!("n{i}"), &[disk("sdb", &format!("wwn-{i}"))]),
        );
    }
    w.reconcile();
    w.reconcile();
    w.input.ceph = Some(healthy(&["a", "b", "c"], &[]));
    for _ in 0..3 {
        w.reconcile();
    }
    for i in 1..=3u32 {
        let node = format!("n{i}");
        let wwn = format!("wwn-{i}");
        finish_job(
            &mut w,
            &format!("rook-ceph-osd-prepare-{node}"),
            "Complete",
            at(60),
        );
        put_config_map(
            &mut w,
            report(&node, "completed", "", vec![reported(i - 1, "sdb", &wwn)]),
        );
        let uuid = format!("uuid-{}", i - 1);
        put_config_map(&mut w, inventory(&node, &[osd_disk("sdb", &wwn, &uuid)]));
    }
    w.input.ceph = Some(healthy(&["a", "b", "c"], &[0, 1, 2]));
    w.settle(5);
    w
}
