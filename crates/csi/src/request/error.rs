//! Errors of a CSI request and their gRPC codes, for every service of every
//! driver. Errors of the shared mechanisms (journal, locks, codec, node tools)
//! keep the code [`crate::error`] gives them; this adds the request-level
//! failures a service decides itself.

use std::time::Duration;

use crate::error::{CsiCode, Error as CsiError};
use crate::grpc::code_to_tonic;

pub(crate) type Result<T, E = RequestError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A request field that is missing or unusable; `field` is its CSI name.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A capacity the request's range or the volume's size rules out.
    #[error("{0}")]
    OutOfRange(String),
    /// The volume (or pool) named by a request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request name is taken by a volume that does not match the request.
    #[error("{0}")]
    AlreadyExists(String),
    /// A request to retry from the start (e.g. a ListVolumes token we did not issue).
    #[error("{0}")]
    Aborted(String),
    /// Ceph cannot answer yet; retry.
    #[error("{0}")]
    Unavailable(String),
    /// Something we decline to manage (e.g. a ceph-csi feature we do not offer).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The request did not finish within the controller's deadline. Its locks are
    /// released; the CO retries.
    #[error("{rpc} did not finish within {deadline:?}: the cluster did not answer in time; check that mons and OSDs are up, then retry")]
    Deadline {
        rpc: &'static str,
        deadline: Duration,
    },
    /// The journal, the locks or the ID codec refused.
    #[error(transparent)]
    Csi(#[from] CsiError),
}

impl RequestError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// A Ceph call failed while doing `doing`: the shared error, so the errno
    /// mapping and the hint on what to do live in one place.
    pub(crate) fn ceph(doing: impl Into<String>, source: rookery_ceph::Error) -> Self {
        Self::Csi(CsiError::ceph(doing, source))
    }

    /// The CSI status code for this error.
    pub fn code(&self) -> CsiCode {
        match self {
            Self::Invalid { .. } => CsiCode::InvalidArgument,
            Self::OutOfRange(_) => CsiCode::OutOfRange,
            Self::NotFound(_) => CsiCode::NotFound,
            Self::AlreadyExists(_) => CsiCode::AlreadyExists,
            Self::FailedPrecondition(_) => CsiCode::FailedPrecondition,
            Self::Aborted(_) => CsiCode::Aborted,
            Self::Unavailable(_) => CsiCode::Unavailable,
            Self::Deadline { .. } => CsiCode::DeadlineExceeded,
            Self::Csi(e) => e.code(),
        }
    }

    /// Whether this says that the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == CsiCode::NotFound
    }
}

impl From<RequestError> for tonic::Status {
    fn from(err: RequestError) -> Self {
        tonic::Status::new(code_to_tonic(err.code()), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let e = RequestError::invalid("name", "it is empty");
        assert_eq!(e.code(), CsiCode::InvalidArgument);
        assert_eq!(e.to_string(), "invalid name: it is empty");
        let st: tonic::Status = RequestError::OutOfRange("too small".into()).into();
        assert_eq!(st.code(), tonic::Code::OutOfRange);
        let e = RequestError::Deadline {
            rpc: "CreateVolume",
            deadline: Duration::from_secs(3),
        };
        assert_eq!(e.code(), CsiCode::DeadlineExceeded);
        let enoent = rookery_ceph::Error::Ceph {
            op: "rbd info".into(),
            errno: libc::ENOENT,
            status: String::new(),
        };
        assert!(RequestError::ceph("x", enoent).is_not_found());
    }
}
