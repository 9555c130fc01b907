//! `rookery up`: validate the spec here (errors print at once), then run the
//! supervisor in the background and follow its progress until the cluster
//! is up — or run it in this process with `--foreground`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use rookery_runtime_local::launcher::{self, DETACHED_ENV};
use rookery_runtime_local::{lock, spec, RunOptions, UpSummary};

use crate::{runtime, DirArg, Output};

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Cluster spec (CephCluster and CephBlockPool documents, ceph.rook.io/v1).
    /// Without it: the stored spec of an existing cluster, else the defaults.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    #[command(flatten)]
    dir: DirArg,
    /// Run the supervisor in this process instead of in the background.
    #[arg(long)]
    foreground: bool,
    /// Give up bringing the cluster up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let layout = args.dir.layout();
    let spec_yaml = match &args.file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the cluster spec {}", f.display()))?,
        ),
        None => None,
    };
    let detached = std::env::var_os(DETACHED_ENV).is_some();
    if detached {
        // Own session: the terminal that ran `up` closing must not stop us.
        let _ = nix::unistd::setsid();
    }
    if !args.foreground || !detached {
        if let Some(pid) = lock::running_supervisor(&layout) {
            if args.output == Output::Json {
                println!(
                    "{}",
                    serde_json::json!({"alreadyRunning": true, "supervisorPid": pid})
                );
            } else {
                println!(
                    "The cluster at {} is already running (supervisor pid {pid}); nothing to do.",
                    layout.root().display()
                );
                if args.file.is_some() {
                    println!(
                        "The spec given with -f was not applied: a running cluster keeps its spec until `rookery down` and `rookery up -f` again."
                    );
                }
                println!("  export CEPH_CONF={}", layout.conf().display());
                println!("  rookery status --dir {}", layout.root().display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Fail fast on a bad spec, before anything starts.
        if let Some(yaml) = &spec_yaml {
            for w in spec::check(yaml)? {
                eprintln!("warning: {w}");
            }
        }
    }
    let opts = RunOptions {
        layout: layout.clone(),
        spec_yaml,
        timeout: Duration::from_secs(args.timeout),
        echo: args.foreground && !detached && args.output == Output::Text,
    };
    if args.foreground {
        if opts.echo {
            println!(
                "rookery: cluster at {} (Ctrl-C stops it)",
                layout.root().display()
            );
            println!("  export CEPH_CONF={}", layout.conf().display());
        }
        runtime()?.block_on(rookery_runtime_local::run_foreground(opts))?;
        return Ok(ExitCode::SUCCESS);
    }

    let exe = std::env::current_exe().context("cannot find the rookery binary")?;
    let mut child_args = vec![
        "up".to_string(),
        "--foreground".to_string(),
        "--dir".to_string(),
        layout.root().display().to_string(),
        "--timeout".to_string(),
        args.timeout.to_string(),
    ];
    if let Some(f) = &args.file {
        let abs = std::path::absolute(f).unwrap_or_else(|_| f.clone());
        child_args.push("-f".into());
        child_args.push(abs.display().to_string());
    }
    let text = args.output == Output::Text;
    if text {
        println!(
            "rookery: bringing up the cluster at {}",
            layout.root().display()
        );
    }
    let rt = runtime()?;
    let mut child = launcher::spawn(&exe, &child_args, &layout)?;
    let ready = rt.block_on(launcher::follow(&layout, &mut child, |ev| {
        if text && ev.kind != rookery_runtime_local::progress::ProgressKind::Ready {
            println!("{}", ev.render());
        }
    }))?;
    let summary: UpSummary = serde_json::from_value(ready.data.unwrap_or_default())
        .context("the supervisor's ready report is unreadable")?;
    if text {
        print_summary(&layout, &summary, child.id());
    } else {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(layout: &rookery_runtime_local::Layout, s: &UpSummary, pid: u32) {
    println!();
    println!(
        "Cluster {} is up in {:.1}s ({} mon, {} OSDs; all OSDs up after {:.1}s): {}",
        s.fsid, s.total_secs, s.mons, s.osds, s.osds_up_after, s.health
    );
    for r in &s.remaining {
        println!("  ! {r}");
    }
    for fs in &s.filesystems {
        println!(
            "  filesystem  {}: {} (pools {}, {})",
            fs.name,
            fs.ranks_line(),
            fs.metadata_pool,
            fs.data_pools.join(", ")
        );
    }
    if let Some(t) = s.mds_active_after {
        println!("  all filesystem ranks active after {t:.1}s");
    }
    for (name, url) in &s.services {
        println!("  {name:<11} {url}");
    }
    for (driver, node) in &s.csi_node {
        println!(
            "  csi node    {driver} on {} ({})",
            node.endpoint,
            node.attachment()
        );
        if let Some(url) = &node.metrics {
            println!("  csi node metrics {url} (liveness: /healthz)");
        }
    }
    for (driver, endpoint) in &s.csi {
        println!("  csi         {driver} on {endpoint}");
        if let Some(url) = s.csi_metrics.get(driver) {
            println!("  csi metrics {url} (liveness: /healthz)");
        }
    }
    if s.services.contains_key("dashboard") {
        println!(
            "  dashboard login: admin / password in {}",
            layout.dashboard_password().display()
        );
    }
    println!(
        "  supervisor  pid {pid}, logs in {}",
        layout.log_dir().display()
    );
    println!();
    println!("Use the stock Ceph tools against it:");
    println!("  export CEPH_CONF={}", s.conf);
    println!("  ceph -s");
    println!("  rbd -p rbd ls");
    let dir = layout.root().display();
    println!("Status: rookery status --dir {dir}    Stop: rookery down --dir {dir}");
}
