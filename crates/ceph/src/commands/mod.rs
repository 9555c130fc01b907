//! Typed mon and mgr commands. Argument names follow Ceph Pacific's command
//! signatures (`src/mon/MonCommands.h`, the mgr modules' `CLICommand`s); reply types
//! hold the subset rookery reads and ignore other fields.

mod auth;
mod config;
mod confirmed;
mod dashboard;
mod fs;
mod mgr;
mod mon;
mod osd;
mod osd_df;
mod osd_lifecycle;
mod pool;
mod status;
mod subvolume;

pub use auth::{AuthEntity, AuthGet, AuthGetOrCreate, AuthRm};
pub use config::ConfigSet;
pub use confirmed::Confirmed;
pub use dashboard::{
    AcUserCreated, DashboardAcUserAddRoles, DashboardAcUserCreate, DashboardAcUserSetPassword,
    DashboardCreateSelfSignedCert, DashboardUser,
};
pub use fs::{Filesystem, FsAddDataPool, FsDump, FsDumpReply, FsNew, FsSet, MdsInfo, MdsMap};
pub use mgr::{
    MgrDump, MgrDumpReply, MgrModuleDisable, MgrModuleEnable, MgrModuleLs, MgrModules, MgrServices,
    MgrStat, MgrStatReply, ModuleInfo,
};
pub use mon::{MonGetmap, MonRm};
pub use osd::{
    OsdDump, OsdDumpReply, OsdInfo, OsdNew, OsdNewReply, OsdSetBackfillfullRatio, OsdSetFlag,
    OsdSetFullRatio, OsdSetNearfullRatio, OsdTree, OsdTreeNode, OsdTreeReply, OsdUnsetFlag,
};
pub use osd_df::{OsdDf, OsdDfNode, OsdDfReply};
pub use osd_lifecycle::{OsdDown, OsdIn, OsdOut, OsdPurge, OsdSafeToDestroy, SafeToDestroyReply};
pub use pool::{
    Df, DfPool, DfPoolStats, DfReply, DfStats, OsdPoolApplicationEnable, OsdPoolCreate,
    OsdPoolDelete, OsdPoolLsDetail, OsdPoolSet, PoolDetail,
};
pub use status::{
    Health, HealthCheck, HealthDetail, HealthMessage, MgrMapSummary, MonAddr, MonAddrs, MonDump,
    MonInfo, MonMap, MonMapSummary, OsdMapSummary, PgMapSummary, PgStateCount, QuorumStatus,
    QuorumStatusReply, Status, StatusReply,
};
pub use subvolume::{
    CloneStatus, CloneStatusReply, FsCloneStatus, FsSubvolumeCreate, FsSubvolumeGetpath,
    FsSubvolumeGroupCreate, FsSubvolumeInfo, FsSubvolumeLs, FsSubvolumeResize, FsSubvolumeRm,
    FsSubvolumeSnapshotClone, FsSubvolumeSnapshotCreate, FsSubvolumeSnapshotInfo,
    FsSubvolumeSnapshotRm, NameEntry, SnapshotInfo, SubvolumeInfo,
};

/// Implements [`crate::Command`] and [`crate::MonCommand`] for a request type.
macro_rules! command {
    (mon, $ty:ty, $prefix:literal, $reply:ty) => {
        impl $crate::command::Command for $ty {
            const PREFIX: &'static str = $prefix;
            type Reply = $reply;
        }
        impl $crate::command::MonCommand for $ty {}
    };
}
pub(crate) use command;

/// Ceph prints some booleans as 0/1: accept both forms.
pub(crate) fn int_or_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match <Flag as serde::Deserialize>::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

/// The `detail` argument of `health detail` and `osd pool ls detail`: a one-value choice.
pub(crate) fn detail_arg<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("detail", "detail")?;
    map.end()
}
