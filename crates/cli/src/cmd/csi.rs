//! `rookery csi`: a CSI plugin (ceph-csi's csi-rbdplugin / csi-cephfsplugin
//! roles) serving gRPC on a unix socket, connected to the cluster with its own
//! least-privilege cephx user.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use rookery_ceph::{commands::Status, ConnectOptions, Rados};
use rookery_csi::grpc::{serve, DriverKind, IdentityService, Routes};
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
}

pub fn run(args: CsiArgs) -> anyhow::Result<ExitCode> {
    if !args.controller && !args.node {
        anyhow::bail!("rookery csi: pass --controller, --node, or both");
    }
    let kind = match args.kind {
        CsiType::Rbd => DriverKind::Rbd,
        CsiType::Cephfs => DriverKind::CephFs,
    };
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
                    anyhow::bail!("the CephFS controller is not built yet; run --type rbd")
                }
            }
        }
        if args.node {
            tracing::warn!("the Node service is not built yet; serving Identity only");
        }
        tracing::info!(endpoint = %args.endpoint, driver = ?kind, "CSI plugin serving");
        serve(&args.endpoint, routes, shutdown_signal())
            .await
            .with_context(|| format!("CSI plugin on {}", args.endpoint))?;
        Ok(ExitCode::SUCCESS)
    })
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
