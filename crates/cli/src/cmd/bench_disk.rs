//! `rookery bench disk`: how long from attaching a blank disk to its OSD up
//! and in, against the 30 s target. A throwaway cluster (one file OSD) whose
//! spec has a deviceFilter naming loop devices chosen up front; each round
//! attaches a blank sparse file to the next of them and waits for the OSD
//! count to grow.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rookery_runtime_local::ceph_ops::Admin;
use rookery_runtime_local::Layout;
use serde::Serialize;

use crate::{runtime, Output};

const TARGET_SECS: f64 = 30.0;

#[derive(clap::Args, Debug)]
pub struct DiskBenchArgs {
    /// How many disks to attach, one after the other.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    /// Size of each (sparse) disk in GiB.
    #[arg(long, default_value_t = 6)]
    size_gib: u64,
    /// Where the throwaway cluster and the disk files live (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-disk")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct DiskBenchResult {
    /// Seconds from `losetup` to the new OSD up and in, per disk.
    rounds: Vec<f64>,
    median_secs: f64,
    max_secs: f64,
    target_secs: f64,
    /// median / target; <= 1.0 meets it.
    ratio: f64,
}

/// Loop devices attached here, detached on drop (deferred by the kernel
/// while an OSD still holds one open).
struct Loops(Vec<String>);

impl Drop for Loops {
    fn drop(&mut self) {
        for dev in &self.0 {
            let _ = Command::new("losetup").args(["-d", dev]).status();
        }
    }
}

pub fn run(a: DiskBenchArgs) -> anyhow::Result<ExitCode> {
    if !rookery_runtime_local::is_root() {
        bail!("rookery bench disk attaches loop devices: run it as root");
    }
    let names = free_loop_names(a.repeat as usize)?;
    let filter = format!("^({})$", names.join("|"));
    let text = a.output == Output::Text;
    if text {
        println!(
            "throwaway cluster: 1 file OSD, deviceFilter {filter}; attaching {} blank {} GiB loop device(s) one by one",
            a.repeat, a.size_gib
        );
    }
    let spec = super::bench::block_cluster("bench-disk", 10);
    let spec = rookery_runtime_local::spec::Throwaway {
        osds: 1,
        pool_size: 1,
        ..spec
    };
    let yaml = with_filter(&spec.yaml()?, &filter)?;
    let work = a.work_dir.clone();
    let rounds = on_cluster(&work, &yaml, |dir| {
        let mut loops = Loops(Vec::new());
        let mut rounds = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let file = work.join(format!("disk{i}.img"));
            std::fs::File::create(&file)?.set_len(a.size_gib << 30)?;
            let dev = format!("/dev/{name}");
            let start = Instant::now();
            let o = Command::new("losetup").arg(&dev).arg(&file).output()?;
            if !o.status.success() {
                bail!("losetup {dev}: {}", String::from_utf8_lossy(&o.stderr));
            }
            loops.0.push(dev.clone());
            wait_osds_up(dir, 2 + i as u32, Duration::from_secs(180))?;
            let secs = start.elapsed().as_secs_f64();
            if text {
                println!("  {dev}: OSD up and in after {secs:.1}s");
            }
            rounds.push(secs);
        }
        Ok(rounds)
    })?;
    let mut sorted = rounds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let max = sorted.last().copied().unwrap_or(0.0);
    let result = DiskBenchResult {
        rounds,
        median_secs: median,
        max_secs: max,
        target_secs: TARGET_SECS,
        ratio: median / TARGET_SECS,
    };
    super::bench::report(a.output, &result, |result| {
        println!();
        println!("| figure | rookery | target | ratio |");
        println!("|---|---|---|---|");
        println!(
            "| new device -> OSD up+in, median of {} (max) | {:.1} s ({:.1} s) | {TARGET_SECS:.0} s | {:.2}x |",
            result.rounds.len(),
            result.median_secs,
            result.max_secs,
            result.ratio
        );
    })
}

/// The throwaway spec with `deviceFilter` set.
fn with_filter(yaml: &str, filter: &str) -> anyhow::Result<String> {
    let mut m = rookery_api::load_manifest(yaml)?;
    m.cluster.spec.storage.device_filter = Some(filter.to_string());
    Ok(m.to_yaml()?)
}

fn on_cluster<T>(
    work: &Path,
    yaml: &str,
    body: impl FnOnce(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if work.exists() {
        std::fs::remove_dir_all(work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(work)?;
    let dir = work.join("cluster");
    let result = super::bench::up_throwaway(&work.join("cluster.yaml"), &dir, yaml)
        .and_then(|()| body(&dir));
    let _ = Command::new(std::env::current_exe()?)
        .args(["down", "--purge", "--yes-really-destroy-data", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(work);
    result
}

fn wait_osds_up(dir: &Path, want: u32, timeout: Duration) -> anyhow::Result<()> {
    let layout = Layout::new(dir);
    runtime()?.block_on(async {
        let admin = Admin::connect(&layout, Duration::from_secs(30)).await?;
        let start = Instant::now();
        loop {
            let s = admin.snapshot().await?;
            if s.osds_up >= want && s.osds_in >= want {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "timed out: {}/{want} OSDs up, {}/{want} in after {}s; see {}",
                    s.osds_up,
                    s.osds_in,
                    timeout.as_secs(),
                    dir.join("events.jsonl").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `n` loop device names no one uses (`loop200`...): chosen before the
/// cluster exists, so its filter names exactly these and no other disk of
/// the host; high numbers, which `losetup -f` hands out last.
pub fn free_loop_names(n: usize) -> anyhow::Result<Vec<String>> {
    let free = |i: u32| {
        let size = std::fs::read_to_string(format!("/sys/block/loop{i}/size"));
        size.map_or(true, |s| s.trim() == "0")
    };
    let base = 200 + std::process::id() % 40;
    let names: Vec<String> = (base..base + 60)
        .filter(|i| free(*i))
        .take(n)
        .map(|i| format!("loop{i}"))
        .collect();
    if names.len() < n {
        bail!("fewer than {n} free loop device numbers above loop{base}");
    }
    Ok(names)
}
