//! `rookery bench cephfs`: the CephFS driver on a throwaway cluster with a
//! filesystem, each figure against a baseline measured in the same run:
//!
//! - CreateVolume over gRPC, `--volumes` at `--concurrency`, against raw
//!   `fs subvolume create` sent through librados (the mgr volumes module) at
//!   the same concurrency. Target: p50 <= 1.5x raw.
//! - fio 4 MiB sequential writes (buffered, fsync at the end) into a volume
//!   staged and published by the node service, against the same mounter
//!   (ceph-fuse) mounted on the filesystem root. Target: >= 0.9x.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};
use rookery_ceph::commands::{FsSubvolumeCreate, FsSubvolumeGroupCreate, FsSubvolumeRm};
use rookery_ceph::{ConnectOptions, Rados};
use rookery_csi::cephfs::node::{CephFsNode, Credentials, MounterKind, NodeConfig};
use rookery_csi::cephfs::CephFsController;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_capability::{AccessMode, AccessType, MountVolume};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, NodePublishVolumeRequest,
    NodeStageVolumeRequest, NodeUnpublishVolumeRequest, NodeUnstageVolumeRequest, VolumeCapability,
};
use rookery_csi::grpc::{bind, connect, CsiEndpoint, Routes};
use rookery_csi::rbd::connect_controller;
use serde::Serialize;

use super::bench_timing::{report, timed, Figures};
use crate::Output;

const FS: &str = "bench";
const MIB: u64 = 1 << 20;
const CREATE_TARGET: f64 = 1.5;
const FIO_TARGET: f64 = 0.9;

#[derive(clap::Args, Debug)]
pub struct CephFsBenchArgs {
    /// Volumes per create round.
    #[arg(long, default_value_t = 100)]
    volumes: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// MiB fio writes on each side.
    #[arg(long, default_value_t = 1024)]
    fio_mib: u64,
    /// Size of each of the 3 OSD files in GiB.
    #[arg(long, default_value_t = 10)]
    size_gib: u64,
    /// Where the throwaway cluster lives (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-cephfs")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct CephFsBenchResult {
    volumes: usize,
    concurrency: usize,
    raw_subvolume_create: Figures,
    create_volume: Figures,
    create_p50_ratio: f64,
    create_target_ratio: f64,
    mounter: String,
    fio_root_mib_s: f64,
    fio_volume_mib_s: f64,
    fio_ratio: f64,
    fio_target_ratio: f64,
}

pub fn run(a: CephFsBenchArgs) -> anyhow::Result<ExitCode> {
    if a.volumes == 0 || a.concurrency == 0 {
        bail!("--volumes and --concurrency must be at least 1");
    }
    let text = a.output == Output::Text;
    if text {
        println!(
            "throwaway cluster: 3 OSDs ({} GiB files), filesystem '{FS}'; {} volumes at {}-way",
            a.size_gib, a.volumes, a.concurrency
        );
    }
    let spec = rookery_runtime_local::spec::Throwaway {
        name: FS.into(),
        osds: 3,
        osd_gib: a.size_gib,
        pool_size: 3,
        modules: false,
        filesystem: true,
    };
    let result = super::bench::on_throwaway_cluster(&a.work_dir, spec, |dir| {
        super::bench::block_on(bench(&a, dir, text))
    })?;
    super::bench::report(a.output, &result, print_table)
}

async fn bench(a: &CephFsBenchArgs, dir: &Path, text: bool) -> anyhow::Result<CephFsBenchResult> {
    let conf = dir.join("ceph.conf");
    let keyring = dir.join("ceph.client.admin.keyring");
    let rados = Rados::connect(ConnectOptions {
        conf: conf.clone(),
        user: "admin".into(),
        keyring: Some(keyring.clone()),
        timeout: Duration::from_secs(30),
    })
    .await
    .context("cannot connect to the throwaway cluster")?;
    let fs_name = first_filesystem(&rados).await?;
    let fsid = rados.fsid().to_owned();

    // Both services in this process, on one socket.
    let controller = CephFsController::new(fsid.clone(), rados.clone());
    let node = CephFsNode::new(
        NodeConfig {
            node_id: "bench".into(),
            state_dir: a.work_dir.join("node-state"),
            creds: Credentials {
                conf: conf.clone(),
                user: "admin".into(),
                keyring: Some(keyring.clone()),
            },
            mounter: MounterKind::probe(),
        },
        rados.clone(),
    );
    let mounter = node.default_mounter();
    let endpoint = CsiEndpoint::parse(&format!("unix://{}/csi.sock", a.work_dir.display()))?;
    let listener = bind(&endpoint).await?;
    let routes = Routes::new(controller.into_server()).add_service(node.into_server());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener.serve(routes, async {
        let _ = stopped.await;
    }));
    let ctl = connect_controller(&endpoint).await?;
    let node = NodeClient::new(connect(&endpoint).await?);

    // Raw: fs subvolume create through librados, group `csi` made first.
    rados
        .mgr_command(&FsSubvolumeGroupCreate {
            vol_name: fs_name.clone(),
            group_name: "csi".into(),
        })
        .await?;
    let (n, c) = (a.volumes, a.concurrency);
    let raw = timed(n, c, {
        let (rados, fs) = (rados.clone(), fs_name.clone());
        move |i| {
            let (rados, fs) = (rados.clone(), fs.clone());
            async move {
                let cmd = FsSubvolumeCreate {
                    vol_name: fs,
                    sub_name: format!("raw-{i}"),
                    group_name: "csi".into(),
                    size: Some(GIB),
                    pool_layout: None,
                    mode: None,
                };
                rados.mgr_command(&cmd).await.map_err(Into::into)
            }
        }
    })
    .await?;
    report(text, "raw subvolume create", &raw);
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let create = timed(n, c, {
        let (ctl, fs, fsid, ids) = (ctl.clone(), fs_name.clone(), fsid.clone(), ids.clone());
        move |i| {
            let (mut ctl, fs, fsid, ids) = (ctl.clone(), fs.clone(), fsid.clone(), ids.clone());
            async move {
                let vol = ctl
                    .create_volume(create_request(&format!("pvc-{i}"), &fs, &fsid))
                    .await?
                    .into_inner()
                    .volume
                    .context("no volume")?;
                ids.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(vol.volume_id);
                Ok(())
            }
        }
    })
    .await?;
    report(text, "CreateVolume (gRPC)", &create);

    // fio: the filesystem root through the mounter, then a published volume.
    if text {
        println!(
            "fio: {} MiB of 4 MiB writes on the filesystem root ({mounter}) ...",
            a.fio_mib
        );
    }
    let root = a.work_dir.join("root");
    let root_bw = fio_on_root(&root, &conf, &keyring, &fs_name, a.fio_mib)?;
    if text {
        println!("fio: the same into a published volume ...");
    }
    let vol_bw = fio_on_volume(node, ctl.clone(), &a.work_dir, &fs_name, &fsid, a.fio_mib).await?;

    // Clean up: volumes through the controller, raw subvolumes directly.
    let mut ctl = ctl;
    let made = std::mem::take(&mut *ids.lock().unwrap_or_else(|p| p.into_inner()));
    for id in made {
        ctl.delete_volume(DeleteVolumeRequest {
            volume_id: id,
            ..Default::default()
        })
        .await?;
    }
    for i in 0..n {
        let rm = FsSubvolumeRm {
            vol_name: fs_name.clone(),
            sub_name: format!("raw-{i}"),
            group_name: "csi".into(),
            force: true,
        };
        rados.mgr_command(&rm).await?;
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(CephFsBenchResult {
        volumes: n,
        concurrency: c,
        create_p50_ratio: create.p50_ms / raw.p50_ms,
        raw_subvolume_create: raw,
        create_volume: create,
        create_target_ratio: CREATE_TARGET,
        mounter: mounter.to_string(),
        fio_root_mib_s: root_bw,
        fio_volume_mib_s: vol_bw,
        fio_ratio: vol_bw / root_bw,
        fio_target_ratio: FIO_TARGET,
    })
}

const GIB: u64 = 1 << 30;

async fn first_filesystem(rados: &Rados) -> anyhow::Result<String> {
    let dump = rados.mon_command(&rookery_ceph::commands::FsDump).await?;
    dump.filesystems
        .first()
        .map(|f| f.mdsmap.fs_name.clone())
        .context("the throwaway cluster has no filesystem")
}

fn rwx() -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode {
            mode: Mode::MultiNodeMultiWriter as i32,
        }),
        access_type: Some(AccessType::Mount(MountVolume::default())),
    }
}

fn create_request(name: &str, fs: &str, fsid: &str) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.to_owned(),
        capacity_range: Some(CapacityRange {
            required_bytes: GIB as i64,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![rwx()],
        parameters: HashMap::from([
            ("clusterID".to_owned(), fsid.to_owned()),
            ("fsName".to_owned(), fs.to_owned()),
        ]),
        ..Default::default()
    }
}

/// ceph-fuse on the filesystem root, fio into it, unmounted again.
fn fio_on_root(dir: &Path, conf: &Path, keyring: &Path, fs: &str, mib: u64) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let status = Command::new("ceph-fuse")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .args(["--id", "admin", "--keyring"])
        .arg(keyring)
        .arg(format!("--client_fs={fs}"))
        // No admin socket: the cluster's is taken by the admin client already.
        .arg("--admin_socket=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run ceph-fuse (install ceph-fuse)")?;
    if !status.success() {
        bail!("ceph-fuse on the filesystem root failed ({status})");
    }
    let result = fio(&dir.join("fio-root"), mib);
    let _ = Command::new("umount").arg(dir).status();
    result
}

async fn fio_on_volume(
    mut node: NodeClient<tonic::transport::Channel>,
    mut ctl: rookery_csi::rbd::ControllerClient,
    work: &Path,
    fs: &str,
    fsid: &str,
    mib: u64,
) -> anyhow::Result<f64> {
    let mut req = create_request("bench-fio", fs, fsid);
    req.capacity_range = Some(CapacityRange {
        required_bytes: (mib * MIB * 2) as i64,
        limit_bytes: 0,
    });
    let vol = ctl
        .create_volume(req)
        .await?
        .into_inner()
        .volume
        .context("no volume")?;
    let staging = work.join("staging");
    let target = work.join("target");
    node.node_stage_volume(NodeStageVolumeRequest {
        volume_id: vol.volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        volume_capability: Some(rwx()),
        volume_context: vol.volume_context.clone(),
        ..Default::default()
    })
    .await
    .context("NodeStageVolume")?;
    node.node_publish_volume(NodePublishVolumeRequest {
        volume_id: vol.volume_id.clone(),
        staging_target_path: staging.display().to_string(),
        target_path: target.display().to_string(),
        volume_capability: Some(rwx()),
        volume_context: vol.volume_context.clone(),
        ..Default::default()
    })
    .await
    .context("NodePublishVolume")?;
    let result = fio(&target.join("fio-volume"), mib);
    node.node_unpublish_volume(NodeUnpublishVolumeRequest {
        volume_id: vol.volume_id.clone(),
        target_path: target.display().to_string(),
    })
    .await?;
    node.node_unstage_volume(NodeUnstageVolumeRequest {
        volume_id: vol.volume_id.clone(),
        staging_target_path: staging.display().to_string(),
    })
    .await?;
    ctl.delete_volume(DeleteVolumeRequest {
        volume_id: vol.volume_id,
        ..Default::default()
    })
    .await?;
    result
}

/// fio 4 MiB sequential writes of `mib` MiB into `file`, buffered with an
/// fsync at the end (FUSE mounts need not take O_DIRECT); MiB/s.
fn fio(file: &Path, mib: u64) -> anyhow::Result<f64> {
    let out = Command::new("fio")
        .arg("--name=rookery-bench")
        .arg(format!("--filename={}", file.display()))
        .args(["--rw=write", "--bs=4M", "--ioengine=psync", "--end_fsync=1"])
        .arg(format!("--size={}M", mib))
        .arg("--output-format=json")
        .output()
        .context("cannot run fio (install fio)")?;
    if !out.status.success() {
        bail!(
            "fio failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("fio printed no JSON report")?;
    let bw = report["jobs"][0]["write"]["bw_bytes"]
        .as_f64()
        .context("no bw_bytes in fio's report")?;
    Ok(bw / MIB as f64)
}

fn print_table(r: &CephFsBenchResult) {
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!();
    println!("| figure | rookery | baseline, same run | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| CreateVolume p50 / p99, {} at {}-way | {:.1} / {:.1} ms | subvolume create {:.1} / {:.1} ms | {:.2}x | <= {:.1}x {} |",
        r.volumes,
        r.concurrency,
        r.create_volume.p50_ms,
        r.create_volume.p99_ms,
        r.raw_subvolume_create.p50_ms,
        r.raw_subvolume_create.p99_ms,
        r.create_p50_ratio,
        r.create_target_ratio,
        verdict(r.create_p50_ratio <= r.create_target_ratio)
    );
    println!(
        "| fio 4 MiB sequential write ({}) | {:.1} MiB/s | filesystem root {:.1} MiB/s | {:.2}x | >= {:.1}x {} |",
        r.mounter,
        r.fio_volume_mib_s,
        r.fio_root_mib_s,
        r.fio_ratio,
        r.fio_target_ratio,
        verdict(r.fio_ratio >= r.fio_target_ratio)
    );
}
