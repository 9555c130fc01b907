//! Change detection: snapshots of the inventory, compared, and published only
//! once stable.
//!
//! Polling rather than netlink uevents: it needs no privileges or udevd, and a
//! disk being partitioned or formatted changes several times within a second,
//! so each change is held until the device has looked the same for
//! `stable_for`; only then is one event published.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Device;

/// A published change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Added {
        device: Device,
    },
    Removed {
        device: Device,
    },
    Changed {
        device: Device,
        /// The fields that differ, e.g. `filesystem`, `mountedAt`.
        fields: Vec<String>,
    },
}

impl Event {
    pub fn device(&self) -> &Device {
        match self {
            Event::Added { device } | Event::Removed { device } | Event::Changed { device, .. } => {
                device
            }
        }
    }
}

/// Holds changes until they are stable. Time is passed in, so tests drive it.
#[derive(Debug)]
pub struct Debouncer {
    stable_for: Duration,
    published: BTreeMap<String, Device>,
    /// Name -> (the state not yet published, None for gone; since when it is seen).
    pending: BTreeMap<String, (Option<Device>, Instant)>,
}

impl Debouncer {
    pub fn new(stable_for: Duration) -> Self {
        Debouncer {
            stable_for,
            published: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// Publishes a first snapshot at once: what is there when watching starts
    /// is not a change to wait out.
    pub fn prime(&mut self, snapshot: Vec<Device>) -> Vec<Event> {
        snapshot
            .into_iter()
            .map(|d| {
                self.published.insert(d.name.clone(), d.clone());
                Event::Added { device: d }
            })
            .collect()
    }

    /// Takes a snapshot seen at `now`; returns the changes that have now been
    /// stable for `stable_for`.
    pub fn observe(&mut self, now: Instant, snapshot: Vec<Device>) -> Vec<Event> {
        let mut current: BTreeMap<String, Device> =
            snapshot.into_iter().map(|d| (d.name.clone(), d)).collect();
        let mut names: Vec<String> = self.published.keys().cloned().collect();
        names.extend(current.keys().cloned());
        names.sort();
        names.dedup();
        let mut events = Vec::new();
        for name in names {
            let seen = current.remove(&name);
            if seen.as_ref() == self.published.get(&name) {
                // Back to what was published (a flap): nothing to say.
                self.pending.remove(&name);
                continue;
            }
            let since = match self.pending.get(&name) {
                Some((state, since)) if *state == seen => *since,
                _ => {
                    self.pending.insert(name.clone(), (seen.clone(), now));
                    now
                }
            };
            if now.duration_since(since) >= self.stable_for {
                self.pending.remove(&name);
                events.extend(self.publish(name, seen));
            }
        }
        events
    }

    fn publish(&mut self, name: String, seen: Option<Device>) -> Option<Event> {
        let before = match &seen {
            Some(d) => self.published.insert(name, d.clone()),
            None => self.published.remove(&name),
        };
        match (before, seen) {
            (None, Some(device)) => Some(Event::Added { device }),
            (Some(device), None) => Some(Event::Removed { device }),
            (Some(before), Some(device)) => Some(Event::Changed {
                fields: changed_fields(&before, &device),
                device,
            }),
            (None, None) => None,
        }
    }
}

/// The JSON field names whose values differ.
fn changed_fields(a: &Device, b: &Device) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
