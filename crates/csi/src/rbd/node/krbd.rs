//! The kernel mapper: what `rbd map` does, through the rbd module's sysfs
//! interface directly (no `rbd` CLI): write the mons, credentials, pool and
//! image to `/sys/bus/rbd/add_single_major`, find `/dev/rbd<N>` by scanning
//! `/sys/bus/rbd/devices`, unmap by writing `<N>` to `remove_single_major`.
//!
//! The kernel client speaks msgr v1 only (Pacific), so it gets the mons' v1
//! addresses. The key goes straight to sysfs and is never logged.

use std::path::{Path, PathBuf};

use rookery_ceph::Rados;

use super::mapper::{Credentials, MapRequest};
use crate::error::Error;

const SYSFS: &str = "/sys/bus/rbd";

/// Whether this kernel has the rbd module loaded.
pub(super) fn available() -> bool {
    Path::new(SYSFS).join("add_single_major").exists()
}

pub(super) async fn map(
    rados: &Rados,
    req: &MapRequest<'_>,
    creds: &Credentials,
) -> Result<PathBuf, Error> {
    let doing = format!("map image {}/{} with krbd", req.pool, req.image);
    let sysfs = Path::new(SYSFS);
    if let Some(id) = find_device(sysfs, req.pool, req.image) {
        return Ok(PathBuf::from(format!("/dev/rbd{id}")));
    }
    let mons = crate::node::mons::v1_addrs(rados, &doing).await?;
    let key = creds.key(&doing)?;
    let line = add_line(&mons, &creds.user, &key, req.pool, req.image);
    let sys = sysfs.to_owned();
    let written = tokio::task::spawn_blocking(move || {
        std::fs::write(sys.join("add_single_major"), line.as_bytes())
    })
    .await
    .map_err(|e| Error::Node {
        doing: doing.clone(),
        errno: None,
        detail: e.to_string(),
    })?;
    written.map_err(|e| Error::os(&doing, &e))?;
    find_device(sysfs, req.pool, req.image)
        .map(|id| PathBuf::from(format!("/dev/rbd{id}")))
        .ok_or_else(|| Error::Node {
            doing,
            errno: None,
            detail: "the kernel accepted the mapping but no rbd device shows it".into(),
        })
}

/// Unmaps `/dev/rbd<N>`; a device that is gone is done.
pub(super) fn unmap(device: &Path) -> Result<(), Error> {
    let Some(id) = device
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("rbd"))
    else {
        return Ok(());
    };
    if !Path::new(SYSFS).join("devices").join(id).exists() {
        return Ok(());
    }
    std::fs::write(Path::new(SYSFS).join("remove_single_major"), id)
        .map_err(|e| Error::os(format!("unmap {}", device.display()), &e))
}

/// The line `add_single_major` takes: `<mons> <options> <pool> <image> <snap>`.
fn add_line(mons: &[String], user: &str, key: &str, pool: &str, image: &str) -> String {
    format!(
        "{} name={user},secret={key} {pool} {image} -",
        mons.join(",")
    )
}

/// The id of the device mapping `pool/image` (head, not a snapshot), if any.
fn find_device(sysfs: &Path, pool: &str, image: &str) -> Option<String> {
    let entries = std::fs::read_dir(sysfs.join("devices")).ok()?;
    entries.flatten().find_map(|e| {
        let dir = e.path();
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        (read("pool") == pool && read("name") == image && read("current_snap") == "-")
            .then(|| e.file_name().to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_line_has_the_kernel_format() {
        let line = add_line(
            &["127.0.0.1:6789".into(), "10.0.0.2:6789".into()],
            "csi-rbd-node",
            "AQB==",
            "rbd",
            "csi-vol-1",
        );
        assert_eq!(
            line,
            "127.0.0.1:6789,10.0.0.2:6789 name=csi-rbd-node,secret=AQB== rbd csi-vol-1 -"
        );
    }

    #[test]
    fn finds_the_device_of_an_image_in_sysfs() {
        let root = std::env::temp_dir().join(format!("rookery-krbd-{}", std::process::id()));
        for (id, pool, name, snap) in [
            ("0", "rbd", "a", "-"),
            ("1", "rbd", "b", "s1"),
            ("2", "rbd", "b", "-"),
        ] {
            let d = root.join("devices").join(id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("pool"), format!("{pool}\n")).unwrap();
            std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(d.join("current_snap"), format!("{snap}\n")).unwrap();
        }
        assert_eq!(find_device(&root, "rbd", "b").as_deref(), Some("2"));
        assert_eq!(find_device(&root, "rbd", "c"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
