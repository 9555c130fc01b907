//! The ceph-fuse mounter: one `ceph-fuse` daemon per staged volume, mounted at
//! the staging path with the subvolume as its root (`-r`). ceph-fuse returns
//! once the mount is ready and its daemon runs on alone, so a staged volume
//! outlives a plugin restart; the daemon is found again by its command line.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::record::StageRecord;
use crate::error::Error;
use crate::node::creds::Credentials;
use crate::node::{command, fuse, mount};

/// The mount table's type for a ceph-fuse mount.
pub(super) const FS_TYPE: &str = "fuse.ceph-fuse";
const PROGRAM: &str = "ceph-fuse";
/// How long ceph-fuse may take to mount (it waits for the mons and the MDS).
const MOUNT_WAIT: Duration = Duration::from_secs(120);

/// ceph-fuse's arguments for `rec`. Pacific names the filesystem with
/// `--client_fs` (older releases: `--client_mds_namespace`).
fn args(creds: &Credentials, rec: &StageRecord) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        rec.staging_target_path.clone().into(),
        "-c".into(),
        creds.conf.clone().into(),
        "--id".into(),
        creds.user.clone().into(),
    ];
    if let Some(k) = &creds.keyring {
        args.extend(["--keyring".into(), k.clone().into()]);
    }
    args.extend([
        format!("--client_fs={}", rec.fs_name).into(),
        "-r".into(),
        rec.root_path.clone().into(),
    ]);
    let options = fuse_options(rec);
    if !options.is_empty() {
        args.extend(["-o".into(), options.join(",").into()]);
    }
    args
}

/// The `-o` options: read-only, the capability's mount flags, and the
/// volume's `fuseMountOptions`.
fn fuse_options(rec: &StageRecord) -> Vec<String> {
    let mut options: Vec<String> = Vec::new();
    if rec.read_only {
        options.push("ro".into());
    }
    let given = rec.mount_flags.iter().chain(&rec.fuse_mount_options);
    for opt in given.flat_map(|o| o.split(',')).map(str::trim) {
        if !opt.is_empty() && opt != "defaults" && !options.iter().any(|o| o == opt) {
            options.push(opt.to_owned());
        }
    }
    options
}

/// Mounts `rec` with ceph-fuse. A mount that fails leaves no daemon behind.
pub(super) async fn mount(creds: &Credentials, rec: &StageRecord) -> Result<(), Error> {
    let target = &rec.staging_target_path;
    let doing = format!(
        "mount {}:{} at {} with ceph-fuse",
        rec.fs_name,
        rec.root_path,
        target.display()
    );
    std::fs::create_dir_all(target).map_err(|e| Error::os(&doing, &e))?;
    let out = command::output(PROGRAM, args(creds, rec), MOUNT_WAIT, &doing).await;
    let failure = match out {
        Ok(out) if out.code == Some(0) => return Ok(()),
        Ok(out) => failed(&doing, rec, &out),
        Err(e) => e,
    };
    // A daemon that got as far as forking may still be mounting: undo it.
    let _ = fuse::detach(target);
    for pid in fuse::daemon_pids(PROGRAM, target) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    Err(failure)
}

/// The error of a ceph-fuse that exited non-zero, with what to do.
fn failed(doing: &str, rec: &StageRecord, out: &command::Finished) -> Error {
    let said = out
        .stderr
        .lines()
        .chain(out.stdout.lines())
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_owned();
    let (errno, hint) = if said.contains("(2) No such file or directory") {
        (
            Some(libc::ENOENT),
            format!(
                "; {} does not exist in filesystem {}: was the volume deleted?",
                rec.root_path, rec.fs_name
            ),
        )
    } else if said.contains("(1) Operation not permitted") || said.contains("(13) Permission") {
        (
            None,
            "; the node user's caps do not allow this filesystem (it needs mds 'allow rw')"
                .to_owned(),
        )
    } else {
        (None, String::new())
    };
    Error::Node {
        doing: doing.to_owned(),
        errno,
        detail: format!(
            "`ceph-fuse` failed ({}): {said}{hint}",
            out.code
                .map_or("killed by a signal".to_owned(), |c| format!("exit {c}"))
        ),
    }
}

/// Unmounts the ceph-fuse mount at `target` (lazily if its daemon died) and
/// waits until the daemon has exited: until then it holds its MDS session and
/// caps on the subvolume.
pub(super) async fn unmount(target: &Path) -> Result<(), Error> {
    let doing = format!("unmount ceph-fuse at {}", target.display());
    if fuse::dead_mount(target).await.is_some() {
        fuse::detach(target)?;
    } else {
        mount::unmount(target).await?;
    }
    fuse::wait_exit(PROGRAM, target, &doing).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> StageRecord {
        StageRecord {
            volume_id: "0001-x".into(),
            staging_target_path: "/var/lib/kubelet/pv/globalmount".into(),
            fs_name: "myfs".into(),
            root_path: "/volumes/csi/csi-vol-1/2".into(),
            mounter: "fuse".into(),
            read_only: false,
            mount_flags: Vec::new(),
            fuse_mount_options: Vec::new(),
            kernel_mount_options: Vec::new(),
        }
    }

    #[test]
    fn ceph_fuse_arguments() {
        let creds = Credentials {
            conf: "/etc/ceph/ceph.conf".into(),
            user: "csi-cephfs-node".into(),
            keyring: Some("/etc/ceph/keyring".into()),
        };
        let joined = |a: Vec<OsString>| {
            a.iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            joined(args(&creds, &rec())),
            "/var/lib/kubelet/pv/globalmount -c /etc/ceph/ceph.conf --id csi-cephfs-node \
             --keyring /etc/ceph/keyring --client_fs=myfs -r /volumes/csi/csi-vol-1/2"
        );
        let mut ro = rec();
        ro.read_only = true;
        ro.mount_flags = vec!["noatime,ro".into(), "defaults".into()];
        ro.fuse_mount_options = vec![" debug ".into()];
        assert!(joined(args(&creds, &ro)).ends_with(" -o ro,noatime,debug"));
    }

    #[test]
    fn failures_say_what_to_do() {
        let out = command::Finished {
            code: Some(1),
            stdout: String::new(),
            stderr: "2026-01-01 x -1 client.4: ...\nceph-fuse[1]: ceph mount failed with (2) \
                     No such file or directory\n"
                .into(),
        };
        let e = failed("mount x", &rec(), &out);
        assert_eq!(e.code(), crate::error::CsiCode::NotFound);
        assert!(e.to_string().contains("was the volume deleted"), "{e}");
    }
}
