//! `rookery osd remove`: drain an OSD and purge it, as Rook's OSD purge.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rookery_runtime_local::osd::remove_flow::{remove, Progress, RemoveOptions};

use crate::{runtime, DirArg, Output};

#[derive(clap::Subcommand, Debug)]
pub enum OsdCommand {
    /// Drain an OSD (mark it out, wait until its data lives elsewhere), stop
    /// it, purge it from Ceph and delete its data. Refused when a pool would
    /// lose its last copies or the other OSDs lack room, unless --force.
    Remove(RemoveArgs),
}

#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    /// The OSD's id (3 or osd.3).
    #[arg(value_parser = parse_id)]
    id: u32,
    /// Remove it even when data would become unavailable or be lost; does
    /// not wait for the data to drain.
    #[arg(long)]
    force: bool,
    /// Give up (and put the OSD back in) if draining takes longer, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    timeout: u64,
    #[command(flatten)]
    dir: DirArg,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

fn parse_id(s: &str) -> Result<u32, String> {
    s.strip_prefix("osd.")
        .unwrap_or(s)
        .parse()
        .map_err(|_| format!("{s:?} is not an OSD id; write it like 3 or osd.3"))
}

pub fn run(cmd: OsdCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OsdCommand::Remove(a) => remove_osd(a),
    }
}

fn remove_osd(a: RemoveArgs) -> anyhow::Result<ExitCode> {
    let layout = a.dir.layout();
    let opts = RemoveOptions {
        id: a.id,
        force: a.force,
        timeout: Duration::from_secs(a.timeout),
    };
    let text = a.output == Output::Text;
    let start = Instant::now();
    let show = |p: &Progress| {
        if !text {
            return;
        }
        let t = start.elapsed().as_secs_f64();
        match p {
            Progress::Draining { detail } => println!("[{t:6.1}s] draining: {detail}"),
            Progress::Stopping => println!("[{t:6.1}s] stopping osd.{}", a.id),
            Progress::Purging => println!("[{t:6.1}s] purging osd.{} from Ceph", a.id),
        }
    };
    if text {
        println!(
            "removing osd.{}{}",
            a.id,
            if a.force { " (forced)" } else { "" }
        );
    }
    let report = runtime()?.block_on(remove(&layout, &opts, show))?;
    if text {
        println!(
            "osd.{} ({}) removed in {:.1}s; {}",
            report.id, report.backing, report.total_secs, report.data
        );
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
