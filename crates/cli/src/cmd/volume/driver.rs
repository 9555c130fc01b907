//! What differs between block (RBD) and filesystem (CephFS) volumes for
//! `rookery volume`: the plugin endpoints, the StorageClass parameters, where
//! the journals live and how IDs are located, the capability asked for, and
//! where and how volumes are staged. Everything else is shared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rookery_ceph::Rados;
use rookery_csi::cephfs::controller::fs::Filesystems;
use rookery_csi::grpc::proto::v1::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use rookery_csi::grpc::proto::v1::VolumeCapability;
use rookery_csi::grpc::CsiEndpoint;
use rookery_csi::journal::{JournalConfig, VolumeJournal, DEFAULT_INSTANCE_ID};
use rookery_runtime_local::{csi, Layout};

/// `--type`: which driver's volumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum VolumeType {
    /// RBD images (rbd.csi.ceph.com), mounted by one node at a time.
    #[default]
    Block,
    /// CephFS subvolumes (cephfs.csi.ceph.com), shared by any number of mounts.
    Fs,
}

/// Where the volumes of one driver live and how to reach its plugins.
pub struct Driver {
    pub kind: VolumeType,
    /// The pool (block) or filesystem (fs) the volumes are in.
    pub home: String,
    /// The data pool for new CephFS volumes (`pool`), when asked for.
    data_pool: Option<String>,
    /// The location id of volume IDs: the pool id (block) or FSCID (fs).
    pub location_id: i64,
    /// The journals' pool: the RBD pool, or the metadata pool namespace `csi`.
    pub journal_io: rookery_ceph::IoCtx,
    pub controller: CsiEndpoint,
    pub node: CsiEndpoint,
    staging_root: PathBuf,
    /// CephFS node plugin's state directory (its stage records).
    cephfs_state: PathBuf,
}

impl Driver {
    /// The driver of `kind` on the running cluster: `pool` (block, default
    /// `rbd`; fs: the data pool of new volumes) and `fs` (fs only, default the
    /// first filesystem).
    pub async fn open(
        kind: VolumeType,
        layout: &Layout,
        rados: &Rados,
        pool: Option<&str>,
        fs: Option<&str>,
    ) -> anyhow::Result<Self> {
        let cephfs_state = csi::cephfs_node_state_dir(layout);
        match kind {
            VolumeType::Block => {
                let pool = pool.unwrap_or("rbd");
                let location_id = rados
                    .pool_id(pool)
                    .await
                    .with_context(|| format!("pool {pool} (choose another with --pool)"))?;
                Ok(Self {
                    kind,
                    home: pool.to_owned(),
                    data_pool: None,
                    location_id,
                    journal_io: rados.ioctx(pool, None).await?,
                    controller: CsiEndpoint::parse(&csi::rbd_endpoint(layout))?,
                    node: CsiEndpoint::parse(&csi::rbd_node_endpoint(layout))?,
                    staging_root: csi::rbd_staging_dir(layout),
                    cephfs_state,
                })
            }
            VolumeType::Fs => {
                // The controller's own lookup: `fs dump` and the pool names.
                let filesystems = Filesystems::new(rados.clone());
                let found = match fs {
                    Some(name) => filesystems.by_name(name).await?,
                    None => filesystems.all().await?.into_iter().next().context(
                        "the cluster has no filesystem; add a CephFilesystem to the manifest \
                         and run `rookery up` again",
                    )?,
                };
                if !Path::new(csi::cephfs_endpoint(layout).trim_start_matches("unix://")).exists() {
                    anyhow::bail!(
                        "the CephFS CSI plugins are not running (no {}); run `rookery up --dir {}` \
                         to start them",
                        csi::cephfs_endpoint(layout),
                        layout.root().display()
                    );
                }
                Ok(Self {
                    kind,
                    home: found.name.clone(),
                    data_pool: pool.map(str::to_owned),
                    location_id: found.fscid,
                    journal_io: found.journal_io.clone(),
                    controller: CsiEndpoint::parse(&csi::cephfs_endpoint(layout))?,
                    node: CsiEndpoint::parse(&csi::cephfs_node_endpoint(layout))?,
                    staging_root: csi::cephfs_staging_dir(layout),
                    cephfs_state,
                })
            }
        }
    }

    /// "RBD" or "CephFS", for messages.
    pub fn label(&self) -> &'static str {
        match self.kind {
            VolumeType::Block => "RBD",
            VolumeType::Fs => "CephFS",
        }
    }

    /// "pool rbd", "filesystem myfs": where names are looked up, for messages.
    pub fn home_label(&self) -> String {
        match self.kind {
            VolumeType::Block => format!("pool {}", self.home),
            VolumeType::Fs => format!("filesystem {}", self.home),
        }
    }

    /// "mapped" (an image becomes a device) or "mounted" (a subvolume).
    pub fn attach_verb(&self) -> &'static str {
        match self.kind {
            VolumeType::Block => "mapped",
            VolumeType::Fs => "mounted",
        }
    }

    /// What a volume is once its last mount is gone.
    pub fn detached(&self) -> &'static str {
        match self.kind {
            VolumeType::Block => "unmapped",
            VolumeType::Fs => "unstaged",
        }
    }

    /// What the backing object is called: the IMAGE or SUBVOLUME column.
    pub fn object_label(&self) -> &'static str {
        match self.kind {
            VolumeType::Block => "IMAGE",
            VolumeType::Fs => "SUBVOLUME",
        }
    }

    pub fn volumes(&self) -> VolumeJournal {
        VolumeJournal::new(
            self.journal_io.clone(),
            JournalConfig::volumes(DEFAULT_INSTANCE_ID),
        )
    }

    pub fn snapshots(&self) -> VolumeJournal {
        VolumeJournal::new(
            self.journal_io.clone(),
            JournalConfig::snapshots(DEFAULT_INSTANCE_ID),
        )
    }

    /// The StorageClass parameters of CreateVolume.
    pub fn parameters(&self, cluster_id: &str) -> HashMap<String, String> {
        let mut p = HashMap::from([("clusterID".to_string(), cluster_id.to_owned())]);
        match self.kind {
            VolumeType::Block => {
                p.insert("pool".into(), self.home.clone());
            }
            VolumeType::Fs => {
                p.insert("fsName".into(), self.home.clone());
                if let Some(pool) = &self.data_pool {
                    p.insert("pool".into(), pool.clone());
                }
            }
        }
        p
    }

    /// The capability asked for: one writer on one node with filesystem
    /// `fs_type` (block), or many writers anywhere (fs: a shared filesystem,
    /// so one volume mounts at several paths).
    pub fn capability(&self, fs_type: &str) -> VolumeCapability {
        let (mode, fs_type) = match self.kind {
            VolumeType::Block => (Mode::SingleNodeWriter, fs_type),
            VolumeType::Fs => (Mode::MultiNodeMultiWriter, ""),
        };
        VolumeCapability {
            access_mode: Some(AccessMode { mode: mode as i32 }),
            access_type: Some(AccessType::Mount(MountVolume {
                fs_type: fs_type.into(),
                ..Default::default()
            })),
        }
    }

    /// The volume context NodeStage needs: none for RBD (the node reads the
    /// journal), the filesystem and subvolume for CephFS.
    pub fn stage_context(&self, object: &str) -> HashMap<String, String> {
        match self.kind {
            VolumeType::Block => HashMap::new(),
            VolumeType::Fs => HashMap::from([
                ("fsName".to_string(), self.home.clone()),
                ("subvolumeName".to_string(), object.to_owned()),
            ]),
        }
    }

    /// Where volume `name` is staged: `<cluster>/csi/staging/<name>` (block)
    /// or `<cluster>/csi/cephfs-staging/<name>` (fs).
    pub fn staging(&self, name: &str) -> PathBuf {
        self.staging_root.join(name)
    }

    /// The mount the node plugin makes when staging: RBD mounts at
    /// `<staging>/<volume id>` (as ceph-csi does), CephFS at the staging path.
    pub fn staged_mount(&self, staging: &Path, volume_id: &str) -> PathBuf {
        match self.kind {
            VolumeType::Block => staging.join(volume_id),
            VolumeType::Fs => staging.to_owned(),
        }
    }

    /// How the staged volume is attached, from the node plugin's record:
    /// (fs type, device or source, mapper or mounter).
    pub fn staged_as(
        &self,
        staging: &Path,
        volume_id: &str,
        fs_type: &str,
    ) -> anyhow::Result<(String, String, String)> {
        match self.kind {
            VolumeType::Block => {
                let rec = rookery_csi::rbd::node::record::read(staging)?
                    .context("the node plugin left no stage record")?;
                Ok((
                    rec.fs_type.unwrap_or_else(|| fs_type.to_owned()),
                    rec.device.display().to_string(),
                    rec.mapper,
                ))
            }
            VolumeType::Fs => {
                let rec = rookery_csi::cephfs::node::record::read(&self.cephfs_state, volume_id)?
                    .context("the CephFS node plugin left no stage record")?;
                let fs_type = match rec.mounter.as_str() {
                    "fuse" => "fuse.ceph-fuse",
                    _ => "ceph",
                };
                Ok((
                    fs_type.to_owned(),
                    format!("{}:{}", rec.fs_name, rec.root_path),
                    rec.mounter,
                ))
            }
        }
    }
}
