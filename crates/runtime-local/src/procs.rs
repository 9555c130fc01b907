//! Process identity checks by /proc, so a stale pid file never makes us
//! signal or adopt an unrelated process that reused the pid.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The process's argv, or None if it is gone (or a zombie).
///
/// Reading `cmdline` takes the process's memory-map lock: for a process
/// stuck in the kernel holding it (a page fault on a stalled FUSE mount)
/// the read waits as long. Use [`alive`] where identity is not needed.
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    if !alive(pid) {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// True if `pid` is alive and runs `program` with `marker` among its args
/// (for daemons: the cluster's ceph.conf path).
pub fn is_ours(pid: u32, program: &str, marker: &str) -> bool {
    match cmdline(pid) {
        Some(args) => {
            args.first()
                .map(|a| Path::new(a).file_name() == Path::new(program).file_name())
                .unwrap_or(false)
                && args.iter().any(|a| a == marker)
        }
        None => false,
    }
}

/// True while the process exists and is not a zombie. Reads only
/// `/proc/<pid>/stat`, which never waits on the process itself.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    match stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
    {
        Some(state) => state != "Z" && state != "X",
        None => false,
    }
}

/// Reads a pid file; None if missing or garbled.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// How long a process may take to go after SIGKILL before it counts as
/// stuck: only a process in uninterruptible I/O outlives SIGKILL that long.
pub const KILL_GRACE: Duration = Duration::from_secs(10);

/// SIGTERM, then SIGKILL after `grace`; true once the process is gone,
/// false if it is still there [`KILL_GRACE`] after SIGKILL (stuck in the
/// kernel: waiting longer would hang the caller as long as that I/O).
pub async fn terminate(pid: u32, grace: Duration) -> bool {
    signal(pid, Signal::SIGTERM);
    if gone_within(pid, grace).await {
        return true;
    }
    signal(pid, Signal::SIGKILL);
    gone_within(pid, KILL_GRACE).await
}

async fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

pub fn signal(pid: u32, sig: Signal) -> bool {
    i32::try_from(pid)
        .map(|p| kill(Pid::from_raw(p), sig).is_ok())
        .unwrap_or(false)
}

/// Resident memory of a process in bytes (VmRSS).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    memory(pid).map(|m| m.rss)
}

/// A process's memory, in bytes. RSS counts every resident page it maps,
/// including library and binary pages it shares with other processes (the
/// Ceph daemons, the CSI plugin); PSS splits shared pages among their users;
/// private is what this process alone holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Memory {
    pub rss: u64,
    pub pss: u64,
    pub private: u64,
}

pub fn memory(pid: u32) -> Option<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kb = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Some(Memory {
        rss: kb("Rss:"),
        pss: kb("Pss:"),
        private: kb("Private_Clean:") + kb("Private_Dirty:"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_visible_and_matched_by_marker() {
        let me = std::process::id();
        let args = cmdline(me).unwrap();
        assert!(!args.is_empty());
        let program = args[0].clone();
        assert!(is_ours(me, &program, &args[0]));
        assert!(!is_ours(me, &program, "--no-such-marker"));
        assert!(!is_ours(me, "ceph-osd", &args[0]));
        let m = memory(me).unwrap();
        assert!(m.rss > 0 && m.pss > 0 && m.private > 0);
        assert!(m.pss <= m.rss && m.private <= m.rss);
    }

    #[test]
    fn an_unreaped_child_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not yet waited for: once it exits it stays a zombie.
        let start = std::time::Instant::now();
        while alive(pid) && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(stat.contains(") Z "), "{stat}");
        assert!(!alive(pid));
        assert!(cmdline(pid).is_none());
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn terminate_escalates_to_sigkill_for_a_process_ignoring_sigterm() {
        let mut polite = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        assert!(terminate(polite.id(), Duration::from_secs(5)).await);
        polite.wait().unwrap();

        let mut deaf = std::process::Command::new("sh")
            .args(["-c", "trap '' TERM; while :; do sleep 0.05; done"])
            .spawn()
            .unwrap();
        // Give the shell time to install its trap.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start = Instant::now();
        assert!(terminate(deaf.id(), Duration::from_millis(300)).await);
        assert!(start.elapsed() < KILL_GRACE, "{:?}", start.elapsed());
        let status = deaf.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    }

    #[test]
    fn missing_process_is_not_alive() {
        // Pids above pid_max never exist.
        assert!(!alive(u32::MAX - 1));
        assert!(cmdline(u32::MAX - 1).is_none());
    }
}
