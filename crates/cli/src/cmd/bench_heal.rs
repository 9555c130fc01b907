//! `rookery bench heal`: how long a daemon killed with SIGKILL takes to be
//! back, per kind (mon, mgr, osd, mds), on a throwaway cluster with 3 mons,
//! 3 OSDs and a filesystem. Target: back within 5 s.
//!
//! "Back" means the supervisor runs a new process *and* Ceph sees it (see
//! `runtime-local::comeback`: the mon in quorum after a new election, the mgr
//! active in a newer map, the OSD up with a newer `up_from`, the MDS under a
//! new gid with rank 0 served).
//!
//! Rounds do not cascade: before each, the cluster is healthy again and —
//! unless `--back-to-back` — the victim has run long enough for the
//! supervisor's restart backoff to count it as stable, so every round is an
//! isolated crash restarted after the first, short delay. Each round also
//! reports the delay the supervisor chose, so a distorted figure shows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rookery_ceph::commands::{FsDump, Status};
use rookery_ceph::{ConnectOptions, Rados};
use rookery_runtime_local::comeback;
use rookery_runtime_local::events::EventLog;
use rookery_runtime_local::supervisor::{DaemonState, DaemonStatus};
use rookery_runtime_local::Layout;
use serde::Serialize;

use crate::Output;

const TARGET_SECS: f64 = 5.0;
const KINDS: [&str; 4] = ["mon", "mgr", "osd", "mds"];
const FS: &str = "myfs";
const SETTLE_LIMIT: Duration = Duration::from_secs(300);
const BACK_LIMIT: Duration = Duration::from_secs(180);

#[derive(clap::Args, Debug)]
pub struct HealBenchArgs {
    /// Kills per kind of daemon.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Kill again as soon as the cluster is healthy, without waiting for the
    /// victim's run to reset the supervisor's restart backoff (shows the
    /// backoff's effect on repeated crashes).
    #[arg(long)]
    back_to_back: bool,
    /// Size of each of the 3 OSD files in GiB.
    #[arg(long, default_value_t = 10)]
    size_gib: u64,
    /// Where the throwaway cluster lives (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-heal")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// One kill.
#[derive(Debug, Clone, Serialize)]
struct Round {
    daemon: String,
    /// Until the supervisor ran a new process.
    process_secs: f64,
    /// Until Ceph saw it back: the figure against the target.
    back_secs: f64,
    /// The restart delay the supervisor chose after this exit.
    restart_delay_secs: Option<f64>,
}

#[derive(Debug, Serialize)]
struct KindFigures {
    kind: String,
    rounds: Vec<Round>,
    median_secs: f64,
    max_secs: f64,
    target_secs: f64,
    /// median / target; <= 1.0 meets the target.
    ratio: f64,
}

pub fn run(a: HealBenchArgs) -> anyhow::Result<ExitCode> {
    if a.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let text = a.output == Output::Text;
    if text {
        println!(
            "throwaway cluster: 3 mons, 3 OSDs ({} GiB files), filesystem '{FS}'; {} kill(s) per kind{}",
            a.size_gib,
            a.rounds,
            if a.back_to_back { ", back to back" } else { "" }
        );
    }
    let base = rookery_runtime_local::spec::Throwaway {
        name: "heal".into(),
        osds: 3,
        osd_gib: a.size_gib,
        pool_size: 3,
        modules: false,
        filesystem: true,
    }
    .yaml()?;
    // Rook's failover timeout: a killed mon is back long before it.
    let first = rookery_runtime_local::mon::fault::random_first_mon_address(20..=79);
    let yaml = rookery_runtime_local::spec::with_mons(&base, 3, first, "45s", "10m")?;
    let figures = super::bench::on_throwaway_yaml(&a.work_dir, &yaml, |dir| {
        super::bench::block_on(bench(&a, dir, text))
    })?;
    super::bench::report(a.output, &figures, |f| print_table(f))
}

async fn bench(a: &HealBenchArgs, dir: &Path, text: bool) -> anyhow::Result<Vec<KindFigures>> {
    let layout = Layout::new(dir);
    let rados = Rados::connect(ConnectOptions {
        conf: layout.conf(),
        user: "admin".into(),
        keyring: Some(layout.admin_keyring()),
        timeout: Duration::from_secs(30),
    })
    .await
    .context("cannot connect to the throwaway cluster")?;
    let mut rounds: Vec<Vec<Round>> = vec![Vec::new(); KINDS.len()];
    // Kinds take turns, so a victim's run since its last kill is spent
    // while the others are measured.
    for r in 0..a.rounds {
        for (k, kind) in KINDS.iter().enumerate() {
            settle(&layout, &rados).await?;
            let victim = victim(kind, r, &rados).await?;
            if !a.back_to_back {
                wait_stable(&layout, &victim).await?;
            }
            let round = kill_and_time(&layout, &rados, &victim).await?;
            if text {
                println!(
                    "  {:<12} process {:5.1} s  back {:5.1} s  (restart delay {})",
                    round.daemon,
                    round.process_secs,
                    round.back_secs,
                    round
                        .restart_delay_secs
                        .map_or("?".into(), |d| format!("{d:.1} s"))
                );
            }
            rounds[k].push(round);
        }
    }
    settle(&layout, &rados).await?;
    Ok(KINDS
        .iter()
        .zip(rounds)
        .map(|(kind, rounds)| figures(kind, rounds))
        .collect())
}

fn figures(kind: &str, rounds: Vec<Round>) -> KindFigures {
    let mut secs: Vec<f64> = rounds.iter().map(|r| r.back_secs).collect();
    secs.sort_by(f64::total_cmp);
    let median = match secs.len() {
        0 => 0.0,
        n if n % 2 == 1 => secs[n / 2],
        n => (secs[n / 2 - 1] + secs[n / 2]) / 2.0,
    };
    KindFigures {
        kind: kind.into(),
        median_secs: median,
        max_secs: secs.last().copied().unwrap_or(0.0),
        target_secs: TARGET_SECS,
        ratio: median / TARGET_SECS,
        rounds,
    }
}

/// Which daemon of `kind` round `r` kills: mons and OSDs in turn, the one
/// mgr, the MDS holding rank 0 (the failover case).
async fn victim(kind: &str, r: usize, rados: &Rados) -> anyhow::Result<String> {
    Ok(match kind {
        "mon" => format!("mon.{}", ["a", "b", "c"][r % 3]),
        "mgr" => "mgr.a".into(),
        "osd" => format!("osd.{}", r % 3),
        _ => {
            let dump = rados.mon_command(&FsDump).await?;
            let fs = dump.filesystem(FS).context("no filesystem")?;
            let active = fs.mdsmap.active(0).context("rank 0 has no active MDS")?;
            format!("mds.{}", active.name)
        }
    })
}

fn daemon(layout: &Layout, name: &str) -> Option<DaemonStatus> {
    let all: Vec<DaemonStatus> = std::fs::read(layout.daemons_state())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())?;
    all.into_iter().find(|d| d.name == name)
}

/// Until the cluster is healthy and every daemon of it runs.
async fn settle(layout: &Layout, rados: &Rados) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let mut missing = Vec::new();
        match rados.mon_command(&Status).await {
            Ok(s) if s.health.status == "HEALTH_OK" => {}
            Ok(s) => missing.push(format!("{:?}", s.health.checks.keys())),
            Err(e) => missing.push(e.to_string()),
        }
        let daemons: Vec<DaemonStatus> = std::fs::read(layout.daemons_state())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        missing.extend(
            daemons
                .iter()
                .filter(|d| d.state != DaemonState::Running)
                .map(|d| format!("{} not running", d.name)),
        );
        match rados.mon_command(&FsDump).await {
            Ok(d) => {
                let fs = d.filesystem(FS);
                let mds = fs.map_or(0, |f| f.mdsmap.daemons().len()) + d.standbys.len();
                if fs.and_then(|f| f.mdsmap.active(0)).is_none() || mds < 2 {
                    missing.push(format!("MDS: rank 0 active and 2 daemons ({mds})"));
                }
            }
            Err(e) => missing.push(e.to_string()),
        }
        if missing.is_empty() {
            return Ok(());
        }
        if start.elapsed() > SETTLE_LIMIT {
            bail!("the cluster did not settle within {SETTLE_LIMIT:?}: {missing:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Until `name`'s current process has run long enough that the supervisor's
/// backoff counts it as stable.
async fn wait_stable(layout: &Layout, name: &str) -> anyhow::Result<()> {
    let stable = rookery_core::RestartBackoff::default().stable_after + Duration::from_secs(1);
    let d = daemon(layout, name).with_context(|| format!("{name} is not supervised"))?;
    let ran =
        Duration::from_secs(rookery_runtime_local::events::now_secs().saturating_sub(d.since));
    if ran < stable {
        tokio::time::sleep(stable - ran).await;
    }
    Ok(())
}

async fn kill_and_time(layout: &Layout, rados: &Rados, name: &str) -> anyhow::Result<Round> {
    let before = comeback::seen(rados, name, FS).await?;
    let pid = daemon(layout, name)
        .and_then(|d| d.pid)
        .with_context(|| format!("{name} has no pid"))?;
    let start = Instant::now();
    kill(Pid::from_raw(i32::try_from(pid)?), Signal::SIGKILL)
        .with_context(|| format!("cannot SIGKILL {name} (pid {pid})"))?;
    let mut process = None;
    loop {
        if process.is_none()
            && daemon(layout, name).is_some_and(|d| d.pid.is_some_and(|p| p != pid))
        {
            process = Some(start.elapsed());
        }
        // Errors while a mon is down are the client hunting; ask again.
        let back = || async { comeback::is_back(rados, name, FS, before).await };
        if process.is_some() && back().await.unwrap_or(false) {
            break;
        }
        if start.elapsed() > BACK_LIMIT {
            bail!("{name} not back within {BACK_LIMIT:?} of its SIGKILL");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Round {
        daemon: name.into(),
        process_secs: process.unwrap_or_default().as_secs_f64(),
        back_secs: start.elapsed().as_secs_f64(),
        restart_delay_secs: restart_delay(layout, name),
    })
}

/// The delay the supervisor announced after `name`'s last exit
/// ("... restarting in 0.2s").
fn restart_delay(layout: &Layout, name: &str) -> Option<f64> {
    EventLog::new(layout.events())
        .tail(50)
        .iter()
        .rev()
        .find(|e| e.kind == "daemon-exited" && e.daemon.as_deref() == Some(name))?
        .message
        .rsplit_once("restarting in ")?
        .1
        .trim_end_matches('s')
        .parse()
        .ok()
}

fn print_table(figures: &[KindFigures]) {
    println!(
        "\n{:<6} {:>7} {:>10} {:>8} {:>9} {:>7} {:>17}",
        "kind", "rounds", "median s", "max s", "target s", "ratio", "restart delays s"
    );
    for f in figures {
        let delays: Vec<String> = f
            .rounds
            .iter()
            .map(|r| r.restart_delay_secs.map_or("?".into(), |d| format!("{d}")))
            .collect();
        println!(
            "{:<6} {:>7} {:>10.1} {:>8.1} {:>9.1} {:>7.2} {:>17}",
            f.kind,
            f.rounds.len(),
            f.median_secs,
            f.max_secs,
            f.target_secs,
            f.ratio,
            delays.join(",")
        );
    }
}
