//! The mon set of a local cluster, kept in `mon/state.json`: which mons
//! there are and where each listens, the highest id ever given (so a removed
//! id is never reused), the monmap change in progress and since when each
//! mon has been out of quorum. ceph.conf is rendered from it, and a
//! supervisor killed mid-failover resumes from it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rookery_core::naming::{letter_id, letter_index};
use rookery_core::{DesiredCluster, MonChange};
use serde::{Deserialize, Serialize};

use crate::config::ADDR;
use crate::error::{Error, IoContext, Result};
use crate::layout::{write_atomic, Layout};
use crate::ports::{self, PortUse};

/// One mon and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonEntry {
    pub id: String,
    pub ip: Ipv4Addr,
    pub v2: u16,
    pub v1: u16,
}

impl MonEntry {
    /// `[v2:127.0.0.1:3300,v1:127.0.0.1:6789]`: kernel clients need v1 too.
    pub fn addrv(&self) -> String {
        format!("[v2:{}:{},v1:{}:{}]", self.ip, self.v2, self.ip, self.v1)
    }

    /// " at 127.0.10.2" for a mon on its own address.
    fn at(&self) -> String {
        if self.ip == Ipv4Addr::LOCALHOST {
            String::new()
        } else {
            format!(" at {}", self.ip)
        }
    }

    /// False when its address cannot be bound at all (cut off: see
    /// `mon::fault`). Such a mon cannot start; it is not a port conflict, and
    /// the mon watcher replaces it after the timeout.
    pub fn address_usable(&self) -> bool {
        match std::net::TcpListener::bind((self.ip, 0)) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::AddrNotAvailable,
        }
    }

    /// Its two ports, for the free-port check (the spec fields that set them).
    pub fn port_uses(&self) -> Vec<PortUse> {
        vec![
            PortUse {
                port: self.v2,
                what: format!("mon.{} msgr2{}", self.id, self.at()),
                field: "spec.network.ports.monV2",
            },
            PortUse {
                port: self.v1,
                what: format!("mon.{} msgr1{}", self.id, self.at()),
                field: "spec.network.ports.monV1",
            },
        ]
    }
}

/// Everything the mon machinery keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonState {
    pub mons: Vec<MonEntry>,
    /// The highest mon index (a = 0) ever given on this cluster.
    #[serde(default)]
    pub highest_id: Option<u32>,
    /// The monmap change in progress, with its step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<MonChange>,
    /// Mon id -> Unix time it was first seen out of quorum.
    #[serde(default)]
    pub out_since: BTreeMap<String, u64>,
}

impl MonState {
    pub fn load(layout: &Layout) -> Result<Option<Self>> {
        let path = layout.mon_state();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::Refused(format!(
                    "{} is not a valid mon state ({e}); restore it or delete it to rebuild it \
                     from the mon directories",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).ctx("cannot read", &path),
        }
    }

    pub fn save(&self, layout: &Layout) -> Result<()> {
        let path = layout.mon_state();
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Refused(format!("cannot encode the mon state: {e}")))?;
        write_atomic(&path, &json, 0o644).ctx("cannot write", &path)
    }

    /// The stored state, or one made from the mons that exist (a cluster made
    /// before this file existed: their addresses are the ones its ceph.conf
    /// had), or, for a new cluster, from `mon.count`. Saved when made. A
    /// stored state without any mon made yet (a bring-up that failed early)
    /// is made again, so a corrected spec (other ports) takes effect.
    pub fn ensure(layout: &Layout, desired: &DesiredCluster) -> Result<Self> {
        let existing = crate::mon::existing(layout);
        if !existing.is_empty() {
            if let Some(s) = Self::load(layout)? {
                return Ok(s);
            }
        }
        let ids: Vec<String> = if existing.is_empty() {
            (0..desired.mons).map(letter_id).collect()
        } else {
            existing.into_iter().collect()
        };
        let mons = ids
            .iter()
            .map(|id| placed(desired, id, letter_index(id).unwrap_or(0)))
            .collect::<Result<Vec<_>>>()?;
        let state = Self {
            highest_id: ids.iter().filter_map(|i| letter_index(i)).max(),
            mons,
            change: None,
            out_since: BTreeMap::new(),
        };
        state.save(layout)?;
        Ok(state)
    }

    pub fn entry(&self, id: &str) -> Option<&MonEntry> {
        self.mons.iter().find(|m| m.id == id)
    }

    /// Gives the new mon `id` an address whose ports are free: with
    /// per-mon addresses its own (first + index) on the spec's ports; else
    /// the lowest `monV2 + k` / `monV1 + k` pair no other mon holds and
    /// nothing listens on.
    pub fn place_new(&self, desired: &DesiredCluster, id: &str) -> Result<MonEntry> {
        let index = letter_index(id).ok_or_else(|| {
            Error::Refused(format!("mon id {id:?} is not a letter id (a, b, ... aa)"))
        })?;
        if desired.first_mon_ip.is_some() {
            let e = placed(desired, id, index)?;
            ports::check_free_at(e.ip, &e.port_uses())?;
            return Ok(e);
        }
        let mut last_error = None;
        for k in 0..64u32 {
            let e = placed(desired, id, k)?;
            let taken = self
                .mons
                .iter()
                .any(|m| m.ip == e.ip && (m.v2 == e.v2 || m.v1 == e.v1));
            if taken {
                continue;
            }
            match ports::check_free_at(e.ip, &e.port_uses()) {
                Ok(()) => return Ok(e),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            Error::Refused(format!("no free port pair for mon.{id} after monV2/monV1"))
        }))
    }
}

/// What `rookery status` shows of the mon machinery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MonReport {
    /// The change in progress, in words, with its step.
    pub change: Option<String>,
    /// (mon, seconds) for each mon the watcher has seen out of quorum.
    pub out_of_quorum: Vec<(String, u64)>,
}

impl MonReport {
    /// From `mon/state.json`; None without one (or unreadable).
    pub fn read(layout: &Layout) -> Option<Self> {
        let state = MonState::load(layout).ok()??;
        let now = crate::events::now_secs();
        Some(Self {
            change: state.change.map(|c| {
                let step = serde_json::to_value(c.step)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                format!("{}, step {step}", c.describe_action())
            }),
            out_of_quorum: state
                .out_since
                .into_iter()
                .map(|(m, since)| (m, now.saturating_sub(since)))
                .collect(),
        })
    }
}

/// Mon `id` in slot `k`: its own address (first + id's index) on the
/// spec's ports, or 127.0.0.1 on `monV2 + k` / `monV1 + k`.
fn placed(desired: &DesiredCluster, id: &str, k: u32) -> Result<MonEntry> {
    let (ip, offset) = match desired.first_mon_ip {
        Some(first) => {
            let ip = u32::from(first).checked_add(k).map(Ipv4Addr::from);
            match ip {
                Some(ip) if ip.octets()[0] == 127 => (ip, 0),
                _ => {
                    return Err(Error::Refused(format!(
                        "mon.{id} would get an address past 127.255.255.255 (spec.network.\
                         firstMonAddress {first} + {k}); use a lower firstMonAddress"
                    )))
                }
            }
        }
        None => (ADDR.parse().unwrap_or(Ipv4Addr::LOCALHOST), k),
    };
    let port = |base: u16, field: &str| {
        u16::try_from(u32::from(base) + offset).map_err(|_| {
            Error::Refused(format!(
                "mon.{id} would need port {base} + {offset}, past 65535; lower {field}"
            ))
        })
    };
    Ok(MonEntry {
        id: id.to_string(),
        ip,
        v2: port(desired.ports.mon_v2, "spec.network.ports.monV2")?,
        v1: port(desired.ports.mon_v1, "spec.network.ports.monV1")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(first: Option<Ipv4Addr>) -> DesiredCluster {
        let mut d = rookery_core::from_manifest(&rookery_api::Manifest::local_default());
        d.mons = 3;
        d.first_mon_ip = first;
        d
    }

    #[test]
    fn new_cluster_gets_the_counted_mons_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let s = MonState::ensure(&layout, &desired(None)).unwrap();
        let addrs: Vec<String> = s.mons.iter().map(MonEntry::addrv).collect();
        assert_eq!(
            addrs,
            [
                "[v2:127.0.0.1:3300,v1:127.0.0.1:6789]",
                "[v2:127.0.0.1:3301,v1:127.0.0.1:6790]",
                "[v2:127.0.0.1:3302,v1:127.0.0.1:6791]"
            ]
        );
        assert_eq!(s.highest_id, Some(2));
        // Before any mon is made, the spec wins (a failed first bring-up).
        let mut one = desired(None);
        one.mons = 1;
        assert_eq!(MonState::ensure(&layout, &one).unwrap().mons.len(), 1);
        // Once a mon exists, the stored set wins over a changed count.
        MonState::ensure(&layout, &desired(None)).unwrap();
        let made = layout.mon_dir("a");
        std::fs::create_dir_all(&made).unwrap();
        std::fs::write(made.join("rookery-created"), b"").unwrap();
        assert_eq!(MonState::ensure(&layout, &one).unwrap(), s);
    }

    #[test]
    fn per_mon_addresses_count_up_on_the_same_ports() {
        let d = desired(Some(Ipv4Addr::new(127, 0, 9, 1)));
        let e = placed(&d, "d", 3).unwrap();
        assert_eq!(e.addrv(), "[v2:127.0.9.4:3300,v1:127.0.9.4:6789]");
        let far = desired(Some(Ipv4Addr::new(127, 255, 255, 250)));
        let err = placed(&far, "z", 25).unwrap_err().to_string();
        assert!(err.contains("firstMonAddress"), "{err}");
    }

    #[test]
    fn a_new_mon_skips_ports_other_mons_hold() {
        let d = desired(None);
        let s = MonState {
            mons: vec![placed(&d, "a", 0).unwrap(), placed(&d, "c", 2).unwrap()],
            ..MonState::default()
        };
        // Nothing listens on 3301/6790 in a test run's loopback, usually; the
        // slot of mon.a is skipped either way.
        let e = s.place_new(&d, "d").unwrap();
        assert_ne!((e.v2, e.v1), (3300, 6789));
        assert_ne!((e.v2, e.v1), (3302, 6791));
    }
}
