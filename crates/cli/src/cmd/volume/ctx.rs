//! What every `rookery volume` subcommand needs: the running local cluster, the
//! driver's journals (names -> IDs, as the plugin wrote them) and the plugin's
//! Controller and Node endpoints (see `driver` for what differs by `--type`).

use std::time::Duration;

use anyhow::{bail, Context as _};
use rookery_ceph::{ConnectOptions, Rados};
use rookery_csi::grpc::connect;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::ListVolumesRequest;
use rookery_csi::journal::VolumeJournal;
use rookery_csi::rbd::{connect_controller, ControllerClient};
use rookery_csi::volume_id::VolumeId;
use rookery_runtime_local::Layout;
use serde::Serialize;
use tonic::transport::Channel;

use super::driver::{Driver, VolumeType};

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
    pub driver: Driver,
    volumes: VolumeJournal,
    snapshots: VolumeJournal,
}

impl Ctx {
    pub async fn connect(
        layout: &Layout,
        kind: VolumeType,
        pool: Option<&str>,
        fs: Option<&str>,
    ) -> anyhow::Result<Self> {
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
        let driver = Driver::open(kind, layout, &rados, pool, fs).await?;
        Ok(Self {
            fsid: rados.fsid().to_string(),
            volumes: driver.volumes(),
            snapshots: driver.snapshots(),
            driver,
        })
    }

    pub async fn controller(&self) -> anyhow::Result<ControllerClient> {
        let d = &self.driver;
        connect_controller(&d.controller)
            .await
            .with_context(|| format!("the {} CSI controller on {}", d.label(), d.controller))
    }

    pub async fn node(&self) -> anyhow::Result<NodeClient<Channel>> {
        let d = &self.driver;
        let channel = connect(&d.node)
            .await
            .with_context(|| format!("the {} CSI node plugin on {}", d.label(), d.node))?;
        Ok(NodeClient::new(channel))
    }

    /// The volume ID of the volume with request name `name`.
    pub async fn volume_id(&self, name: &str) -> anyhow::Result<String> {
        Ok(self.volume(name).await?.0)
    }

    /// The volume ID and backing object (image or subvolume) of volume `name`.
    pub async fn volume(&self, name: &str) -> anyhow::Result<(String, String)> {
        match self.volumes.check_reservation(name, None).await? {
            Some(r) => {
                let object = self.volumes.get_attributes(&r.uuid).await?.image_name;
                Ok((self.id(r.uuid)?, object))
            }
            None => bail!(
                "no volume named {name} in {}; `rookery volume list{}` shows them",
                self.driver.home_label(),
                self.type_flag()
            ),
        }
    }

    /// ` --type fs` when that is the type, for hints.
    fn type_flag(&self) -> &'static str {
        match self.driver.kind {
            VolumeType::Block => "",
            VolumeType::Fs => " --type fs",
        }
    }

    /// The snapshot ID of the snapshot with request name `name`.
    pub async fn snapshot_id(&self, name: &str) -> anyhow::Result<String> {
        match self.snapshots.check_reservation(name, None).await? {
            Some(r) => Ok(self.id(r.uuid)?),
            None => bail!(
                "no snapshot named {name} in {}; `rookery volume snapshot list{}` shows them",
                self.driver.home_label(),
                self.type_flag()
            ),
        }
    }

    fn id(&self, uuid: String) -> anyhow::Result<String> {
        Ok(VolumeId::new(self.fsid.clone(), self.driver.location_id, uuid).encode()?)
    }

    pub async fn list(&self) -> anyhow::Result<Vec<VolumeRow>> {
        let sizes = self.sizes().await?;
        let mut rows = Vec::new();
        for (name, uuid) in all_entries(&self.volumes).await? {
            // A name whose object is gone is being created or deleted right now.
            let Some(attrs) = present(self.volumes.get_attributes(&uuid).await)? else {
                continue;
            };
            let volume_id = self.id(uuid)?;
            let size_bytes = match &sizes {
                Some(s) => s.get(&volume_id).copied().unwrap_or(0),
                None => rookery_ceph::rbd::info(&self.driver.journal_io, &attrs.image_name)
                    .await
                    .map(|i| i.size)
                    .unwrap_or(0),
            };
            rows.push(VolumeRow {
                volume_id,
                name,
                image: attrs.image_name,
                size_bytes,
            });
        }
        Ok(rows)
    }

    /// CephFS: volume ID -> size (quota), through the controller's
    /// ListVolumes (sizes are subvolume quotas only the mgr knows). RBD: None,
    /// image sizes are read directly.
    async fn sizes(&self) -> anyhow::Result<Option<std::collections::HashMap<String, u64>>> {
        if self.driver.kind == VolumeType::Block {
            return Ok(None);
        }
        let mut ctl = self.controller().await?;
        let mut sizes = std::collections::HashMap::new();
        let mut token = String::new();
        loop {
            let page = ctl
                .list_volumes(ListVolumesRequest {
                    max_entries: 100,
                    starting_token: token,
                })
                .await
                .map_err(super::status_error)?
                .into_inner();
            for e in page.entries.into_iter().filter_map(|e| e.volume) {
                sizes.insert(e.volume_id, u64::try_from(e.capacity_bytes).unwrap_or(0));
            }
            if page.next_token.is_empty() {
                return Ok(Some(sizes));
            }
            token = page.next_token;
        }
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
