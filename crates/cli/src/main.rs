//! The `rookery` binary: one subcommand per role.

mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "rookery", version, about = "A storage orchestrator for Ceph")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format for people or scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

/// The cluster directory: `--dir`, else $ROOKERY_DIR, else a per-user default.
#[derive(clap::Args, Debug, Clone)]
pub struct DirArg {
    /// Directory holding the local cluster (default: /var/lib/rookery as
    /// root, ~/.local/share/rookery otherwise).
    #[arg(long, env = "ROOKERY_DIR", global = true)]
    dir: Option<PathBuf>,
}

impl DirArg {
    pub fn layout(&self) -> rookery_runtime_local::Layout {
        let dir = self.dir.clone().unwrap_or_else(default_dir);
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        rookery_runtime_local::Layout::new(dir)
    }
}

fn default_dir() -> PathBuf {
    if nix_is_root() {
        PathBuf::from("/var/lib/rookery")
    } else {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local/share/rookery"))
            .unwrap_or_else(|| PathBuf::from("rookery-cluster"))
    }
}

fn nix_is_root() -> bool {
    rookery_runtime_local::is_root()
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bring up (or resume) a local Ceph cluster on this host.
    Up(cmd::up::UpArgs),
    /// Show the local cluster's health, daemons and capacity.
    Status(cmd::status::StatusArgs),
    /// Stop the local cluster; with --purge, delete its data.
    Down(cmd::down::DownArgs),
    /// Block (RBD) and file (CephFS) volumes of the local cluster, through its CSI plugins.
    Volume(cmd::volume::VolumeArgs),
    /// A CSI plugin (RBD or CephFS) on a unix socket.
    Csi(cmd::csi::CsiArgs),
    /// This host's block devices: which would become OSDs, and why the others would not.
    Discover(cmd::discover::DiscoverArgs),
    /// The local cluster's OSDs: `osd remove <id>` drains and purges one.
    #[command(subcommand)]
    Osd(cmd::osd::OsdCommand),
    /// Print the CRDs (CephCluster, CephBlockPool, CephFilesystem) generated from the types.
    Crdgen(cmd::crdgen::CrdgenArgs),
    /// Benchmarks (print figures against a baseline measured in the same run).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// The RBD node plugin's FUSE image server (started by the plugin).
    #[command(hide = true)]
    RbdFuseServe(cmd::rbd_fuse_serve::RbdFuseServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Up(a) => cmd::up::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Down(a) => cmd::down::run(a),
        Command::Volume(a) => cmd::volume::run(a),
        Command::Csi(a) => cmd::csi::run(a),
        Command::Discover(a) => cmd::discover::run(a),
        Command::Osd(o) => cmd::osd::run(o),
        Command::Bench(b) => cmd::bench::run(b),
        Command::Crdgen(a) => cmd::crdgen::run(a),
        Command::RbdFuseServe(a) => cmd::rbd_fuse_serve::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr, structured; `RUST_LOG` picks the level (default: warn,
/// info for the detached supervisor whose stderr is its log file).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let detached = std::env::var_os(rookery_runtime_local::launcher::DETACHED_ENV).is_some();
    let default = if detached { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// A runtime for commands: current-thread keeps the supervisor small.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
