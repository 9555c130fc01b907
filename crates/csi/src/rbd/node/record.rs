//! What NodeStage did, written into the staging directory (beside the mount, as
//! ceph-csi keeps its `image-meta.json`), so NodeUnstage — possibly run by a
//! restarted plugin — knows which device and mapper to undo. Written before the
//! mount so that a plugin dying mid-stage leaves enough to clean up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mapper::MapperKind;
use crate::error::Error;

pub const FILE: &str = "image-meta.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    #[serde(rename = "volumeID")]
    pub volume_id: String,
    pub pool: String,
    pub image_name: String,
    /// `krbd` or `rbd-fuse`.
    pub mapper: String,
    pub device: PathBuf,
    /// Raw block (the device bound at the staging path) rather than a filesystem.
    pub block: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
}

impl StageRecord {
    pub fn mapper_kind(&self) -> Result<MapperKind, Error> {
        self.mapper.parse().map_err(|e: String| Error::Node {
            doing: format!("read the stage record of volume {}", self.volume_id),
            errno: None,
            detail: e,
        })
    }
}

pub fn path(staging: &Path) -> PathBuf {
    staging.join(FILE)
}

/// Writes the record atomically (temporary file + rename), mode 0600.
pub fn write(staging: &Path, record: &StageRecord) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let doing = format!("write the stage record in {}", staging.display());
    let tmp = staging.join(format!(".{FILE}.tmp"));
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
        .and_then(|()| std::fs::rename(&tmp, path(staging)))
        .map_err(|e| Error::os(&doing, &e))
}

/// The record in `staging`, if there is one.
pub fn read(staging: &Path) -> Result<Option<StageRecord>, Error> {
    let p = path(staging);
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

pub fn remove(staging: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path(staging)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::os(format!("remove {}", path(staging).display()), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_ceph_csi_style_keys() {
        let dir = std::env::temp_dir().join(format!("rookery-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir).unwrap(), None);
        let rec = StageRecord {
            volume_id: "0001-x".into(),
            pool: "rbd".into(),
            image_name: "csi-vol-1".into(),
            mapper: "rbd-fuse".into(),
            device: "/dev/loop3".into(),
            block: false,
            fs_type: Some("ext4".into()),
        };
        write(&dir, &rec).unwrap();
        let text = std::fs::read_to_string(path(&dir)).unwrap();
        assert!(
            text.contains("\"volumeID\"") && text.contains("\"imageName\""),
            "{text}"
        );
        assert_eq!(read(&dir).unwrap(), Some(rec.clone()));
        assert_eq!(rec.mapper_kind().unwrap(), MapperKind::RbdFuse);
        std::fs::write(path(&dir), "{").unwrap();
        assert!(read(&dir)
            .unwrap_err()
            .to_string()
            .contains("not a stage record"));
        remove(&dir).unwrap();
        remove(&dir).unwrap();
        std::fs::remove_dir(&dir).unwrap();
    }
}
