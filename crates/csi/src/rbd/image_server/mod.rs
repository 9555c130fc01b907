//! rookery's FUSE image server: serves one RBD image as one file in a FUSE
//! mount, through librbd, for the node plugin's FUSE mapper (a loop device
//! over that file makes the block device). It replaces `rbd-fuse`, whose
//! librbd parks writes to a full pool until there is room, so the
//! application, its unmount and `rookery down` all hang.
//!
//! This server opens the image from an I/O context with pool-full-try set:
//! librbd (16.2) then carries the OSD's FULL_TRY flag on its data writes, and
//! the OSD answers a write that needs room in a full pool with ENOSPC at once
//! (overwrites of allocated data, reads, zeroing and discards still succeed).
//! The error goes back to the kernel as it is. librbd's cache is off: a write
//! is acknowledged only once the OSDs have it, so an error is never deferred
//! to a later flush, and fsync (the loop device's flush) returns once
//! `rbd_flush` has.
//!
//! The process runs in its own session, outliving the plugin that started it
//! (the mount table is the record of it). It prints [`READY`] on stdout once
//! the mount answers, and ends when the mount goes (unmount), or when its
//! cluster's directory is purged (it then detaches its own mount, so no
//! loop device or `losetup -a` waits on a cluster that is gone).

mod fs;
pub mod ops;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fuser::{Config, MountOption, SessionACL};
use rookery_ceph::{BlockImage, ConnectOptions, Rados};

use crate::error::Error;

/// The FUSE subtype: mounts show as `fuse.rookery-rbd` in the mount table.
pub const FUSE_SUBTYPE: &str = "rookery-rbd";
/// The server's process name (argv[0]), by which the plugin finds it.
pub const PROCESS_NAME: &str = "rookery-rbd-fuse";
/// The line the server prints once its mount is ready.
pub const READY: &str = "ready";
/// Worker threads: each blocks in one librbd call, so this bounds the I/O in
/// flight; above the queue depth of `rookery bench node` (16).
const THREADS: usize = 24;
/// How often the server checks that its cluster still exists.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// What to serve, and where.
#[derive(Debug, Clone)]
pub struct ServeArgs {
    pub conf: PathBuf,
    pub user: String,
    pub keyring: Option<PathBuf>,
    pub pool: String,
    pub image: String,
    pub mountpoint: PathBuf,
}

/// Serves until the mount goes away. Blocks; call it from a plain `main`.
pub fn serve(args: &ServeArgs) -> Result<(), Error> {
    let doing = format!(
        "serve image {}/{} at {}",
        args.pool,
        args.image,
        args.mountpoint.display()
    );
    // Its own session: signals to the plugin's process group or terminal do
    // not reach it. EPERM means it leads a session or group already.
    let _ = nix::unistd::setsid();
    let image = open_image(args, &doing)?;
    let fs = fs::ImageFs::new(image, &args.image);
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("{}/{}", args.pool, args.image)),
        // Passed to the kernel (fuser keeps `Subtype` for fusermount only).
        MountOption::CUSTOM(format!("subtype={FUSE_SUBTYPE}")),
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoExec,
    ];
    config.acl = SessionACL::Owner;
    config.n_threads = Some(THREADS);
    config.clone_fd = true;
    let session = fuser::Session::new(fs, &args.mountpoint, &config)
        .map_err(|e| Error::os(format!("{doing}: mount"), &e))?;
    watch_cluster(args.conf.clone(), args.mountpoint.clone());
    println!("{READY}");
    let _ = std::io::stdout().flush();
    tracing::info!(pool = args.pool, image = args.image, mountpoint = %args.mountpoint.display(), "serving");
    session
        .run()
        .map_err(|e| Error::os(format!("{doing}: serve"), &e))?;
    tracing::info!(image = args.image, "unmounted; closing the image");
    Ok(())
}

fn open_image(args: &ServeArgs, doing: &str) -> Result<BlockImage, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::os(doing, &e))?;
    let ceph = |source| Error::Ceph {
        doing: doing.to_owned(),
        source,
    };
    runtime.block_on(async {
        let mut opts = ConnectOptions::new(&args.conf);
        opts.user = args.user.clone();
        opts.keyring = args.keyring.clone();
        // No OSD timeout, librbd's cache off (see the module doc).
        let rados = Rados::connect_for_block_io(opts).await.map_err(ceph)?;
        // The ioctx has pool-full-try set: writes fail, not wait, when full.
        let io = rados.ioctx(&args.pool, None).await.map_err(ceph)?;
        BlockImage::open(&io, &args.image).await.map_err(ceph)
    })
}

/// Ends the process when the cluster's conf file is gone (the cluster was
/// purged): librbd would wait forever for OSDs that no longer exist, and so
/// would every stat of the image file. Detaches the mount first, so the
/// mount point does not stay behind as a dead mount.
fn watch_cluster(conf: PathBuf, mountpoint: PathBuf) {
    std::thread::spawn(move || {
        // Twice in a row: a conf being replaced is never missing (it is
        // renamed into place), but one miss is not worth a volume.
        let mut misses = 0;
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            misses = if cluster_gone(&conf) { misses + 1 } else { 0 };
            if misses >= 2 {
                break;
            }
        }
        tracing::warn!(conf = %conf.display(), "the cluster is gone; unmounting and exiting");
        let _ = crate::node::fuse::detach(&mountpoint);
        // Not exit(3): librados' threads may be blocked on the vanished
        // cluster, and running C++ destructors under them could hang.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGKILL);
    });
}

fn cluster_gone(conf: &Path) -> bool {
    matches!(std::fs::metadata(conf), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}
