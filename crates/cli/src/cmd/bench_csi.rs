//! `rookery bench csi`: the RBD controller's CreateVolume/DeleteVolume over gRPC
//! against raw librbd (create, trash move) on the same pool of the same
//! throwaway cluster, sequential and at `--concurrency`, plus the background
//! trash purge DeleteVolume leaves behind, shown to complete.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rookery_ceph::rbd::{self, ImageOptions};
use rookery_ceph::{ConnectOptions, IoCtx, Rados};
use rookery_csi::grpc::proto::v1::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, VolumeCapability,
};
use rookery_csi::grpc::{bind, CsiEndpoint, Routes};
use rookery_csi::rbd::{connect_controller, ControllerClient, RbdController};
use serde::Serialize;

use super::bench_timing::{report, timed, Figures};
use crate::Output;

const GIB: u64 = 1 << 30;
const POOL: &str = "rbd";
/// What CreateVolume uses when the StorageClass names no `imageFeatures`.
const FEATURES: &str = "layering";
/// Targets: rookery / raw.
const CREATE_TARGET: f64 = 1.5;
const DELETE_TARGET: f64 = 1.5;

#[derive(clap::Args, Debug)]
pub struct CsiBenchArgs {
    /// Volumes (1 GiB each) per round.
    #[arg(long, default_value_t = 200)]
    volumes: usize,
    /// Concurrency of the second round (the first is sequential).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Size of each of the 3 OSD files in GiB.
    #[arg(long, default_value_t = 10)]
    size_gib: u64,
    /// Where the throwaway cluster lives (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-csi")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Serialize)]
struct Round {
    concurrency: usize,
    volumes: usize,
    raw_create: Figures,
    create_volume: Figures,
    raw_trash_move: Figures,
    /// Raw trash move with the purge (trash remove) started in the background
    /// right after each move, as DeleteVolume does; purges of earlier images
    /// compete with later moves.
    raw_trash_move_bg_purge: Figures,
    raw_bg_purge_wait_secs: f64,
    delete_volume: Figures,
    /// rookery / raw.
    create_p50_ratio: f64,
    create_wall_ratio: f64,
    delete_p50_ratio: f64,
    delete_wall_ratio: f64,
    /// DeleteVolume / raw trash move with background purge.
    delete_p50_ratio_bg_purge: f64,
    /// From the last DeleteVolume reply until every background purge finished.
    purge_wait_secs: f64,
    purges: usize,
    purge_failures: usize,
    /// Raw `trash remove` of the raw images at the same concurrency (context).
    raw_trash_remove_wall_secs: f64,
}

#[derive(Debug, Serialize)]
struct CsiBenchResult {
    pool: String,
    osds: u32,
    image_features: String,
    rounds: Vec<Round>,
    create_target_ratio: f64,
    delete_target_ratio: f64,
}

pub fn run(a: CsiBenchArgs) -> anyhow::Result<ExitCode> {
    if a.volumes == 0 || a.concurrency == 0 {
        bail!("--volumes and --concurrency must be at least 1");
    }
    let text = a.output == Output::Text;
    if text {
        println!(
            "throwaway cluster: 3 OSDs ({} GiB files), pool '{POOL}' size 3, modules off",
            a.size_gib
        );
    }
    let result = super::bench::on_throwaway_cluster(
        &a.work_dir,
        super::bench::block_cluster("bench-csi", a.size_gib),
        |dir| super::bench::block_on(bench(&a, dir, text)),
    )?;
    super::bench::report(a.output, &result, print_table)
}

async fn bench(a: &CsiBenchArgs, dir: &Path, text: bool) -> anyhow::Result<CsiBenchResult> {
    let rados = Rados::connect(ConnectOptions {
        conf: dir.join("ceph.conf"),
        user: "admin".into(),
        keyring: Some(dir.join("ceph.client.admin.keyring")),
        timeout: Duration::from_secs(30),
    })
    .await
    .context("cannot connect to the throwaway cluster")?;
    let io = rados.ioctx(POOL, None).await?;
    let ctl = RbdController::new(rados.fsid().to_owned(), rados.clone());

    let endpoint = CsiEndpoint::parse(&format!("unix://{}/csi.sock", a.work_dir.display()))?;
    let listener = bind(&endpoint).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        listener.serve(Routes::new(ctl.clone().into_server()), async {
            let _ = stopped.await;
        }),
    );
    let client = connect_controller(&endpoint).await?;

    warm_up(&rados, &io, &ctl, &client)
        .await
        .context("warm-up")?;

    let mut concurrencies = vec![1];
    if a.concurrency > 1 {
        concurrencies.push(a.concurrency);
    }
    let mut rounds = Vec::new();
    let mut failure = None;
    for c in concurrencies {
        if text {
            println!("round: {} volumes at concurrency {c}", a.volumes);
        }
        match round(&rados, &io, &ctl, &client, a.volumes, c, text).await {
            Ok(r) => rounds.push(r),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    ctl.wait_for_purges().await;
    let _ = stop.send(());
    let _ = server.await;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(CsiBenchResult {
        pool: POOL.into(),
        osds: 3,
        image_features: FEATURES.into(),
        rounds,
        create_target_ratio: CREATE_TARGET,
        delete_target_ratio: DELETE_TARGET,
    })
}

async fn round(
    rados: &Rados,
    io: &IoCtx,
    ctl: &RbdController,
    client: &ControllerClient,
    n: usize,
    c: usize,
    text: bool,
) -> anyhow::Result<Round> {
    let opts = ImageOptions {
        features: Some(rbd::parse_features(FEATURES)?),
        ..Default::default()
    };
    let raw_names: Arc<Vec<String>> =
        Arc::new((0..n).map(|i| format!("bench-raw-c{c}-{i}")).collect());

    // (a) raw librbd create; a second set (untimed) for the trash-move-with-purge baseline.
    let raw_create = timed(n, c, {
        let (io, names, opts) = (io.clone(), raw_names.clone(), opts.clone());
        move |i| {
            let (io, names, opts) = (io.clone(), names.clone(), opts.clone());
            async move {
                rbd::create(&io, &names[i], GIB, &opts)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }
    })
    .await
    .context("raw librbd create")?;
    report(text, "raw librbd create", &raw_create);
    let bg_names: Arc<Vec<String>> =
        Arc::new((0..n).map(|i| format!("bench-bg-c{c}-{i}")).collect());
    let bg_ids: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    timed(n, c, {
        let (io, names, ids) = (io.clone(), bg_names.clone(), bg_ids.clone());
        move |i| {
            let (io, names, ids, opts) = (io.clone(), names.clone(), ids.clone(), opts.clone());
            async move {
                rbd::create(&io, &names[i], GIB, &opts).await?;
                let id = rbd::image_id(&io, &names[i]).await?;
                ids.lock().unwrap_or_else(|p| p.into_inner())[i] = id;
                Ok(())
            }
        }
    })
    .await
    .context("raw librbd create (second set)")?;

    // (b) CreateVolume over gRPC.
    let ids: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let create_volume = timed(n, c, {
        let (client, ids, rados) = (client.clone(), ids.clone(), rados.clone());
        move |i| {
            let (mut client, ids) = (client.clone(), ids.clone());
            let req = create_request(&rados, &format!("pvc-bench-c{c}-{i}"));
            async move {
                let reply = client
                    .create_volume(req)
                    .await
                    .map_err(|s| anyhow::anyhow!("CreateVolume: {s}"))?
                    .into_inner();
                let id = reply.volume.context("CreateVolume: no volume")?.volume_id;
                ids.lock().unwrap_or_else(|p| p.into_inner())[i] = id;
                Ok(())
            }
        }
    })
    .await?;
    report(text, "CreateVolume (gRPC)", &create_volume);

    // (c) raw trash move.
    let raw_trash_move = timed(n, c, {
        let (io, names) = (io.clone(), raw_names.clone());
        move |i| {
            let (io, names) = (io.clone(), names.clone());
            async move {
                rbd::trash_move(&io, &names[i], 0)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }
    })
    .await
    .context("raw trash move")?;
    report(text, "raw trash move", &raw_trash_move);

    // (c') raw trash move, each followed by a background trash remove.
    let bg_ids: Arc<Vec<String>> = Arc::new(std::mem::take(
        &mut *bg_ids.lock().unwrap_or_else(|p| p.into_inner()),
    ));
    type Purge = tokio::task::JoinHandle<rookery_ceph::Result<()>>;
    let bg_purges: Arc<std::sync::Mutex<Vec<Purge>>> = Arc::default();
    let raw_trash_move_bg_purge = timed(n, c, {
        let (io, names, ids, purges) = (
            io.clone(),
            bg_names.clone(),
            bg_ids.clone(),
            bg_purges.clone(),
        );
        move |i| {
            let (io, names, ids, purges) = (io.clone(), names.clone(), ids.clone(), purges.clone());
            async move {
                rbd::trash_move(&io, &names[i], 0).await?;
                let purge =
                    tokio::spawn(async move { rbd::trash_remove(&io, &ids[i], true).await });
                purges.lock().unwrap_or_else(|p| p.into_inner()).push(purge);
                Ok(())
            }
        }
    })
    .await
    .context("raw trash move with background purge")?;
    report(text, "raw move + bg purge", &raw_trash_move_bg_purge);
    let started = Instant::now();
    let purges = std::mem::take(&mut *bg_purges.lock().unwrap_or_else(|p| p.into_inner()));
    for p in purges {
        p.await?.context("raw background trash remove")?;
    }
    let raw_bg_purge_wait_secs = started.elapsed().as_secs_f64();
    if text {
        println!("  raw background purge: done {raw_bg_purge_wait_secs:.2}s after the last move");
    }

    // (d) DeleteVolume over gRPC; the purge runs in the background.
    let ids: Arc<Vec<String>> = Arc::new(std::mem::take(
        &mut *ids.lock().unwrap_or_else(|p| p.into_inner()),
    ));
    let delete_volume = timed(n, c, {
        let (client, ids) = (client.clone(), ids.clone());
        move |i| {
            let (mut client, ids) = (client.clone(), ids.clone());
            async move {
                client
                    .delete_volume(DeleteVolumeRequest {
                        volume_id: ids[i].clone(),
                        ..Default::default()
                    })
                    .await
                    .map_err(|s| anyhow::anyhow!("DeleteVolume: {s}"))?;
                Ok(())
            }
        }
    })
    .await?;
    report(text, "DeleteVolume (gRPC)", &delete_volume);

    let started = Instant::now();
    let outcomes = ctl.wait_for_purges().await;
    let purge_wait_secs = started.elapsed().as_secs_f64();
    let purge_failures = outcomes.iter().filter(|o| o.error.is_some()).count();
    if text {
        println!(
            "  background purge: {} done ({} failed) {purge_wait_secs:.2}s after the last reply",
            outcomes.len(),
            purge_failures
        );
    }

    // Clean the raw images from the trash (at the same concurrency, for context).
    let trash: Vec<String> = rbd::trash_list(io)
        .await?
        .into_iter()
        .filter(|s| s.name.starts_with(&format!("bench-raw-c{c}-")))
        .map(|s| s.id)
        .collect();
    let trash = Arc::new(trash);
    let removed = timed(trash.len(), c, {
        let (io, trash) = (io.clone(), trash.clone());
        move |i| {
            let (io, trash) = (io.clone(), trash.clone());
            async move {
                rbd::trash_remove(&io, &trash[i], true)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }
    })
    .await
    .context("raw trash remove")?;
    if text {
        println!(
            "  raw trash remove of {} images: {:.2}s",
            trash.len(),
            removed.wall_secs
        );
    }
    let left = rbd::list(io).await?.len() + rbd::trash_list(io).await?.len();
    if left != 0 {
        bail!("{left} images or trash entries left in pool '{POOL}' after the round");
    }

    Ok(Round {
        concurrency: c,
        volumes: n,
        create_p50_ratio: create_volume.p50_ms / raw_create.p50_ms,
        create_wall_ratio: create_volume.wall_secs / raw_create.wall_secs,
        delete_p50_ratio: delete_volume.p50_ms / raw_trash_move.p50_ms,
        delete_wall_ratio: delete_volume.wall_secs / raw_trash_move.wall_secs,
        delete_p50_ratio_bg_purge: delete_volume.p50_ms / raw_trash_move_bg_purge.p50_ms,
        raw_trash_move_bg_purge,
        raw_bg_purge_wait_secs,
        raw_create,
        create_volume,
        raw_trash_move,
        delete_volume,
        purge_wait_secs,
        purges: outcomes.len(),
        purge_failures,
        raw_trash_remove_wall_secs: removed.wall_secs,
    })
}

/// One raw create + remove and one CreateVolume + DeleteVolume + purge, untimed,
/// so the first timed operation does not pay for a fresh pool's first writes.
async fn warm_up(
    rados: &Rados,
    io: &IoCtx,
    ctl: &RbdController,
    client: &ControllerClient,
) -> anyhow::Result<()> {
    rbd::create(io, "bench-warm-up", GIB, &ImageOptions::default()).await?;
    rbd::remove(io, "bench-warm-up").await?;
    let mut client = client.clone();
    let vol = client
        .create_volume(create_request(rados, "pvc-bench-warm-up"))
        .await
        .map_err(|s| anyhow::anyhow!("CreateVolume: {s}"))?
        .into_inner()
        .volume
        .context("CreateVolume: no volume")?;
    client
        .delete_volume(DeleteVolumeRequest {
            volume_id: vol.volume_id,
            ..Default::default()
        })
        .await
        .map_err(|s| anyhow::anyhow!("DeleteVolume: {s}"))?;
    ctl.wait_for_purges().await;
    Ok(())
}

fn create_request(rados: &Rados, name: &str) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.to_owned(),
        capacity_range: Some(CapacityRange {
            required_bytes: GIB as i64,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![VolumeCapability {
            access_mode: Some(AccessMode {
                mode: Mode::SingleNodeWriter as i32,
            }),
            access_type: Some(AccessType::Mount(MountVolume {
                fs_type: "ext4".into(),
                ..Default::default()
            })),
        }],
        parameters: HashMap::from([
            ("clusterID".to_owned(), rados.fsid().to_owned()),
            ("pool".to_owned(), POOL.to_owned()),
        ]),
        ..Default::default()
    }
}

fn print_table(r: &CsiBenchResult) {
    println!();
    println!(
        "| operation | concurrency | rookery p50 / p99 | raw p50 / p99 | p50 ratio | rookery wall | raw wall | wall ratio | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for round in &r.rounds {
        let row = |op: &str, ours: &Figures, raw: &Figures, p50: f64, wall: f64, target: String| {
            println!(
                "| {op} | {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {p50:.2}x | {:.2} s | {:.2} s | {wall:.2}x | {target} |",
                round.concurrency,
                ours.p50_ms,
                ours.p99_ms,
                raw.p50_ms,
                raw.p99_ms,
                ours.wall_secs,
                raw.wall_secs,
            )
        };
        row(
            "CreateVolume vs librbd create",
            &round.create_volume,
            &round.raw_create,
            round.create_p50_ratio,
            round.create_wall_ratio,
            format!(
                "p50, wall <= {CREATE_TARGET}x: {}",
                verdict(
                    round.create_p50_ratio <= CREATE_TARGET
                        && round.create_wall_ratio <= CREATE_TARGET
                )
            ),
        );
        row(
            "DeleteVolume vs trash move",
            &round.delete_volume,
            &round.raw_trash_move,
            round.delete_p50_ratio,
            round.delete_wall_ratio,
            format!(
                "p50 <= {DELETE_TARGET}x: {}",
                verdict(round.delete_p50_ratio <= DELETE_TARGET)
            ),
        );
        row(
            "DeleteVolume vs trash move + bg purge",
            &round.delete_volume,
            &round.raw_trash_move_bg_purge,
            round.delete_p50_ratio_bg_purge,
            round.delete_volume.wall_secs / round.raw_trash_move_bg_purge.wall_secs,
            "(context)".into(),
        );
    }
    println!();
    for round in &r.rounds {
        println!(
            "background purge at concurrency {}: {} of {} trash entries removed ({} failed), \
             done {:.2} s after the last DeleteVolume reply (raw: background purge done {:.2} s \
             after the last move; trash remove of the plain-moved images {:.2} s)",
            round.concurrency,
            round.purges - round.purge_failures,
            round.volumes,
            round.purge_failures,
            round.purge_wait_secs,
            round.raw_bg_purge_wait_secs,
            round.raw_trash_remove_wall_secs
        );
    }
    println!();
    println!("context (issue #3, another cluster of the same kind, not measured in this run):");
    println!("  raw librbd create p50 ~7.6 ms sequential, ~65 ms at 16-way (200 in ~0.85 s)");
    println!(
        "  ceph-csi v3.8.1 CreateVolume ~33 ms sequential, 220-350 ms at 16-way (200 in ~2.9 s)"
    );
    println!("  ceph-csi v3.8.1 DeleteVolume ~164 ms sequential, ~700 ms at 16-way");
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
