//! `rookery rbd-fuse-serve` (hidden): the RBD node plugin's FUSE image
//! server, which the plugin starts itself for each volume it maps with the
//! FUSE mapper (see rookery_csi::rbd::image_server).

use std::path::PathBuf;
use std::process::ExitCode;

use rookery_csi::rbd::image_server::{serve, ServeArgs};

#[derive(clap::Args, Debug)]
pub struct RbdFuseServeArgs {
    /// ceph.conf of the cluster.
    #[arg(long)]
    conf: PathBuf,
    /// cephx user id (without `client.`).
    #[arg(long, default_value = "admin")]
    user: String,
    /// Keyring of that user.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Pool of the image.
    #[arg(long)]
    pool: String,
    /// The image, served as the file of that name.
    #[arg(long)]
    image: String,
    /// Where to mount (an existing, empty directory).
    mountpoint: PathBuf,
}

pub fn run(a: RbdFuseServeArgs) -> anyhow::Result<ExitCode> {
    serve(&ServeArgs {
        conf: a.conf,
        user: a.user,
        keyring: a.keyring,
        pool: a.pool,
        image: a.image,
        mountpoint: a.mountpoint,
    })?;
    Ok(ExitCode::SUCCESS)
}
