//! The FUSE mapper, for nodes whose kernel has no rbd module: rookery's image
//! server (`rookery rbd-fuse-serve`, see [`crate::rbd::image_server`]) exposes
//! the image as a file, a loop device (direct I/O, so pages are not cached
//! twice) makes that file a block device. Not Ceph's `rbd-fuse`: its librbd
//! parks writes to a full pool, so everything above it hangs; the image
//! server's fail with ENOSPC.
//!
//! The server runs in its own session, so it outlives the plugin: a restarted
//! plugin finds the FUSE mount and the loop device where it left them (the
//! mount table and sysfs are the record), and a staged volume keeps working
//! across the restart.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;

use super::mapper::{Credentials, MapRequest};
use crate::error::Error;
use crate::node::{command, fuse, mountinfo};
use crate::rbd::image_server::{FUSE_SUBTYPE, PROCESS_NAME, READY};

/// How long the image server may take to connect, open the image and mount.
const READY_WAIT: Duration = Duration::from_secs(60);

/// Where this mapper keeps its FUSE mount points: `<state dir>/fuse/<volume id>`.
pub(super) fn fuse_dir(state_dir: &Path, volume_id: &str) -> PathBuf {
    state_dir.join("fuse").join(volume_id)
}

/// Maps the image: mounts rbd-fuse (unless a live mount is there already), then
/// attaches (or finds) the loop device over the image file.
pub(super) async fn map(
    state_dir: &Path,
    req: &MapRequest<'_>,
    creds: &Credentials,
) -> Result<PathBuf, Error> {
    let dir = fuse_dir(state_dir, req.volume_id);
    let file = dir.join(req.image);
    let doing = format!(
        "map image {}/{} with the FUSE image server",
        req.pool, req.image
    );
    match mountinfo::at(&dir).map_err(|e| Error::os(&doing, &e))? {
        Some(m) if m.fs_type == fuse_type() && file_alive(&file) => {}
        Some(_) => {
            // The server died (ENOTCONN), or something else is mounted there
            // (an rbd-fuse mount from an older rookery): the
            // loop devices over the dead file cannot work either. Start afresh.
            unmap(state_dir, req.volume_id).await?;
            mount_fuse(&dir, req, creds, &doing).await?;
        }
        None => mount_fuse(&dir, req, creds, &doing).await?,
    }
    if !file.exists() {
        detach_fuse(&dir).await?;
        return Err(Error::Node {
            doing,
            errno: Some(libc::ENOENT),
            detail: format!(
                "the image server does not show image {:?}: it does not exist",
                req.image
            ),
        });
    }
    if let Some(dev) = loop_for(&file) {
        return Ok(dev);
    }
    let out = command::run(
        "losetup",
        [
            "--find".as_ref(),
            "--show".as_ref(),
            "--direct-io=on".as_ref(),
            file.as_os_str(),
        ],
        &format!("{doing}: attach a loop device"),
    )
    .await;
    match out {
        Ok(stdout) => Ok(PathBuf::from(stdout.trim())),
        Err(e) => {
            detach_fuse(&dir).await?;
            Err(e)
        }
    }
}

/// Undoes [`map`]: detaches the loop device (if it is still over this volume's
/// image file) and unmounts the image server, which then exits. Whatever is already gone
/// is skipped.
pub(super) async fn unmap(state_dir: &Path, volume_id: &str) -> Result<(), Error> {
    let dir = fuse_dir(state_dir, volume_id);
    for dev in loops_under(&dir) {
        command::run(
            "losetup",
            ["-d".as_ref(), dev.as_os_str()],
            &format!("detach {}", dev.display()),
        )
        .await?;
    }
    detach_fuse(&dir).await
}

/// Tells the loop device to re-read its backing file's size after an expansion.
pub(super) async fn refresh_size(device: &Path) -> Result<(), Error> {
    command::run(
        "losetup",
        ["--set-capacity".as_ref(), device.as_os_str()],
        &format!("refresh the size of {}", device.display()),
    )
    .await
    .map(drop)
}

/// Whether the image server still answers for `file` (a dead one gives ENOTCONN).
pub(super) fn file_alive(file: &Path) -> bool {
    std::fs::metadata(file).is_ok()
}

/// The backing file of loop device `device`, if it is one.
pub(super) fn backing_file(device: &Path) -> Option<PathBuf> {
    let name = device.file_name()?.to_str()?;
    let text = std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file")).ok()?;
    Some(PathBuf::from(text.trim_end_matches('\n')))
}

fn loop_for(file: &Path) -> Option<PathBuf> {
    loops_under(file).into_iter().next()
}

/// Loop devices whose backing file is `path` or lies under it.
fn loops_under(path: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("loop"))
        .map(|n| PathBuf::from("/dev").join(n))
        .filter(|dev| backing_file(dev).is_some_and(|b| b.starts_with(path)))
        .collect()
}

fn fuse_type() -> String {
    format!("fuse.{FUSE_SUBTYPE}")
}

/// Where the image server of `dir` logs (beside the mount point; removed
/// with it on unmap).
fn log_path(dir: &Path) -> PathBuf {
    let mut path = dir.as_os_str().to_owned();
    path.push(".log");
    PathBuf::from(path)
}

/// Starts the image server (this same binary) on `dir` and waits until it
/// says its mount is ready; it then runs on alone.
async fn mount_fuse(
    dir: &Path,
    req: &MapRequest<'_>,
    creds: &Credentials,
    doing: &str,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::os(doing, &e))?;
    let log_file = log_path(dir);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|e| Error::os(format!("{doing}: open {}", log_file.display()), &e))?;
    // /proc/self/exe: the plugin's own binary, even if replaced on disk since.
    let mut cmd = tokio::process::Command::new("/proc/self/exe");
    cmd.arg0(PROCESS_NAME)
        .arg("rbd-fuse-serve")
        .arg("--conf")
        .arg(&creds.conf)
        .arg("--user")
        .arg(&creds.user);
    if let Some(k) = &creds.keyring {
        cmd.arg("--keyring").arg(k);
    }
    cmd.args(["--pool", req.pool, "--image", req.image])
        .arg(dir)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::os(format!("{doing}: start {PROCESS_NAME}"), &e))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    let mut stdout = tokio::io::BufReader::new(stdout);
    let read = stdout.read_line(&mut line);
    match tokio::time::timeout(READY_WAIT, read).await {
        // Dropped without a wait: the server lives on in its own session
        // (tokio reaps it if it ends while the plugin runs).
        Ok(Ok(_)) if line.trim() == READY => return Ok(()),
        Ok(_) => {}
        Err(_) => {
            let _ = child.start_kill();
        }
    }
    let _ = child.wait().await;
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    let _ = fuse::detach(dir);
    Err(Error::Node {
        doing: doing.to_owned(),
        errno: None,
        detail: format!(
            "the image server did not get its mount ready within {READY_WAIT:?}; its log {} ends: {}",
            log_file.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ),
    })
}

async fn detach_fuse(dir: &Path) -> Result<(), Error> {
    let doing = format!("unmount the image server at {}", dir.display());
    if mountinfo::at(dir)
        .map_err(|e| Error::os(&doing, &e))?
        .is_some()
    {
        // Lazy: a dead server leaves a mount that a plain umount cannot touch.
        fuse::detach(dir)?;
    }
    // The daemon closes the image on its way out; until it has, the image has
    // a watcher and a DeleteVolume right after NodeUnstage would find it busy.
    fuse::wait_exit(PROCESS_NAME, dir, &doing).await?;
    let _ = std::fs::remove_file(log_path(dir));
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::os(format!("remove {}", dir.display()), &e)),
    }
}
