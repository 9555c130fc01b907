//! `rookery volume`: a small CSI client (a container orchestrator on the
//! command line) for the local cluster's RBD plugin (`--type block`, the
//! default) and CephFS plugin (`--type fs`): volumes, snapshots and clones
//! through its Controller, mounts through its Node service. Volumes and
//! snapshots are named by their CSI request name; names resolve to IDs through
//! the same journals the plugin writes.
//!
//! One file per concern: `driver` (what differs between block and fs), `ctx`
//! (cluster, journals, endpoints), `snapshot` (snapshots and clones), `mount`
//! (mount/unmount), `retry` (ABORTED answers, retried as a CO does).

mod ctx;
mod driver;
mod mount;
mod retry;
mod snapshot;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rookery_csi::grpc::proto::v1::{
    CapacityRange, ControllerExpandVolumeRequest, CreateVolumeRequest, DeleteVolumeRequest, Volume,
    VolumeContentSource,
};

use crate::output::bytes;
use crate::{runtime, DirArg, Output};
use ctx::{Ctx, VolumeRow};
use driver::VolumeType;
use retry::retry_aborted;

#[derive(clap::Args, Debug)]
pub struct VolumeArgs {
    #[command(subcommand)]
    command: VolumeCommand,
    #[command(flatten)]
    dir: DirArg,
    /// block: RBD images; fs: CephFS subvolumes (shared, mountable at many
    /// paths at once).
    #[arg(long = "type", value_enum, default_value_t, global = true)]
    kind: VolumeType,
    /// block: the RBD pool of the volumes (default rbd). fs: the data pool
    /// for new volumes (default: the filesystem's first).
    #[arg(long, global = true)]
    pool: Option<String>,
    /// fs: the filesystem of the volumes (default: the cluster's first).
    #[arg(long, global = true)]
    fs: Option<String>,
    #[arg(long, value_enum, default_value_t, global = true)]
    output: Output,
}

#[derive(clap::Subcommand, Debug)]
enum VolumeCommand {
    /// Create a volume (an RBD image, or with `--type fs` a CephFS subvolume
    /// with the size as its quota), e.g. `--size 10G`.
    Create {
        name: String,
        #[arg(long, default_value = "1G")]
        size: String,
    },
    /// List the volumes of the pool (or filesystem).
    List,
    /// Delete a volume (an image goes to the trash and is purged).
    Delete { name: String },
    /// Grow a volume to `--size` (a mounted filesystem grows with it).
    Expand {
        name: String,
        #[arg(long)]
        size: String,
    },
    /// Snapshots of volumes.
    Snapshot {
        #[command(subcommand)]
        command: snapshot::SnapshotCommand,
    },
    /// A new volume NAME with the content of volume SOURCE (or, with
    /// `--snapshot`, of snapshot SOURCE).
    Clone {
        source: String,
        name: String,
        /// SOURCE names a snapshot, not a volume.
        #[arg(long)]
        snapshot: bool,
        /// Size of the new volume (default: the source's).
        #[arg(long)]
        size: Option<String>,
    },
    /// Mount a volume's filesystem at PATH. Block: formatting the volume
    /// first if it is blank (never otherwise). Fs: again at another PATH
    /// shares it.
    Mount {
        name: String,
        path: PathBuf,
        /// Block: the filesystem to make, ext4 or xfs. (`--fs` names the
        /// CephFS filesystem of `--type fs` volumes.)
        #[arg(long = "fs-type", default_value = "ext4")]
        fs_type: String,
        #[arg(long)]
        read_only: bool,
    },
    /// Unmount a volume from PATH, or from everywhere without PATH; once no
    /// mount is left, the volume is unmapped.
    Unmount { name: String, path: Option<PathBuf> },
}

pub fn run(args: VolumeArgs) -> anyhow::Result<ExitCode> {
    let layout = args.dir.layout();
    let out = args.output;
    runtime()?.block_on(async move {
        let ctx =
            Ctx::connect(&layout, args.kind, args.pool.as_deref(), args.fs.as_deref()).await?;
        match args.command {
            VolumeCommand::Create { name, size } => {
                let bytes = parse_size(&size)?;
                let vol = create(&ctx, &name, Some(bytes), None).await?;
                print_rows(&ctx, &[row(&ctx, name, vol)], out)?;
            }
            VolumeCommand::List => print_rows(&ctx, &ctx.list().await?, out)?,
            VolumeCommand::Delete { name } => {
                let id = ctx.volume_id(&name).await?;
                let ctl = ctx.controller().await?;
                retry_aborted(|| {
                    let (mut ctl, volume_id) = (ctl.clone(), id.clone());
                    async move {
                        ctl.delete_volume(DeleteVolumeRequest {
                            volume_id,
                            ..Default::default()
                        })
                        .await
                    }
                })
                .await?;
                if out == Output::Text {
                    match ctx.driver.kind {
                        VolumeType::Block => println!(
                            "Deleted volume {name} (its image is purged in the background)."
                        ),
                        VolumeType::Fs => println!("Deleted volume {name}."),
                    }
                }
            }
            VolumeCommand::Expand { name, size } => expand(&ctx, &name, &size, out).await?,
            VolumeCommand::Snapshot { command } => snapshot::run(&ctx, command, out).await?,
            VolumeCommand::Clone {
                source,
                name,
                snapshot,
                size,
            } => {
                let bytes = size.as_deref().map(parse_size).transpose()?;
                let source = snapshot::content_source(&ctx, &source, snapshot).await?;
                let vol = create(&ctx, &name, bytes, Some(source)).await?;
                print_rows(&ctx, &[row(&ctx, name, vol)], out)?;
            }
            VolumeCommand::Mount {
                name,
                path,
                fs_type,
                read_only,
            } => mount::mount(&ctx, &name, &path, &fs_type, read_only, out).await?,
            VolumeCommand::Unmount { name, path } => {
                mount::unmount(&ctx, &name, path.as_deref(), out).await?
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// CreateVolume for `name`: `bytes` (default: the source's, else 1 GiB), from
/// `source` if given.
async fn create(
    ctx: &Ctx,
    name: &str,
    bytes: Option<u64>,
    source: Option<VolumeContentSource>,
) -> anyhow::Result<Volume> {
    let required = match (bytes, &source) {
        (Some(b), _) => i64::try_from(b)?,
        (None, Some(_)) => 0,
        (None, None) => 1 << 30,
    };
    let ctl = ctx.controller().await?;
    let request = CreateVolumeRequest {
        name: name.to_owned(),
        capacity_range: Some(CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![ctx.driver.capability("ext4")],
        parameters: ctx.driver.parameters(&ctx.fsid),
        volume_content_source: source,
        ..Default::default()
    };
    // A CephFS clone answers ABORTED while it copies; the retry finds it.
    retry_aborted(|| {
        let (mut ctl, request) = (ctl.clone(), request.clone());
        async move { ctl.create_volume(request).await }
    })
    .await?
    .volume
    .context("the plugin returned no volume")
}

fn row(ctx: &Ctx, name: String, vol: Volume) -> VolumeRow {
    let key = match ctx.driver.kind {
        VolumeType::Block => "imageName",
        VolumeType::Fs => "subvolumeName",
    };
    VolumeRow {
        name,
        image: vol.volume_context.get(key).cloned().unwrap_or_default(),
        volume_id: vol.volume_id,
        size_bytes: u64::try_from(vol.capacity_bytes).unwrap_or(0),
    }
}

/// Grows the volume through the controller, then — when the volume is
/// mounted here and the plugin says so (RBD) — its filesystem through the
/// node plugin. A CephFS quota needs no node step.
async fn expand(ctx: &Ctx, name: &str, size: &str, out: Output) -> anyhow::Result<()> {
    let bytes = parse_size(size)?;
    let id = ctx.volume_id(name).await?;
    let mut ctl = ctx.controller().await?;
    let r = ctl
        .controller_expand_volume(ControllerExpandVolumeRequest {
            volume_id: id.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: i64::try_from(bytes)?,
                limit_bytes: 0,
            }),
            volume_capability: Some(ctx.driver.capability("ext4")),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let grown_fs =
        r.node_expansion_required && mount::grow_if_mounted(ctx, name, &id, bytes).await?;
    if out == Output::Text {
        let fs_note = if grown_fs {
            " (its mounted filesystem too)"
        } else {
            ""
        };
        println!(
            "Volume {name} is now {}{fs_note}.",
            bytes_u(r.capacity_bytes)
        );
    } else {
        println!(
            "{}",
            serde_json::json!({"name": name, "size_bytes": r.capacity_bytes, "filesystem_grown": grown_fs})
        );
    }
    Ok(())
}

pub(crate) fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}

fn bytes_u(n: i64) -> String {
    bytes(u64::try_from(n).unwrap_or(0))
}

/// "10G", "512M", "1Gi", "1073741824": sizes as people type them (binary units).
fn parse_size(s: &str) -> anyhow::Result<u64> {
    let q: rookery_api::Quantity = s
        .trim_end_matches(['i', 'B'])
        .replace('G', "Gi")
        .replace('M', "Mi")
        .replace('T', "Ti")
        .replace('K', "Ki")
        .parse()
        .with_context(|| format!("size {s:?}: use e.g. 512M, 10G or a number of bytes"))?;
    Ok(q.bytes())
}

fn print_rows(ctx: &Ctx, rows: &[VolumeRow], output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    let object = ctx.driver.object_label();
    println!("{:<24} {:>10}  {:<45} VOLUME ID", "NAME", "SIZE", object);
    for r in rows {
        println!(
            "{:<24} {:>10}  {:<45} {}",
            r.name,
            bytes(r.size_bytes),
            r.image,
            r.volume_id
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_people_type_them() {
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1Gi").unwrap(), 1 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GB").unwrap(), 2 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("ten").is_err());
    }
}
