//! `rookery status`: like `ceph -s`, plus the supervisor's view.

use std::process::ExitCode;
use std::time::Duration;

use rookery_runtime_local::capacity::{CapacityReport, Fill};
use rookery_runtime_local::events::now_secs;
use rookery_runtime_local::filesystem::FsMapReport;
use rookery_runtime_local::status::{gather, StatusReport};

use crate::output::{age, bytes};
use crate::{runtime, DirArg, Output};

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    dir: DirArg,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
    /// Seconds to wait for the cluster to answer.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let layout = args.dir.layout();
    let report = runtime()?.block_on(gather(&layout, Duration::from_secs(args.timeout)));
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    // Scripts can tell "down" and "unreachable" from "up" by the exit code.
    Ok(match (report.running, &report.ceph) {
        (true, Some(_)) => ExitCode::SUCCESS,
        (false, _) => ExitCode::from(3),
        (true, None) => ExitCode::from(4),
    })
}

fn render(r: &StatusReport) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let fsid = r.fsid.as_deref().unwrap_or("(none)");
    let _ = writeln!(o, "  cluster:");
    let _ = writeln!(o, "    id:      {fsid}");
    let _ = writeln!(o, "    dir:     {}", r.dir);
    if r.fsid.is_none() {
        let _ = writeln!(
            o,
            "    state:   no cluster here (rookery up --dir {})",
            r.dir
        );
        return o;
    }
    if !r.running && !r.unsupervised.is_empty() {
        let names: Vec<String> = r
            .unsupervised
            .iter()
            .map(|d| format!("{} (pid {})", d.name, d.pid))
            .collect();
        let _ = writeln!(
            o,
            "    state:   no supervisor, but daemons still run: {}\n             rookery up --dir {} adopts them; rookery down stops them",
            names.join(", "),
            r.dir
        );
        print_events(&mut o, r);
        return o;
    }
    if !r.running {
        let _ = writeln!(
            o,
            "    state:   stopped (rookery up --dir {} resumes it)",
            r.dir
        );
        print_storage(&mut o, r);
        print_events(&mut o, r);
        return o;
    }
    let Some(c) = &r.ceph else {
        let _ = writeln!(
            o,
            "    state:   supervisor running, but Ceph does not answer: {}",
            r.ceph_error.as_deref().unwrap_or("unknown error")
        );
        print_daemons(&mut o, r);
        return o;
    };
    let _ = writeln!(o, "    health:  {}", c.health);
    for chk in &c.checks {
        let _ = writeln!(
            o,
            "             {} {}: {}",
            chk.severity, chk.name, chk.message
        );
    }
    let _ = writeln!(o, "\n  services:");
    let _ = writeln!(
        o,
        "    mon:     {} daemons, quorum {}",
        c.num_mons,
        if c.quorum.is_empty() {
            "(none)".to_string()
        } else {
            c.quorum.join(",")
        }
    );
    if let Some(m) = &r.mons {
        if let Some(change) = &m.change {
            let _ = writeln!(o, "             changing: {change}");
        }
        for (mon, secs) in &m.out_of_quorum {
            let _ = writeln!(o, "             mon.{mon} out of quorum for {}", age(*secs));
        }
    }
    let mgr = match &c.mgr_active {
        Some(a) if c.mgr_available => format!("{a}(active), standbys: {}", c.mgr_standbys),
        Some(a) => format!("{a}(starting), standbys: {}", c.mgr_standbys),
        None => "no daemons active".to_string(),
    };
    let _ = writeln!(o, "    mgr:     {mgr}");
    if !c.fs.filesystems.is_empty() || !c.fs.standbys.is_empty() {
        let _ = writeln!(o, "    mds:     {}", mds_line(&c.fs));
    }
    let _ = writeln!(
        o,
        "    osd:     {} osds: {} up, {} in",
        c.osds, c.osds_up, c.osds_in
    );
    let _ = writeln!(o, "\n  data:");
    let states: Vec<String> = c
        .pgs_by_state
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(
        o,
        "    pools:   {} pools, {} pgs ({})",
        c.pools.len(),
        c.pgs,
        states.join(", ")
    );
    for p in &c.pools {
        let _ = writeln!(
            o,
            "             {:<20} size {} (min {}), {} pgs, {} stored, {} objects, {} available",
            p.name,
            p.size,
            p.min_size,
            p.pg_num,
            bytes(p.stored),
            p.objects,
            bytes(p.max_avail)
        );
    }
    print_filesystems(&mut o, &c.fs);
    let pct = if c.raw_total > 0 {
        c.raw_used as f64 * 100.0 / c.raw_total as f64
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "    raw:     {} used, {} / {} avail ({pct:.1}% used; writes stop at {:.0}%)",
        bytes(c.raw_used),
        bytes(c.raw_avail),
        bytes(c.raw_total),
        c.full_ratio * 100.0
    );
    let _ = writeln!(
        o,
        "    usable:  {} for new data at {}x replication",
        bytes(c.usable_avail),
        c.pools.first().map(|p| p.size).unwrap_or(1)
    );
    print_capacity(&mut o, &c.capacity);
    if !r.services.is_empty() {
        let _ = writeln!(o, "\n  endpoints:");
        for (name, url) in &r.services {
            let _ = writeln!(o, "    {name:<11} {url}");
        }
        for (driver, node) in &r.csi_node {
            let _ = writeln!(
                o,
                "    csi node    {driver} on {} ({})",
                node.endpoint,
                node.attachment()
            );
            if let Some(url) = &node.metrics {
                let _ = writeln!(o, "    csi node metrics {url} (liveness: /healthz)");
            }
        }
        for (driver, endpoint) in &r.csi {
            let _ = writeln!(o, "    csi         {driver} on {endpoint}");
            if let Some(url) = r.csi_metrics.get(driver) {
                let _ = writeln!(o, "    csi metrics {url} (liveness: /healthz)");
            }
        }
        if let Some(pw) = &r.dashboard_password_file {
            let _ = writeln!(o, "    dashboard login: admin / password in {pw}");
        }
    }
    print_daemons(&mut o, r);
    print_storage(&mut o, r);
    print_events(&mut o, r);
    let _ = writeln!(o, "\n  export CEPH_CONF={}", r.conf);
    o
}

/// Only when an OSD is nearfull or worse: each OSD's use, and what to do.
fn print_capacity(o: &mut String, c: &CapacityReport) {
    use std::fmt::Write as _;
    if c.worst == Fill::Ok && !c.writes_refused {
        return;
    }
    let state = if c.writes_refused {
        "WRITES REFUSED"
    } else {
        "nearly full"
    };
    let _ = writeln!(
        o,
        "\n  capacity: {state} (ratios: nearfull {:.0}%, backfillfull {:.0}%, full {:.0}%)",
        c.nearfull_ratio * 100.0,
        c.backfillfull_ratio * 100.0,
        c.full_ratio * 100.0
    );
    for osd in &c.osds {
        let used = if osd.total_bytes == 0 {
            "usage not reported yet".to_string()
        } else {
            format!(
                "{:>5.1}% used ({} of {})",
                osd.used_ratio * 100.0,
                bytes(osd.used_bytes),
                bytes(osd.total_bytes)
            )
        };
        let _ = writeln!(o, "    {:<8} {used} {}", osd.name, osd.fill.as_str());
    }
    if !c.full_pools.is_empty() {
        let _ = writeln!(o, "    full pools: {}", c.full_pools.join(", "));
    }
    for line in &c.advice {
        let _ = writeln!(o, "    - {line}");
    }
}

fn print_daemons(o: &mut String, r: &StatusReport) {
    use std::fmt::Write as _;
    let rss = r
        .supervisor_rss_bytes
        .map(bytes)
        .unwrap_or_else(|| "?".into());
    let _ = writeln!(
        o,
        "\n  supervisor: pid {} ({rss} resident)",
        r.supervisor_pid.unwrap_or(0)
    );
    let now = now_secs();
    for d in &r.daemons {
        let pid = d
            .pid
            .map(|p| format!("pid {p}"))
            .unwrap_or_else(|| "-".into());
        let exit = d
            .last_exit
            .as_ref()
            .map(|e| format!(", last exit: {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {:<14} {:<8} {:<10} up {:<8} restarts {}{exit}",
            d.name,
            format!("{:?}", d.state).to_lowercase(),
            pid,
            age(now.saturating_sub(d.since)),
            d.restarts
        );
    }
}

/// `1/1 ranks active, 1 standby-replay, 0 standby`, summed over filesystems.
fn mds_line(fs: &FsMapReport) -> String {
    let wanted: u32 = fs.filesystems.iter().map(|f| f.max_mds).sum();
    let active: u32 = fs.filesystems.iter().map(|f| f.active_ranks).sum();
    let replay = fs
        .filesystems
        .iter()
        .flat_map(|f| &f.mds)
        .filter(|m| m.state == "up:standby-replay")
        .count();
    format!(
        "{active}/{wanted} ranks active, {replay} standby-replay, {} standby",
        fs.standbys.len()
    )
}

/// Each filesystem with its pools, then one line per rank holder.
fn print_filesystems(o: &mut String, fs: &FsMapReport) {
    use std::fmt::Write as _;
    for f in &fs.filesystems {
        let _ = writeln!(
            o,
            "    fs:      {} (max_mds {}{}): metadata {}, data {}",
            f.name,
            f.max_mds,
            if f.standby_replay {
                ", standby-replay"
            } else {
                ""
            },
            f.metadata_pool,
            f.data_pools.join(", ")
        );
        for m in &f.mds {
            let rank = m.rank.map(|r| format!("rank {r}")).unwrap_or_default();
            let _ = writeln!(o, "             {rank:<7} {:<18} mds.{}", m.state, m.name);
        }
    }
    for m in &fs.standbys {
        let _ = writeln!(o, "             {:<7} {:<18} mds.{}", "", m.state, m.name);
    }
}

fn print_events(o: &mut String, r: &StatusReport) {
    use std::fmt::Write as _;
    if r.events.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n  recent events:");
    let now = now_secs();
    for e in &r.events {
        let _ = writeln!(
            o,
            "    {:>8} ago  {:<18} {}",
            age(now.saturating_sub(e.time)),
            e.kind,
            e.message
        );
    }
}

/// Every OSD with its backing and state; every device with its verdict.
fn print_storage(o: &mut String, r: &StatusReport) {
    use std::fmt::Write as _;
    if !r.osds.is_empty() {
        let _ = writeln!(o, "\n  osds:");
        for d in &r.osds {
            let id =
                d.id.map(|i| format!("osd.{i}"))
                    .unwrap_or_else(|| "osd.?".into());
            let backing = match &d.identity {
                Some(idn) => format!("{} ({idn})", d.backing),
                None => d.backing.clone(),
            };
            let _ = writeln!(o, "    {id:<8} {backing:<44} {}", d.state);
        }
    }
    if let Some(e) = &r.devices_error {
        let _ = writeln!(o, "\n  devices: not scanned: {e}");
        return;
    }
    if r.devices.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n  devices (this cluster's selection; rookery discover explains):"
    );
    for d in &r.devices {
        let dev = &d.device;
        let about = format!(
            "{}, {}",
            format!("{:?}", dev.kind).to_lowercase(),
            rookery_api::human_bytes(dev.size_bytes)
        );
        let verdict = match (d.osd, d.verdict) {
            (Some(id), _) => format!("osd.{id}'s disk"),
            (None, "use") => "will become an OSD".to_string(),
            (None, _) => format!("not used: {}", d.reasons.join("; ")),
        };
        let _ = writeln!(o, "    {:<14} {about:<16} {verdict}", dev.path);
    }
}
