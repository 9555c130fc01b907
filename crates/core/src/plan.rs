//! Which daemons to create and which to start, from the desired cluster and
//! what already exists. Creating is never repeated for something that exists:
//! this is what makes `up` on an existing cluster resume it instead of
//! recreating it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::desired::{DesiredCluster, OsdBacking};
use crate::naming::letter_id;

/// The state of one OSD slot (one entry of `DesiredCluster::osds`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum OsdSlotState {
    /// Nothing was done for this slot yet.
    Absent,
    /// Creation started (uuid recorded) but did not finish: finish it with the
    /// same uuid, so Ceph's `osd new` returns the same id instead of a new one.
    Interrupted { uuid: String },
    /// The OSD exists with this id.
    Ready { id: u32 },
    /// The OSD was removed (`rookery osd remove`): its tombstone keeps the
    /// slot from being filled again.
    Removed { id: u32 },
}

/// What exists on the host.
#[derive(Debug, Clone, Default)]
pub struct ObservedDaemons {
    pub mons: BTreeSet<String>,
    pub mgrs: BTreeSet<String>,
    pub osd_slots: Vec<OsdSlotState>,
    /// MDS daemons that have a keyring.
    pub mds: BTreeSet<String>,
}

/// An OSD to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsdCreate {
    pub slot: usize,
    pub backing: OsdBacking,
    pub resume_uuid: Option<String>,
}

/// The steps for daemons, in the order they must happen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DaemonPlan {
    /// True when no mon exists yet: the cluster is new.
    pub bootstrap: bool,
    pub create_mons: Vec<String>,
    pub start_mons: Vec<String>,
    pub create_mgrs: Vec<String>,
    pub start_mgrs: Vec<String>,
    pub create_osds: Vec<OsdCreate>,
    pub start_osds: Vec<u32>,
    /// MDS daemons to give a key and a data directory.
    pub create_mds: Vec<String>,
    /// Every MDS daemon of the spec's filesystems.
    pub start_mds: Vec<String>,
    /// Differences the plan does not act on, for people.
    pub warnings: Vec<String>,
}

pub fn mon_ids(count: u32) -> Vec<String> {
    (0..count).map(letter_id).collect()
}

/// Decides what to create and start.
pub fn plan_daemons(desired: &DesiredCluster, observed: &ObservedDaemons) -> DaemonPlan {
    let mut plan = DaemonPlan {
        bootstrap: observed.mons.is_empty(),
        ..DaemonPlan::default()
    };

    let wanted_mons = mon_ids(desired.mons);
    if plan.bootstrap {
        plan.create_mons = wanted_mons.clone();
        plan.start_mons = wanted_mons;
    } else {
        // Changing the monmap of a running cluster is the mon watcher's job
        // (core::mons): here existing mons are started as they are.
        plan.start_mons = observed.mons.iter().cloned().collect();
        if observed.mons.len() != desired.mons as usize {
            plan.warnings.push(format!(
                "spec.mon.count is {} but this cluster has {} mon(s) ({}); once it is up, mons are added or removed one at a time, keeping a quorum",
                desired.mons,
                observed.mons.len(),
                join(&observed.mons)
            ));
        }
    }

    for id in mon_ids(desired.mgrs) {
        if !observed.mgrs.contains(&id) {
            plan.create_mgrs.push(id.clone());
        }
        plan.start_mgrs.push(id);
    }
    for extra in observed
        .mgrs
        .iter()
        .filter(|m| !plan.start_mgrs.contains(m))
    {
        plan.warnings.push(format!(
            "mgr.{extra} exists but spec.mgr.count is {}; it is not started",
            desired.mgrs
        ));
    }

    for (slot, backing) in desired.osds.iter().enumerate() {
        match observed
            .osd_slots
            .get(slot)
            .unwrap_or(&OsdSlotState::Absent)
        {
            OsdSlotState::Ready { id } => plan.start_osds.push(*id),
            OsdSlotState::Removed { id } => plan.warnings.push(format!(
                "osd.{id} (slot {slot}) was removed with `rookery osd remove`; it is not recreated"
            )),
            OsdSlotState::Interrupted { uuid } => plan.create_osds.push(OsdCreate {
                slot,
                backing: backing.clone(),
                resume_uuid: Some(uuid.clone()),
            }),
            OsdSlotState::Absent => plan.create_osds.push(OsdCreate {
                slot,
                backing: backing.clone(),
                resume_uuid: None,
            }),
        }
    }
    for (slot, state) in observed
        .osd_slots
        .iter()
        .enumerate()
        .skip(desired.osds.len())
    {
        if let OsdSlotState::Ready { id } = state {
            // Never drop data silently: OSDs beyond the spec keep running.
            plan.start_osds.push(*id);
            plan.warnings.push(format!(
                "osd.{id} (slot {slot}) is beyond the spec's OSD count; it keeps running — remove it explicitly to shrink the cluster"
            ));
        }
    }
    for id in desired.mds_ids() {
        if !observed.mds.contains(id) {
            plan.create_mds.push(id.clone());
        }
        plan.start_mds.push(id.clone());
    }
    for extra in observed.mds.iter().filter(|m| !plan.start_mds.contains(m)) {
        // An MDS holds no data: one the spec no longer wants just stays down.
        plan.warnings.push(format!(
            "mds.{extra} exists but no filesystem of the spec needs it; it is not started"
        ));
    }
    plan
}

fn join(ids: &BTreeSet<String>) -> String {
    ids.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(mons: u32, osds: usize) -> DesiredCluster {
        let mut d = crate::from_manifest(&rookery_api::Manifest::local_default());
        d.mons = mons;
        d.osds = vec![OsdBacking::File { size: 10 << 30 }; osds];
        d
    }

    #[test]
    fn new_cluster_creates_everything() {
        let plan = plan_daemons(&desired(3, 3), &ObservedDaemons::default());
        assert!(plan.bootstrap);
        assert_eq!(plan.create_mons, ["a", "b", "c"]);
        assert_eq!(plan.start_mons, ["a", "b", "c"]);
        assert_eq!(plan.create_mgrs, ["a"]);
        assert_eq!(plan.create_osds.len(), 3);
        assert!(plan.create_osds.iter().all(|o| o.resume_uuid.is_none()));
        assert!(plan.start_osds.is_empty());
        assert_eq!(plan.create_mds, ["myfs-a", "myfs-b"]);
        assert_eq!(plan.start_mds, ["myfs-a", "myfs-b"]);
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn existing_cluster_is_resumed_not_recreated() {
        let observed = ObservedDaemons {
            mons: ["a".to_string()].into(),
            mgrs: ["a".to_string()].into(),
            osd_slots: vec![
                OsdSlotState::Ready { id: 0 },
                OsdSlotState::Ready { id: 1 },
                OsdSlotState::Ready { id: 2 },
            ],
            mds: ["myfs-a".to_string(), "myfs-b".to_string()].into(),
        };
        let plan = plan_daemons(&desired(1, 3), &observed);
        assert!(!plan.bootstrap);
        assert!(plan.create_mons.is_empty());
        assert!(plan.create_mgrs.is_empty());
        assert!(plan.create_osds.is_empty());
        assert!(plan.create_mds.is_empty());
        assert_eq!(plan.start_mds, ["myfs-a", "myfs-b"]);
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        assert_eq!(plan.start_mons, ["a"]);
        assert_eq!(plan.start_osds, [0, 1, 2]);
    }

    #[test]
    fn interrupted_osd_is_finished_with_its_uuid_and_new_slots_are_added() {
        let observed = ObservedDaemons {
            mons: ["a".to_string()].into(),
            mgrs: ["a".to_string()].into(),
            osd_slots: vec![
                OsdSlotState::Ready { id: 0 },
                OsdSlotState::Interrupted { uuid: "u-1".into() },
            ],
            ..ObservedDaemons::default()
        };
        let plan = plan_daemons(&desired(1, 4), &observed);
        assert_eq!(plan.start_osds, [0]);
        let slots: Vec<_> = plan.create_osds.iter().map(|o| o.slot).collect();
        assert_eq!(slots, [1, 2, 3]);
        assert_eq!(plan.create_osds[0].resume_uuid.as_deref(), Some("u-1"));
        assert_eq!(plan.create_osds[1].resume_uuid, None);
    }

    #[test]
    fn shrinking_keeps_data_and_says_so() {
        let observed = ObservedDaemons {
            mons: ["a".to_string()].into(),
            mgrs: ["a".to_string(), "b".to_string()].into(),
            osd_slots: vec![OsdSlotState::Ready { id: 0 }, OsdSlotState::Ready { id: 7 }],
            mds: ["myfs-a".to_string(), "myfs-b".to_string()].into(),
        };
        let plan = plan_daemons(&desired(3, 1), &observed);
        assert_eq!(plan.start_osds, [0, 7]);
        assert_eq!(plan.start_mgrs, ["a"]);
        assert_eq!(plan.warnings.len(), 3, "{:?}", plan.warnings);
        assert!(plan.warnings[0].contains("spec.mon.count is 3"));
        assert!(plan.warnings[1].contains("mgr.b"));
        assert!(plan.warnings[2].contains("osd.7"));
    }

    #[test]
    fn removed_slots_are_neither_recreated_nor_started_and_say_so() {
        let observed = ObservedDaemons {
            mons: ["a".to_string()].into(),
            osd_slots: vec![
                OsdSlotState::Ready { id: 0 },
                OsdSlotState::Removed { id: 1 },
                OsdSlotState::Ready { id: 2 },
            ],
            ..ObservedDaemons::default()
        };
        let mut d = desired(1, 3);
        d.filesystems.clear();
        let plan = plan_daemons(&d, &observed);
        assert_eq!(plan.start_osds, [0, 2]);
        assert!(plan.create_osds.is_empty());
        assert_eq!(
            plan.warnings,
            ["osd.1 (slot 1) was removed with `rookery osd remove`; it is not recreated"]
        );
    }

    #[test]
    fn mds_are_created_once_and_unwanted_ones_stay_down() {
        let observed = ObservedDaemons {
            mons: ["a".to_string()].into(),
            mds: ["myfs-a".to_string(), "old-a".to_string()].into(),
            ..ObservedDaemons::default()
        };
        let plan = plan_daemons(&desired(1, 1), &observed);
        assert_eq!(plan.create_mds, ["myfs-b"]);
        assert_eq!(plan.start_mds, ["myfs-a", "myfs-b"]);
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(plan.warnings[0].contains("mds.old-a"));

        let mut no_fs = desired(1, 1);
        no_fs.filesystems.clear();
        let plan = plan_daemons(&no_fs, &ObservedDaemons::default());
        assert!(plan.create_mds.is_empty() && plan.start_mds.is_empty());
    }
}
