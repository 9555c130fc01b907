//! Full-cluster tests: a private cluster with low full ratios that fills in
//! seconds, files written until the cluster says no, and what to read after.

use std::io::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use super::{rookery, text, TestCluster};

/// Ceph's nearfull, backfillfull and full ratios.
#[derive(Debug, Clone, Copy)]
pub struct Ratios {
    pub nearfull: f64,
    pub backfillfull: f64,
    pub full: f64,
}

/// A private cluster of one 10 GiB file OSD, pool size 1 and the filesystem
/// `myfs`, with `ratios` in its spec; stopped and purged on drop.
pub fn private(name: &str, ratios: Ratios) -> TestCluster {
    let yaml = super::spec_yaml_with(name, 1, 1, false, true);
    let mut m = rookery_api::load_manifest(&yaml).expect("the throwaway spec loads");
    let storage = &mut m.cluster.spec.storage;
    storage.full_ratio = Some(ratios.full);
    storage.backfill_full_ratio = Some(ratios.backfillfull);
    storage.near_full_ratio = Some(ratios.nearfull);
    TestCluster::private_from_yaml(name, &m.to_yaml().expect("spec yaml"))
}

/// `rookery volume <args> --dir <cluster>`; the caller checks the outcome.
pub fn volume(c: &TestCluster, args: &[&str]) -> Output {
    let mut all = vec!["volume", "--dir", c.dir_str()];
    all.extend_from_slice(args);
    rookery(&all)
}

/// As [`volume`], asserting success.
#[track_caller]
pub fn volume_ok(c: &TestCluster, args: &[&str]) -> String {
    let o = volume(c, args);
    assert!(o.status.success(), "volume {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 4 MiB of data nothing compresses or skips (a xorshift stream from `seed`).
pub fn chunk(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(CHUNK);
    while out.len() < CHUNK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

pub const CHUNK: usize = 4 << 20;

/// Writes `bytes` of [`chunk`]s to `path` and fsyncs it.
pub fn write_file(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    let mut written = 0u64;
    let mut seed = 1;
    while written < bytes {
        f.write_all(&chunk(seed))?;
        written += CHUNK as u64;
        seed += 1;
    }
    f.sync_all()
}

/// What [`fill_until_error`] saw.
#[derive(Debug)]
pub struct Filled {
    pub bytes: u64,
    pub took: Duration,
    pub error: Option<std::io::Error>,
}

/// Appends chunks to `path`, syncing every 64 MiB, until a write or sync
/// fails or `cap` bytes are written.
pub fn fill_until_error(path: &Path, cap: u64) -> Filled {
    let start = Instant::now();
    let mut bytes = 0u64;
    let error = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        let mut seed = 1000;
        while bytes < cap {
            f.write_all(&chunk(seed))?;
            bytes += CHUNK as u64;
            seed += 1;
            if bytes.is_multiple_of(64 << 20) {
                f.sync_all()?;
            }
        }
        f.sync_all()
    })()
    .err();
    Filled {
        bytes,
        took: start.elapsed(),
        error,
    }
}

/// The status's capacity section.
pub fn capacity(status: &serde_json::Value) -> &serde_json::Value {
    &status["ceph"]["capacity"]
}

/// Names of the health checks in a status.
pub fn checks(status: &serde_json::Value) -> Vec<String> {
    status["ceph"]["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Lines of the cluster's daemon logs that show an abort for lack of space.
pub fn space_aborts(c: &TestCluster) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(c.dir.join("log")) else {
        return found;
    };
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            let l = line.to_ascii_lowercase();
            if l.contains("bluefs enospc")
                || l.contains("enospc from bluestore")
                || l.contains("ceph_abort")
                || l.contains("*** caught signal")
            {
                found.push(format!("{}: {line}", e.path().display()));
            }
        }
    }
    found
}

/// The FUSE daemons of the cluster in `cluster` (ceph-fuse, and the RBD
/// node plugin's image servers), found by its ceph.conf on their command line.
pub fn fuse_daemons_of(cluster: &Path) -> Vec<i32> {
    let conf = cluster.join("ceph.conf");
    let conf = conf.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let mut args = cmdline.split(|b| *b == 0);
            let program = args.next()?;
            let fuse = program.ends_with(b"rookery-rbd-fuse") || program.ends_with(b"ceph-fuse");
            (fuse && args.any(|a| a == conf)).then_some(pid)
        })
        .collect()
}

/// Loop devices whose backing file lies under `cluster`.
pub fn loops_of(cluster: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let file = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            Path::new(file.trim_end())
                .starts_with(cluster)
                .then(|| Path::new("/dev").join(e.file_name()))
        })
        .collect()
}

/// On drop, for a test that failed half-way: lazily unmounts everything under
/// `roots` and detaches the loop devices over the cluster's image files
/// (noted before the unmount hides their paths). Declare it after the
/// cluster, so it runs before `down`. Nothing is killed first: on a full
/// cluster RBD and CephFS writes fail rather than wait, so nothing hangs.
pub struct Cleanup {
    pub cluster: std::path::PathBuf,
    pub roots: Vec<std::path::PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let loops = loops_of(&self.cluster);
        let table = rookery_csi::node::mountinfo::read().unwrap_or_default();
        let mut mounts: Vec<_> = table
            .into_iter()
            .map(|e| e.mount_point)
            .filter(|p| self.roots.iter().any(|r| p.starts_with(r)))
            .collect();
        mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for m in &mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        for dev in loops {
            let _ = std::process::Command::new("losetup")
                .arg("-d")
                .arg(&dev)
                .status();
        }
    }
}

/// NodeGetVolumeHealth of the volume published at `path`, from the cluster's
/// RBD node plugin: its (reason, message) entries.
pub fn rbd_volume_health(c: &TestCluster, volume_id: &str, path: &Path) -> Vec<(String, String)> {
    use rookery_csi::grpc::proto::v1::node_client::NodeClient;
    use rookery_csi::grpc::proto::v1::NodeGetVolumeHealthRequest;
    use rookery_csi::grpc::{connect, CsiEndpoint};
    let endpoint = CsiEndpoint::parse(&format!(
        "unix://{}",
        c.dir.join("run/csi-rbd-node.sock").display()
    ))
    .expect("endpoint");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let channel = connect(&endpoint)
            .await
            .expect("connect to the node plugin");
        let health = NodeClient::new(channel)
            .node_get_volume_health(NodeGetVolumeHealthRequest {
                volume_id: volume_id.to_owned(),
                volume_publish_path: path.display().to_string(),
                ..Default::default()
            })
            .await
            .expect("NodeGetVolumeHealth")
            .into_inner();
        health
            .volume_health
            .map(|h| h.health_statuses)
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.reason, e.message))
            .collect()
    })
}

/// The volume ID of the RBD volume named `name`.
pub fn volume_id(c: &TestCluster, name: &str) -> String {
    let out = volume_ok(c, &["list", "--output", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&out).expect("volume list JSON");
    rows.as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name))
        .and_then(|r| r["volume_id"].as_str())
        .unwrap_or_else(|| panic!("no volume {name}: {out}"))
        .to_owned()
}

/// Removes object `obj` of pool `pool` as admin (through rookery's client,
/// which deletes even on a full pool).
pub fn remove_object(c: &TestCluster, pool: &str, obj: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let rados = c.rados().await;
        let io = rados.ioctx(pool, None).await.expect("open the pool");
        match io.remove(obj).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => panic!("remove {obj} in {pool}: {e}"),
        }
    });
}
