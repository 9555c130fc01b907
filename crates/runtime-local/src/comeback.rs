//! Whether a daemon that was killed is back as far as Ceph can tell, not only
//! as a process: the mon in quorum after a new election, the mgr active under
//! a new gid, the OSD up with a newer `up_from`, the MDS registered under
//! a new gid (holding a rank, following one, or standby) with rank 0 served.
//!
//! A [`Seen`] taken before the kill tells the daemon's return from the maps
//! not having noticed it gone yet. Used by `rookery bench heal` and the fault
//! suite.

use rookery_ceph::commands::{FsDump, MgrDump, OsdDump, QuorumStatus};
use rookery_ceph::Rados;

/// What Ceph shows of a daemon at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Mon {
        election_epoch: u64,
    },
    /// The gid of the active mgr.
    Mgr {
        gid: u64,
    },
    Osd {
        up_from: u64,
    },
    /// The gid of the MDS, if it serves the filesystem now.
    Mds {
        gid: Option<u64>,
    },
    /// Not a Ceph daemon (a CSI plugin): only its process counts.
    Process,
}

fn split(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or((name, ""))
}

/// What Ceph shows now of daemon `name` (`mon.a`, `osd.1`, `mds.myfs-a`);
/// `fs` is the filesystem an MDS serves.
pub async fn seen(rados: &Rados, name: &str, fs: &str) -> rookery_ceph::Result<Seen> {
    let (kind, id) = split(name);
    Ok(match kind {
        "mon" => Seen::Mon {
            election_epoch: rados.mon_command(&QuorumStatus).await?.election_epoch,
        },
        "mgr" => Seen::Mgr {
            gid: rados.mon_command(&MgrDump).await?.active_gid,
        },
        "osd" => Seen::Osd {
            up_from: rados
                .mon_command(&OsdDump)
                .await?
                .osds
                .iter()
                .find(|o| o.osd.to_string() == id)
                .map_or(0, |o| o.up_from),
        },
        "mds" => Seen::Mds {
            gid: mds_gid(rados, id, fs).await?,
        },
        _ => Seen::Process,
    })
}

/// True once Ceph shows `name` back, newer than `before`.
pub async fn is_back(
    rados: &Rados,
    name: &str,
    fs: &str,
    before: Seen,
) -> rookery_ceph::Result<bool> {
    let (_, id) = split(name);
    Ok(match before {
        Seen::Mon { election_epoch } => {
            let q = rados.mon_command(&QuorumStatus).await?;
            // An odd epoch is an election still running.
            q.election_epoch > election_epoch
                && q.election_epoch % 2 == 0
                && q.quorum_names.iter().any(|n| n == id)
        }
        Seen::Mgr { gid } => {
            let d = rados.mon_command(&MgrDump).await?;
            d.available && d.active_gid != gid && d.active_name == id
        }
        Seen::Osd { up_from } => rados
            .mon_command(&OsdDump)
            .await?
            .osds
            .iter()
            .any(|o| o.osd.to_string() == id && o.up && o.up_from > up_from),
        Seen::Mds { gid } => {
            let now = mds_gid(rados, id, fs).await?;
            now.is_some() && now != gid
        }
        Seen::Process => true,
    })
}

/// The gid of MDS `id` if it serves `fs` (active, standby-replay or standby)
/// and rank 0 of `fs` has an active MDS.
async fn mds_gid(rados: &Rados, id: &str, fs: &str) -> rookery_ceph::Result<Option<u64>> {
    let dump = rados.mon_command(&FsDump).await?;
    let Some(f) = dump.filesystem(fs) else {
        return Ok(None);
    };
    if f.mdsmap.active(0).is_none() {
        return Ok(None);
    }
    let serving = ["up:active", "up:standby-replay", "up:standby"];
    Ok(f.mdsmap
        .daemons()
        .into_iter()
        .chain(&dump.standbys)
        .find(|m| m.name == id && serving.contains(&m.state.as_str()))
        .map(|m| m.gid))
}
