//! Runs librados/librbd calls on tokio's blocking pool, never on executor threads.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Runs `f` on a blocking thread. A panic in `f` resumes on the caller; a task
/// dropped at runtime shutdown becomes [`Error::Cancelled`].
pub(crate) async fn run<T, F>(op: impl FnOnce() -> String, f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::Cancelled { op: op() }),
    }
}

/// A name for the C API: rejects interior NUL bytes, which C would silently truncate at.
pub(crate) fn c_name(what: &'static str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::InvalidInput {
        what,
        value: value.to_owned(),
        reason: "contains a NUL byte".to_owned(),
    })
}

/// A path for the C API, byte for byte (paths need not be UTF-8).
pub(crate) fn c_path(what: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidInput {
        what,
        value: path.display().to_string(),
        reason: "contains a NUL byte".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_name_rejects_nul() {
        assert_eq!(c_name("pool name", "rbd").unwrap().as_bytes(), b"rbd");
        let err = c_name("pool name", "r\0bd").unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidInput {
                what: "pool name",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn run_returns_the_closure_result() {
        let v = run(|| "test".into(), || Ok(41 + 1)).await.unwrap();
        assert_eq!(v, 42);
    }
}
