//! What the journal stores: reservations, attributes, directory entries, and
//! their encoding in omap values.

use std::collections::BTreeMap;

use super::config::{keys, JournalConfig, JournalKind};
use crate::volume_id::check_uuid;

/// What the per-volume object says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageAttributes {
    pub request_name: String,
    /// `csi.imagename`; ceph-csi volumes older than that key get `<default prefix><uuid>`.
    pub image_name: String,
    pub image_id: Option<String>,
    /// Snapshots: the source image's name (always set for snapshots).
    pub source_name: Option<String>,
    pub journal_pool_id: Option<i64>,
    pub kms_id: Option<String>,
    pub encryption_type: Option<String>,
    pub owner: Option<String>,
    pub backing_snapshot_id: Option<String>,
}

/// A reserved request name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub uuid: String,
    /// Set when ceph-csi recorded the image in another pool than the journal's.
    pub image_pool_id: Option<i64>,
    pub attributes: ImageAttributes,
}

impl Reservation {
    /// The RBD image or CephFS subvolume name.
    pub fn image_name(&self) -> &str {
        &self.attributes.image_name
    }
}

/// What [`super::VolumeJournal::reserve_or_find`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Reserved just now: nothing else exists for it yet.
    New(Reservation),
    /// An earlier request's reservation; its image may or may not exist.
    Existing(Reservation),
}

/// What to reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveRequest<'a> {
    pub req_name: &'a str,
    /// Image name prefix (StorageClass `volumeNamePrefix`); None: `csi-vol-`/`csi-snap-`.
    pub name_prefix: Option<&'a str>,
    /// Snapshots only: the source image's name, stored as `csi.source`.
    pub source_name: Option<&'a str>,
}

impl<'a> ReserveRequest<'a> {
    pub fn volume(req_name: &'a str) -> Self {
        Self {
            req_name,
            name_prefix: None,
            source_name: None,
        }
    }

    pub fn snapshot(req_name: &'a str, source_name: &'a str) -> Self {
        Self {
            req_name,
            name_prefix: None,
            source_name: Some(source_name),
        }
    }
}

/// One directory entry, for ListVolumes/ListSnapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub request_name: String,
    pub uuid: String,
    pub image_pool_id: Option<i64>,
}

/// A page of directory entries; pass `next` as `start_after` for the following page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    pub next: Option<String>,
}

/// The per-volume object, as found.
pub(super) enum Stored {
    Missing,
    /// Created but never completed: the named key is absent.
    Incomplete(&'static str),
    Complete(ImageAttributes),
}

/// The per-volume object's omap for a new reservation.
pub(super) fn attribute_entries(
    config: &JournalConfig,
    a: &ImageAttributes,
) -> BTreeMap<String, Vec<u8>> {
    let mut entries = BTreeMap::from([
        (
            config.request_name_key().to_owned(),
            a.request_name.clone().into_bytes(),
        ),
        (
            keys::IMAGE_NAME.to_owned(),
            a.image_name.clone().into_bytes(),
        ),
    ]);
    if let Some(source) = &a.source_name {
        entries.insert(keys::SOURCE.to_owned(), source.clone().into_bytes());
    }
    entries
}

/// A directory value: `<uuid>` or `<16 hex image pool id>/<uuid>`.
pub(super) fn parse_directory_value(value: &[u8]) -> Option<(String, Option<i64>)> {
    let text = std::str::from_utf8(value).ok()?;
    let (pool, uuid) = match text.split_once('/') {
        Some((pool, uuid)) => (Some(parse_pool_id(pool)?), uuid),
        None => (None, text),
    };
    check_uuid(uuid).ok()?;
    Some((uuid.to_owned(), pool))
}

/// A pool id as ceph-csi stores it: 16 lower-case hex digits, big-endian.
pub(super) fn parse_pool_id(hex: &str) -> Option<i64> {
    let ok = hex.len() == 16
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
        .map(|n| n as i64)
}

pub(super) type BadValue = (&'static str, String, &'static str);

/// The attributes, or which key is still missing; Err names a key with a bad value.
pub(super) fn parse_attributes(
    config: &JournalConfig,
    uuid: &str,
    mut values: BTreeMap<String, Vec<u8>>,
) -> std::result::Result<Stored, BadValue> {
    let mut take = |key: &'static str| -> std::result::Result<Option<String>, BadValue> {
        match values.remove(key) {
            None => Ok(None),
            Some(v) => String::from_utf8(v).map(Some).map_err(|e| {
                (
                    key,
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    "UTF-8 text",
                )
            }),
        }
    };
    let request_name = take(config.request_name_key())?.filter(|n| !n.is_empty());
    let source_name = take(keys::SOURCE)?;
    let Some(request_name) = request_name else {
        return Ok(Stored::Incomplete(config.request_name_key()));
    };
    if config.kind == JournalKind::Snapshot && source_name.is_none() {
        return Ok(Stored::Incomplete(keys::SOURCE));
    }
    let journal_pool_id = match take(keys::JOURNAL_POOL)? {
        None => None,
        Some(hex) => Some(parse_pool_id(&hex).ok_or((
            keys::JOURNAL_POOL,
            hex,
            "16 lower-case hex digits",
        ))?),
    };
    Ok(Stored::Complete(ImageAttributes {
        request_name,
        image_name: take(keys::IMAGE_NAME)?.unwrap_or_else(|| config.image_name(None, uuid)),
        image_id: take(keys::IMAGE_ID)?,
        source_name,
        journal_pool_id,
        kms_id: take(keys::ENCRYPT_KMS)?,
        encryption_type: take(keys::ENCRYPTION_TYPE)?,
        owner: take(keys::OWNER)?,
        backing_snapshot_id: take(keys::BACKING_SNAPSHOT_ID)?,
    }))
}
