//! The crate's error type and the one place that decides which CSI status code an
//! error becomes. The gRPC layer turns [`CsiCode`] into a `tonic::Code`; nothing
//! here knows about gRPC types.

use std::fmt;

use crate::locks::LockKind;
use crate::volume_id::VolumeIdError;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The gRPC status codes CSI uses, without depending on a gRPC crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsiCode {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Aborted,
    ResourceExhausted,
    FailedPrecondition,
    DeadlineExceeded,
    Unavailable,
    Internal,
    OutOfRange,
}

impl CsiCode {
    /// The gRPC name, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::Aborted => "ABORTED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::OutOfRange => "OUT_OF_RANGE",
        }
    }
}

impl fmt::Display for CsiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A volume or snapshot ID that is not a ceph-csi identifier.
    #[error("{what} {id:?} is not a valid ceph-csi ID: it {reason}")]
    InvalidId {
        /// `volume ID` or `snapshot ID`.
        what: &'static str,
        id: String,
        reason: VolumeIdError,
    },
    /// A request field we cannot use (empty name, malformed uuid, ...).
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// Another request holds the lock on this ID; the CO retries later.
    #[error("an operation with the given {kind} {id} already exists")]
    OperationInProgress { kind: LockKind, id: String },
    /// A Ceph call failed while doing `doing`.
    #[error("{doing}: {source}{}", errno_hint(.source))]
    Ceph {
        /// What we were doing, naming the journal object, e.g. `reserve name 'pvc-1' in
        /// csi.volumes.default`.
        doing: String,
        #[source]
        source: rookery_ceph::Error,
    },
    /// A journal object that should exist does not (e.g. `csi.volume.<uuid>` for a
    /// volume ID whose reservation was undone).
    #[error("journal object '{object}' {location} does not exist: {what}")]
    JournalObjectMissing {
        object: String,
        location: String,
        what: String,
    },
    /// A journal value that neither we nor ceph-csi would have written.
    #[error(
        "journal object '{object}' {location} key '{key}' holds {value:?}, expected {expected}; \
         the journal was changed by something other than ceph-csi or rookery — inspect it with \
         `rados listomapvals` before removing the key by hand"
    )]
    JournalCorrupt {
        object: String,
        location: String,
        key: String,
        value: String,
        expected: &'static str,
    },
    /// Two journal entries contradict each other and neither can be dropped safely.
    #[error("journal inconsistent {location}: {detail}")]
    JournalInconsistent { location: String, detail: String },
    /// A snapshot name already reserved for a different source volume.
    #[error(
        "snapshot name '{name}' is already taken by a snapshot of '{saved_source}', \
         not of '{source_name}'; use another name or delete that snapshot first"
    )]
    SnapshotNameConflict {
        name: String,
        source_name: String,
        saved_source: String,
    },
    /// A tool or system call on this node (mount, mkfs, losetup, a FUSE mapper)
    /// failed while doing `doing`; `detail` says how and what to do.
    #[error("{doing}: {detail}")]
    Node {
        doing: String,
        /// The errno of a failed system call, which decides the code.
        errno: Option<i32>,
        detail: String,
    },
}

impl Error {
    /// A failed system call on this node.
    pub(crate) fn os(doing: impl Into<String>, e: &std::io::Error) -> Self {
        Self::Node {
            doing: doing.into(),
            errno: e.raw_os_error(),
            detail: e.to_string(),
        }
    }

    pub(crate) fn ceph(doing: impl Into<String>, source: rookery_ceph::Error) -> Self {
        Self::Ceph {
            doing: doing.into(),
            source,
        }
    }

    /// The CSI status code for this error.
    pub fn code(&self) -> CsiCode {
        match self {
            Self::InvalidId { .. } | Self::InvalidArgument { .. } => CsiCode::InvalidArgument,
            Self::OperationInProgress { .. } => CsiCode::Aborted,
            Self::Ceph { source, .. } => ceph_code(source),
            Self::JournalObjectMissing { .. } => CsiCode::NotFound,
            Self::JournalCorrupt { .. } | Self::JournalInconsistent { .. } => CsiCode::Internal,
            Self::SnapshotNameConflict { .. } => CsiCode::AlreadyExists,
            Self::Node { errno, .. } => errno.map_or(CsiCode::Internal, errno_code),
        }
    }

    /// Whether Ceph reported that the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == CsiCode::NotFound
    }
}

/// The CSI code for a Ceph error: by errno where there is one.
pub fn ceph_code(e: &rookery_ceph::Error) -> CsiCode {
    match e {
        rookery_ceph::Error::InvalidInput { .. } => CsiCode::InvalidArgument,
        // The runtime is shutting down: the CO should retry against another instance.
        rookery_ceph::Error::Cancelled { .. } => CsiCode::Unavailable,
        other => other.errno().map_or(CsiCode::Internal, errno_code),
    }
}

/// The one errno -> CSI code mapping.
pub fn errno_code(errno: i32) -> CsiCode {
    match errno {
        libc::ENOENT => CsiCode::NotFound,
        libc::EEXIST => CsiCode::AlreadyExists,
        libc::ETIMEDOUT => CsiCode::DeadlineExceeded,
        libc::ENOSPC | libc::EDQUOT => CsiCode::ResourceExhausted,
        libc::ESHUTDOWN | libc::ENOTCONN => CsiCode::Unavailable,
        _ => CsiCode::Internal,
    }
}

/// What to do about a Ceph errno, appended to the message.
fn errno_hint(e: &rookery_ceph::Error) -> &'static str {
    match e.errno() {
        Some(libc::ETIMEDOUT) => {
            "; the cluster did not answer in time: check that mons and OSDs are up, then retry"
        }
        Some(libc::ENOSPC) => {
            "; the Ceph cluster is full and refuses new data: delete volumes or snapshots \
             you no longer need (deleted images leave the RBD trash once purged) or add OSDs, \
             then retry; `rookery status` shows which OSDs are full"
        }
        Some(libc::EDQUOT) => {
            "; the pool is at its quota: raise the quota or delete data, then retry"
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            "; check the cephx user's caps on this pool and namespace"
        }
        Some(libc::ESHUTDOWN) | Some(libc::ENOTCONN) => {
            "; the cluster connection is down: check the mons, then retry"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceph_err(errno: i32) -> rookery_ceph::Error {
        rookery_ceph::Error::Ceph {
            op: "omap set of object 'csi.volumes.default' in pool 'rbd'".into(),
            errno,
            status: String::new(),
        }
    }

    #[test]
    fn errno_mapping() {
        for (errno, code) in [
            (libc::ENOENT, CsiCode::NotFound),
            (libc::EEXIST, CsiCode::AlreadyExists),
            (libc::ETIMEDOUT, CsiCode::DeadlineExceeded),
            (libc::ENOSPC, CsiCode::ResourceExhausted),
            (libc::EDQUOT, CsiCode::ResourceExhausted),
            (libc::ESHUTDOWN, CsiCode::Unavailable),
            (libc::ENOTCONN, CsiCode::Unavailable),
            (libc::EIO, CsiCode::Internal),
            (libc::EACCES, CsiCode::Internal),
        ] {
            assert_eq!(errno_code(errno), code, "errno {errno}");
            assert_eq!(Error::ceph("x", ceph_err(errno)).code(), code);
        }
        let cancelled = rookery_ceph::Error::Cancelled { op: "x".into() };
        assert_eq!(ceph_code(&cancelled), CsiCode::Unavailable);
        let invalid = rookery_ceph::Error::InvalidInput {
            what: "object name",
            value: "a\0".into(),
            reason: "contains a NUL byte".into(),
        };
        assert_eq!(ceph_code(&invalid), CsiCode::InvalidArgument);
    }

    #[test]
    fn messages_name_the_object_and_what_to_do() {
        let e = Error::ceph(
            "reserve name 'pvc-1' in csi.volumes.default",
            ceph_err(libc::ETIMEDOUT),
        );
        let text = e.to_string();
        assert!(text.starts_with("reserve name 'pvc-1' in csi.volumes.default: omap set of object 'csi.volumes.default' in pool 'rbd' failed"), "{text}");
        assert!(text.contains("check that mons and OSDs are up"), "{text}");
        let e = Error::OperationInProgress {
            kind: LockKind::Volume,
            id: "pvc-1".into(),
        };
        assert_eq!(
            e.to_string(),
            "an operation with the given Volume ID pvc-1 already exists"
        );
        assert_eq!(e.code(), CsiCode::Aborted);
        assert_eq!(CsiCode::Aborted.to_string(), "ABORTED");
        let full = Error::ceph("create image 'csi-vol-x'", ceph_err(libc::ENOSPC));
        assert_eq!(full.code(), CsiCode::ResourceExhausted);
        let text = full.to_string();
        assert!(text.contains("cluster is full"), "{text}");
        assert!(text.contains("delete volumes"), "{text}");
    }
}
