//! The operator's reconcile plan, as pure functions: from what the API server
//! and Ceph report ([`input`]), what to create, update and delete, which Ceph
//! operations to run, the status to write, the finalizer to add or remove and
//! the Events to record ([`Plan`]). No client, no I/O: the controllers (next
//! step) gather the inputs and carry the plan out; tests assert exact plans.
//!
//! One file per thing rendered: [`mon`], [`mgr`], [`osd`], [`discover`],
//! [`pool`], [`filesystem`], [`status`], [`deletion`]; [`cluster`] puts the
//! cluster's parts together. Decisions shared with the local runtime come from
//! `rookery_core` (mon failover and count: `mons::decide`; disks -> OSDs:
//! `devices::plan_disks`; OSD removal: `removal::check_removal`).
//!
//! Deterministic: every list in a plan is sorted, so the same inputs give the
//! same plan, and a steady cluster gives an empty one ([`Plan::is_empty`]).
//!
//! How a controller carries a plan out: the Ceph operations first, in order,
//! then the API writes; when one fails it stops and plans again next time.
//! Every operation and write is idempotent, and what a plan records of its
//! progress (the mon change step, an OSD's gone mark, a Job's attempt) is
//! written with the API writes, so it is recorded only once the operations
//! it follows have run.

pub mod cluster;
pub mod deletion;
pub mod diff;
pub mod discover;
pub mod filesystem;
pub mod input;
pub mod meta;
pub mod mgr;
pub mod mon;
pub mod monmap;
pub mod object;
pub mod ops;
pub mod osd;
pub mod pod;
pub mod pool;
pub mod prepare;
pub mod status;

pub use cluster::plan_cluster;
pub use filesystem::plan_filesystem;
pub use input::{CephObserved, ClusterInput, FreshKeys, Owned};
pub use object::{Object, ObjectKey};
pub use ops::CephOp;
pub use pool::plan_pool;

use rookery_api::status::{ClusterStatus, ObjectStatus};

/// The finalizer on a CephCluster (Rook's name).
pub const CLUSTER_FINALIZER: &str = "cephcluster.ceph.rook.io";
/// The finalizer on a CephBlockPool (Rook's name).
pub const POOL_FINALIZER: &str = "cephblockpool.ceph.rook.io";
/// The finalizer on a CephFilesystem (Rook's name).
pub const FILESYSTEM_FINALIZER: &str = "cephfilesystem.ceph.rook.io";

/// What one reconcile of one object does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Objects to create, sorted by kind then name.
    pub create: Vec<Object>,
    /// Objects whose operator-owned fields differ: write these (server-side
    /// apply of the rendered object), sorted.
    pub update: Vec<Update>,
    /// Immutable objects (Jobs) to delete and create again with this content:
    /// the executor deletes, waits until gone, creates.
    pub replace: Vec<Object>,
    /// Objects to delete, sorted.
    pub delete: Vec<ObjectKey>,
    /// Ceph operations, in the order to run them.
    pub ceph: Vec<CephOp>,
    /// The status to write, when it changed.
    pub status: Option<StatusWrite>,
    /// Add or remove the object's finalizer.
    pub finalizer: Option<FinalizerChange>,
    /// Events to record on the reconciled object.
    pub events: Vec<Event>,
    /// Look again after this many seconds even if nothing changes (waiting
    /// for a timeout or a backoff); None: on the next change or the resync.
    pub requeue_after_secs: Option<u64>,
}

impl Plan {
    /// Nothing to write anywhere: the steady state.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty()
            && self.update.is_empty()
            && self.replace.is_empty()
            && self.delete.is_empty()
            && self.ceph.is_empty()
            && self.status.is_none()
            && self.finalizer.is_none()
            && self.events.is_empty()
    }

    /// Every API write the plan makes, for people and tests:
    /// `create Service/rook-ceph-mon-a`, `delete Deployment/rook-ceph-mon-b`.
    pub fn writes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.create.iter().map(|o| format!("create {}", o.key())));
        out.extend(
            self.update
                .iter()
                .map(|u| format!("update {}", u.object.key())),
        );
        out.extend(self.replace.iter().map(|o| format!("replace {}", o.key())));
        out.extend(self.delete.iter().map(|k| format!("delete {k}")));
        if self.status.is_some() {
            out.push("status".into());
        }
        match self.finalizer {
            Some(FinalizerChange::Add) => out.push("add finalizer".into()),
            Some(FinalizerChange::Remove) => out.push("remove finalizer".into()),
            None => {}
        }
        out
    }

    /// Sorts the object lists (Ceph operations keep their order).
    pub(crate) fn sort(&mut self) {
        self.create.sort_by_key(Object::key);
        self.update.sort_by_key(|u| u.object.key());
        self.replace.sort_by_key(Object::key);
        self.delete.sort();
        self.delete.dedup();
    }
}

/// An object to write, and which owned field differed (for logs).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The object as rendered.
    pub object: Object,
    /// The first differing field path, e.g. `.spec.replicas`.
    pub field: String,
}

/// A status to write on the reconciled object.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusWrite {
    /// A CephCluster's.
    Cluster(Box<ClusterStatus>),
    /// A CephBlockPool's or CephFilesystem's.
    Object(ObjectStatus),
}

/// The reconciled object's finalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerChange {
    /// Add it (a live object without it).
    Add,
    /// Remove it: cleanup is done, let the API server delete the object.
    Remove,
}

/// A Kubernetes Event on the reconciled object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    /// `Warning` or `Normal`.
    pub type_: EventType,
    /// CamelCase, e.g. `MonFailover`.
    pub reason: String,
    /// A sentence for people.
    pub message: String,
}

/// An Event's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    /// Something happened as planned.
    Normal,
    /// Something needs attention.
    Warning,
}

impl Event {
    pub(crate) fn normal(reason: &str, message: impl Into<String>) -> Self {
        Event {
            type_: EventType::Normal,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub(crate) fn warning(reason: &str, message: impl Into<String>) -> Self {
        Event {
            type_: EventType::Warning,
            reason: reason.into(),
            message: message.into(),
        }
    }
}
