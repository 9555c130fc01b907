//! The name journal: CSI request name -> uuid reservations in RADOS omap, byte for
//! byte as ceph-csi keeps them (`internal/journal/voljournal.go`), so volumes and
//! snapshots ceph-csi made are found here and the other way round.
//!
//! Volumes (snapshots: `csi.snaps.`, `csi.snap.`, `csi.snapname`, `csi-snap-`):
//!
//! ```text
//! csi.volumes.<instance id>          omap  csi.volume.<request name> -> <uuid>
//! csi.volume.<uuid>  (no data)       omap  csi.volname   -> <request name>
//!                                          csi.imagename -> csi-vol-<uuid>
//!                                          csi.imageid   -> <rbd image id> (added later)
//!                                          csi.source    -> <source image> (snapshots)
//! ```
//!
//! The directory value is the bare 36-byte uuid; ceph-csi writes
//! `<image pool id: 16 hex>/<uuid>` instead when the image lives outside the journal
//! pool (topology-constrained provisioning). That form is read here and reported as
//! [`Reservation::image_pool_id`]; we never write it. Keys ceph-csi sets for features
//! we do not offer (`csi.journalpool`, `csi.volume.encryptKMS`,
//! `csi.volume.encryptionType`, `csi.volume.owner`, `csi.volume.backingsnapshotid`)
//! are read into [`ImageAttributes`] so callers can refuse such volumes knowingly.
//!
//! Every operation on one request name must run under that name's lock
//! ([`crate::locks`]): the journal reads, then writes. Directory keys are only
//! ever set if absent and removed if they still hold the expected uuid (omap
//! compare and write in one atomic op), so a late write of a timed-out attempt
//! cannot overwrite or remove a newer reservation.

mod config;
mod directory;
mod records;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use rookery_ceph::{IoCtx, OmapCas};

pub use config::{keys, JournalConfig, JournalKind, DEFAULT_INSTANCE_ID};
use directory::Directory;
pub use directory::{Directories, DirectoryStats};
use records::{attribute_entries, parse_attributes, parse_directory_value, Stored};
pub use records::{
    ImageAttributes, JournalEntry, JournalPage, Reservation, ReserveRequest, Reserved,
};

use crate::error::{Error, Result};
use crate::volume_id::check_uuid;

/// The journal in one pool and RADOS namespace (CephFS: the metadata pool, `csi`).
#[derive(Debug, Clone)]
pub struct VolumeJournal {
    config: JournalConfig,
    io: IoCtx,
    directory: Arc<Directory>,
}

impl VolumeJournal {
    /// A journal whose directory writes are its own.
    pub fn new(io: IoCtx, config: JournalConfig) -> Self {
        let directory = Arc::new(Directory::new(config.directory_object()));
        Self {
            config,
            io,
            directory,
        }
    }

    /// A journal whose directory writes are batched with those of every other
    /// journal `directories` gave out for the same directory object
    /// ([`directory`]): what a controller's concurrent requests use.
    pub fn shared(io: IoCtx, config: JournalConfig, directories: &Directories) -> Self {
        let directory = directories.get(&io, config.directory_object());
        Self {
            config,
            io,
            directory,
        }
    }

    pub fn config(&self) -> &JournalConfig {
        &self.config
    }

    pub fn ioctx(&self) -> &IoCtx {
        &self.io
    }

    /// The reservation of `req_name`, if a complete one exists.
    ///
    /// Stale remains are removed and reported as None: a directory key whose
    /// per-volume object is gone (ceph-csi's undo removes the object first, after the
    /// image) or a per-volume object that never got its request name (ceph-csi stopped
    /// between the directory key and the attributes, before any image). ceph-csi itself
    /// undoes such entries for snapshots but reports them as "omap names mismatch" for
    /// volumes, which sticks until someone edits the omap; neither state can have an
    /// image, so we clean both. A per-volume object naming *another* request is an
    /// error, left alone as ceph-csi leaves it: that request's image may be in use.
    /// For snapshots, `source_name` must match the stored `csi.source`.
    pub async fn check_reservation(
        &self,
        req_name: &str,
        source_name: Option<&str>,
    ) -> Result<Option<Reservation>> {
        check_request_name(req_name)?;
        let Some((uuid, image_pool_id)) = self.lookup(req_name).await? else {
            return Ok(None);
        };
        let attributes = match self.read_attributes(&uuid).await? {
            Stored::Complete(a) => a,
            Stored::Missing => return self.drop_stale(req_name, &uuid, "object").await,
            Stored::Incomplete(key) => return self.drop_stale(req_name, &uuid, key).await,
        };
        if attributes.request_name != req_name {
            return Err(Error::JournalInconsistent {
                location: self.location(),
                detail: format!(
                    "directory key '{}' in '{}' points at uuid {uuid}, but object '{}' belongs \
                     to request '{}'; check which request owns image '{}', then remove the \
                     wrong key by hand",
                    self.config.name_key(req_name),
                    self.config.directory_object(),
                    self.config.uuid_object(&uuid),
                    attributes.request_name,
                    attributes.image_name,
                ),
            });
        }
        if let Some(wanted) = source_name {
            let saved = attributes.source_name.as_deref().unwrap_or_default();
            if saved != wanted {
                return Err(Error::SnapshotNameConflict {
                    name: req_name.to_owned(),
                    source_name: wanted.to_owned(),
                    saved_source: saved.to_owned(),
                });
            }
        }
        Ok(Some(Reservation {
            uuid,
            image_pool_id,
            attributes,
        }))
    }

    /// Removes a half-made or half-undone reservation; `missing` says what was absent.
    async fn drop_stale(
        &self,
        req_name: &str,
        uuid: &str,
        missing: &str,
    ) -> Result<Option<Reservation>> {
        tracing::warn!(
            pool = self.io.pool(),
            namespace = self.io.namespace(),
            request_name = req_name,
            uuid,
            missing,
            "removing a stale journal reservation"
        );
        self.undo_reservation(req_name, uuid).await?;
        Ok(None)
    }

    /// The reservation of `req.req_name`: a fresh one when the name is free (the
    /// common case, tried first: one round trip), otherwise the existing one as
    /// [`Self::check_reservation`] finds it, stale remains cleaned and reserved anew.
    pub async fn reserve_or_find(&self, req: &ReserveRequest<'_>) -> Result<Reserved> {
        check_request_name(req.req_name)?;
        if let Some(r) = self.try_reserve(req).await? {
            return Ok(Reserved::New(r));
        }
        if let Some(r) = self
            .check_reservation(req.req_name, req.source_name)
            .await?
        {
            return Ok(Reserved::Existing(r));
        }
        self.reserve_name(req).await.map(Reserved::New)
    }

    /// Reserves a fresh uuid for `req.req_name`; an error if the name is reserved
    /// already (see [`Self::check_reservation`] and [`Self::reserve_or_find`]).
    pub async fn reserve_name(&self, req: &ReserveRequest<'_>) -> Result<Reservation> {
        check_request_name(req.req_name)?;
        match self.try_reserve(req).await? {
            Some(r) => Ok(r),
            None => Err(Error::JournalInconsistent {
                location: self.location(),
                detail: format!(
                    "request name '{}' is reserved already in '{}' (reserved meanwhile by \
                     another writer?); retry the request",
                    req.req_name,
                    self.config.directory_object(),
                ),
            }),
        }
    }

    /// Reserves a fresh uuid for `req.req_name`, or None if the name has a key.
    ///
    /// The directory key is set only if absent (compare and set in one atomic write,
    /// so no two writers both win), and the per-volume object with all attributes is
    /// written at the same time. Each request's writes run under its name's lock,
    /// but a timed-out attempt's write may still land later; the compare makes that
    /// harmless. Whichever write fails is undone: every state a reader can find is
    /// "no reservation", a complete one, or stale remains [`Self::check_reservation`]
    /// cleans (a key without object, or an object without key, which nothing reads).
    /// ceph-csi guards against uuid reuse with an exclusive create; a v4 uuid (122
    /// random bits) makes a collision negligible and saves that round trip.
    async fn try_reserve(&self, req: &ReserveRequest<'_>) -> Result<Option<Reservation>> {
        match (self.config.kind, req.source_name) {
            (JournalKind::Snapshot, None) => {
                return Err(invalid(
                    "snapshot source",
                    "",
                    "a snapshot needs its source image name",
                ))
            }
            (JournalKind::Volume, Some(s)) => {
                return Err(invalid("source", s, "only snapshots record a source"))
            }
            _ => {}
        }
        let uuid = uuid::Uuid::new_v4().hyphenated().to_string();
        let attributes = ImageAttributes {
            request_name: req.req_name.to_owned(),
            image_name: self.config.image_name(req.name_prefix, &uuid),
            image_id: None,
            source_name: req.source_name.map(str::to_owned),
            journal_pool_id: None,
            kms_id: None,
            encryption_type: None,
            owner: None,
            backing_snapshot_id: None,
        };
        let object = self.config.uuid_object(&uuid);
        let key = self.config.name_key(req.req_name);
        let attrs = attribute_entries(&self.config, &attributes);
        let set_key = OmapCas {
            key: key.clone(),
            expected: Vec::new(),
            new: Some(uuid.clone().into_bytes()),
        };
        // Both complete (join, not try_join): a write dropped half-way would still
        // run on its blocking thread, unseen.
        let (object_written, key_set) = tokio::join!(
            self.io.omap_set(&object, &attrs),
            self.directory.apply(&self.io, set_key),
        );
        let doing = || format!("reserve name '{}' {}", req.req_name, self.location());
        let failed = match (object_written, key_set) {
            (Ok(()), Ok(true)) => None,
            (_, Ok(false)) => {
                self.remove_unreferenced(&object).await;
                return Ok(None);
            }
            (Err(e), Ok(true)) => {
                // A key without object reads as stale; still, take it back now.
                if let Err(undo) = self.remove_key_if(&key, &uuid).await {
                    tracing::warn!(pool = self.io.pool(), uuid, error = %undo, "cannot remove a reservation key whose object was not written");
                }
                Some(e)
            }
            (_, Err(e)) => {
                self.remove_unreferenced(&object).await;
                Some(e)
            }
        };
        if let Some(e) = failed {
            return Err(Error::ceph(doing(), e));
        }
        tracing::debug!(
            pool = self.io.pool(),
            namespace = self.io.namespace(),
            request_name = req.req_name,
            uuid,
            image = attributes.image_name,
            "reserved name"
        );
        Ok(Some(Reservation {
            uuid,
            image_pool_id: None,
            attributes,
        }))
    }

    /// Removes directory key `key` if it holds `uuid`; Ok(false) if it does not.
    async fn remove_key_if(&self, key: &str, uuid: &str) -> rookery_ceph::Result<bool> {
        let change = OmapCas {
            key: key.to_owned(),
            expected: uuid.as_bytes().to_vec(),
            new: None,
        };
        self.directory.apply(&self.io, change).await
    }

    /// Removes a per-volume object no directory key points at; harmless if it stays.
    async fn remove_unreferenced(&self, object: &str) {
        match self.io.remove(object).await {
            Err(e) if !e.is_not_found() => {
                tracing::warn!(pool = self.io.pool(), object, error = %e, "cannot remove an unreferenced journal object");
            }
            _ => {}
        }
    }

    /// Records the RBD image id (`csi.imageid`) once the image exists. Call it under
    /// the request's lock: omap writes create the object if it was undone meanwhile.
    pub async fn store_image_id(&self, uuid: &str, image_id: &str) -> Result<()> {
        check_uuid_arg(uuid)?;
        let entries = BTreeMap::from([(keys::IMAGE_ID.to_owned(), image_id.as_bytes().to_vec())]);
        self.io
            .omap_set(&self.config.uuid_object(uuid), &entries)
            .await
            .map_err(|e| {
                Error::ceph(
                    format!("store the image id of uuid {uuid} {}", self.location()),
                    e,
                )
            })
    }

    /// The attributes of a complete reservation, e.g. for a volume ID's uuid.
    /// NotFound when there is no per-volume object for `uuid`.
    pub async fn get_attributes(&self, uuid: &str) -> Result<ImageAttributes> {
        check_uuid_arg(uuid)?;
        let object = self.config.uuid_object(uuid);
        match self.read_attributes(uuid).await? {
            Stored::Complete(a) => Ok(a),
            Stored::Missing => Err(Error::JournalObjectMissing {
                object,
                location: self.location(),
                what: "no reservation has this uuid: the volume was deleted or never created"
                    .to_owned(),
            }),
            Stored::Incomplete(key) => Err(Error::JournalInconsistent {
                location: self.location(),
                detail: format!(
                    "object '{object}' has no '{key}': its reservation was never completed; \
                     a CreateVolume of the same name cleans it up"
                ),
            }),
        }
    }

    /// Removes the reservation: the directory key (only if it still points at
    /// `uuid`) and the per-volume object, both at once. Stopped half-way, what is
    /// left reads as no reservation: a key without object is stale (cleaned by the
    /// next [`Self::check_reservation`]), an object without key is unreachable by
    /// name, and found by a retried delete by ID, which undoes again. Idempotent.
    pub async fn undo_reservation(&self, req_name: &str, uuid: &str) -> Result<()> {
        check_request_name(req_name)?;
        check_uuid_arg(uuid)?;
        let doing = || {
            format!(
                "undo the reservation of '{req_name}' (uuid {uuid}) {}",
                self.location()
            )
        };
        let key = self.config.name_key(req_name);
        let object = self.config.uuid_object(uuid);
        let (key_removed, object_removed) =
            tokio::join!(self.remove_key_if(&key, uuid), self.io.remove(&object));
        let key_removed = key_removed.map_err(|e| Error::ceph(doing(), e))?;
        match object_removed {
            Err(e) if !e.is_not_found() => return Err(Error::ceph(doing(), e)),
            _ => {}
        }
        if !key_removed {
            // Not the bare uuid: absent, another reservation, or ceph-csi's
            // `<pool>/<uuid>` form, which only a parse tells apart.
            self.remove_key_in_other_form(req_name, uuid).await?;
        }
        tracing::debug!(
            pool = self.io.pool(),
            namespace = self.io.namespace(),
            request_name = req_name,
            uuid,
            "reservation undone"
        );
        Ok(())
    }

    /// Removes `req_name`'s directory key if it names `uuid` in a form other than
    /// the bare uuid; leaves other reservations and values we cannot have written.
    async fn remove_key_in_other_form(&self, req_name: &str, uuid: &str) -> Result<()> {
        let current = match self.lookup(req_name).await {
            Ok(found) => found,
            // Not a reservation we could have made: leave it for a person to inspect.
            Err(Error::JournalCorrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        match current {
            Some((current, _)) if current == uuid => {
                let key = self.config.name_key(req_name);
                match self
                    .io
                    .omap_remove(&self.config.directory_object(), &[&key])
                    .await
                {
                    Err(e) if !e.is_not_found() => Err(Error::ceph(
                        format!(
                            "remove directory key '{key}' of uuid {uuid} {}",
                            self.location()
                        ),
                        e,
                    )),
                    _ => Ok(()),
                }
            }
            Some((other, _)) => {
                tracing::debug!(
                    request_name = req_name,
                    uuid,
                    current = other,
                    "directory key reserved again; kept"
                );
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Up to `max` (at least 1) directory entries after request name `start_after`
    /// ("" for the first page), in request-name order. Entries whose value is not a
    /// reservation (ceph-csi's mirroring maps keep volume handles there) are skipped.
    pub async fn list(&self, start_after: &str, max: usize) -> Result<JournalPage> {
        let prefix = self.config.key_prefix();
        let directory = self.config.directory_object();
        let start = format!("{prefix}{start_after}");
        let (raw, mut more) = match self.io.omap_list(&directory, &start, max.max(1)).await {
            Ok(listed) => listed,
            Err(e) if e.is_not_found() => return Ok(JournalPage::default()),
            Err(e) => {
                return Err(Error::ceph(
                    format!("list '{directory}' {}", self.location()),
                    e,
                ))
            }
        };
        let mut page = JournalPage::default();
        let mut last = None;
        for (key, value) in raw {
            // Keys with our prefix are contiguous in omap order: past them, we are done.
            let Some(name) = key.strip_prefix(prefix) else {
                more = false;
                break;
            };
            match parse_directory_value(&value) {
                Some((uuid, image_pool_id)) => page.entries.push(JournalEntry {
                    request_name: name.to_owned(),
                    uuid,
                    image_pool_id,
                }),
                None => {
                    tracing::debug!(object = directory, key, "skipping a non-reservation entry")
                }
            }
            last = Some(name.to_owned());
        }
        page.next = if more { last } else { None };
        Ok(page)
    }

    /// The uuid (and image pool) the directory holds for `req_name`.
    async fn lookup(&self, req_name: &str) -> Result<Option<(String, Option<i64>)>> {
        let directory = self.config.directory_object();
        let key = self.config.name_key(req_name);
        let mut found = match self.io.omap_get(&directory, &[&key]).await {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => {
                return Err(Error::ceph(
                    format!("look up '{req_name}' in '{directory}' {}", self.location()),
                    e,
                ))
            }
        };
        let Some(value) = found.remove(&key) else {
            return Ok(None);
        };
        parse_directory_value(&value)
            .map(Some)
            .ok_or_else(|| Error::JournalCorrupt {
                object: directory,
                location: self.location(),
                key,
                value: String::from_utf8_lossy(&value).into_owned(),
                expected: "a uuid or <16 hex pool id>/<uuid>",
            })
    }

    async fn read_attributes(&self, uuid: &str) -> Result<Stored> {
        let object = self.config.uuid_object(uuid);
        let keys = self.config.attribute_keys();
        let values = match self.io.omap_get(&object, &keys).await {
            Ok(values) => values,
            Err(e) if e.is_not_found() => return Ok(Stored::Missing),
            Err(e) => {
                return Err(Error::ceph(
                    format!("read the attributes of uuid {uuid} {}", self.location()),
                    e,
                ))
            }
        };
        parse_attributes(&self.config, uuid, values).map_err(|(key, value, expected)| {
            Error::JournalCorrupt {
                object,
                location: self.location(),
                key: key.to_owned(),
                value,
                expected,
            }
        })
    }

    fn location(&self) -> String {
        match self.io.namespace() {
            Some(ns) => format!("in pool '{}' namespace '{ns}'", self.io.pool()),
            None => format!("in pool '{}'", self.io.pool()),
        }
    }
}

fn invalid(what: &'static str, value: &str, reason: &str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_request_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid("request name", name, "it is empty"));
    }
    if name.contains('\0') {
        return Err(invalid("request name", name, "it contains a NUL byte"));
    }
    Ok(())
}

fn check_uuid_arg(uuid: &str) -> Result<()> {
    check_uuid(uuid).map_err(|_| {
        invalid(
            "journal uuid",
            uuid,
            "expected 36 characters, 8-4-4-4-12 lower-case hex digits",
        )
    })
}
