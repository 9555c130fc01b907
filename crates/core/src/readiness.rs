//! When is a cluster "up"? Quorum of every mon, an active mgr, every OSD up
//! and in, and all placement groups active. Health checks that remain are
//! reported, not waited on forever.

use serde::Serialize;

/// The few facts of `ceph status` readiness depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    pub health: String,
    /// (check name, message)
    pub checks: Vec<(String, String)>,
    pub mons_in_quorum: u32,
    pub mgr_available: bool,
    pub osds: u32,
    pub osds_up: u32,
    pub osds_in: u32,
    pub pgs: u64,
    pub pgs_active: u64,
    pub pgs_clean: u64,
}

/// What is still missing, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Daemons are all there and data is available.
    pub available: bool,
    /// Available, and HEALTH_OK with all PGs clean.
    pub healthy: bool,
    pub waiting_for: Vec<String>,
}

/// Compares a snapshot with the expected daemon counts.
pub fn evaluate(s: &ClusterSnapshot, mons: u32, osds: u32) -> Readiness {
    let mut waiting = Vec::new();
    if s.mons_in_quorum < mons {
        waiting.push(format!("mons in quorum: {}/{mons}", s.mons_in_quorum));
    }
    if !s.mgr_available {
        waiting.push("an active mgr".to_string());
    }
    if s.osds_up < osds || s.osds_in < osds {
        waiting.push(format!("OSDs up/in: {}/{} of {osds}", s.osds_up, s.osds_in));
    }
    if s.pgs_active < s.pgs {
        waiting.push(format!("PGs active: {}/{}", s.pgs_active, s.pgs));
    }
    let available = waiting.is_empty();
    let mut healthy = available && s.health == "HEALTH_OK";
    if available && s.pgs_clean < s.pgs {
        healthy = false;
        waiting.push(format!("PGs clean: {}/{}", s.pgs_clean, s.pgs));
    }
    if available && s.health != "HEALTH_OK" {
        for (name, msg) in &s.checks {
            waiting.push(format!("{name}: {msg}"));
        }
    }
    Readiness {
        available,
        healthy,
        waiting_for: waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> ClusterSnapshot {
        ClusterSnapshot {
            health: "HEALTH_OK".into(),
            checks: vec![],
            mons_in_quorum: 1,
            mgr_available: true,
            osds: 3,
            osds_up: 3,
            osds_in: 3,
            pgs: 33,
            pgs_active: 33,
            pgs_clean: 33,
        }
    }

    #[test]
    fn all_there_is_healthy() {
        let r = evaluate(&healthy(), 1, 3);
        assert!(r.available && r.healthy, "{r:?}");
        assert!(r.waiting_for.is_empty());
    }

    #[test]
    fn missing_osd_and_mgr_are_named() {
        let s = ClusterSnapshot {
            osds_up: 2,
            mgr_available: false,
            ..healthy()
        };
        let r = evaluate(&s, 1, 3);
        assert!(!r.available);
        assert_eq!(r.waiting_for, ["an active mgr", "OSDs up/in: 2/3 of 3"]);
    }

    #[test]
    fn warnings_make_it_available_but_not_healthy() {
        let s = ClusterSnapshot {
            health: "HEALTH_WARN".into(),
            checks: vec![("MON_DISK_LOW".into(), "mon a is low on space".into())],
            ..healthy()
        };
        let r = evaluate(&s, 1, 3);
        assert!(r.available);
        assert!(!r.healthy);
        assert_eq!(r.waiting_for, ["MON_DISK_LOW: mon a is low on space"]);
    }

    #[test]
    fn inactive_pgs_block_availability() {
        let s = ClusterSnapshot {
            pgs_active: 30,
            pgs_clean: 30,
            ..healthy()
        };
        let r = evaluate(&s, 1, 3);
        assert!(!r.available);
        assert_eq!(r.waiting_for, ["PGs active: 30/33"]);
    }
}
