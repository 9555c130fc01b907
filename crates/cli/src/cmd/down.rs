//! `rookery down`.

use std::process::ExitCode;

use crate::{runtime, DirArg, Output};

#[derive(clap::Args, Debug)]
pub struct DownArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Also delete the cluster directory: every key, daemon store and OSD.
    #[arg(long)]
    purge: bool,
    /// Confirms --purge.
    #[arg(long)]
    yes_really_destroy_data: bool,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: DownArgs) -> anyhow::Result<ExitCode> {
    let layout = args.dir.layout();
    let report = runtime()?.block_on(rookery_runtime_local::down::down(
        &layout,
        args.purge,
        args.yes_really_destroy_data,
    ))?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let dir = layout.root().display();
    match report.supervisor_stopped {
        Some(pid) => println!("Stopped the cluster at {dir} (supervisor pid {pid})."),
        None => println!("The cluster at {dir} was not running."),
    }
    if !report.strays_stopped.is_empty() {
        println!(
            "Stopped daemons left without a supervisor: {}",
            report.strays_stopped.join(", ")
        );
    }
    if !report.stuck.is_empty() {
        println!(
            "Still there after SIGKILL (stuck in uninterruptible I/O, e.g. on a stalled FUSE \
mount or device; they exit when it ends): {}",
            report.stuck.join(", ")
        );
    }
    if report.purged {
        println!("Deleted {dir} and all its data.");
    } else {
        println!("Data kept; `rookery up --dir {dir}` resumes it.");
    }
    Ok(ExitCode::SUCCESS)
}
