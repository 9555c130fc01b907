//! The kinds of objects the operator owns, as one enum: what a plan creates,
//! updates, replaces or deletes.

use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::Resource;
use serde_json::Value;

/// One object the operator renders.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// apps/v1 Deployment.
    Deployment(Box<Deployment>),
    /// v1 Service.
    Service(Box<Service>),
    /// v1 ConfigMap.
    ConfigMap(Box<ConfigMap>),
    /// v1 Secret.
    Secret(Box<Secret>),
    /// batch/v1 Job.
    Job(Box<Job>),
    /// apps/v1 DaemonSet.
    DaemonSet(Box<DaemonSet>),
}

/// Which object: kind and name (the namespace is the reconciled object's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `Deployment`, `Service`...
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// A key.
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        ObjectKey {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl Object {
    /// Its metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Deployment(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Deployment(_) => Deployment::KIND,
            Object::Service(_) => Service::KIND,
            Object::ConfigMap(_) => ConfigMap::KIND,
            Object::Secret(_) => Secret::KIND,
            Object::Job(_) => Job::KIND,
            Object::DaemonSet(_) => DaemonSet::KIND,
        }
    }

    /// Kind and name.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.kind(), self.meta().name.clone().unwrap_or_default())
    }

    /// The object as JSON, with `apiVersion` and `kind` (what is sent).
    pub fn to_value(&self) -> Value {
        let value = match self {
            Object::Deployment(o) => serde_json::to_value(o),
            Object::Service(o) => serde_json::to_value(o),
            Object::ConfigMap(o) => serde_json::to_value(o),
            Object::Secret(o) => serde_json::to_value(o),
            Object::Job(o) => serde_json::to_value(o),
            Object::DaemonSet(o) => serde_json::to_value(o),
        };
        // k8s-openapi's structs serialize infallibly (no maps with non-string keys).
        value.unwrap_or(Value::Null)
    }

    /// The Deployment inside, if it is one.
    pub fn as_deployment(&self) -> Option<&Deployment> {
        match self {
            Object::Deployment(d) => Some(d),
            _ => None,
        }
    }

    /// The ConfigMap inside, if it is one.
    pub fn as_config_map(&self) -> Option<&ConfigMap> {
        match self {
            Object::ConfigMap(c) => Some(c),
            _ => None,
        }
    }

    /// The Service inside, if it is one.
    pub fn as_service(&self) -> Option<&Service> {
        match self {
            Object::Service(s) => Some(s),
            _ => None,
        }
    }

    /// The Job inside, if it is one.
    pub fn as_job(&self) -> Option<&Job> {
        match self {
            Object::Job(j) => Some(j),
            _ => None,
        }
    }

    /// The Secret inside, if it is one.
    pub fn as_secret(&self) -> Option<&Secret> {
        match self {
            Object::Secret(s) => Some(s),
            _ => None,
        }
    }
}

impl From<Deployment> for Object {
    fn from(o: Deployment) -> Self {
        Object::Deployment(Box::new(o))
    }
}
impl From<Service> for Object {
    fn from(o: Service) -> Self {
        Object::Service(Box::new(o))
    }
}
impl From<ConfigMap> for Object {
    fn from(o: ConfigMap) -> Self {
        Object::ConfigMap(Box::new(o))
    }
}
impl From<Secret> for Object {
    fn from(o: Secret) -> Self {
        Object::Secret(Box::new(o))
    }
}
impl From<Job> for Object {
    fn from(o: Job) -> Self {
        Object::Job(Box::new(o))
    }
}
impl From<DaemonSet> for Object {
    fn from(o: DaemonSet) -> Self {
        Object::DaemonSet(Box::new(o))
    }
}
