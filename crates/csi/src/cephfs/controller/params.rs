//! What a CephFS request asks for: access modes (filesystems only, any number
//! of nodes) and the StorageClass parameters as ceph-csi reads them.

use std::collections::HashMap;

use rookery_csi_proto::v1::volume_capability::{access_mode::Mode, AccessType};
use rookery_csi_proto::v1::VolumeCapability;

use crate::request::params::{check_cluster_id, keys, required, volume_context};
use crate::request::{RequestError, Result};

/// Why a capability is refused, or None: CephFS volumes are shared filesystems,
/// so every access mode works, with mount access only.
pub(crate) fn unsupported(cap: &VolumeCapability) -> Option<String> {
    let Some(mode) = cap.access_mode.as_ref() else {
        return Some("access_mode is missing".into());
    };
    match cap.access_type.as_ref() {
        None => return Some("access_type is missing: give mount".into()),
        Some(AccessType::Block(_)) => {
            return Some(
                "block access is not supported: CephFS volumes are filesystems; use mount".into(),
            )
        }
        Some(AccessType::Mount(_)) => {}
    }
    match Mode::try_from(mode.mode) {
        Ok(Mode::Unknown) | Err(_) => Some(format!("access mode {} is unknown", mode.mode)),
        Ok(_) => None,
    }
}

/// Checks `volume_capabilities`: present, and every entry one CephFS supports.
pub(crate) fn check_capabilities(caps: &[VolumeCapability]) -> Result<()> {
    crate::request::capabilities::check_capabilities(caps, unsupported)
}

/// The StorageClass parameters of a CephFS CreateVolume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsParams {
    pub fs_name: String,
    /// A data pool of the filesystem for the volume's files (`pool`).
    pub pool: Option<String>,
    /// The parameters without the CO's keys, passed back as volume_context.
    pub context: HashMap<String, String>,
}

impl FsParams {
    pub fn parse(params: &HashMap<String, String>, cluster_id: &str) -> Result<Self> {
        check_cluster_id(params, cluster_id)?;
        let fs_name = required(params, keys::FS_NAME)?;
        let pool = params
            .get(keys::POOL)
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        if let Some(m) = params.get("mounter").filter(|m| !m.is_empty()) {
            if m != "fuse" && m != "kernel" {
                return Err(RequestError::invalid(
                    "parameters.mounter",
                    format!("{m:?} is not a CephFS mounter; use fuse or kernel"),
                ));
            }
        }
        let context = volume_context(params);
        Ok(Self {
            fs_name,
            pool,
            context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::capabilities::test_capability as cap;

    #[test]
    fn every_mode_with_mount_none_with_block() {
        for mode in [
            Mode::SingleNodeWriter,
            Mode::SingleNodeSingleWriter,
            Mode::MultiNodeReaderOnly,
            Mode::MultiNodeMultiWriter,
            Mode::MultiNodeSingleWriter,
        ] {
            assert_eq!(unsupported(&cap(mode, false)), None, "{mode:?}");
        }
        let why = unsupported(&cap(Mode::SingleNodeWriter, true)).unwrap();
        assert!(why.contains("use mount"), "{why}");
        let e = check_capabilities(&[]).unwrap_err();
        assert!(e.to_string().contains("volume_capabilities"), "{e}");
    }

    #[test]
    fn parameters_as_ceph_csi_reads_them() {
        let mut p = HashMap::from([
            ("clusterID".to_string(), "fsid-1".to_string()),
            ("fsName".to_string(), "myfs".to_string()),
            ("csi.storage.k8s.io/pvc/name".to_string(), "x".to_string()),
        ]);
        let parsed = FsParams::parse(&p, "fsid-1").unwrap();
        assert_eq!(parsed.fs_name, "myfs");
        assert_eq!(parsed.pool, None);
        assert!(!parsed.context.contains_key("csi.storage.k8s.io/pvc/name"));
        p.remove("fsName");
        let e = FsParams::parse(&p, "fsid-1").unwrap_err();
        assert!(e.to_string().contains("parameters.fsName"), "{e}");
        p.insert("fsName".into(), "myfs".into());
        p.insert("mounter".into(), "nbd".into());
        let e = FsParams::parse(&p, "fsid-1").unwrap_err();
        assert!(e.to_string().contains("parameters.mounter"), "{e}");
        let e = FsParams::parse(&p, "other").unwrap_err();
        assert!(e.to_string().contains("clusterID"), "{e}");
    }
}
