//! The kernel mounter: mount(2) of type `ceph` with the mons' v1 addresses and
//! the subvolume's path as the source and the node user's key as an option —
//! what `mount -t ceph` does, without the mount.ceph helper. The key goes
//! straight to the kernel and is never logged (the kernel shows it as hidden).

use std::path::Path;

use super::record::StageRecord;
use crate::error::Error;
use crate::node::creds::Credentials;
use crate::node::{mons, mount};

/// The mount table's (and mount(2)'s) type for the kernel client.
pub(super) const FS_TYPE: &str = "ceph";

/// Whether this kernel has the ceph filesystem (built in or loaded), as
/// ceph-csi checks it.
pub(super) fn available() -> bool {
    std::fs::read_to_string("/proc/filesystems").is_ok_and(|t| lists_ceph(&t))
}

/// `/proc/filesystems` lines are `[nodev]\t<name>`.
fn lists_ceph(filesystems: &str) -> bool {
    filesystems
        .lines()
        .any(|l| l.rsplit('\t').next() == Some(FS_TYPE))
}

/// The mount source: `<mon>,<mon>:<path>`.
fn source(mons: &[String], root_path: &str) -> String {
    format!("{}:{}", mons.join(","), root_path)
}

/// The options: credentials and filesystem first, then the capability's mount
/// flags and the volume's `kernelMountOptions` (generic ones such as `ro`
/// become mount(2) flags in [`mount::split_options`]).
fn options(user: &str, key: &str, rec: &StageRecord) -> Vec<String> {
    let mut options = vec![
        format!("name={user}"),
        format!("secret={key}"),
        format!("mds_namespace={}", rec.fs_name),
    ];
    options.extend(rec.mount_flags.iter().cloned());
    options.extend(rec.kernel_mount_options.iter().cloned());
    options
}

pub(super) async fn mount(
    rados: &rookery_ceph::Rados,
    creds: &Credentials,
    rec: &StageRecord,
) -> Result<(), Error> {
    let doing = format!(
        "mount {}:{} at {} with the kernel client",
        rec.fs_name,
        rec.root_path,
        rec.staging_target_path.display()
    );
    let mons = mons::v1_addrs(rados, &doing).await?;
    let key = creds.key(&doing)?;
    let source = source(&mons, &rec.root_path);
    mount::mount_device(
        Path::new(&source),
        &rec.staging_target_path,
        FS_TYPE,
        &options(&creds.user, &key, rec),
        rec.read_only,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_proc_filesystems() {
        assert!(lists_ceph("nodev\tsysfs\n\text4\nnodev\tceph\n"));
        assert!(!lists_ceph(
            "nodev\tsysfs\n\text4\nnodev\tfuse\nnodev\tcephx\n"
        ));
    }

    #[test]
    fn source_and_options_have_the_kernel_format() {
        let mons = ["10.0.0.1:6789".to_string(), "10.0.0.2:6789".to_string()];
        assert_eq!(
            source(&mons, "/volumes/csi/csi-vol-1/2"),
            "10.0.0.1:6789,10.0.0.2:6789:/volumes/csi/csi-vol-1/2"
        );
        let rec = StageRecord {
            volume_id: "0001-x".into(),
            staging_target_path: "/stage".into(),
            fs_name: "myfs".into(),
            root_path: "/volumes/csi/csi-vol-1/2".into(),
            mounter: "kernel".into(),
            read_only: true,
            mount_flags: vec!["noatime".into()],
            fuse_mount_options: Vec::new(),
            kernel_mount_options: vec!["ms_mode=crc".into()],
        };
        let opts = options("csi-cephfs-node", "AQB==", &rec);
        let (flags, data) = mount::split_options(&opts, rec.read_only);
        assert_eq!(
            data,
            "name=csi-cephfs-node,secret=AQB==,mds_namespace=myfs,ms_mode=crc"
        );
        assert_eq!(
            flags,
            nix::mount::MsFlags::MS_RDONLY | nix::mount::MsFlags::MS_NOATIME
        );
    }
}
