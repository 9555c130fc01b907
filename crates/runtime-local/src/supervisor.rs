//! Runs daemons as child processes and keeps them running: restart with
//! backoff after a crash, adoption of daemons a previous supervisor left
//! running, ordered clean stop. Its state is published to `run/daemons.json`
//! for `rookery status`.
//!
//! Daemons are spawned from the supervisor's single-threaded runtime and are
//! not tied to the supervisor's life: if the supervisor is killed, the
//! cluster keeps serving, and the next supervisor adopts the daemons by pid
//! file (checked against /proc so a reused pid is never adopted).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rookery_core::RestartBackoff;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::events::{now_secs, EventLog};
use crate::layout::{write_atomic, Layout};
use crate::procs;

/// How to run one daemon.
#[derive(Debug, Clone)]
pub struct DaemonSpec {
    /// Ceph's name for it: `mon.a`, `osd.3`.
    pub name: String,
    pub program: String,
    pub args: Vec<String>,
    /// An argument that identifies this cluster in the process's argv.
    pub marker: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    Running,
    Backoff,
    Stopping,
    Stopped,
}

/// What the supervisor knows of one daemon.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaemonStatus {
    pub name: String,
    pub state: DaemonState,
    pub pid: Option<u32>,
    /// Restarts after unexpected exits since the supervisor started.
    pub restarts: u32,
    /// Unix time the current process started (or was adopted).
    pub since: u64,
    pub last_exit: Option<String>,
}

struct Entry {
    status: DaemonStatus,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The process supervisor.
#[derive(Clone)]
pub struct Supervisor {
    layout: Layout,
    events: EventLog,
    daemons: Arc<Mutex<BTreeMap<String, Entry>>>,
    stop_timeout: Duration,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("root", &self.layout.root())
            .finish()
    }
}

impl Supervisor {
    pub fn new(layout: Layout, events: EventLog) -> Self {
        Self {
            layout,
            events,
            daemons: Arc::default(),
            stop_timeout: Duration::from_secs(30),
        }
    }

    /// Starts (or adopts) a daemon and keeps it running until stopped.
    /// Starting a daemon that is already supervised does nothing.
    pub fn start(&self, spec: DaemonSpec) {
        let mut daemons = lock(&self.daemons);
        if daemons.contains_key(&spec.name) {
            return;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        daemons.insert(
            spec.name.clone(),
            Entry {
                status: DaemonStatus {
                    name: spec.name.clone(),
                    state: DaemonState::Backoff,
                    pid: None,
                    restarts: 0,
                    since: now_secs(),
                    last_exit: None,
                },
                stop: stop_tx,
                task: None,
            },
        );
        let this = self.clone();
        let name = spec.name.clone();
        let task = tokio::spawn(async move { this.run(spec, stop_rx).await });
        if let Some(e) = daemons.get_mut(&name) {
            e.task = Some(task);
        }
    }

    /// The pid of a running daemon a previous supervisor left behind.
    pub fn adoptable(&self, spec: &DaemonSpec) -> Option<u32> {
        let pid = procs::read_pid(&self.layout.daemon_pid(&spec.name))?;
        procs::is_ours(pid, &spec.program, &spec.marker).then_some(pid)
    }

    pub fn is_supervised(&self, name: &str) -> bool {
        lock(&self.daemons).contains_key(name)
    }

    pub fn status(&self) -> Vec<DaemonStatus> {
        lock(&self.daemons)
            .values()
            .map(|e| e.status.clone())
            .collect()
    }

    /// Stops one daemon (SIGTERM, then SIGKILL after the timeout).
    pub async fn stop(&self, name: &str) {
        self.stop_batch(&[name.to_string()]).await;
    }

    /// Signals every daemon of the batch first, then waits for all, so a
    /// batch stops in the time of its slowest member.
    async fn stop_batch(&self, names: &[String]) {
        let tasks: Vec<_> = {
            let mut daemons = lock(&self.daemons);
            names
                .iter()
                .filter_map(|n| {
                    let e = daemons.get_mut(n)?;
                    let _ = e.stop.send(true);
                    e.task.take()
                })
                .collect()
        };
        for t in tasks {
            let _ = t.await;
        }
        {
            let mut daemons = lock(&self.daemons);
            for n in names {
                daemons.remove(n);
            }
        }
        self.publish();
    }

    /// Stops everything in the order Ceph likes: the CSI plugins (clients)
    /// first, then mgr and mds, then the OSDs (together), the mons last so
    /// the others can report going down.
    pub async fn stop_all(&self) {
        for group in ["csi.", "mgr.", "mds.", "osd.", "mon.", ""] {
            let batch: Vec<String> = lock(&self.daemons)
                .keys()
                .filter(|n| n.starts_with(group))
                .cloned()
                .collect();
            self.stop_batch(&batch).await;
        }
    }

    async fn run(&self, spec: DaemonSpec, mut stop: watch::Receiver<bool>) {
        let mut backoff = RestartBackoff::default();
        let mut adopt = self.adoptable(&spec);
        if let Some(pid) = adopt {
            self.events.record(
                "adopted",
                Some(&spec.name),
                format!("adopted running {} (pid {pid})", spec.name),
            );
        }
        loop {
            let started = Instant::now();
            let mut proc = match adopt.take() {
                Some(pid) => Proc::Adopted(pid),
                None => match self.spawn(&spec) {
                    Ok(child) => Proc::Child(child),
                    Err(e) => {
                        let why = format!("could not start {}: {e}", spec.program);
                        self.on_exit(&spec.name, &why, &mut backoff, started, &mut stop)
                            .await;
                        if *stop.borrow() {
                            return self.mark_stopped(&spec.name);
                        }
                        continue;
                    }
                },
            };
            let pid = proc.pid();
            if let Some(pid) = pid {
                let _ = write_atomic(
                    &self.layout.daemon_pid(&spec.name),
                    format!("{pid}\n").as_bytes(),
                    0o644,
                );
            }
            self.update(&spec.name, |s| {
                s.state = DaemonState::Running;
                s.pid = pid;
                s.since = now_secs();
            });
            tokio::select! {
                why = proc.wait() => {
                    self.on_exit(&spec.name, &why, &mut backoff, started, &mut stop).await;
                    if *stop.borrow() {
                        return self.mark_stopped(&spec.name);
                    }
                }
                _ = stop.changed() => {
                    self.update(&spec.name, |s| s.state = DaemonState::Stopping);
                    proc.terminate(self.stop_timeout).await;
                    let _ = std::fs::remove_file(self.layout.daemon_pid(&spec.name));
                    return self.mark_stopped(&spec.name);
                }
            }
        }
    }

    fn spawn(&self, spec: &DaemonSpec) -> std::io::Result<tokio::process::Child> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.layout.daemon_output(&spec.name))?;
        let err = out.try_clone()?;
        let child = tokio::process::Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(false)
            .spawn()?;
        tracing::info!(daemon = %spec.name, pid = child.id(), "started");
        Ok(child)
    }

    async fn on_exit(
        &self,
        name: &str,
        why: &str,
        backoff: &mut RestartBackoff,
        started: Instant,
        stop: &mut watch::Receiver<bool>,
    ) {
        if *stop.borrow() {
            return;
        }
        let delay = backoff.on_exit(started.elapsed());
        self.events.record(
            "daemon-exited",
            Some(name),
            format!("{name} {why}; restarting in {:.1}s", delay.as_secs_f64()),
        );
        self.update(name, |s| {
            s.state = DaemonState::Backoff;
            s.pid = None;
            s.restarts += 1;
            s.last_exit = Some(why.to_string());
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {}
        }
    }

    fn mark_stopped(&self, name: &str) {
        self.update(name, |s| {
            s.state = DaemonState::Stopped;
            s.pid = None;
        });
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut DaemonStatus)) {
        if let Some(e) = lock(&self.daemons).get_mut(name) {
            f(&mut e.status);
        }
        self.publish();
    }

    /// Writes the daemons' state for other processes (`rookery status`).
    pub fn publish(&self) {
        let all = self.status();
        if let Ok(json) = serde_json::to_vec_pretty(&all) {
            let _ = write_atomic(&self.layout.daemons_state(), &json, 0o644);
        }
    }
}

/// A supervised process: our child, or one adopted from an earlier supervisor.
enum Proc {
    Child(tokio::process::Child),
    Adopted(u32),
}

impl Proc {
    fn pid(&self) -> Option<u32> {
        match self {
            Proc::Child(c) => c.id(),
            Proc::Adopted(p) => Some(*p),
        }
    }

    /// Waits for the process to end; returns how it ended, in words.
    async fn wait(&mut self) -> String {
        match self {
            Proc::Child(c) => match c.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => format!("could not be waited for: {e}"),
            },
            Proc::Adopted(pid) => {
                // Not our child: poll /proc (it is reaped by its real parent).
                while procs::alive(*pid) {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                "exited (adopted process, status unknown)".to_string()
            }
        }
    }

    async fn terminate(&mut self, timeout: Duration) {
        let Some(pid) = self.pid() else { return };
        procs::signal(pid, Signal::SIGTERM);
        if tokio::time::timeout(timeout, self.wait()).await.is_err() {
            tracing::warn!(pid, "did not stop after SIGTERM; sending SIGKILL");
            procs::signal(pid, Signal::SIGKILL);
            // Only a process in uninterruptible I/O outlives SIGKILL; waiting
            // for it would hold up the whole stop for as long as that I/O.
            if tokio::time::timeout(procs::KILL_GRACE, self.wait())
                .await
                .is_err()
            {
                tracing::warn!(
                    pid,
                    "still there after SIGKILL (stuck in uninterruptible I/O); not waiting for it"
                );
            }
        }
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => {
            let name = Signal::try_from(sig)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| sig.to_string());
            format!("was killed by {name}")
        }
        _ => "exited".to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
