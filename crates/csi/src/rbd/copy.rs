//! Full copies of images through librbd clones: clone, then flatten at once, so
//! no image ever depends on another. Clone chains thus have depth 0 — the bound
//! ceph-csi enforces by flattening past a depth limit, here enforced always — and
//! a volume, snapshot or source can be deleted and purged in any order.
//! The cost is the flatten's copy, proportional to the data written.

use rookery_ceph::rbd;
use rookery_ceph::IoCtx;

/// Makes image `child` a copy of `parent@snap`. EEXIST on the clone means an
/// earlier, timed-out attempt of the same request made it: it is finished.
pub(crate) async fn clone_flat(
    io: &IoCtx,
    parent: &str,
    snap: &str,
    child: &str,
    features: u64,
) -> rookery_ceph::Result<()> {
    match rbd::clone(io, parent, snap, child, features).await {
        Err(e) if !e.is_exists() => return Err(e),
        _ => {}
    }
    rbd::flatten(io, child).await
}

/// Makes image `child` a copy of image `source` as it is now, through a temporary
/// snapshot of `source` named like `child` (as ceph-csi names it).
pub(crate) async fn copy_image(
    io: &IoCtx,
    source: &str,
    child: &str,
    features: u64,
) -> rookery_ceph::Result<()> {
    match rbd::snap_create(io, source, child).await {
        Err(e) if !e.is_exists() => return Err(e),
        _ => {}
    }
    let copied = clone_flat(io, source, child, child, features).await;
    let removed = remove_snap(io, source, child).await;
    copied.and(removed)
}

/// Removes a snapshot; a missing one is fine.
pub(crate) async fn remove_snap(io: &IoCtx, image: &str, snap: &str) -> rookery_ceph::Result<()> {
    match rbd::snap_remove(io, image, snap).await {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// Removes what a failed copy may have left: `image` with snapshot `snap` on it.
pub(crate) async fn remove_partial(io: &IoCtx, image: &str, snap: Option<&str>) {
    if let Some(snap) = snap {
        if let Err(e) = remove_snap(io, image, snap).await {
            tracing::warn!(pool = io.pool(), image, snap, error = %e, "cannot remove a snapshot of a half-made image");
        }
    }
    match rbd::remove(io, image).await {
        Err(e) if !e.is_not_found() => {
            tracing::warn!(pool = io.pool(), image, error = %e, "cannot remove a half-made image")
        }
        _ => {}
    }
}
