//! What every `rookery volume` subcommand needs: the running local cluster, the
//! pool's journals (names -> IDs, as the plugin wrote them) and the plugin's
//! Controller and Node endpoints.

use std::time::Duration;

use anyhow::{bail, Context as _};
use rookery_ceph::{ConnectOptions, Rados};
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::{connect, CsiEndpoint};
use rookery_csi::journal::{JournalConfig, VolumeJournal, DEFAULT_INSTANCE_ID};
use rookery_csi::rbd::{connect_controller, ControllerClient};
use rookery_csi::volume_id::VolumeId;
use rookery_runtime_local::Layout;
use serde::Serialize;
use tonic::transport::Channel;

/// One volume, as `list` prints it.
#[derive(Debug, Serialize)]
pub struct VolumeRow {
    pub name: String,
    pub volume_id: String,
    pub image: String,
    pub size_bytes: u64,
}

/// One snapshot, as `snapshot list` prints it.
#[derive(Debug, Serialize)]
pub struct SnapshotRow {
    pub name: String,
    pub snapshot_id: String,
    pub image: String,
    pub source: String,
}

pub struct Ctx {
    pub fsid: String,
    pub pool: String,
    pool_id: i64,
    volumes: VolumeJournal,
    snapshots: VolumeJournal,
    io: rookery_ceph::IoCtx,
    controller: CsiEndpoint,
    node: CsiEndpoint,
}

impl Ctx {
    pub async fn connect(layout: &Layout, pool: &str) -> anyhow::Result<Self> {
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
        use rookery_runtime_local::csi::{rbd_endpoint, rbd_node_endpoint};
        Ok(Self {
            fsid: rados.fsid().to_string(),
            pool: pool.to_owned(),
            pool_id,
            volumes: VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID)),
            snapshots: VolumeJournal::new(
                io.clone(),
                JournalConfig::snapshots(DEFAULT_INSTANCE_ID),
            ),
            io,
            controller: CsiEndpoint::parse(&rbd_endpoint(layout))?,
            node: CsiEndpoint::parse(&rbd_node_endpoint(layout))?,
        })
    }

    pub async fn controller(&self) -> anyhow::Result<ControllerClient> {
        connect_controller(&self.controller)
            .await
            .with_context(|| format!("the RBD CSI controller on {}", self.controller))
    }

    pub async fn node(&self) -> anyhow::Result<NodeClient<Channel>> {
        let channel = connect(&self.node)
            .await
            .with_context(|| format!("the RBD CSI node plugin on {}", self.node))?;
        Ok(NodeClient::new(channel))
    }

    /// The volume ID of the volume with request name `name`.
    pub async fn volume_id(&self, name: &str) -> anyhow::Result<String> {
        match self.volumes.check_reservation(name, None).await? {
            Some(r) => Ok(self.id(r.uuid)?),
            None => bail!(
                "no volume named {name} in pool {}; `rookery volume list` shows them",
                self.pool
            ),
        }
    }

    /// The snapshot ID of the snapshot with request name `name`.
    pub async fn snapshot_id(&self, name: &str) -> anyhow::Result<String> {
        match self.snapshots.check_reservation(name, None).await? {
            Some(r) => Ok(self.id(r.uuid)?),
            None => bail!(
                "no snapshot named {name} in pool {}; `rookery volume snapshot list` shows them",
                self.pool
            ),
        }
    }

    fn id(&self, uuid: String) -> anyhow::Result<String> {
        Ok(VolumeId::new(self.fsid.clone(), self.pool_id, uuid).encode()?)
    }

    pub async fn list(&self) -> anyhow::Result<Vec<VolumeRow>> {
        let mut rows = Vec::new();
        for (name, uuid) in all_entries(&self.volumes).await? {
            // A name whose object is gone is being created or deleted right now.
            let Some(attrs) = present(self.volumes.get_attributes(&uuid).await)? else {
                continue;
            };
            let size_bytes = rookery_ceph::rbd::info(&self.io, &attrs.image_name)
                .await
                .map(|i| i.size)
                .unwrap_or(0);
            rows.push(VolumeRow {
                volume_id: self.id(uuid)?,
                name,
                image: attrs.image_name,
                size_bytes,
            });
        }
        Ok(rows)
    }

    pub async fn list_snapshots(&self) -> anyhow::Result<Vec<SnapshotRow>> {
        // The journal names a snapshot's source by image; people know volumes.
        let volumes: std::collections::HashMap<String, String> = self
            .list()
            .await?
            .into_iter()
            .map(|v| (v.image, v.name))
            .collect();
        let mut rows = Vec::new();
        for (name, uuid) in all_entries(&self.snapshots).await? {
            let Some(attrs) = present(self.snapshots.get_attributes(&uuid).await)? else {
                continue;
            };
            let source_image = attrs.source_name.unwrap_or_default();
            rows.push(SnapshotRow {
                snapshot_id: self.id(uuid)?,
                name,
                image: attrs.image_name,
                source: volumes.get(&source_image).cloned().unwrap_or(source_image),
            });
        }
        Ok(rows)
    }
}

/// The value, or None when the journal says it does not exist.
fn present<T>(result: rookery_csi::error::Result<T>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every (request name, uuid) of a journal, page by page.
async fn all_entries(journal: &VolumeJournal) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = journal.list(&after, 100).await?;
        out.extend(page.entries.into_iter().map(|e| (e.request_name, e.uuid)));
        match page.next {
            Some(n) => after = n,
            None => return Ok(out),
        }
    }
}
