//! Errors of the local runtime. Each says what failed, on which object, and
//! what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{context}: {source}")]
    Ceph {
        context: String,
        #[source]
        source: rookery_ceph::Error,
    },

    #[error("{0}")]
    Spec(String),

    #[error("port {port} ({what}) is already in use on loopback by another process; stop that process or choose another port in the cluster spec ({field})")]
    PortInUse {
        port: u16,
        what: String,
        field: &'static str,
    },

    #[error("{program} failed for {daemon}: {detail}; see {log}")]
    Daemon {
        program: String,
        daemon: String,
        detail: String,
        log: PathBuf,
    },

    #[error("timed out after {secs}s waiting for {what}; still missing: {missing}")]
    Timeout {
        what: String,
        secs: u64,
        missing: String,
    },

    #[error("device {device} is not blank ({why}); rookery only uses empty devices. Wipe it yourself if its data is not needed, or remove it from spec.storage.devices")]
    DeviceNotBlank { device: PathBuf, why: String },

    #[error("{0}")]
    Refused(String),

    #[error("could not generate random bytes: {0}")]
    Random(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds the path and the action to an I/O error.
pub trait IoContext<T> {
    fn ctx(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            what,
            path: path.into(),
            source,
        })
    }
}

/// Adds what we were doing to a Ceph error.
pub trait CephContext<T> {
    fn ceph(self, context: impl Into<String>) -> Result<T>;
}

impl<T> CephContext<T> for Result<T, rookery_ceph::Error> {
    fn ceph(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Ceph {
            context: context.into(),
            source,
        })
    }
}

impl From<getrandom::Error> for Error {
    fn from(e: getrandom::Error) -> Self {
        Error::Random(e.to_string())
    }
}
