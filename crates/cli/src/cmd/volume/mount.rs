//! `rookery volume mount NAME PATH` and `unmount NAME [PATH]`: what kubelet
//! does for a pod, on the command line — NodeStage at a staging directory under
//! the cluster's, then NodePublish at PATH; and back. The same for both
//! drivers; `driver` says where the stage lands and what it needs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, NodeExpandVolumeRequest, NodePublishVolumeRequest, NodeStageVolumeRequest,
    NodeUnpublishVolumeRequest, NodeUnstageVolumeRequest,
};
use rookery_csi::node::mountinfo;
use serde::Serialize;

use super::ctx::Ctx;
use super::status_error;
use crate::Output;

#[derive(Debug, Serialize)]
struct Mounted {
    name: String,
    path: PathBuf,
    fs_type: String,
    device: PathBuf,
    mapper: String,
    read_only: bool,
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(path))
}

pub async fn mount(
    ctx: &Ctx,
    name: &str,
    path: &Path,
    fs_type: &str,
    read_only: bool,
    output: Output,
) -> anyhow::Result<()> {
    let path = absolute(path)?;
    if path.exists() && !path.is_dir() {
        bail!(
            "{} is not a directory; mount a volume on a directory",
            path.display()
        );
    }
    let (volume_id, object) = ctx.volume(name).await?;
    let d = &ctx.driver;
    let staging = d.staging(name);
    let capability = d.capability(fs_type);
    let mut node = ctx.node().await?;
    // Staging again is a no-op when the volume is staged already (a second
    // mount of a CephFS volume publishes the same stage).
    node.node_stage_volume(NodeStageVolumeRequest {
        volume_id: volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        volume_capability: Some(capability.clone()),
        volume_context: d.stage_context(&object),
        ..Default::default()
    })
    .await
    .map_err(status_error)
    .with_context(|| format!("cannot stage volume {name}"))?;
    node.node_publish_volume(NodePublishVolumeRequest {
        volume_id: volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        target_path: path.display().to_string(),
        volume_capability: Some(capability),
        readonly: read_only,
        volume_context: d.stage_context(&object),
        ..Default::default()
    })
    .await
    .map_err(status_error)
    .with_context(|| {
        format!(
            "volume {name} is staged but cannot be mounted at {}",
            path.display()
        )
    })?;
    let (fs_type, device, mapper) = d.staged_as(&staging, &volume_id, fs_type)?;
    let m = Mounted {
        name: name.to_owned(),
        path,
        fs_type,
        device: PathBuf::from(device),
        mapper,
        read_only,
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        Output::Text => println!(
            "Mounted volume {} at {} ({} on {}, {} by {}{}).",
            m.name,
            m.path.display(),
            m.fs_type,
            m.device.display(),
            ctx.driver.attach_verb(),
            m.mapper,
            if read_only { ", read-only" } else { "" }
        ),
    }
    Ok(())
}

pub async fn unmount(
    ctx: &Ctx,
    name: &str,
    path: Option<&Path>,
    output: Output,
) -> anyhow::Result<()> {
    let volume_id = ctx.volume_id(name).await?;
    let staging = ctx.driver.staging(name);
    let staged = ctx.driver.staged_mount(&staging, &volume_id);
    let published = || -> anyhow::Result<Vec<PathBuf>> {
        let table = mountinfo::read()?;
        let Some(source) = mountinfo::find(&table, &staged) else {
            return Ok(Vec::new());
        };
        Ok(table
            .iter()
            .filter(|e| e.same_source(source) && e.mount_point != staged)
            .map(|e| e.mount_point.clone())
            .collect())
    };
    let targets = match path {
        Some(p) => vec![absolute(p)?],
        None => published()?,
    };
    let mut node = ctx.node().await?;
    for target in &targets {
        node.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: volume_id.clone(),
            target_path: target.display().to_string(),
        })
        .await
        .map_err(status_error)
        .with_context(|| format!("cannot unmount volume {name} from {}", target.display()))?;
    }
    let still = published()?;
    if still.is_empty() {
        node.node_unstage_volume(NodeUnstageVolumeRequest {
            volume_id: volume_id.clone(),
            staging_target_path: staging.display().to_string(),
        })
        .await
        .map_err(status_error)
        .with_context(|| format!("cannot unstage volume {name}"))?;
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({"name": name, "unmounted": targets, "still_mounted": still})
        ),
        Output::Text if still.is_empty() => {
            println!("Volume {name} is unmounted and {}.", ctx.driver.detached())
        }
        Output::Text => println!(
            "Unmounted volume {name} from {} path(s); still mounted at {}.",
            targets.len(),
            still
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(())
}

/// After the image grew: grows the filesystem of the volume if it is mounted
/// here. Returns whether it was.
pub async fn grow_if_mounted(
    ctx: &Ctx,
    name: &str,
    volume_id: &str,
    bytes: u64,
) -> anyhow::Result<bool> {
    let staged = ctx
        .driver
        .staged_mount(&ctx.driver.staging(name), volume_id);
    if mountinfo::at(&staged)?.is_none() {
        return Ok(false);
    }
    let mut node = ctx.node().await?;
    node.node_expand_volume(NodeExpandVolumeRequest {
        volume_id: volume_id.to_owned(),
        volume_path: staged.display().to_string(),
        capacity_range: Some(CapacityRange {
            required_bytes: i64::try_from(bytes)?,
            limit_bytes: 0,
        }),
        ..Default::default()
    })
    .await
    .map_err(status_error)
    .with_context(|| format!("the image of {name} grew, but its mounted filesystem did not"))?;
    Ok(true)
}
