//! `rookery volume snapshot create|list|delete` and the content source of
//! `rookery volume clone`.

use anyhow::Context as _;
use rookery_csi::grpc::proto::v1::volume_content_source::{
    SnapshotSource, Type as SourceType, VolumeSource,
};
use rookery_csi::grpc::proto::v1::{
    CreateSnapshotRequest, DeleteSnapshotRequest, VolumeContentSource,
};

use super::ctx::{Ctx, SnapshotRow};
use super::retry::retry_aborted;
use super::status_error;
use crate::Output;

#[derive(clap::Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Snapshot volume VOLUME as NAME.
    Create { volume: String, name: String },
    /// List the snapshots of the pool.
    List,
    /// Delete snapshot NAME (volumes cloned from it keep their data).
    Delete { name: String },
}

pub async fn run(ctx: &Ctx, command: SnapshotCommand, out: Output) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Create { volume, name } => {
            let source_volume_id = ctx.volume_id(&volume).await?;
            let mut ctl = ctx.controller().await?;
            let snap = ctl
                .create_snapshot(CreateSnapshotRequest {
                    source_volume_id,
                    name: name.clone(),
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .snapshot
                .context("the plugin returned no snapshot")?;
            match out {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({"name": name, "source": volume, "snapshot_id": snap.snapshot_id})
                ),
                Output::Text => println!(
                    "Snapshot {name} of volume {volume} created ({}).",
                    snap.snapshot_id
                ),
            }
        }
        SnapshotCommand::List => print(ctx, &ctx.list_snapshots().await?, out)?,
        SnapshotCommand::Delete { name } => {
            let snapshot_id = ctx.snapshot_id(&name).await?;
            let ctl = ctx.controller().await?;
            // A CephFS snapshot with clones still copying answers ABORTED.
            retry_aborted(|| {
                let (mut ctl, snapshot_id) = (ctl.clone(), snapshot_id.clone());
                async move {
                    ctl.delete_snapshot(DeleteSnapshotRequest {
                        snapshot_id,
                        ..Default::default()
                    })
                    .await
                }
            })
            .await?;
            if out == Output::Text {
                println!("Deleted snapshot {name}.");
            }
        }
    }
    Ok(())
}

/// The content source of a clone of volume (or, `snapshot`, snapshot) `source`.
pub async fn content_source(
    ctx: &Ctx,
    source: &str,
    snapshot: bool,
) -> anyhow::Result<VolumeContentSource> {
    let r#type = if snapshot {
        SourceType::Snapshot(SnapshotSource {
            snapshot_id: ctx.snapshot_id(source).await?,
        })
    } else {
        SourceType::Volume(VolumeSource {
            volume_id: ctx.volume_id(source).await?,
        })
    };
    Ok(VolumeContentSource {
        r#type: Some(r#type),
    })
}

fn print(ctx: &Ctx, rows: &[SnapshotRow], out: Output) -> anyhow::Result<()> {
    if out == Output::Json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<24} {:<45} SNAPSHOT ID",
        "NAME",
        "SOURCE",
        ctx.driver.object_label()
    );
    for r in rows {
        println!(
            "{:<24} {:<24} {:<45} {}",
            r.name, r.source, r.image, r.snapshot_id
        );
    }
    Ok(())
}
