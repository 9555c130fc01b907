//! One supervisor per cluster directory: an exclusive `flock` on
//! `run/supervisor.lock`, held for the supervisor's life. The kernel drops it
//! when the process dies, so a crashed supervisor never blocks the next one.

use std::fs::File;

use nix::fcntl::{Flock, FlockArg};

use crate::layout::{write_atomic, Layout};
use crate::procs;

/// Held while this process supervises the cluster.
#[derive(Debug)]
pub struct SupervisorLock {
    _lock: Flock<File>,
    pid_file: std::path::PathBuf,
}

impl Drop for SupervisorLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Takes the lock, or returns the pid of the supervisor holding it.
pub fn acquire(layout: &Layout) -> std::io::Result<Result<SupervisorLock, Option<u32>>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(layout.lock())?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => {
            write_atomic(
                &layout.supervisor_pid(),
                format!("{}\n", std::process::id()).as_bytes(),
                0o644,
            )?;
            Ok(Ok(SupervisorLock {
                _lock: lock,
                pid_file: layout.supervisor_pid(),
            }))
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            Ok(Err(procs::read_pid(&layout.supervisor_pid())))
        }
        Err((_, e)) => Err(std::io::Error::from(e)),
    }
}

/// The pid of the running supervisor, if one holds the lock.
pub fn running_supervisor(layout: &Layout) -> Option<u32> {
    if !layout.lock().exists() {
        return None;
    }
    match acquire(layout) {
        // Free: we took it for an instant; dropping releases it. Keep the
        // pid file of nobody from lingering.
        Ok(Ok(_probe)) => None,
        Ok(Err(pid)) => Some(pid.unwrap_or(0)),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_sees_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        assert_eq!(running_supervisor(&layout), None);
        let held = acquire(&layout).unwrap().unwrap();
        // flock is per open file description, so a second open in the same
        // process conflicts just like another process would.
        assert_eq!(
            acquire(&layout).unwrap().unwrap_err(),
            Some(std::process::id())
        );
        assert_eq!(running_supervisor(&layout), Some(std::process::id()));
        drop(held);
        assert_eq!(running_supervisor(&layout), None);
        assert!(!layout.supervisor_pid().exists());
    }
}
