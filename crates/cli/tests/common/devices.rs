//! Loop devices for disk tests, at names chosen before the cluster's spec
//! is written, so its deviceFilter names exactly these and no other loop
//! device of the host (other tests and programs attach with `losetup -f`,
//! which hands out low numbers first). Everything is undone on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{rookery, text, tmp_root, TestCluster};

pub const GIB: u64 = 1 << 30;

/// Reserved loop device names and the files attached to them.
pub struct Disks {
    pub names: Vec<String>,
    files: tempfile::TempDir,
    attached: Vec<String>,
    reserved: Vec<PathBuf>,
}

fn reservations() -> PathBuf {
    tmp_root().join("rookery-loop-reservations")
}

fn free(n: u32) -> bool {
    let size = std::fs::read_to_string(format!("/sys/block/loop{n}/size"));
    size.map_or(true, |s| s.trim() == "0")
}

impl Disks {
    /// Reserves `n` free loop device names (`loop2NN`).
    pub fn reserve(n: usize) -> Self {
        std::fs::create_dir_all(reservations()).unwrap();
        let mut names = Vec::new();
        let mut reserved = Vec::new();
        let base = 180 + std::process::id() % 50;
        for i in (base..base + 70).filter(|i| free(*i)) {
            let marker = reservations().join(format!("loop{i}"));
            // A marker left by a dead test process is taken over.
            if let Ok(pid) = std::fs::read_to_string(&marker) {
                let alive = Path::new(&format!("/proc/{}", pid.trim())).exists();
                if alive {
                    continue;
                }
                let _ = std::fs::remove_file(&marker);
            }
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&marker);
            if let Ok(mut f) = made {
                use std::io::Write as _;
                let _ = write!(f, "{}", std::process::id());
                names.push(format!("loop{i}"));
                reserved.push(marker);
            }
            if names.len() == n {
                break;
            }
        }
        assert_eq!(names.len(), n, "not enough free loop device numbers");
        Disks {
            names,
            files: tempfile::tempdir_in(tmp_root()).unwrap(),
            attached: Vec::new(),
            reserved,
        }
    }

    /// `^(loopA|loopB)$`.
    pub fn filter(&self) -> String {
        format!("^({})$", self.names.join("|"))
    }

    pub fn dev(&self, i: usize) -> String {
        format!("/dev/{}", self.names[i])
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    /// A blank sparse file of `size` bytes attached at name `i`.
    pub fn attach_new(&mut self, i: usize, file: &str, size: u64) -> String {
        let path = self.file(file);
        std::fs::File::create(&path).unwrap().set_len(size).unwrap();
        self.attach(i, file)
    }

    /// An existing file attached at name `i`.
    pub fn attach(&mut self, i: usize, file: &str) -> String {
        let dev = self.dev(i);
        let o = Command::new("losetup")
            .arg(&dev)
            .arg(self.file(file))
            .output()
            .unwrap();
        assert!(o.status.success(), "losetup {dev}: {o:?}");
        self.attached.push(dev.clone());
        dev
    }

    /// Detaches (deferred by the kernel while an OSD holds it open).
    pub fn detach(&mut self, dev: &str) {
        let o = Command::new("losetup").args(["-d", dev]).output().unwrap();
        assert!(o.status.success(), "losetup -d {dev}: {o:?}");
        self.attached.retain(|d| d != dev);
    }
}

impl Drop for Disks {
    fn drop(&mut self) {
        for dev in &self.attached {
            let _ = Command::new("losetup").args(["-d", dev]).status();
        }
        for m in &self.reserved {
            let _ = std::fs::remove_file(m);
        }
    }
}

/// A private cluster from `yaml`, stopped and purged on drop. Declare it
/// after the [`Disks`] it uses, so it is dropped (its OSDs stopped) first.
pub fn private_cluster(name: &str, yaml: &str) -> TestCluster {
    let c = up_private(name, yaml);
    let o = rookery(&["up", "-f", &spec_path(&c), "--dir", c.dir_str()]);
    assert!(
        o.status.success(),
        "cluster {name} did not come up: {}",
        text(&o)
    );
    c
}

/// The same, for a spec that `up` must refuse: returns the cluster (purged
/// on drop) and `up`'s output.
pub fn refused_cluster(name: &str, yaml: &str) -> (TestCluster, std::process::Output) {
    let c = up_private(name, yaml);
    let o = rookery(&["up", "-f", &spec_path(&c), "--dir", c.dir_str()]);
    (c, o)
}

fn up_private(name: &str, yaml: &str) -> TestCluster {
    let dir = tmp_root().join(format!("rookery-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.with_extension("yaml"), yaml).unwrap();
    TestCluster {
        dir,
        private: true,
        _turn: None,
    }
}

fn spec_path(c: &TestCluster) -> String {
    c.dir.with_extension("yaml").display().to_string()
}

/// A throwaway spec: `files` 10 GiB file OSDs, the rbd pool at
/// `pool_size`, and `deviceFilter` if given.
pub fn spec_with_filter(name: &str, files: u32, pool_size: u32, filter: Option<&str>) -> String {
    let yaml = super::spec_yaml(name, files, pool_size, false);
    let mut m = rookery_api::load_manifest(&yaml).unwrap();
    m.cluster.spec.storage.device_filter = filter.map(str::to_owned);
    m.to_yaml().unwrap()
}

/// The entry of `status["osds"]` whose id is `id`.
pub fn osd_entry(status: &serde_json::Value, id: u64) -> Option<serde_json::Value> {
    status["osds"]
        .as_array()?
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
}

/// The entry of `status["osds"]` backed by `dev`.
pub fn osd_on(status: &serde_json::Value, dev: &str) -> Option<serde_json::Value> {
    status["osds"]
        .as_array()?
        .iter()
        .find(|o| o["backing"] == dev)
        .cloned()
}

/// Every event of the cluster in `dir` (`events.jsonl`), as (kind, message).
pub fn events(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The message of the first event of `kind` whose message contains `part`.
pub fn event(dir: &Path, kind: &str, part: &str) -> Option<String> {
    events(dir)
        .into_iter()
        .find(|(k, m)| k == kind && m.contains(part))
        .map(|(_, m)| m)
}
