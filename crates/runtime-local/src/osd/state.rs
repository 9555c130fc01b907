//! Marking OSDs in, out and down, and purging them: the mon and mgr commands
//! the disk and removal parts share.

use rookery_ceph::commands as cmd;

use crate::ceph_ops::Admin;
use crate::error::{CephContext, Result};

fn ids(id: u32) -> Vec<String> {
    vec![id.to_string()]
}

pub async fn mark_out(admin: &Admin, id: u32) -> Result<()> {
    admin
        .rados()
        .mon_command(&cmd::OsdOut { ids: ids(id) })
        .await
        .ceph(format!("cannot mark osd.{id} out"))
}

pub async fn mark_in(admin: &Admin, id: u32) -> Result<()> {
    admin
        .rados()
        .mon_command(&cmd::OsdIn { ids: ids(id) })
        .await
        .ceph(format!("cannot mark osd.{id} in"))
}

pub async fn mark_down(admin: &Admin, id: u32) -> Result<()> {
    admin
        .rados()
        .mon_command(&cmd::OsdDown { ids: ids(id) })
        .await
        .ceph(format!("cannot mark osd.{id} down"))
}

/// Down and out: a stopped OSD whose data must be re-replicated elsewhere.
pub async fn mark_down_out(admin: &Admin, id: u32) -> Result<()> {
    mark_down(admin, id).await?;
    mark_out(admin, id).await
}

/// `osd purge` (a mgr command in Pacific); `force` skips the mgr's
/// safe-to-destroy check.
pub async fn purge(admin: &Admin, id: u32, force: bool) -> Result<()> {
    admin
        .rados()
        .mgr_command(&cmd::OsdPurge {
            id,
            force,
            yes_i_really_mean_it: true,
        })
        .await
        .ceph(format!("cannot purge osd.{id}"))
}

pub async fn safe_to_destroy(admin: &Admin, id: u32) -> Result<bool> {
    let r = admin
        .rados()
        .mgr_command(&cmd::OsdSafeToDestroy { ids: ids(id) })
        .await
        .ceph(format!("cannot ask whether osd.{id} is safe to destroy"))?;
    Ok(r.safe_to_destroy.contains(&id))
}

pub async fn df(admin: &Admin) -> Result<Vec<cmd::OsdDfNode>> {
    Ok(admin
        .rados()
        .mon_command(&cmd::OsdDf)
        .await
        .ceph("osd df")?
        .nodes)
}

pub async fn dump(admin: &Admin) -> Result<cmd::OsdDumpReply> {
    admin
        .rados()
        .mon_command(&cmd::OsdDump)
        .await
        .ceph("osd dump")
}
