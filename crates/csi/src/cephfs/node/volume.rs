//! What a Node request asks for: the volume (from its volume context, ceph-csi's
//! keys) and the access (from its capability).
//!
//! Provisioned volumes carry `fsName`, `subvolumeName` and `subvolumePath` (the
//! controller's volume context); a context without the path has it looked up
//! with `fs subvolume getpath`. Static volumes carry `staticVolume: "true"`,
//! `fsName` and `rootPath`.

use std::collections::HashMap;
use std::path::{Component, Path};

use rookery_ceph::commands::FsSubvolumeGetpath;
use rookery_ceph::Rados;
use rookery_csi_proto::v1::volume_capability::access_mode::Mode;
use rookery_csi_proto::v1::volume_capability::AccessType;
use rookery_csi_proto::v1::VolumeCapability;

use super::mounter::MounterKind;
use crate::request::{RequestError, Result};

/// The subvolume group ceph-csi keeps its volumes in.
const SUBVOLUME_GROUP: &str = "csi";

/// Which directory of which filesystem, and how the volume wants it mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VolumeSource {
    pub fs_name: String,
    pub root_path: String,
    pub mounter: Option<MounterKind>,
    pub fuse_mount_options: Vec<String>,
    pub kernel_mount_options: Vec<String>,
}

/// The context's value for `key`, if given and not blank.
fn get<'a>(ctx: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    ctx.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Reads the volume context; `rados` answers `fs subvolume getpath` when the
/// context names the subvolume but not its path.
pub(super) async fn source(ctx: &HashMap<String, String>, rados: &Rados) -> Result<VolumeSource> {
    let (mut source, lookup) = parse(ctx)?;
    if let Some(subvolume) = lookup {
        source.root_path = getpath(rados, &source.fs_name, subvolume).await?;
        check_root("volume_context.subvolumeName", &source.root_path)?;
    }
    Ok(source)
}

/// The context's rules, without the lookup: the source (its root path empty
/// when it is to be looked up) and the subvolume to look up, if any.
fn parse(ctx: &HashMap<String, String>) -> Result<(VolumeSource, Option<&str>)> {
    let fs_name = get(ctx, "fsName")
        .ok_or_else(|| RequestError::invalid("volume_context.fsName", "it is required"))?
        .to_owned();
    let is_static = match get(ctx, "staticVolume") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(RequestError::invalid(
                "volume_context.staticVolume",
                format!("{other:?} is neither true nor false"),
            ))
        }
    };
    let (root_path, lookup) = if is_static {
        let root = get(ctx, "rootPath").ok_or_else(|| {
            RequestError::invalid(
                "volume_context.rootPath",
                "a static volume (staticVolume: true) needs the directory to mount",
            )
        })?;
        check_root("volume_context.rootPath", root)?;
        (root.to_owned(), None)
    } else {
        match (get(ctx, "subvolumePath"), get(ctx, "subvolumeName")) {
            (Some(path), _) => {
                check_root("volume_context.subvolumePath", path)?;
                (path.to_owned(), None)
            }
            (None, Some(name)) => (String::new(), Some(name)),
            (None, None) => {
                return Err(RequestError::invalid(
                    "volume_context.subvolumePath",
                    "it is required (or subvolumeName, or staticVolume with rootPath)",
                ))
            }
        }
    };
    let mounter = get(ctx, "mounter")
        .map(|m| m.parse::<MounterKind>())
        .transpose()
        .map_err(|e| RequestError::invalid("volume_context.mounter", e))?;
    let list = |key: &str| -> Vec<String> {
        get(ctx, key)
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let source = VolumeSource {
        fs_name,
        root_path,
        mounter,
        fuse_mount_options: list("fuseMountOptions"),
        kernel_mount_options: list("kernelMountOptions"),
    };
    Ok((source, lookup))
}

/// A root path must be absolute and stay inside the filesystem.
fn check_root(field: &'static str, path: &str) -> Result<()> {
    let p = Path::new(path);
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        return Err(RequestError::invalid(
            field,
            format!("{path:?} is not an absolute path inside the filesystem"),
        ));
    }
    Ok(())
}

async fn getpath(rados: &Rados, fs_name: &str, subvolume: &str) -> Result<String> {
    let cmd = FsSubvolumeGetpath {
        vol_name: fs_name.to_owned(),
        sub_name: subvolume.to_owned(),
        group_name: SUBVOLUME_GROUP.to_owned(),
    };
    rados.mgr_command(&cmd).await.map_err(|e| {
        RequestError::ceph(
            format!("find the path of subvolume {subvolume} in filesystem {fs_name}"),
            e,
        )
    })
}

/// What a capability asks of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Access {
    pub mount_flags: Vec<String>,
    pub read_only: bool,
    pub single_writer: bool,
}

/// Checks `cap` and reads it. CephFS volumes are filesystems shared by any
/// number of writers: every access mode is fine, raw block is not. The
/// capability's `fs_type` is ignored, as ceph-csi ignores it (a StorageClass
/// often carries a block-volume default such as ext4).
pub(super) fn access(cap: Option<&VolumeCapability>) -> Result<Access> {
    let cap = cap.ok_or_else(|| RequestError::invalid("volume_capability", "it is required"))?;
    let mode = cap
        .access_mode
        .as_ref()
        .and_then(|m| Mode::try_from(m.mode).ok())
        .unwrap_or(Mode::Unknown);
    if mode == Mode::Unknown {
        return Err(RequestError::invalid(
            "volume_capability.access_mode",
            "it is required and must be a known mode",
        ));
    }
    let mount_flags = match &cap.access_type {
        Some(AccessType::Mount(m)) => m.mount_flags.clone(),
        Some(AccessType::Block(_)) => {
            return Err(RequestError::invalid(
                "volume_capability.block",
                "CephFS volumes are filesystems, not block devices; ask for a mount",
            ))
        }
        None => {
            return Err(RequestError::invalid(
                "volume_capability.access_type",
                "say mount (CephFS volumes are filesystems)",
            ))
        }
    };
    Ok(Access {
        mount_flags,
        read_only: matches!(mode, Mode::SingleNodeReaderOnly | Mode::MultiNodeReaderOnly),
        single_writer: mode == Mode::SingleNodeSingleWriter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CsiCode;
    use rookery_csi_proto::v1::volume_capability::{AccessMode, BlockVolume, MountVolume};

    fn cap(mode: Mode, access: AccessType) -> VolumeCapability {
        VolumeCapability {
            access_mode: Some(AccessMode { mode: mode as i32 }),
            access_type: Some(access),
        }
    }

    fn mount() -> AccessType {
        AccessType::Mount(MountVolume {
            fs_type: "ext4".into(),
            mount_flags: vec!["noatime".into()],
            ..Default::default()
        })
    }

    #[test]
    fn reads_capabilities_of_every_mode() {
        let a = access(Some(&cap(Mode::MultiNodeMultiWriter, mount()))).unwrap();
        assert!(!a.read_only && !a.single_writer);
        assert_eq!(a.mount_flags, vec!["noatime".to_string()]);
        assert!(
            access(Some(&cap(Mode::MultiNodeReaderOnly, mount())))
                .unwrap()
                .read_only
        );
        assert!(
            access(Some(&cap(Mode::SingleNodeSingleWriter, mount())))
                .unwrap()
                .single_writer
        );
        let e = access(Some(&cap(
            Mode::SingleNodeWriter,
            AccessType::Block(BlockVolume {}),
        )))
        .unwrap_err();
        assert_eq!(e.code(), CsiCode::InvalidArgument);
        assert!(e.to_string().contains("volume_capability.block"), "{e}");
        let e = access(Some(&cap(Mode::Unknown, mount()))).unwrap_err();
        assert!(e.to_string().contains("access_mode"), "{e}");
        assert!(access(None)
            .unwrap_err()
            .to_string()
            .contains("volume_capability"));
    }

    fn ctx(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Reads a context that needs no lookup.
    fn read(c: &HashMap<String, String>) -> Result<VolumeSource> {
        let (source, lookup) = parse(c)?;
        assert_eq!(lookup, None);
        Ok(source)
    }

    #[test]
    fn reads_provisioned_and_static_contexts() {
        let v = read(&ctx(&[
            ("clusterID", "fsid"),
            ("fsName", "myfs"),
            ("subvolumeName", "csi-vol-1"),
            ("subvolumePath", "/volumes/csi/csi-vol-1/2"),
            ("mounter", "fuse"),
            ("fuseMountOptions", "debug, ,x=1"),
        ]))
        .unwrap();
        assert_eq!(v.fs_name, "myfs");
        assert_eq!(v.root_path, "/volumes/csi/csi-vol-1/2");
        assert_eq!(v.mounter, Some(MounterKind::Fuse));
        assert_eq!(v.fuse_mount_options, vec!["debug", "x=1"]);
        let s = read(&ctx(&[
            ("fsName", "myfs"),
            ("staticVolume", "true"),
            ("rootPath", "/data"),
        ]))
        .unwrap();
        assert_eq!(s.root_path, "/data");
        assert_eq!(s.mounter, None);
        let named = ctx(&[("fsName", "f"), ("subvolumeName", "csi-vol-1")]);
        let (_, lookup) = parse(&named).unwrap();
        assert_eq!(lookup, Some("csi-vol-1"));
    }

    #[test]
    fn bad_contexts_name_the_key() {
        let cases = [
            (ctx(&[("subvolumePath", "/v")]), "volume_context.fsName"),
            (ctx(&[("fsName", "myfs")]), "volume_context.subvolumePath"),
            (
                ctx(&[("fsName", "f"), ("subvolumePath", "/v/../..")]),
                "volume_context.subvolumePath",
            ),
            (
                ctx(&[("fsName", "f"), ("staticVolume", "true")]),
                "volume_context.rootPath",
            ),
            (
                ctx(&[("fsName", "f"), ("staticVolume", "yes"), ("rootPath", "/")]),
                "volume_context.staticVolume",
            ),
            (
                ctx(&[("fsName", "f"), ("subvolumePath", "/v"), ("mounter", "nfs")]),
                "volume_context.mounter",
            ),
        ];
        for (c, field) in cases {
            let e = read(&c).unwrap_err();
            assert_eq!(e.code(), CsiCode::InvalidArgument, "{e}");
            assert!(e.to_string().contains(field), "{field}: {e}");
        }
    }
}
