//! `rookery bench mons`: mon failover on a throwaway cluster of three mons,
//! each on its own loopback address. One mon is cut off (a `prohibit` route
//! on its address, as a partitioned host) or frozen (SIGSTOP); the figure is
//! the time from the fault until a quorum of three without it, against the
//! target of the failover timeout + 30 s. Needs root for the route.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::Signal;
use rookery_ceph::commands::QuorumStatus;
use rookery_ceph::{ConnectOptions, Rados};
use rookery_runtime_local::mon::fault::LoopbackCut;
use rookery_runtime_local::{procs, Layout};
use serde::Serialize;

use crate::Output;

/// Slack over the timeout the failover may take (Ceph noticing the mon is
/// gone, the new mon's sync and election).
const TARGET_SLACK: Duration = Duration::from_secs(30);
/// The mon taken out: mon.b.
const VICTIM: &str = "b";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// Cut the mon's address off (its process runs on).
    Partition,
    /// SIGSTOP the mon's process.
    Freeze,
}

#[derive(clap::Args, Debug)]
pub struct MonsBenchArgs {
    /// spec.healthCheck.daemonHealth.mon.timeout, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// spec.healthCheck.daemonHealth.mon.interval, in seconds.
    #[arg(long, default_value_t = 2)]
    interval_secs: u64,
    #[arg(long, value_enum, default_value_t = Fault::Partition)]
    fault: Fault,
    /// Where the throwaway cluster lives (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-mons")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct MonsBenchResult {
    fault: Fault,
    timeout_secs: f64,
    /// From the fault until Ceph had the mon out of quorum.
    out_of_quorum_after_secs: f64,
    /// From the fault until three mons, the old one not among them, were
    /// in quorum and it had left the monmap.
    new_quorum_after_secs: f64,
    /// The new quorum.
    quorum: Vec<String>,
    target_secs: f64,
    /// new_quorum_after / target; <= 1.0 meets it.
    ratio: f64,
}

pub fn run(a: MonsBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.timeout_secs >= 1 && a.interval_secs >= 1,
        "--timeout-secs and --interval-secs must be at least 1"
    );
    let text = a.output == Output::Text;
    // Tests take 127.100.y.1 and up.
    let first = rookery_runtime_local::mon::fault::random_first_mon_address(20..=79);
    let base = rookery_runtime_local::spec::throwaway("bench-mons", 1, 10, 1, false)?;
    let yaml = rookery_runtime_local::spec::with_mons(
        &base,
        3,
        first,
        &format!("{}s", a.interval_secs),
        &format!("{}s", a.timeout_secs),
    )?;
    if text {
        println!(
            "3 mons on {first} and up, failover timeout {}s, looked at every {}s; taking mon.{VICTIM} out ({:?})",
            a.timeout_secs, a.interval_secs, a.fault
        );
    }
    let victim = Ipv4Addr::from(u32::from(first) + 1);
    let r = super::bench::on_throwaway_yaml(&a.work_dir, &yaml, |dir| {
        super::bench::block_on(measure(&a, dir, victim))
    })?;
    super::bench::report(a.output, &r, |r| {
        println!(
            "  mon.{VICTIM} out of quorum after {:.1}s",
            r.out_of_quorum_after_secs
        );
        println!(
            "  new quorum {} after {:.1}s",
            r.quorum.join(","),
            r.new_quorum_after_secs
        );
        println!();
        println!("| figure | rookery | target | ratio |");
        println!("|---|---|---|---|");
        println!(
            "| mon failover: fault to a quorum of 3 (timeout {:.0} s) | {:.1} s | <= {:.0} s | {:.2}x |",
            r.timeout_secs, r.new_quorum_after_secs, r.target_secs, r.ratio
        );
    })
}

async fn measure(
    a: &MonsBenchArgs,
    dir: &Path,
    victim_addr: Ipv4Addr,
) -> anyhow::Result<MonsBenchResult> {
    let layout = Layout::new(dir);
    let connect = || {
        Rados::connect(ConnectOptions {
            conf: layout.conf(),
            user: "admin".into(),
            keyring: Some(layout.admin_keyring()),
            timeout: Duration::from_secs(10),
        })
    };
    let mut rados = connect().await?;
    // The fault; undone (route deleted, process thawed) when this returns.
    let victim_pid = procs::read_pid(&layout.daemon_pid(&format!("mon.{VICTIM}")))
        .context("no pid for mon.b")?;
    let _cut;
    let _frozen;
    let start = Instant::now();
    match a.fault {
        Fault::Partition => {
            _cut = LoopbackCut::cut(victim_addr)?;
        }
        Fault::Freeze => {
            procs::signal(victim_pid, Signal::SIGSTOP);
            _frozen = Thaw(victim_pid);
        }
    }
    let limit = Duration::from_secs(a.timeout_secs) + Duration::from_secs(300);
    let mut out_after = None;
    loop {
        anyhow::ensure!(
            start.elapsed() < limit,
            "no quorum of three without mon.{VICTIM} after {}s; see {}",
            start.elapsed().as_secs(),
            layout.supervisor_log().display()
        );
        let read =
            tokio::time::timeout(Duration::from_secs(3), rados.mon_command(&QuorumStatus)).await;
        let q = match read {
            Ok(Ok(q)) => q,
            // A client stuck on the frozen mon: a new one hunts for another.
            _ => {
                if let Ok(r) = connect().await {
                    rados = r;
                }
                continue;
            }
        };
        let out = !q.quorum_names.iter().any(|n| n == VICTIM);
        if out && out_after.is_none() {
            out_after = Some(start.elapsed());
        }
        let gone = !q.monmap.mons.iter().any(|m| m.name == VICTIM);
        if gone && q.quorum_names.len() == 3 {
            let took = start.elapsed();
            let target = Duration::from_secs(a.timeout_secs) + TARGET_SLACK;
            return Ok(MonsBenchResult {
                fault: a.fault,
                timeout_secs: a.timeout_secs as f64,
                out_of_quorum_after_secs: out_after.unwrap_or(took).as_secs_f64(),
                new_quorum_after_secs: took.as_secs_f64(),
                quorum: q.quorum_names,
                target_secs: target.as_secs_f64(),
                ratio: took.as_secs_f64() / target.as_secs_f64(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGCONT on drop.
struct Thaw(u32);

impl Drop for Thaw {
    fn drop(&mut self) {
        procs::signal(self.0, Signal::SIGCONT);
    }
}
