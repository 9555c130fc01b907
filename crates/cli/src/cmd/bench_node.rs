//! `rookery bench node`: write throughput of a volume staged by the node
//! plugin the local runtime runs (the mapper it chose: krbd, or rbd-fuse + a
//! loop device), measured with fio, against `rbd bench` on a fresh image of
//! the same size in the same pool of the same throwaway cluster.
//!
//! Two workloads, as the issue names them: 4 MiB sequential writes and 4 KiB
//! random writes, both at queue depth 16 (fio libaio + O_DIRECT on the staged
//! raw block device; `rbd bench --io-threads 16`). Every run writes a fresh
//! image, so both sides pay for allocating RADOS objects alike.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_capability::{AccessMode, AccessType, BlockVolume};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, NodeStageVolumeRequest,
    NodeUnstageVolumeRequest, VolumeCapability,
};
use rookery_csi::grpc::{connect, CsiEndpoint};
use rookery_csi::rbd::connect_controller;
use rookery_runtime_local::{csi, Layout};
use serde::Serialize;

use crate::Output;

const MIB: u64 = 1 << 20;
const POOL: &str = "rbd";
/// Target: rookery / rbd bench.
const TARGET: f64 = 0.9;
const QUEUE_DEPTH: u32 = 16;

#[derive(clap::Args, Debug)]
pub struct NodeBenchArgs {
    /// Size of the volume and of the baseline image, in MiB.
    #[arg(long, default_value_t = 2048)]
    size_mib: u64,
    /// MiB written by the 4 MiB sequential run.
    #[arg(long, default_value_t = 1024)]
    seq_mib: u64,
    /// MiB written by the 4 KiB random run.
    #[arg(long, default_value_t = 64)]
    rand_mib: u64,
    /// Size of each of the 3 OSD files in GiB.
    #[arg(long, default_value_t = 10)]
    size_gib: u64,
    /// Where the throwaway cluster lives (deleted afterwards).
    #[arg(long, default_value = "/var/tmp/rookery-bench-node")]
    work_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// One workload, both sides.
#[derive(Debug, Serialize)]
struct Workload {
    name: &'static str,
    io_size: u64,
    bytes: u64,
    rbd_bench_mib_s: f64,
    rbd_bench_iops: f64,
    fio_mib_s: f64,
    fio_iops: f64,
    /// fio / rbd bench (throughput).
    ratio: f64,
    /// `rbd bench --rbd_cache=false`: librbd as the FUSE image server runs it
    /// (rbd bench's default cache acknowledges writes before the OSDs have
    /// them, as it never flushes).
    rbd_bench_nocache_mib_s: f64,
    /// fio / rbd bench without librbd's cache.
    ratio_nocache: f64,
}

#[derive(Debug, Serialize)]
struct NodeBenchResult {
    mapper: String,
    volume_mib: u64,
    queue_depth: u32,
    workloads: Vec<Workload>,
    target_ratio: f64,
}

pub fn run(a: NodeBenchArgs) -> anyhow::Result<ExitCode> {
    for tool in ["fio", "rbd"] {
        if Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            bail!("`{tool}` is not installed; run scripts/install-deps");
        }
    }
    if a.seq_mib > a.size_mib || a.rand_mib > a.size_mib {
        bail!("--seq-mib and --rand-mib must not exceed --size-mib");
    }
    let text = a.output == Output::Text;
    if text {
        println!(
            "throwaway cluster: 3 OSDs ({} GiB files), pool '{POOL}' size 3; volume {} MiB, queue depth {QUEUE_DEPTH}",
            a.size_gib, a.size_mib
        );
    }
    let result = super::bench::on_throwaway_cluster(
        &a.work_dir,
        super::bench::block_cluster("bench-node", a.size_gib),
        |dir| super::bench::block_on(bench(&a, dir, text)),
    )?;
    super::bench::report(a.output, &result, print_table)
}

async fn bench(a: &NodeBenchArgs, dir: &Path, text: bool) -> anyhow::Result<NodeBenchResult> {
    let layout = Layout::new(dir.to_owned());
    let fsid = std::fs::read_to_string(layout.fsid())?.trim().to_owned();
    let mut ctl = connect_controller(&CsiEndpoint::parse(&csi::rbd_endpoint(&layout))?).await?;
    let node_endpoint = CsiEndpoint::parse(&csi::rbd_node_endpoint(&layout))?;
    let mut node = NodeClient::new(connect(&node_endpoint).await?);
    let mapper = csi::rbd_node_mapper(&layout).unwrap_or_else(|| "unknown".into());
    let staging = a.work_dir.join("staging");
    let workloads = [
        ("4 MiB sequential write", 4 * MIB, "write", "seq", a.seq_mib),
        ("4 KiB random write", 4096, "randwrite", "rand", a.rand_mib),
    ];
    let mut results = Vec::new();
    for (i, (name, io_size, fio_rw, pattern, mib)) in workloads.into_iter().enumerate() {
        let bytes = mib * MIB;
        if text {
            println!("{name}: rbd bench on a fresh {} MiB image ...", a.size_mib);
        }
        let image = format!("bench-baseline-{i}");
        let (base_ops, base_secs) =
            rbd_bench(dir, &image, a.size_mib, io_size, pattern, bytes, true)?;
        let (_, nocache_secs) = rbd_bench(dir, &image, a.size_mib, io_size, pattern, bytes, false)?;
        if text {
            println!("{name}: fio on a fresh staged volume ({mapper}) ...");
        }
        let vol = ctl
            .create_volume(CreateVolumeRequest {
                name: format!("bench-node-{i}"),
                capacity_range: Some(CapacityRange {
                    required_bytes: i64::try_from(a.size_mib * MIB)?,
                    limit_bytes: 0,
                }),
                volume_capabilities: vec![block()],
                parameters: HashMap::from([
                    ("clusterID".into(), fsid.clone()),
                    ("pool".into(), POOL.into()),
                ]),
                ..Default::default()
            })
            .await?
            .into_inner()
            .volume
            .context("no volume")?;
        let stage = staging.join(format!("v{i}"));
        node.node_stage_volume(NodeStageVolumeRequest {
            volume_id: vol.volume_id.clone(),
            staging_target_path: stage.display().to_string(),
            volume_capability: Some(block()),
            volume_context: vol.volume_context.clone(),
            ..Default::default()
        })
        .await
        .context("NodeStageVolume")?;
        let device = stage.join(&vol.volume_id);
        let fio = fio(&device, fio_rw, io_size, bytes);
        node.node_unstage_volume(NodeUnstageVolumeRequest {
            volume_id: vol.volume_id.clone(),
            staging_target_path: stage.display().to_string(),
        })
        .await
        .context("NodeUnstageVolume")?;
        ctl.delete_volume(DeleteVolumeRequest {
            volume_id: vol.volume_id,
            ..Default::default()
        })
        .await?;
        let (fio_bw, fio_iops) = fio?;
        let base_bw = bytes as f64 / base_secs;
        let nocache_bw = bytes as f64 / nocache_secs;
        results.push(Workload {
            name,
            io_size,
            bytes,
            rbd_bench_mib_s: base_bw / MIB as f64,
            rbd_bench_iops: base_ops as f64 / base_secs,
            fio_mib_s: fio_bw / MIB as f64,
            fio_iops,
            ratio: fio_bw / base_bw,
            rbd_bench_nocache_mib_s: nocache_bw / MIB as f64,
            ratio_nocache: fio_bw / nocache_bw,
        });
    }
    Ok(NodeBenchResult {
        mapper,
        volume_mib: a.size_mib,
        queue_depth: QUEUE_DEPTH,
        workloads: results,
        target_ratio: TARGET,
    })
}

fn block() -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
        access_type: Some(AccessType::Block(BlockVolume {})),
    }
}

/// `rbd bench` writing `bytes` to a fresh image, with librbd's cache as
/// configured (on) or off; returns (ops, seconds), timed here around the
/// whole run as fio's figure is.
fn rbd_bench(
    dir: &Path,
    image: &str,
    size_mib: u64,
    io_size: u64,
    pattern: &str,
    bytes: u64,
    cache: bool,
) -> anyhow::Result<(u64, f64)> {
    let conf = dir.join("ceph.conf");
    let rbd = |args: &[String]| -> anyhow::Result<()> {
        let out = Command::new("rbd")
            .arg("--conf")
            .arg(&conf)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "rbd {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    let spec = format!("{POOL}/{image}");
    rbd(&[
        "create".into(),
        "--size".into(),
        format!("{size_mib}M"),
        spec.clone(),
    ])?;
    let started = std::time::Instant::now();
    rbd(&[
        "bench".into(),
        "--io-type".into(),
        "write".into(),
        "--io-size".into(),
        io_size.to_string(),
        "--io-pattern".into(),
        pattern.into(),
        "--io-threads".into(),
        QUEUE_DEPTH.to_string(),
        "--io-total".into(),
        bytes.to_string(),
        format!("--rbd_cache={cache}"),
        spec.clone(),
    ])?;
    let secs = started.elapsed().as_secs_f64();
    rbd(&["rm".into(), "--no-progress".into(), spec])?;
    Ok((bytes / io_size, secs))
}

/// fio on `device`: (bytes/s, IOPS) from its JSON report.
fn fio(device: &Path, rw: &str, io_size: u64, bytes: u64) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("fio")
        .arg("--name=rookery-bench")
        .arg(format!("--filename={}", device.display()))
        .arg(format!("--rw={rw}"))
        .arg(format!("--bs={io_size}"))
        .arg(format!("--iodepth={QUEUE_DEPTH}"))
        .arg(format!("--io_size={bytes}"))
        .args([
            "--ioengine=libaio",
            "--direct=1",
            "--randrepeat=0",
            "--output-format=json",
        ])
        .output()?;
    if !out.status.success() {
        bail!(
            "fio failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("fio printed no JSON report")?;
    let write = &report["jobs"][0]["write"];
    let bw = write["bw_bytes"]
        .as_f64()
        .context("no bw_bytes in fio's report")?;
    let iops = write["iops"].as_f64().unwrap_or(0.0);
    Ok((bw, iops))
}

fn print_table(r: &NodeBenchResult) {
    println!();
    println!(
        "{:<24} {:>14} {:>10} {:>14} {:>10} {:>7}",
        "workload (qd 16)", "rbd bench MiB/s", "IOPS", "fio MiB/s", "IOPS", "ratio"
    );
    for w in &r.workloads {
        let verdict = if w.ratio >= r.target_ratio {
            "ok"
        } else {
            "BELOW"
        };
        println!(
            "{:<24} {:>14.1} {:>10.0} {:>14.1} {:>10.0} {:>6.2}x {verdict}",
            w.name, w.rbd_bench_mib_s, w.rbd_bench_iops, w.fio_mib_s, w.fio_iops, w.ratio
        );
    }
    for w in &r.workloads {
        println!(
            "{:<24} rbd bench with librbd's cache off: {:.1} MiB/s, fio {:.2}x of that",
            w.name, w.rbd_bench_nocache_mib_s, w.ratio_nocache
        );
    }
    println!(
        "mapper: {}; target: fio >= {:.1}x rbd bench on an image of the same size",
        r.mapper, r.target_ratio
    );
}
