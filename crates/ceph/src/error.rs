//! One error type for the crate: what was attempted, on which object, and Ceph's answer.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A librados/librbd call or a mon/mgr command failed with an errno.
    #[error("{op} failed: {} (errno {errno}){}", errno_description(*errno), status_suffix(.status))]
    Ceph {
        /// What was attempted, e.g. `rbd create of image 'x' in pool 'rbd'`.
        op: String,
        /// Positive errno value.
        errno: i32,
        /// Ceph's own explanation (the `outs` of a command); empty for plain calls.
        status: String,
    },
    /// A command reply was not the JSON we expected.
    #[error("{op}: cannot decode the reply ({source}); reply begins: {snippet:?}")]
    Decode {
        op: String,
        snippet: String,
        #[source]
        source: serde_json::Error,
    },
    /// Ceph returned data we cannot represent (e.g. a non-UTF-8 omap key).
    #[error("{op}: unexpected reply: {detail}")]
    UnexpectedReply { op: String, detail: String },
    /// The caller passed something Ceph cannot take (e.g. a name with a NUL byte).
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidInput {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// The blocking task was dropped because the async runtime is shutting down.
    #[error("{op} was cancelled: the async runtime is shutting down")]
    Cancelled { op: String },
}

impl Error {
    pub(crate) fn ceph(op: impl Into<String>, errno: i32) -> Self {
        Self::Ceph {
            op: op.into(),
            errno,
            status: String::new(),
        }
    }

    pub(crate) fn decode(op: impl Into<String>, reply: &[u8], source: serde_json::Error) -> Self {
        const MAX: usize = 200;
        // Errors get logged: never let a cephx key ride along in the snippet.
        let snippet = if reply.windows(5).any(|w| w == b"\"key\"") {
            "<withheld: the reply may contain a key>".to_owned()
        } else {
            String::from_utf8_lossy(&reply[..reply.len().min(MAX)]).into_owned()
        };
        Self::Decode {
            op: op.into(),
            snippet,
            source,
        }
    }

    /// The Ceph errno (positive), if this error came from Ceph.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Ceph { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The symbolic errno name (`ENOENT`), if known.
    pub fn errno_name(&self) -> Option<&'static str> {
        self.errno().and_then(errno_name)
    }

    /// The object (pool, image, object, entity...) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.errno() == Some(libc::ENOENT)
    }

    /// The object exists already.
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// Ceph gave up waiting (mon/osd op or connect timeout).
    pub fn is_timeout(&self) -> bool {
        self.errno() == Some(libc::ETIMEDOUT)
    }

    /// The cluster or the pool is full (ENOSPC), or the pool is at its quota
    /// (EDQUOT): Ceph refuses writes that would add data until space is freed.
    pub fn is_full(&self) -> bool {
        matches!(self.errno(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
    }

    /// An equal error, for telling several waiters about one failed call
    /// (a decode error's JSON cause is kept as text).
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Ceph { op, errno, status } => Self::Ceph {
                op: op.clone(),
                errno: *errno,
                status: status.clone(),
            },
            Self::Decode {
                op,
                snippet,
                source,
            } => Self::UnexpectedReply {
                op: op.clone(),
                detail: format!("cannot decode the reply ({source}); reply begins: {snippet:?}"),
            },
            Self::UnexpectedReply { op, detail } => Self::UnexpectedReply {
                op: op.clone(),
                detail: detail.clone(),
            },
            Self::InvalidInput {
                what,
                value,
                reason,
            } => Self::InvalidInput {
                what,
                value: value.clone(),
                reason: reason.clone(),
            },
            Self::Cancelled { op } => Self::Cancelled { op: op.clone() },
        }
    }
}

fn status_suffix(status: &str) -> String {
    let status = status.trim();
    if status.is_empty() {
        String::new()
    } else {
        format!(": {status}")
    }
}

/// The C library's description of `errno`, e.g. "No such file or directory".
pub fn errno_description(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; we print the number ourselves.
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The symbolic name of the errno values Ceph commonly returns.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    use libc::*;
    Some(match errno {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EIO => "EIO",
        E2BIG => "E2BIG",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EXDEV => "EXDEV",
        EINVAL => "EINVAL",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        ERANGE => "ERANGE",
        EDEADLK => "EDEADLK",
        ENAMETOOLONG => "ENAMETOOLONG",
        ENOSYS => "ENOSYS",
        ENOTEMPTY => "ENOTEMPTY",
        ENODATA => "ENODATA",
        EOPNOTSUPP => "EOPNOTSUPP",
        ENOTCONN => "ENOTCONN",
        ESHUTDOWN => "ESHUTDOWN",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        EDQUOT => "EDQUOT",
        ECANCELED => "ECANCELED",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_errno_and_description() {
        let e = Error::ceph("rbd create of image 'x' in pool 'rbd'", libc::ENOENT);
        assert_eq!(
            e.to_string(),
            "rbd create of image 'x' in pool 'rbd' failed: No such file or directory (errno 2)"
        );
        assert!(e.is_not_found());
        assert!(!e.is_exists());
        assert_eq!(e.errno(), Some(2));
        assert_eq!(e.errno_name(), Some("ENOENT"));
    }

    #[test]
    fn message_includes_command_status() {
        let e = Error::Ceph {
            op: "mon command 'osd pool set'".into(),
            errno: libc::ENOENT,
            status: "unrecognized pool 'nope'\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "mon command 'osd pool set' failed: No such file or directory (errno 2): unrecognized pool 'nope'"
        );
    }

    #[test]
    fn predicates() {
        assert!(Error::ceph("x", libc::EEXIST).is_exists());
        assert!(Error::ceph("x", libc::ETIMEDOUT).is_timeout());
        assert!(Error::ceph("x", libc::ENOSPC).is_full());
        assert!(Error::ceph("x", libc::EDQUOT).is_full());
        assert!(!Error::ceph("x", libc::EIO).is_full());
        let invalid = Error::InvalidInput {
            what: "image name",
            value: "a\0b".into(),
            reason: "contains a NUL byte".into(),
        };
        assert_eq!(invalid.errno(), None);
        assert!(!invalid.is_not_found());
        assert_eq!(
            invalid.to_string(),
            "invalid image name \"a\\0b\": contains a NUL byte"
        );
    }

    #[test]
    fn errno_naming() {
        assert_eq!(errno_name(libc::ETIMEDOUT), Some("ETIMEDOUT"));
        assert_eq!(errno_name(100_000), None);
        assert_eq!(errno_description(libc::EEXIST), "File exists");
        assert_eq!(errno_description(libc::ETIMEDOUT), "Connection timed out");
    }

    #[test]
    fn decode_error_withholds_keys() {
        let reply = br#"[{"entity": "client.x", "key": "AQB..."}"#;
        let source = serde_json::from_slice::<serde_json::Value>(reply).unwrap_err();
        let e = Error::decode("mon command 'auth get'", reply, source);
        assert!(!e.to_string().contains("AQB"), "{e}");
    }

    #[test]
    fn decode_error_keeps_a_short_snippet() {
        let reply = vec![b'x'; 1000];
        let source = serde_json::from_slice::<serde_json::Value>(&reply).unwrap_err();
        let e = Error::decode("mon command 'status'", &reply, source);
        match &e {
            Error::Decode { snippet, .. } => assert_eq!(snippet.len(), 200),
            other => panic!("unexpected {other:?}"),
        }
        assert!(e
            .to_string()
            .starts_with("mon command 'status': cannot decode the reply"));
    }
}
