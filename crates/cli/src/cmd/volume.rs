//! `rookery volume`: a small CSI client (a container orchestrator on the
//! command line) for the local cluster's RBD plugin. Volumes are named by
//! their CSI request name; names resolve to volume IDs through the same
//! journal the plugin writes.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use rookery_ceph::{ConnectOptions, Rados};
use rookery_csi::grpc::proto::v1::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, ControllerExpandVolumeRequest, CreateVolumeRequest, DeleteVolumeRequest,
    VolumeCapability,
};
use rookery_csi::grpc::CsiEndpoint;
use rookery_csi::journal::{JournalConfig, VolumeJournal, DEFAULT_INSTANCE_ID};
use rookery_csi::rbd::{connect_controller, ControllerClient};
use rookery_csi::volume_id::VolumeId;
use rookery_runtime_local::Layout;
use serde::Serialize;

use crate::output::bytes;
use crate::{runtime, DirArg, Output};

#[derive(clap::Args, Debug)]
pub struct VolumeArgs {
    #[command(subcommand)]
    command: VolumeCommand,
    #[command(flatten)]
    dir: DirArg,
    /// RBD pool of the volumes.
    #[arg(long, default_value = "rbd", global = true)]
    pool: String,
    #[arg(long, value_enum, default_value_t, global = true)]
    output: Output,
}

#[derive(clap::Subcommand, Debug)]
enum VolumeCommand {
    /// Create a block volume (an RBD image), e.g. `--size 10G`.
    Create {
        name: String,
        #[arg(long, default_value = "1G")]
        size: String,
    },
    /// List the volumes of the pool.
    List,
    /// Delete a volume (its image goes to the trash and is purged).
    Delete { name: String },
    /// Grow a volume to `--size`.
    Expand {
        name: String,
        #[arg(long)]
        size: String,
    },
}

#[derive(Debug, Serialize)]
struct VolumeRow {
    name: String,
    volume_id: String,
    image: String,
    size_bytes: u64,
}

pub fn run(args: VolumeArgs) -> anyhow::Result<ExitCode> {
    let layout = args.dir.layout();
    runtime()?.block_on(async move {
        let ctx = Ctx::connect(&layout, &args.pool).await?;
        match args.command {
            VolumeCommand::Create { name, size } => {
                let bytes = parse_size(&size)?;
                let mut ctl = ctx.controller().await?;
                let vol = ctl
                    .create_volume(CreateVolumeRequest {
                        name: name.clone(),
                        capacity_range: Some(CapacityRange {
                            required_bytes: i64::try_from(bytes)?,
                            limit_bytes: 0,
                        }),
                        volume_capabilities: vec![rwo_mount()],
                        parameters: HashMap::from([
                            ("clusterID".to_string(), ctx.fsid.clone()),
                            ("pool".to_string(), args.pool.clone()),
                        ]),
                        ..Default::default()
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner()
                    .volume
                    .context("the plugin returned no volume")?;
                let row = VolumeRow {
                    name,
                    image: vol
                        .volume_context
                        .get("imageName")
                        .cloned()
                        .unwrap_or_default(),
                    volume_id: vol.volume_id,
                    size_bytes: vol.capacity_bytes as u64,
                };
                print_rows(&[row], args.output)?;
            }
            VolumeCommand::List => {
                let rows = ctx.list().await?;
                print_rows(&rows, args.output)?;
            }
            VolumeCommand::Delete { name } => {
                let id = ctx.volume_id(&name).await?;
                let mut ctl = ctx.controller().await?;
                ctl.delete_volume(DeleteVolumeRequest {
                    volume_id: id,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?;
                if args.output == Output::Text {
                    println!("Deleted volume {name} (its image is purged in the background).");
                }
            }
            VolumeCommand::Expand { name, size } => {
                let bytes = parse_size(&size)?;
                let id = ctx.volume_id(&name).await?;
                let mut ctl = ctx.controller().await?;
                let r = ctl
                    .controller_expand_volume(ControllerExpandVolumeRequest {
                        volume_id: id,
                        capacity_range: Some(CapacityRange {
                            required_bytes: i64::try_from(bytes)?,
                            limit_bytes: 0,
                        }),
                        volume_capability: Some(rwo_mount()),
                        ..Default::default()
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                if args.output == Output::Text {
                    println!("Volume {name} is now {}.", bytes_u(r.capacity_bytes));
                } else {
                    println!(
                        "{}",
                        serde_json::json!({"name": name, "size_bytes": r.capacity_bytes})
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What every subcommand needs: the cluster, the pool's journal, the plugin.
struct Ctx {
    fsid: String,
    pool_id: i64,
    journal: VolumeJournal,
    io: rookery_ceph::IoCtx,
    endpoint: CsiEndpoint,
}

impl Ctx {
    async fn connect(layout: &Layout, pool: &str) -> anyhow::Result<Self> {
        if rookery_runtime_local::lock::running_supervisor(layout).is_none() {
            bail!(
                "the cluster at {} is not running; start it with `rookery up --dir {}`",
                layout.root().display(),
                layout.root().display()
            );
        }
        let rados = Rados::connect(ConnectOptions {
            conf: layout.conf(),
            user: "admin".into(),
            keyring: Some(layout.admin_keyring()),
            timeout: Duration::from_secs(10),
        })
        .await?;
        let pool_id = rados
            .pool_id(pool)
            .await
            .with_context(|| format!("pool {pool} (choose another with --pool)"))?;
        let io = rados.ioctx(pool, None).await?;
        let endpoint = CsiEndpoint::parse(&rookery_runtime_local::csi::rbd_endpoint(layout))?;
        Ok(Self {
            fsid: rados.fsid().to_string(),
            pool_id,
            journal: VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID)),
            io,
            endpoint,
        })
    }

    async fn controller(&self) -> anyhow::Result<ControllerClient> {
        connect_controller(&self.endpoint)
            .await
            .with_context(|| format!("the RBD CSI plugin on {}", self.endpoint))
    }

    /// The volume ID of the volume with request name `name`.
    async fn volume_id(&self, name: &str) -> anyhow::Result<String> {
        match self.journal.check_reservation(name, None).await? {
            Some(r) => Ok(VolumeId::new(self.fsid.clone(), self.pool_id, r.uuid).encode()?),
            None => bail!("no volume named {name} in this pool; `rookery volume list` shows them"),
        }
    }

    async fn list(&self) -> anyhow::Result<Vec<VolumeRow>> {
        let mut rows = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.journal.list(&after, 100).await?;
            for e in page.entries {
                let attrs = self.journal.get_attributes(&e.uuid).await?;
                let size_bytes = rookery_ceph::rbd::info(&self.io, &attrs.image_name)
                    .await
                    .map(|i| i.size)
                    .unwrap_or(0);
                rows.push(VolumeRow {
                    volume_id: VolumeId::new(self.fsid.clone(), self.pool_id, e.uuid).encode()?,
                    name: e.request_name,
                    image: attrs.image_name,
                    size_bytes,
                });
            }
            match page.next {
                Some(n) => after = n,
                None => return Ok(rows),
            }
        }
    }
}

fn rwo_mount() -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
        access_type: Some(AccessType::Mount(MountVolume {
            fs_type: "ext4".into(),
            ..Default::default()
        })),
    }
}

fn status_error(s: tonic::Status) -> anyhow::Error {
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

fn print_rows(rows: &[VolumeRow], output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    println!("{:<24} {:>10}  {:<45} VOLUME ID", "NAME", "SIZE", "IMAGE");
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
