//! `rookery csi`: a CSI plugin (ceph-csi's csi-rbdplugin / csi-cephfsplugin
//! roles) serving gRPC on a unix socket, connected to the cluster with its own
//! least-privilege cephx user.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use rookery_ceph::{commands::Status, ConnectOptions, Rados};
use rookery_csi::cephfs::node::{CephFsNode, MounterKind, NodeConfig as CephFsNodeConfig};
use rookery_csi::cephfs::CephFsController;
use rookery_csi::grpc::{bind, CsiEndpoint, DriverKind, IdentityService, Routes};
use rookery_csi::metrics::{parse_address, MetricsEndpoint};
use rookery_csi::rbd::node::{Credentials, MapperKind, NodeConfig, RbdNode};
use rookery_csi::rbd::RbdController;

use crate::runtime;

/// Which driver to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CsiType {
    Rbd,
    Cephfs,
}

#[derive(clap::Args, Debug)]
pub struct CsiArgs {
    /// Driver type.
    #[arg(long = "type", value_enum)]
    kind: CsiType,
    /// gRPC endpoint: unix:///path/csi.sock (or a loopback tcp:// address).
    #[arg(long)]
    endpoint: String,
    /// Serve the Controller service (provisioner role).
    #[arg(long)]
    controller: bool,
    /// Serve the Node service (node plugin role).
    #[arg(long)]
    node: bool,
    /// Driver name (default: ceph-csi's, rbd.csi.ceph.com / cephfs.csi.ceph.com).
    #[arg(long)]
    drivername: Option<String>,
    /// ceph.conf of the cluster.
    #[arg(long, env = "CEPH_CONF")]
    conf: PathBuf,
    /// cephx user id (without `client.`).
    #[arg(long, default_value = "admin")]
    user: String,
    /// Keyring of that user.
    #[arg(long)]
    keyring: Option<PathBuf>,
    /// Serve Prometheus metrics (/metrics) and liveness (/healthz) on this
    /// loopback address, e.g. 127.0.0.1:9080. Off when absent.
    #[arg(long)]
    metrics_address: Option<String>,
    /// Seconds between the liveness self-probes (Identity/Probe over the
    /// plugin's own endpoint) behind csi_liveness and /healthz.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    liveness_interval: u64,
    /// Node role: this node's name (NodeGetInfo). Default: the host name.
    #[arg(long)]
    nodeid: Option<String>,
    /// Node role: where the plugin keeps its state (FUSE mount points, stage
    /// records). Default: /var/lib/rookery/csi-rbd-node or
    /// /var/lib/rookery/csi-cephfs-node.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Node role: how images become block devices: auto (krbd if the kernel
    /// has the rbd module, else rbd-fuse), krbd, or rbd-fuse. A volume's
    /// `mounter` parameter overrides it.
    #[arg(long, default_value = "auto")]
    mapper: String,
    /// Node role, CephFS: how volumes are mounted: auto (the kernel client if
    /// the kernel has the ceph filesystem, else ceph-fuse), kernel, or fuse. A
    /// volume's `mounter` parameter overrides it.
    #[arg(long, default_value = "auto")]
    mounter: String,
}

impl CsiArgs {
    /// --state-dir, or the driver's default.
    fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| {
            PathBuf::from(match self.kind {
                CsiType::Rbd => "/var/lib/rookery/csi-rbd-node",
                CsiType::Cephfs => "/var/lib/rookery/csi-cephfs-node",
            })
        })
    }

    /// --nodeid, or the host name.
    fn node_id(&self) -> anyhow::Result<String> {
        match &self.nodeid {
            Some(id) => Ok(id.clone()),
            None => Ok(nix::unistd::gethostname()
                .context("cannot read the host name; pass --nodeid")?
                .to_string_lossy()
                .into_owned()),
        }
    }
}

/// The Node service of the RBD driver, as `args` configure it.
fn rbd_node(args: &CsiArgs, rados: &Rados) -> anyhow::Result<RbdNode> {
    let mapper = match args.mapper.as_str() {
        "auto" => MapperKind::probe(),
        other => other
            .parse::<MapperKind>()
            .map_err(|e| anyhow::anyhow!("--mapper: {e}"))?,
    };
    let node_id = args.node_id()?;
    let state_dir = args.state_dir();
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create --state-dir {}", state_dir.display()))?;
    tracing::info!(%mapper, node_id, "RBD node service: images map with {mapper}");
    // Said where people (and `rookery status`) can read it.
    let mapper_file = state_dir.join(rookery_runtime_local::csi::MAPPER_FILE);
    std::fs::write(&mapper_file, format!("{mapper}\n"))
        .with_context(|| format!("cannot write {}", mapper_file.display()))?;
    let config = NodeConfig {
        node_id,
        state_dir,
        creds: Credentials {
            conf: args.conf.clone(),
            user: args.user.clone(),
            keyring: args.keyring.clone(),
        },
        mapper,
    };
    Ok(RbdNode::new(config, rados.clone()))
}

/// The Node service of the CephFS driver, as `args` configure it.
fn cephfs_node(args: &CsiArgs, rados: &Rados) -> anyhow::Result<CephFsNode> {
    let mounter = match args.mounter.as_str() {
        "auto" => MounterKind::probe(),
        other => other
            .parse::<MounterKind>()
            .map_err(|e| anyhow::anyhow!("--mounter: {e}"))?,
    };
    let node_id = args.node_id()?;
    let state_dir = args.state_dir();
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create --state-dir {}", state_dir.display()))?;
    tracing::info!(%mounter, node_id, "CephFS node service: volumes mount with {mounter}");
    // Said where people (and `rookery status`) can read it.
    let mounter_file = state_dir.join(rookery_csi::cephfs::node::MOUNTER_FILE);
    std::fs::write(&mounter_file, format!("{mounter}\n"))
        .with_context(|| format!("cannot write {}", mounter_file.display()))?;
    let config = CephFsNodeConfig {
        node_id,
        state_dir,
        creds: Credentials {
            conf: args.conf.clone(),
            user: args.user.clone(),
            keyring: args.keyring.clone(),
        },
        mounter,
    };
    Ok(CephFsNode::new(config, rados.clone()))
}

pub fn run(args: CsiArgs) -> anyhow::Result<ExitCode> {
    if !args.controller && !args.node {
        anyhow::bail!("rookery csi: pass --controller, --node, or both");
    }
    let kind = match args.kind {
        CsiType::Rbd => DriverKind::Rbd,
        CsiType::Cephfs => DriverKind::CephFs,
    };
    // A bad flag fails before the cluster is contacted.
    let metrics_address = args
        .metrics_address
        .as_deref()
        .map(parse_address)
        .transpose()?;
    runtime()?.block_on(async move {
        let rados = Rados::connect(ConnectOptions {
            conf: args.conf.clone(),
            user: args.user.clone(),
            keyring: args.keyring.clone(),
            timeout: Duration::from_secs(10),
        })
        .await
        .with_context(|| format!("CSI plugin cannot connect as client.{}", args.user))?;
        let mut identity = match &args.drivername {
            Some(name) => IdentityService::new(name.clone())?,
            None => IdentityService::for_driver(kind),
        };
        if !args.controller {
            identity = identity.node_only();
        }
        // Ready while the mons answer for this plugin's user.
        let probe = rados.clone();
        let identity = identity.with_readiness(move || {
            let rados = probe.clone();
            async move { rados.mon_command(&Status).await.map(|_| ()) }
        });
        let mut routes = Routes::new(identity.into_server());
        if args.controller {
            match kind {
                DriverKind::Rbd => {
                    // The cluster id of volume IDs is the fsid, as with ceph-csi.
                    let controller = RbdController::new(rados.fsid().to_string(), rados.clone());
                    routes = routes.add_service(controller.into_server());
                }
                DriverKind::CephFs => {
                    let controller = CephFsController::new(rados.fsid().to_string(), rados.clone());
                    routes = routes.add_service(controller.into_server());
                }
            }
        }
        if args.node {
            match kind {
                DriverKind::Rbd => {
                    routes = routes.add_service(rbd_node(&args, &rados)?.into_server())
                }
                DriverKind::CephFs => {
                    routes = routes.add_service(cephfs_node(&args, &rados)?.into_server())
                }
            }
        }
        tracing::info!(endpoint = %args.endpoint, driver = ?kind, "CSI plugin serving");
        let interval = Duration::from_secs(args.liveness_interval);
        serve_plugin(&args.endpoint, routes, metrics_address, interval)
            .await
            .with_context(|| format!("CSI plugin on {}", args.endpoint))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Binds the CSI endpoint, starts the metrics endpoint and liveness prober
/// beside it when asked, and serves until SIGTERM or SIGINT.
async fn serve_plugin(
    endpoint: &str,
    routes: Routes,
    metrics_address: Option<std::net::SocketAddr>,
    probe_interval: Duration,
) -> anyhow::Result<()> {
    let mut listener = bind(&CsiEndpoint::parse(endpoint)?).await?;
    // Held while serving: dropping it stops the HTTP endpoint and the prober.
    let _metrics = match metrics_address {
        Some(addr) => {
            let m = MetricsEndpoint::start(addr, listener.endpoint(), probe_interval).await?;
            tracing::info!(url = %m.url(), "CSI plugin metrics serving");
            listener = listener.with_metrics(m.metrics().rpc());
            Some(m)
        }
        None => None,
    };
    listener.serve(routes, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
