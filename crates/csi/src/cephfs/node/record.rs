//! What NodeStage mounted and how, kept in the plugin's state directory as
//! `staged/<volume id>.json` (ceph-csi keeps the like in `/csi/mountinfo` for
//! its FUSE recovery). The staging path itself cannot hold it: the volume is
//! mounted over it. With it, a dead ceph-fuse is remounted even from a call
//! that carries no volume context (NodeGetVolumeStats), and by a restarted
//! plugin. The mount table stays the record of *whether* a volume is staged.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mounter::MounterKind;
use crate::error::Error;

/// One staged volume: where, which subtree of which filesystem, with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    #[serde(rename = "volumeID")]
    pub volume_id: String,
    pub staging_target_path: PathBuf,
    pub fs_name: String,
    /// The directory of the filesystem that is mounted (the subvolume's path).
    pub root_path: String,
    /// `fuse` or `kernel`.
    pub mounter: String,
    pub read_only: bool,
    /// The capability's mount flags.
    #[serde(default)]
    pub mount_flags: Vec<String>,
    /// The volume's `fuseMountOptions` / `kernelMountOptions` (ceph-csi's keys).
    #[serde(default)]
    pub fuse_mount_options: Vec<String>,
    #[serde(default)]
    pub kernel_mount_options: Vec<String>,
}

impl StageRecord {
    pub fn mounter_kind(&self) -> Result<MounterKind, Error> {
        self.mounter.parse().map_err(|e: String| Error::Node {
            doing: format!("read the stage record of volume {}", self.volume_id),
            errno: None,
            detail: e,
        })
    }
}

pub fn path(state_dir: &Path, volume_id: &str) -> PathBuf {
    state_dir.join("staged").join(format!("{volume_id}.json"))
}

/// Writes the record atomically (temporary file + rename), mode 0600.
pub fn write(state_dir: &Path, record: &StageRecord) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let target = path(state_dir, &record.volume_id);
    let doing = format!("write the stage record {}", target.display());
    let dir = target.parent().expect("a record has a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::os(&doing, &e))?;
    let tmp = dir.join(format!(".{}.tmp", record.volume_id));
    let json = serde_json::to_vec_pretty(record).expect("a stage record serialises");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::os(&doing, &e))?;
    f.write_all(&json)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &target))
        .map_err(|e| Error::os(&doing, &e))
}

/// The record of `volume_id`, if there is one.
pub fn read(state_dir: &Path, volume_id: &str) -> Result<Option<StageRecord>, Error> {
    let p = path(state_dir, volume_id);
    let doing = format!("read the stage record {}", p.display());
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Node {
                doing,
                errno: None,
                detail: format!("it is not a stage record ({e}); remove it if nothing is staged"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::os(doing, &e)),
    }
}

pub fn remove(state_dir: &Path, volume_id: &str) -> Result<(), Error> {
    let p = path(state_dir, volume_id);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::os(format!("remove {}", p.display()), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_ceph_csi_style_keys() {
        let dir = tempdir();
        assert_eq!(read(&dir, "0001-x").unwrap(), None);
        let rec = StageRecord {
            volume_id: "0001-x".into(),
            staging_target_path: "/stage/globalmount".into(),
            fs_name: "myfs".into(),
            root_path: "/volumes/csi/csi-vol-1/2".into(),
            mounter: "fuse".into(),
            read_only: false,
            mount_flags: vec!["noatime".into()],
            fuse_mount_options: Vec::new(),
            kernel_mount_options: vec!["ms_mode=crc".into()],
        };
        write(&dir, &rec).unwrap();
        let text = std::fs::read_to_string(path(&dir, "0001-x")).unwrap();
        assert!(
            text.contains("\"volumeID\"") && text.contains("\"fsName\""),
            "{text}"
        );
        assert_eq!(read(&dir, "0001-x").unwrap(), Some(rec.clone()));
        assert_eq!(rec.mounter_kind().unwrap(), MounterKind::Fuse);
        std::fs::write(path(&dir, "0001-x"), "{").unwrap();
        assert!(read(&dir, "0001-x")
            .unwrap_err()
            .to_string()
            .contains("not a stage record"));
        remove(&dir, "0001-x").unwrap();
        remove(&dir, "0001-x").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rookery-fsrecord-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
