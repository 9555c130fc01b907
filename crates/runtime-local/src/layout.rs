//! Where everything of one local cluster lives. One directory holds the whole
//! cluster, so `--dir` is its identity and deleting it is a purge.

use std::path::{Path, PathBuf};

/// Paths inside a cluster directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    fn join(&self, p: &str) -> PathBuf {
        self.root.join(p)
    }

    /// The effective spec of this cluster (multi-document YAML).
    pub fn spec(&self) -> PathBuf {
        self.join("cluster.yaml")
    }
    pub fn fsid(&self) -> PathBuf {
        self.join("fsid")
    }
    pub fn conf(&self) -> PathBuf {
        self.join("ceph.conf")
    }
    pub fn admin_keyring(&self) -> PathBuf {
        self.join("ceph.client.admin.keyring")
    }
    /// `mon.` and `client.admin` keys with caps, fed to `ceph-mon --mkfs`.
    pub fn mon_bootstrap_keyring(&self) -> PathBuf {
        self.join("keys/mon-bootstrap.keyring")
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.join("keys")
    }
    pub fn dashboard_password(&self) -> PathBuf {
        self.join("dashboard-password")
    }
    pub fn dashboard_cert_done(&self) -> PathBuf {
        self.join("keys/dashboard-cert.done")
    }

    pub fn mon_dir(&self, id: &str) -> PathBuf {
        self.join(&format!("mon/{id}"))
    }
    pub fn mons_dir(&self) -> PathBuf {
        self.join("mon")
    }
    /// The mon set, the highest id used and the monmap change in progress.
    pub fn mon_state(&self) -> PathBuf {
        self.join("mon/state.json")
    }
    pub fn mgr_dir(&self, id: &str) -> PathBuf {
        self.join(&format!("mgr/{id}"))
    }
    pub fn mgrs_dir(&self) -> PathBuf {
        self.join("mgr")
    }
    pub fn mds_dir(&self, id: &str) -> PathBuf {
        self.join(&format!("mds/{id}"))
    }
    pub fn mdss_dir(&self) -> PathBuf {
        self.join("mds")
    }
    pub fn osd_dir(&self, id: u32) -> PathBuf {
        self.join(&format!("osd/{id}"))
    }
    pub fn osds_dir(&self) -> PathBuf {
        self.join("osd")
    }
    /// One small JSON file per OSD slot records its uuid and, once known, id.
    pub fn osd_slot(&self, slot: usize) -> PathBuf {
        self.join(&format!("osd/slots/{slot}.json"))
    }
    pub fn osd_slots_dir(&self) -> PathBuf {
        self.join("osd/slots")
    }
    /// OSDs made on disks the selection found (`deviceFilter`...), one
    /// record each, numbered apart from the spec's slots.
    pub fn osd_disk_record(&self, n: usize) -> PathBuf {
        self.join(&format!("osd/disks/{n}.json"))
    }
    pub fn osd_disks_dir(&self) -> PathBuf {
        self.join("osd/disks")
    }
    /// An `rookery osd remove` in progress (`osd/removals/<id>.json`).
    pub fn osd_removal(&self, id: u32) -> PathBuf {
        self.join(&format!("osd/removals/{id}.json"))
    }
    pub fn osd_removals_dir(&self) -> PathBuf {
        self.join("osd/removals")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.join("log")
    }
    pub fn daemon_output(&self, daemon: &str) -> PathBuf {
        self.join(&format!("log/{daemon}.out"))
    }
    pub fn supervisor_log(&self) -> PathBuf {
        self.join("log/supervisor.log")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.join("run")
    }
    pub fn lock(&self) -> PathBuf {
        self.join("run/supervisor.lock")
    }
    pub fn supervisor_pid(&self) -> PathBuf {
        self.join("run/supervisor.pid")
    }
    pub fn daemon_pid(&self, daemon: &str) -> PathBuf {
        self.join(&format!("run/{daemon}.pid"))
    }
    /// Supervisor's view of its daemons, rewritten on every change.
    pub fn daemons_state(&self) -> PathBuf {
        self.join("run/daemons.json")
    }
    /// Progress of the current `up`, one JSON event per line.
    pub fn progress(&self) -> PathBuf {
        self.join("run/progress.jsonl")
    }
    /// What happened to the cluster over time (restarts, OSDs added...).
    pub fn events(&self) -> PathBuf {
        self.join("events.jsonl")
    }

    /// Creates the directory tree (0700 at the root: it holds keys).
    pub fn create_dirs(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)?;
        for d in [
            self.keys_dir(),
            self.mons_dir(),
            self.mgrs_dir(),
            self.mdss_dir(),
            self.osd_slots_dir(),
            self.osd_disks_dir(),
            self.osd_removals_dir(),
            self.log_dir(),
            self.run_dir(),
        ] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }
}

/// Writes a file atomically (temp file + rename) with the given mode, so a
/// crash never leaves a half-written key or state file.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
