//! RBD images in the pool (and namespace) of an [`IoCtx`].

use std::ffi::CStr;
use std::time::Instant;

use rookery_ceph_sys::rbd as ffi;
use rookery_ceph_sys::safe::{self, rbd as sys_rbd, Image};

use crate::blocking::{c_name, run};
use crate::error::{Error, Result};
use crate::ioctx::IoCtx;

/// Feature bits, as librbd numbers them.
pub mod features {
    use rookery_ceph_sys::rbd as ffi;

    pub const LAYERING: u64 = ffi::RBD_FEATURE_LAYERING;
    pub const STRIPINGV2: u64 = ffi::RBD_FEATURE_STRIPINGV2;
    pub const EXCLUSIVE_LOCK: u64 = ffi::RBD_FEATURE_EXCLUSIVE_LOCK;
    pub const OBJECT_MAP: u64 = ffi::RBD_FEATURE_OBJECT_MAP;
    pub const FAST_DIFF: u64 = ffi::RBD_FEATURE_FAST_DIFF;
    pub const DEEP_FLATTEN: u64 = ffi::RBD_FEATURE_DEEP_FLATTEN;
    pub const JOURNALING: u64 = ffi::RBD_FEATURE_JOURNALING;
    pub const DATA_POOL: u64 = ffi::RBD_FEATURE_DATA_POOL;

    /// Names as `rbd` and ceph-csi's `imageFeatures` spell them.
    pub const NAMES: [(&str, u64); 8] = [
        ("layering", LAYERING),
        ("striping", STRIPINGV2),
        ("exclusive-lock", EXCLUSIVE_LOCK),
        ("object-map", OBJECT_MAP),
        ("fast-diff", FAST_DIFF),
        ("deep-flatten", DEEP_FLATTEN),
        ("journaling", JOURNALING),
        ("data-pool", DATA_POOL),
    ];
}

/// Parses a comma-separated feature list such as `layering,exclusive-lock`.
pub fn parse_features(list: &str) -> Result<u64> {
    let mut bits = 0;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let (_, bit) = features::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::InvalidInput {
                what: "rbd image feature",
                value: name.to_owned(),
                reason: format!(
                    "unknown; known features: {}",
                    features::NAMES.map(|(n, _)| n).join(", ")
                ),
            })?;
        bits |= bit;
    }
    Ok(bits)
}

/// Options for [`create`]; None keeps librbd's (configured) default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Feature bits, see [`features`].
    pub features: Option<u64>,
    /// Object size as a power of two (22 = 4 MiB).
    pub order: Option<u8>,
    /// Pool for the data objects (erasure-coded pools); metadata stays in the ioctx's pool.
    pub data_pool: Option<String>,
}

/// What `rbd info` shows about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub size: u64,
    pub obj_size: u64,
    pub num_objs: u64,
    pub order: u8,
    pub block_name_prefix: String,
    pub features: u64,
}

/// An image in a pool listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub id: String,
    pub name: String,
}

/// Runs an image operation on a blocking thread, naming image and pool in errors.
async fn with_image<T, F>(io: &IoCtx, what: &str, name: &str, f: F) -> Result<T>
where
    F: FnOnce(&safe::IoCtx, &CStr) -> Result<T, i32> + Send + 'static,
    T: Send + 'static,
{
    let c_image = c_name("image name", name)?;
    let op = format!("rbd {what} of image '{name}' {}", io.location());
    let raw = io.raw();
    let started = Instant::now();
    let result = run(|| op.clone(), {
        let op = op.clone();
        move || f(&raw, &c_image).map_err(|e| Error::ceph(op, e))
    })
    .await;
    tracing::debug!(
        pool = io.pool(),
        image = name,
        op = what,
        elapsed_ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "rbd"
    );
    result
}

/// Creates an image of `size` bytes (EEXIST if the name is taken).
pub async fn create(io: &IoCtx, name: &str, size: u64, opts: &ImageOptions) -> Result<()> {
    let data_pool = opts
        .data_pool
        .as_deref()
        .map(|p| c_name("data pool name", p))
        .transpose()?;
    let (features, order) = (opts.features, opts.order);
    with_image(io, "create", name, move |io, image| {
        let mut options = sys_rbd::ImageOptions::new();
        if let Some(features) = features {
            options.set_u64(ffi::RBD_IMAGE_OPTION_FEATURES, features)?;
        }
        if let Some(order) = order {
            options.set_u64(ffi::RBD_IMAGE_OPTION_ORDER, u64::from(order))?;
        }
        if let Some(pool) = &data_pool {
            options.set_string(ffi::RBD_IMAGE_OPTION_DATA_POOL, pool)?;
        }
        sys_rbd::create(io, image, size, &mut options)
    })
    .await
}

/// Clones snapshot `snap` of image `parent` into a new image `child` in the same
/// pool, as a format 2 clone (no snapshot protection needed), with `features`.
pub async fn clone(io: &IoCtx, parent: &str, snap: &str, child: &str, features: u64) -> Result<()> {
    let c_parent = c_name("parent image name", parent)?;
    let c_snap = c_name("snapshot name", snap)?;
    with_image(io, "clone", child, move |io, child| {
        let mut options = sys_rbd::ImageOptions::new();
        options.set_u64(ffi::RBD_IMAGE_OPTION_FEATURES, features)?;
        options.set_u64(ffi::RBD_IMAGE_OPTION_CLONE_FORMAT, 2)?;
        sys_rbd::clone(io, &c_parent, &c_snap, child, &mut options)
    })
    .await
}

/// Creates snapshot `snap` of an image.
pub async fn snap_create(io: &IoCtx, image: &str, snap: &str) -> Result<()> {
    let c_snap = c_name("snapshot name", snap)?;
    with_image(io, "snap create", image, move |io, image| {
        Image::open(io, image)?.snap_create(&c_snap)
    })
    .await
}

/// Removes snapshot `snap` of an image (ENOENT if missing).
pub async fn snap_remove(io: &IoCtx, image: &str, snap: &str) -> Result<()> {
    let c_snap = c_name("snapshot name", snap)?;
    with_image(io, "snap remove", image, move |io, image| {
        Image::open(io, image)?.snap_remove(&c_snap)
    })
    .await
}

/// Writes `data` into an image at byte `offset` (tests and tools; volumes are
/// written through the node's mapping).
pub async fn write(io: &IoCtx, image: &str, offset: u64, data: Vec<u8>) -> Result<()> {
    with_image(io, "write", image, move |io, image| {
        let written = Image::open(io, image)?.write(offset, &data)?;
        if written == data.len() {
            Ok(())
        } else {
            Err(libc::EIO)
        }
    })
    .await
}

/// Reads up to `len` bytes of an image at byte `offset`.
pub async fn read(io: &IoCtx, image: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
    with_image(io, "read", image, move |io, image| {
        Image::open_read_only(io, image)?.read(offset, len)
    })
    .await
}

/// Copies a clone's parent data in, so it no longer depends on its parent.
pub async fn flatten(io: &IoCtx, image: &str) -> Result<()> {
    with_image(io, "flatten", image, |io, image| {
        Image::open(io, image)?.flatten()
    })
    .await
}

/// When an image was created.
pub async fn create_timestamp(io: &IoCtx, image: &str) -> Result<std::time::SystemTime> {
    let (secs, nanos) = with_image(io, "get create timestamp", image, |io, image| {
        Image::open_read_only(io, image)?.create_timestamp()
    })
    .await?;
    let since = std::time::Duration::new(
        u64::try_from(secs).unwrap_or(0),
        u32::try_from(nanos).unwrap_or(0),
    );
    Ok(std::time::UNIX_EPOCH + since)
}

/// Removes an image and its data (ENOENT if missing, EBUSY while it has watchers).
pub async fn remove(io: &IoCtx, name: &str) -> Result<()> {
    with_image(io, "remove", name, sys_rbd::remove).await
}

/// Grows or shrinks an image.
pub async fn resize(io: &IoCtx, name: &str, size: u64) -> Result<()> {
    with_image(io, "resize", name, move |io, image| {
        Image::open(io, image)?.resize(size)
    })
    .await
}

/// Size, layout and identity of an image.
pub async fn info(io: &IoCtx, name: &str) -> Result<ImageInfo> {
    with_image(io, "info", name, |io, image| {
        let image = Image::open_read_only(io, image)?;
        let stat = image.stat()?;
        Ok(ImageInfo {
            id: image.id()?,
            size: stat.size,
            obj_size: stat.obj_size,
            num_objs: stat.num_objs,
            order: u8::try_from(stat.order).unwrap_or(0),
            block_name_prefix: image.block_name_prefix()?,
            features: image.features()?,
        })
    })
    .await
}

/// Moves an image to the trash; it may be restored for `delay_secs`, then purged.
pub async fn trash_move(io: &IoCtx, name: &str, delay_secs: u64) -> Result<()> {
    with_image(io, "trash move", name, move |io, image| {
        sys_rbd::trash_move(io, image, delay_secs)
    })
    .await
}

/// The id of an image (what the trash and `csi.imageid` know it by). Read from
/// the image's `rbd_id.<name>` object in one round trip, where opening the image
/// takes several; an image without that object (format 1, or none at all) is
/// opened, which gives its id or ENOENT.
pub async fn image_id(io: &IoCtx, name: &str) -> Result<String> {
    // Ids are short (librbd makes 12-16 hex digits); anything longer is not one.
    const MAX_ID_LEN: usize = 64;
    match io
        .read_at(&format!("rbd_id.{name}"), 0, 4 + MAX_ID_LEN)
        .await
    {
        Ok(data) => {
            if let Some(id) = decode_id(&data) {
                return Ok(id);
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    with_image(io, "get id", name, |io, image| {
        Image::open_read_only(io, image)?.id()
    })
    .await
}

/// The content of an `rbd_id.<name>` object: the id as a Ceph-encoded string
/// (little-endian u32 length, then the bytes). None if it is not one.
fn decode_id(data: &[u8]) -> Option<String> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let id = std::str::from_utf8(rest.get(..len)?).ok()?;
    let plausible = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| id.to_owned())
}

/// Deletes an image from the trash by id (ENOENT if no such entry). `force` also
/// removes an entry whose deferment time has not passed.
pub async fn trash_remove(io: &IoCtx, image_id: &str, force: bool) -> Result<()> {
    let c_id = c_name("image id", image_id)?;
    let op = format!(
        "rbd trash remove of image id '{image_id}' {}",
        io.location()
    );
    let raw = io.raw();
    run(|| op.clone(), {
        let op = op.clone();
        move || sys_rbd::trash_remove(&raw, &c_id, force).map_err(|e| Error::ceph(op, e))
    })
    .await
}

impl From<sys_rbd::ImageSpec> for ImageSpec {
    fn from(s: sys_rbd::ImageSpec) -> Self {
        ImageSpec {
            id: s.id,
            name: s.name,
        }
    }
}

/// The images in the trash of the ioctx's pool and namespace.
pub async fn trash_list(io: &IoCtx) -> Result<Vec<ImageSpec>> {
    let op = format!("rbd trash list {}", io.location());
    let raw = io.raw();
    let specs = run(|| op.clone(), {
        let op = op.clone();
        move || sys_rbd::trash_list(&raw).map_err(|e| Error::ceph(op, e))
    })
    .await?;
    Ok(specs.into_iter().map(ImageSpec::from).collect())
}

/// The images of the ioctx's pool and namespace.
pub async fn list(io: &IoCtx) -> Result<Vec<ImageSpec>> {
    let op = format!("rbd list of images {}", io.location());
    let raw = io.raw();
    let specs = run(|| op.clone(), {
        let op = op.clone();
        move || sys_rbd::list(&raw).map_err(|e| Error::ceph(op, e))
    })
    .await?;
    Ok(specs.into_iter().map(ImageSpec::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rbd_id_objects() {
        assert_eq!(
            decode_id(b"\x0c\x00\x00\x00110e3a5c2b7f").as_deref(),
            Some("110e3a5c2b7f")
        );
        assert_eq!(decode_id(b"\x0c\x00\x00\x00110e"), None, "short");
        assert_eq!(decode_id(b"\0\0\0\0"), None, "empty");
        assert_eq!(decode_id(b"\x01\0"), None, "no length");
        assert_eq!(decode_id(b"\x02\0\0\0a/"), None, "not an id");
    }

    #[test]
    fn parses_csi_feature_lists() {
        assert_eq!(parse_features("layering").unwrap(), 1);
        assert_eq!(
            parse_features("layering, exclusive-lock,object-map,fast-diff,deep-flatten").unwrap(),
            61
        );
        assert_eq!(parse_features("").unwrap(), 0);
        let err = parse_features("layering,bogus").unwrap_err();
        assert!(err.to_string().contains("\"bogus\""), "{err}");
    }
}
