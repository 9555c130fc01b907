//! How each Ceph daemon is run and how its one-off tools (`--mkfs`) are
//! invoked: the only Ceph processes rookery starts.

use std::path::Path;
use std::process::Stdio;

use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::supervisor::DaemonSpec;

/// The kinds of daemons and their binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mon,
    Mgr,
    Mds,
    Osd,
}

impl Kind {
    pub fn program(self) -> &'static str {
        match self {
            Kind::Mon => "ceph-mon",
            Kind::Mgr => "ceph-mgr",
            Kind::Mds => "ceph-mds",
            Kind::Osd => "ceph-osd",
        }
    }
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Mon => "mon",
            Kind::Mgr => "mgr",
            Kind::Mds => "mds",
            Kind::Osd => "osd",
        }
    }
}

/// The supervised, foreground (`-f`) process of daemon `kind.id`.
pub fn spec(layout: &Layout, kind: Kind, id: &str) -> DaemonSpec {
    let conf = layout.conf().display().to_string();
    let mut args = vec![
        "-f".to_string(),
        "--cluster".to_string(),
        "ceph".to_string(),
        "-i".to_string(),
        id.to_string(),
        "-c".to_string(),
        conf.clone(),
    ];
    // ceph-mgr does not read its keyring from the [mgr] section reliably;
    // ceph-mds gets its own the same way.
    let keyring = match kind {
        Kind::Mgr => Some(layout.mgr_dir(id).join("keyring")),
        Kind::Mds => Some(layout.mds_dir(id).join("keyring")),
        Kind::Mon | Kind::Osd => None,
    };
    if let Some(k) = keyring {
        args.push("--keyring".to_string());
        args.push(k.display().to_string());
    }
    DaemonSpec {
        name: format!("{}.{id}", kind.prefix()),
        program: kind.program().to_string(),
        args,
        marker: conf,
    }
}

/// Runs a daemon binary's one-off mode (e.g. `--mkfs`) to completion; output
/// goes to the daemon's log so failures can be read.
pub async fn run_tool(layout: &Layout, daemon: &str, program: &str, args: &[String]) -> Result<()> {
    let log_path = layout.daemon_output(daemon);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .ctx("cannot open log", &log_path)?;
    let err = log.try_clone().ctx("cannot open log", &log_path)?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .status()
        .await
        .map_err(|e| Error::Daemon {
            program: program.to_string(),
            daemon: daemon.to_string(),
            detail: format!("cannot run it ({e}); is Ceph installed (apt-get install ceph)?"),
            log: log_path.clone(),
        })?;
    if !status.success() {
        return Err(Error::Daemon {
            program: program.to_string(),
            daemon: daemon.to_string(),
            detail: format!("{} {}", args.join(" "), status),
            log: log_path,
        });
    }
    Ok(())
}

/// Is `program` on PATH? Checked before anything is created, so a missing
/// Ceph install is reported up front, not half-way.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| is_executable(&d.join(program))))
        .unwrap_or(false)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
