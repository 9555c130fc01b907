//! Benchmarks: figures against a baseline measured in the same run.
//!
//! `bringup`: time from nothing to all OSDs up (with rookery's per-step
//! breakdown) against a minimal hand-written bootstrap with parallel OSD
//! mkfs, plus the supervisor's resident memory.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rookery_runtime_local::ports::free_loopback_port;
use rookery_runtime_local::progress::{ProgressEvent, ProgressKind};
use rookery_runtime_local::{procs, Layout};
use serde::Serialize;

use crate::output::bytes;
use crate::Output;

const HAND_BOOTSTRAP: &str = include_str!("../../../../bench/hand-bootstrap.sh");
const RSS_TARGET: u64 = 30 << 20;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Bring-up time and supervisor memory, against a hand bootstrap.
    Bringup(BringupArgs),
    /// RBD CreateVolume/DeleteVolume over gRPC, against raw librbd.
    Csi(super::bench_csi::CsiBenchArgs),
    /// Write throughput of a staged volume (fio), against `rbd bench`.
    Node(super::bench_node::NodeBenchArgs),
    /// CephFS CreateVolume against raw subvolume create; fio through a volume
    /// against the filesystem root.
    Cephfs(super::bench_cephfs::CephFsBenchArgs),
    /// Time from attaching a blank disk to its OSD up and in (target 30 s).
    Disk(super::bench_disk::DiskBenchArgs),
    /// SIGKILL each kind of daemon, time until it is back in Ceph's maps.
    Heal(super::bench_heal::HealBenchArgs),
    /// Mon failover: from a cut-off mon to a new quorum of three, against the
    /// timeout + 30 s target.
    Mons(super::bench_mons::MonsBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct BringupArgs {
    /// OSDs (sparse files) per cluster.
    #[arg(long, default_value_t = 3)]
    osds: u32,
    /// Size of each OSD file in GiB.
    #[arg(long, default_value_t = 10)]
    size_gib: u64,
    /// Where the two throwaway clusters live (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct BringupResult {
    osds: u32,
    baseline_osds_up_secs: f64,
    rookery_osds_up_secs: f64,
    /// rookery / baseline; <= 1.0 means rookery is not slower.
    ratio: f64,
    rookery_total_secs: f64,
    steps: Vec<(String, f64)>,
    supervisor_rss_bytes: u64,
    supervisor_idle: procs::Memory,
    rss_target_bytes: u64,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Bringup(a) => bringup(a),
        BenchCommand::Csi(a) => super::bench_csi::run(a),
        BenchCommand::Node(a) => super::bench_node::run(a),
        BenchCommand::Cephfs(a) => super::bench_cephfs::run(a),
        BenchCommand::Disk(a) => super::bench_disk::run(a),
        BenchCommand::Heal(a) => super::bench_heal::run(a),
        BenchCommand::Mons(a) => super::bench_mons::run(a),
    }
}

fn bringup(a: BringupArgs) -> anyhow::Result<ExitCode> {
    let size = a.size_gib << 30;
    if a.work_dir.exists() {
        std::fs::remove_dir_all(&a.work_dir)
            .with_context(|| format!("cannot clear {}", a.work_dir.display()))?;
    }
    std::fs::create_dir_all(&a.work_dir)?;
    let text = a.output == Output::Text;
    if text {
        println!(
            "baseline: hand bootstrap, 1 mon + 1 mgr + {} OSDs ({} GiB files, parallel mkfs)",
            a.osds, a.size_gib
        );
    }
    let baseline = hand_bootstrap(&a.work_dir.join("hand"), a.osds, size)?;
    if text {
        println!("  all OSDs up after {baseline:.2}s");
        println!("rookery up, same cluster shape");
    }
    let dir = a.work_dir.join("rookery");
    let r = rookery_bringup(&dir, a.osds, a.size_gib);
    let _ = Command::new(std::env::current_exe()?)
        .args(["down", "--purge", "--yes-really-destroy-data", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status();
    let (steps, osds_up, total, rss, idle) = r?;
    let result = BringupResult {
        osds: a.osds,
        baseline_osds_up_secs: baseline,
        rookery_osds_up_secs: osds_up,
        ratio: osds_up / baseline,
        rookery_total_secs: total,
        steps,
        supervisor_rss_bytes: rss,
        supervisor_idle: idle,
        rss_target_bytes: RSS_TARGET,
    };
    let _ = std::fs::remove_dir_all(&a.work_dir);
    report(a.output, &result, |result| {
        for (step, secs) in &result.steps {
            println!("  {step:<28} {secs:6.2}s");
        }
        println!();
        println!("| figure | rookery | baseline | ratio |");
        println!("|---|---|---|---|");
        println!(
            "| all OSDs up | {:.2} s | {:.2} s | {:.2}x |",
            result.rookery_osds_up_secs, result.baseline_osds_up_secs, result.ratio
        );
        println!(
            "| until HEALTH_OK, modules serving | {:.2} s | | |",
            result.rookery_total_secs
        );
        let idle = result.supervisor_idle;
        println!(
            "| supervisor RSS after up / idle | {} / {} | target <= {} | {:.2}x |",
            bytes(result.supervisor_rss_bytes),
            bytes(idle.rss),
            bytes(RSS_TARGET),
            idle.rss as f64 / RSS_TARGET as f64
        );
        println!(
            "| supervisor idle PSS / private (shared library pages split or left out) | {} / {} | | |",
            bytes(idle.pss),
            bytes(idle.private)
        );
    })
}

/// Runs a benchmark's async body to completion on a multi-thread runtime
/// (librados and librbd calls run on its blocking pool).
pub(crate) fn block_on<T>(
    body: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(body)
}

/// Prints a benchmark's result: `table` for people, or the result as JSON.
pub(crate) fn report<T: Serialize>(
    output: Output,
    result: &T,
    table: impl FnOnce(&T),
) -> anyhow::Result<ExitCode> {
    match output {
        Output::Text => table(result),
        Output::Json => println!("{}", serde_json::to_string_pretty(result)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the baseline script; returns seconds until all OSDs were up. Its
/// daemons are stopped before returning.
fn hand_bootstrap(dir: &Path, osds: u32, size: u64) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let script = dir.join("hand-bootstrap.sh");
    std::fs::write(&script, HAND_BOOTSTRAP)?;
    let (v2, v1) = (free_loopback_port()?, free_loopback_port()?);
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .args([
            v2.to_string(),
            v1.to_string(),
            osds.to_string(),
            size.to_string(),
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the baseline script")?;
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap_or_default();
    for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        procs::signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secs = stdout
        .lines()
        .find_map(|l| l.strip_prefix("osds_up_secs="))
        .and_then(|v| v.trim().parse().ok());
    match secs {
        Some(s) if out.status.success() => Ok(s),
        _ => bail!("baseline bootstrap failed ({}): {stdout}", out.status),
    }
}

/// Runs `body` on the throwaway cluster `spec` brought up in
/// `<work_dir>/cluster`, then purges the cluster and `work_dir` whatever `body`
/// returned. `work_dir` is cleared first.
pub(crate) fn on_throwaway_cluster<T>(
    work_dir: &Path,
    spec: rookery_runtime_local::spec::Throwaway,
    body: impl FnOnce(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    on_throwaway_yaml(work_dir, &spec.yaml()?, body)
}

/// As [`on_throwaway_cluster`], from a spec already written as YAML.
pub(crate) fn on_throwaway_yaml<T>(
    work_dir: &Path,
    yaml: &str,
    body: impl FnOnce(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if work_dir.exists() {
        std::fs::remove_dir_all(work_dir)
            .with_context(|| format!("cannot clear {}", work_dir.display()))?;
    }
    std::fs::create_dir_all(work_dir)?;
    let dir = work_dir.join("cluster");
    let result = up_throwaway(&work_dir.join("cluster.yaml"), &dir, yaml).and_then(|()| body(&dir));
    let _ = Command::new(std::env::current_exe()?)
        .args(["down", "--purge", "--yes-really-destroy-data", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status();
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(work_dir);
    }
    result
}

/// 3 OSDs of `size_gib`, pool size 3, mgr modules off, no filesystem: what the
/// block benchmarks run on.
pub(crate) fn block_cluster(name: &str, size_gib: u64) -> rookery_runtime_local::spec::Throwaway {
    rookery_runtime_local::spec::Throwaway {
        name: name.into(),
        osds: 3,
        osd_gib: size_gib,
        pool_size: 3,
        modules: false,
        filesystem: false,
    }
}

/// Brings up a throwaway cluster from `yaml` (written to `spec`) with this
/// binary's `up`, as a user would.
pub(crate) fn up_throwaway(spec: &Path, dir: &Path, yaml: &str) -> anyhow::Result<()> {
    std::fs::write(spec, yaml)?;
    let status = Command::new(std::env::current_exe()?)
        .args(["up", "--output", "json", "-f"])
        .arg(spec)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!(
            "rookery up failed; see {}",
            dir.join("log/supervisor.log").display()
        );
    }
    Ok(())
}

type RookeryFigures = (Vec<(String, f64)>, f64, f64, u64, procs::Memory);

fn rookery_bringup(dir: &Path, osds: u32, size_gib: u64) -> anyhow::Result<RookeryFigures> {
    let yaml = rookery_runtime_local::spec::throwaway("bench", osds, size_gib, 3.min(osds), true)?;
    let started = Instant::now();
    up_throwaway(&dir.with_extension("yaml"), dir, &yaml)?;
    let wall = started.elapsed().as_secs_f64();
    let layout = Layout::new(dir);
    let events: Vec<ProgressEvent> = std::fs::read_to_string(layout.progress())?
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let steps = events
        .iter()
        .filter(|e| e.kind == ProgressKind::Done)
        .map(|e| (format!("{}: {}", e.step, e.msg), e.secs.unwrap_or(0.0)))
        .collect();
    let ready = events
        .iter()
        .find(|e| e.kind == ProgressKind::Ready)
        .context("no ready event")?;
    let osds_up = ready
        .data
        .as_ref()
        .and_then(|d| d["osdsUpAfter"].as_f64().or(d["osds_up_after"].as_f64()))
        .unwrap_or(wall);
    let pid = procs::read_pid(&layout.supervisor_pid()).context("no supervisor pid")?;
    let rss = procs::rss_bytes(pid).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(10));
    let idle = procs::memory(pid).unwrap_or_default();
    Ok((steps, osds_up, ready.t, rss, idle))
}
