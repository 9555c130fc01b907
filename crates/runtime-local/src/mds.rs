//! Metadata servers: a key from the mons and a data directory per daemon,
//! and the `up` steps that make the filesystems and start and wait for their
//! MDS daemons. Which filesystem an MDS serves is the mons' choice (the
//! FSMap), so the daemons themselves are all alike.

use std::collections::BTreeSet;
use std::time::Instant;

use rookery_core::{DaemonPlan, DesiredCluster};

use crate::ceph_ops::Admin;
use crate::daemons::{self, Kind};
use crate::error::{IoContext, Result};
use crate::events::EventLog;
use crate::filesystem::{self, FilesystemReport};
use crate::keys::{render_keyring, KeyringEntry};
use crate::layout::{write_atomic, Layout};
use crate::progress::Progress;
use crate::supervisor::Supervisor;

/// Caps of an MDS, as Rook and Ceph's deployment tools grant them.
pub const MDS_CAPS: [(&str, &str); 4] = [
    ("mon", "allow profile mds"),
    ("osd", "allow *"),
    ("mds", "allow *"),
    ("mgr", "allow profile mds"),
];

/// The MDS daemons that have a keyring.
pub fn existing(layout: &Layout) -> BTreeSet<String> {
    std::fs::read_dir(layout.mdss_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("keyring").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Gets (or creates) `mds.<id>`'s key from the mons and writes its keyring
/// (0600) in its data directory.
pub async fn create(layout: &Layout, admin: &Admin, id: &str) -> Result<()> {
    let entity = format!("mds.{id}");
    let key = admin.auth_get_or_create(&entity, &MDS_CAPS).await?;
    let dir = layout.mds_dir(id);
    std::fs::create_dir_all(&dir).ctx("cannot create", &dir)?;
    let text = render_keyring(&[KeyringEntry {
        entity,
        key,
        caps: vec![],
    }]);
    write_atomic(&dir.join("keyring"), text.as_bytes(), 0o600)
        .ctx("cannot write keyring", dir.join("keyring"))
}

/// Pools, filesystems and their settings, MDS keys, then the MDS daemons
/// (which the mons assign to ranks once the filesystems exist).
pub async fn ensure_filesystems(
    layout: &Layout,
    desired: &DesiredCluster,
    admin: &Admin,
    sup: &Supervisor,
    events: &EventLog,
    progress: &Progress,
    plan: &DaemonPlan,
) -> Result<()> {
    let names: Vec<&str> = desired
        .filesystems
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let step = progress.step(
        "mds",
        format!("ensuring filesystem(s) {}", names.join(", ")),
    );
    let mut done = Vec::new();
    for fs in &desired.filesystems {
        done.extend(filesystem::ensure(admin, fs, events).await?);
    }
    for id in &plan.create_mds {
        create(layout, admin, id).await?;
    }
    for id in &plan.start_mds {
        sup.start(daemons::spec(layout, Kind::Mds, id));
    }
    let started = format!("starting mds {}", plan.start_mds.join(", "));
    step.done(if done.is_empty() {
        format!("all present; {started}")
    } else {
        format!("{}; {started}", done.join(", "))
    });
    Ok(())
}

/// The `up` step that waits until every rank of every filesystem is
/// `up:active`; returns the filesystems as the FSMap then shows them.
pub async fn wait_active(
    layout: &Layout,
    admin: &Admin,
    desired: &DesiredCluster,
    progress: &Progress,
    deadline: Instant,
) -> Result<Vec<FilesystemReport>> {
    let step = progress.step("mds", "waiting for every filesystem rank to be up:active");
    let r = filesystem::wait_active(layout, admin, &desired.filesystems, deadline).await?;
    let lines: Vec<String> = r
        .filesystems
        .iter()
        .map(|f| format!("{}: {}", f.name, f.ranks_line()))
        .collect();
    step.done(lines.join("; "));
    Ok(r.filesystems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_daemons_with_a_keyring_exist() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        std::fs::create_dir_all(layout.mds_dir("myfs-a")).unwrap();
        std::fs::write(layout.mds_dir("myfs-a").join("keyring"), "k").unwrap();
        // Interrupted before its key was written: created again.
        std::fs::create_dir_all(layout.mds_dir("myfs-b")).unwrap();
        assert_eq!(existing(&layout), BTreeSet::from(["myfs-a".to_string()]));
    }
}
