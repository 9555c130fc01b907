//! Object and key names of the journal, as ceph-csi spells them.

/// The instance id ceph-csi uses unless `--instanceid` is given.
pub const DEFAULT_INSTANCE_ID: &str = "default";

/// Keys of the per-volume object, as ceph-csi names them.
pub mod keys {
    /// Request name of a volume.
    pub const VOLUME_NAME: &str = "csi.volname";
    /// Request name of a snapshot.
    pub const SNAPSHOT_NAME: &str = "csi.snapname";
    /// RBD image or CephFS subvolume name.
    pub const IMAGE_NAME: &str = "csi.imagename";
    /// RBD image id, stored once the image exists.
    pub const IMAGE_ID: &str = "csi.imageid";
    /// Snapshots: the source image's name.
    pub const SOURCE: &str = "csi.source";
    /// Journal pool id (16 hex, big-endian) when it differs from the image pool.
    pub const JOURNAL_POOL: &str = "csi.journalpool";
    /// KMS id of an encrypted volume.
    pub const ENCRYPT_KMS: &str = "csi.volume.encryptKMS";
    /// Encryption type of an encrypted volume (`block`, `file`).
    pub const ENCRYPTION_TYPE: &str = "csi.volume.encryptionType";
    /// Owner, used with some KMS configurations.
    pub const OWNER: &str = "csi.volume.owner";
    /// CephFS snapshot-backed volumes: the snapshot they are based on.
    pub const BACKING_SNAPSHOT_ID: &str = "csi.volume.backingsnapshotid";
}

/// Which journal: volumes and snapshots have separate directories and key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalKind {
    Volume,
    Snapshot,
}

/// Object and key names of one journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    pub(super) kind: JournalKind,
    instance_id: String,
}

impl JournalConfig {
    /// The volume journal of CSI instance `instance_id` ([`DEFAULT_INSTANCE_ID`] usually).
    pub fn volumes(instance_id: impl Into<String>) -> Self {
        Self {
            kind: JournalKind::Volume,
            instance_id: instance_id.into(),
        }
    }

    /// The snapshot journal of CSI instance `instance_id`.
    pub fn snapshots(instance_id: impl Into<String>) -> Self {
        Self {
            kind: JournalKind::Snapshot,
            instance_id: instance_id.into(),
        }
    }

    pub fn kind(&self) -> JournalKind {
        self.kind
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// `csi.volumes.<instance id>` or `csi.snaps.<instance id>`.
    pub fn directory_object(&self) -> String {
        match self.kind {
            JournalKind::Volume => format!("csi.volumes.{}", self.instance_id),
            JournalKind::Snapshot => format!("csi.snaps.{}", self.instance_id),
        }
    }

    /// `csi.volume.` or `csi.snap.`: prefix of directory keys and per-volume objects.
    pub fn key_prefix(&self) -> &'static str {
        match self.kind {
            JournalKind::Volume => "csi.volume.",
            JournalKind::Snapshot => "csi.snap.",
        }
    }

    /// The directory key for a request name, e.g. `csi.volume.pvc-1`.
    pub fn name_key(&self, req_name: &str) -> String {
        format!("{}{req_name}", self.key_prefix())
    }

    /// The per-volume object, e.g. `csi.volume.<uuid>`.
    pub fn uuid_object(&self, uuid: &str) -> String {
        format!("{}{uuid}", self.key_prefix())
    }

    /// `csi.volname` or `csi.snapname`.
    pub fn request_name_key(&self) -> &'static str {
        match self.kind {
            JournalKind::Volume => keys::VOLUME_NAME,
            JournalKind::Snapshot => keys::SNAPSHOT_NAME,
        }
    }

    /// `csi-vol-` or `csi-snap-`.
    pub fn default_name_prefix(&self) -> &'static str {
        match self.kind {
            JournalKind::Volume => "csi-vol-",
            JournalKind::Snapshot => "csi-snap-",
        }
    }

    /// `<prefix><uuid>`, with the default prefix when none (or an empty one) is given.
    pub fn image_name(&self, prefix: Option<&str>, uuid: &str) -> String {
        let prefix = prefix
            .filter(|p| !p.is_empty())
            .unwrap_or(self.default_name_prefix());
        format!("{prefix}{uuid}")
    }

    /// Every key of the per-volume object we read.
    pub(super) fn attribute_keys(&self) -> [&'static str; 9] {
        [
            self.request_name_key(),
            keys::IMAGE_NAME,
            keys::IMAGE_ID,
            keys::SOURCE,
            keys::JOURNAL_POOL,
            keys::ENCRYPT_KMS,
            keys::ENCRYPTION_TYPE,
            keys::OWNER,
            keys::BACKING_SNAPSHOT_ID,
        ]
    }
}
