//! The FUSE mapper, for nodes whose kernel has no rbd module: `rbd-fuse`
//! exposes the image as a file, a loop device (direct I/O, so pages are not
//! cached twice) makes that file a block device.
//!
//! rbd-fuse daemonizes once its mount is ready, so it outlives the plugin: a
//! restarted plugin finds the FUSE mount and the loop device where it left them
//! (the mount table and sysfs are the record), and a staged volume keeps working
//! across the restart.

use std::path::{Path, PathBuf};

use super::mapper::{Credentials, MapRequest};
use crate::error::Error;
use crate::node::{command, fuse, mountinfo};

const FUSE_TYPE: &str = "fuse.rbd-fuse";

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
    let doing = format!("map image {}/{} with rbd-fuse", req.pool, req.image);
    match mountinfo::at(&dir).map_err(|e| Error::os(&doing, &e))? {
        Some(m) if m.fs_type == FUSE_TYPE && file_alive(&file) => {}
        Some(_) => {
            // rbd-fuse died (ENOTCONN), or something else is mounted there: the
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
                "rbd-fuse does not show image {:?}: it does not exist",
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
/// image file) and unmounts rbd-fuse, which then exits. Whatever is already gone
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

/// Whether rbd-fuse still answers for `file` (a dead one gives ENOTCONN).
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

async fn mount_fuse(
    dir: &Path,
    req: &MapRequest<'_>,
    creds: &Credentials,
    doing: &str,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::os(doing, &e))?;
    let mut args: Vec<std::ffi::OsString> = vec![
        "-c".into(),
        creds.conf.clone().into(),
        "--id".into(),
        creds.user.clone().into(),
    ];
    if let Some(k) = &creds.keyring {
        args.extend(["--keyring".into(), k.clone().into()]);
    }
    args.extend([
        "-p".into(),
        req.pool.into(),
        "-r".into(),
        req.image.into(),
        dir.into(),
    ]);
    // rbd-fuse returns once the mount is ready and its daemon runs on alone.
    command::run("rbd-fuse", &args, doing).await.map(drop)
}

async fn detach_fuse(dir: &Path) -> Result<(), Error> {
    let doing = format!("unmount rbd-fuse at {}", dir.display());
    if mountinfo::at(dir)
        .map_err(|e| Error::os(&doing, &e))?
        .is_some()
    {
        // Lazy: a dead rbd-fuse leaves a mount that a plain umount cannot touch.
        fuse::detach(dir)?;
    }
    // The daemon closes the image on its way out; until it has, the image has
    // a watcher and a DeleteVolume right after NodeUnstage would find it busy.
    fuse::wait_exit("rbd-fuse", dir, &doing).await?;
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::os(format!("remove {}", dir.display()), &e)),
    }
}
