//! Managers and their modules: keys from the mons, module addresses bound to
//! loopback, the dashboard's certificate and admin user.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rookery_core::DesiredCluster;

use crate::ceph_ops::Admin;
use crate::config::ADDR;
use crate::error::{Error, IoContext, Result};
use crate::keys::{generate_password, render_keyring, KeyringEntry};
use crate::layout::{write_atomic, Layout};
use crate::progress::Progress;

/// Caps of a mgr, as Ceph's own deployment tools grant them.
pub const MGR_CAPS: [(&str, &str); 3] = [
    ("mon", "allow profile mgr"),
    ("osd", "allow *"),
    ("mds", "allow *"),
];

/// The mgrs that have a keyring.
pub fn existing(layout: &Layout) -> BTreeSet<String> {
    std::fs::read_dir(layout.mgrs_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("keyring").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Gets (or creates) mgr `id`'s key from the mons and writes its keyring.
pub async fn create(layout: &Layout, admin: &Admin, id: &str) -> Result<()> {
    let entity = format!("mgr.{id}");
    let key = admin.auth_get_or_create(&entity, &MGR_CAPS).await?;
    let dir = layout.mgr_dir(id);
    std::fs::create_dir_all(&dir).ctx("cannot create", &dir)?;
    let text = render_keyring(&[KeyringEntry {
        entity,
        key,
        caps: vec![],
    }]);
    write_atomic(&dir.join("keyring"), text.as_bytes(), 0o600)
        .ctx("cannot write keyring", dir.join("keyring"))
}

/// Modules Ceph enables by default that rookery turns off unless the spec
/// names them: with the distribution's python3-cryptography (a PyO3 module,
/// importable once per process) `restful` fails to load and fails health
/// with MGR_MODULE_DEPENDENCY — or breaks the dashboard if it loads first.
pub const DISABLED_BY_DEFAULT: [&str; 1] = ["restful"];

/// Module options that must be in place before the modules load: listen on
/// loopback, on the spec's ports; default modules the spec does not want off.
pub async fn configure_modules(admin: &Admin, desired: &DesiredCluster) -> Result<()> {
    for m in DISABLED_BY_DEFAULT {
        if !desired.mgr_modules.iter().any(|x| x == m) {
            admin.disable_module(m).await?;
        }
    }
    let p = desired.ports;
    let mut opts: Vec<(&str, String)> = Vec::new();
    if desired.prometheus_enabled() {
        opts.push(("mgr/prometheus/server_addr", ADDR.into()));
        opts.push(("mgr/prometheus/server_port", p.prometheus.to_string()));
    }
    if desired.dashboard_enabled() {
        opts.push(("mgr/dashboard/server_addr", ADDR.into()));
        opts.push(("mgr/dashboard/ssl", desired.dashboard_ssl.to_string()));
        let port_key = if desired.dashboard_ssl {
            "mgr/dashboard/ssl_server_port"
        } else {
            "mgr/dashboard/server_port"
        };
        opts.push((port_key, p.dashboard.to_string()));
    }
    for (name, value) in opts {
        admin.config_set("mgr", name, &value).await?;
    }
    Ok(())
}

/// Enables the spec's modules, sets up the dashboard, and waits until the
/// modules publish their URLs. Returns service name -> URL.
pub async fn enable_modules(
    layout: &Layout,
    admin: &Admin,
    desired: &DesiredCluster,
    progress: &Progress,
    timeout: Duration,
) -> Result<BTreeMap<String, String>> {
    if desired.mgr_modules.is_empty() {
        return Ok(BTreeMap::new());
    }
    let step = progress.step(
        "mgr",
        format!("enabling {}", desired.mgr_modules.join(", ")),
    );
    for m in &desired.mgr_modules {
        admin.enable_module(m).await?;
    }
    if desired.dashboard_enabled() {
        setup_dashboard(layout, admin, desired, timeout).await?;
    }
    // Modules with a server publish its URL in the mgr map once listening.
    let wanted: Vec<&str> = ["dashboard", "prometheus"]
        .into_iter()
        .filter(|m| desired.mgr_modules.iter().any(|x| x == m))
        .collect();
    let deadline = Instant::now() + timeout;
    loop {
        let services = admin.mgr_services().await?;
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|m| !services.contains_key(*m))
            .collect();
        if missing.is_empty() {
            step.done("modules serving");
            return Ok(services);
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: "mgr modules to start serving".into(),
                secs: timeout.as_secs(),
                missing: format!(
                    "{} (see {})",
                    missing.join(", "),
                    layout.log_dir().join("mgr.a.log").display()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Self-signed certificate (once) and an `admin` user whose generated
/// password is kept 0600 in the cluster dir.
async fn setup_dashboard(
    layout: &Layout,
    admin: &Admin,
    desired: &DesiredCluster,
    timeout: Duration,
) -> Result<()> {
    // The dashboard's commands exist only once the module has loaded.
    let deadline = Instant::now() + timeout;
    if desired.dashboard_ssl && !layout.dashboard_cert_done().exists() {
        retry_until(deadline, || admin.dashboard_create_cert()).await?;
        write_atomic(&layout.dashboard_cert_done(), b"", 0o600)
            .ctx("cannot write", layout.dashboard_cert_done())?;
    }
    let pw_path = layout.dashboard_password();
    if !pw_path.exists() {
        let password = generate_password()?;
        retry_until(deadline, || admin.dashboard_set_admin(&password)).await?;
        write_atomic(&pw_path, password.as_bytes(), 0o600).ctx("cannot write", &pw_path)?;
    }
    Ok(())
}

/// Retries a mgr command while the module is still loading.
async fn retry_until<F, Fut>(deadline: Instant, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "mgr module not ready yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
