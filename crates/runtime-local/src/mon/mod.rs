//! Monitors: keys, `ceph-mon --mkfs` (at bootstrap the monmap is built
//! from `mon_host`; a mon joining a running cluster is made from its current
//! monmap), and which mons exist.

pub mod failover;
pub mod fault;
pub mod state;
pub mod watch;

use std::collections::BTreeSet;
use std::path::Path;

use crate::daemons::{run_tool, Kind};
use crate::error::{IoContext, Result};
use crate::keys::{parse_key, render_keyring, CephxKey, KeyringEntry};
use crate::layout::{write_atomic, Layout};

/// Marker written after a successful mkfs: a mon dir without it is a
/// half-made mon and is made again.
const CREATED: &str = "rookery-created";

/// The mons that exist (mkfs completed).
pub fn existing(layout: &Layout) -> BTreeSet<String> {
    std::fs::read_dir(layout.mons_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(CREATED).exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Writes the bootstrap keyring (`mon.` and `client.admin` with full caps) and
/// the admin keyring the stock tools use, once per cluster.
pub fn ensure_bootstrap_keys(layout: &Layout) -> Result<()> {
    let path = layout.mon_bootstrap_keyring();
    if path.exists() {
        return Ok(());
    }
    let admin = CephxKey::generate()?;
    let all = |svc| (svc, "allow *".to_string());
    let text = render_keyring(&[
        KeyringEntry {
            entity: "mon.".into(),
            key: CephxKey::generate()?,
            caps: vec![all("mon")],
        },
        KeyringEntry {
            entity: "client.admin".into(),
            key: admin.clone(),
            caps: vec![all("mon"), all("osd"), all("mgr"), all("mds")],
        },
    ]);
    let admin_text = render_keyring(&[KeyringEntry {
        entity: "client.admin".into(),
        key: admin,
        caps: vec![],
    }]);
    write_atomic(&layout.admin_keyring(), admin_text.as_bytes(), 0o600)
        .ctx("cannot write keyring", layout.admin_keyring())?;
    write_atomic(&path, text.as_bytes(), 0o600).ctx("cannot write keyring", &path)
}

/// Creates mon `id`'s store, from the binary `monmap` file when it joins a
/// running cluster. Idempotent: a half-made store is removed first.
pub async fn create(layout: &Layout, id: &str, monmap: Option<&Path>) -> Result<()> {
    let dir = layout.mon_dir(id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).ctx("cannot clear half-made mon", &dir)?;
    }
    std::fs::create_dir_all(&dir).ctx("cannot create", &dir)?;
    let bootstrap = layout.mon_bootstrap_keyring();
    let mut args = [
        "--mkfs",
        "-i",
        id,
        "-c",
        &layout.conf().display().to_string(),
        "--keyring",
        &bootstrap.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    if let Some(map) = monmap {
        args.extend(["--monmap".to_string(), map.display().to_string()]);
    }
    run_tool(layout, &format!("mon.{id}"), Kind::Mon.program(), &args).await?;
    // The mon authenticates with its own key from its data dir.
    let text = std::fs::read_to_string(&bootstrap).ctx("cannot read", &bootstrap)?;
    let mon_key = parse_key(&text, "mon.").unwrap_or_else(|| CephxKey::from_text(""));
    let keyring = render_keyring(&[KeyringEntry {
        entity: "mon.".into(),
        key: mon_key,
        caps: vec![("mon", "allow *".into())],
    }]);
    write_atomic(&dir.join("keyring"), keyring.as_bytes(), 0o600)
        .ctx("cannot write keyring", dir.join("keyring"))?;
    write_atomic(&dir.join(CREATED), b"", 0o644).ctx("cannot write", dir.join(CREATED))
}

/// Marks mon `id` as no longer existing (its store stays until
/// [`delete`]): `up` does not start it again, so a mon on its way out of the
/// monmap cannot ask to be added back.
pub fn retire(layout: &Layout, id: &str) -> Result<()> {
    let marker = layout.mon_dir(id).join(CREATED);
    match std::fs::remove_file(&marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).ctx("cannot remove", &marker),
        _ => Ok(()),
    }
}

/// Deletes mon `id`'s store (after it left the monmap and was stopped).
pub fn delete(layout: &Layout, id: &str) -> Result<()> {
    let dir = layout.mon_dir(id);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).ctx("cannot delete", &dir),
        _ => Ok(()),
    }
}
