//! Mon quorum: when to replace a mon that stays out of quorum, and how the
//! monmap follows `mon.count` on an existing cluster. Rook's rules:
//!
//! - nothing changes without a quorum (the monmap cannot change without one,
//!   and guessing which mons are dead would be unsafe);
//! - a mon out of quorum longer than the timeout is replaced: a new mon with
//!   the next id never used before joins first, then the old one is removed;
//! - a cluster of two mons never loses one to failover (one mon left could
//!   never tolerate a fault, and with one of two out there is no quorum);
//! - one change at a time: a change in progress is finished before another
//!   starts.
//!
//! Pure: the runtime observes, calls [`decide`], and carries out the
//! [`MonChange`] step by step, keeping it in its own state so a restarted
//! supervisor resumes it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::naming::{letter_id, letter_index};

/// What the runtime observed of the mons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonObservation {
    /// The names in the monmap.
    pub monmap: Vec<String>,
    /// The names in quorum.
    pub quorum: Vec<String>,
    /// For each monmap member out of quorum: for how long it has been out.
    pub out_for: BTreeMap<String, Duration>,
}

impl MonObservation {
    /// A majority of the monmap is in quorum.
    pub fn has_quorum(&self) -> bool {
        let in_map = self
            .quorum
            .iter()
            .filter(|q| self.monmap.contains(q))
            .count();
        !self.monmap.is_empty() && in_map * 2 > self.monmap.len()
    }

    /// Monmap members not in quorum, longest out first.
    fn out_of_quorum(&self) -> Vec<(&String, Duration)> {
        let mut out: Vec<_> = self
            .monmap
            .iter()
            .filter(|m| !self.quorum.contains(m))
            .map(|m| (m, self.out_for.get(m).copied().unwrap_or_default()))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }
}

/// The spec's say: how many mons, and when to fail one over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonPolicy {
    /// `spec.mon.count`.
    pub count: u32,
    /// `spec.healthCheck.daemonHealth.mon.timeout`.
    pub timeout: Duration,
    /// False when `spec.healthCheck.daemonHealth.mon.disabled`.
    pub failover: bool,
}

/// Where a [`MonChange`] is. The runtime records each step once it is done,
/// and every step is idempotent, so a step interrupted by a crash is simply
/// done again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeStep {
    /// Make the new mon's store from the current monmap.
    Create,
    /// Start the new mon; wait until it is in quorum.
    Join,
    /// Remove the old mon from the monmap.
    Remove,
    /// Stop the old mon, delete its store, write the clients' config.
    Cleanup,
}

/// Why a change was made, for events and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ChangeReason {
    /// `remove` was out of quorum this long (seconds).
    OutOfQuorum { secs: u64 },
    /// The monmap had fewer mons than `mon.count`.
    ScaleUp { count: u32 },
    /// The monmap had more mons than `mon.count`.
    ScaleDown { count: u32 },
}

/// One change of the monmap: add a mon, remove one, or both (a failover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
    pub reason: ChangeReason,
    pub step: ChangeStep,
}

impl MonChange {
    fn new(add: Option<String>, remove: Option<String>, reason: ChangeReason) -> Self {
        let step = if add.is_some() {
            ChangeStep::Create
        } else {
            ChangeStep::Remove
        };
        Self {
            add,
            remove,
            reason,
            step,
        }
    }

    /// The step after `self.step`, skipping those this change has no part
    /// in; None when the change is complete.
    pub fn next_step(&self) -> Option<ChangeStep> {
        match self.step {
            ChangeStep::Create => Some(ChangeStep::Join),
            ChangeStep::Join if self.remove.is_some() => Some(ChangeStep::Remove),
            ChangeStep::Join => Some(ChangeStep::Cleanup),
            ChangeStep::Remove => Some(ChangeStep::Cleanup),
            ChangeStep::Cleanup => None,
        }
    }

    /// What it does, in words: "replacing mon.b by mon.d (out of quorum for
    /// 10s)", for a change under way.
    pub fn describe_action(&self) -> String {
        let what = match (&self.add, &self.remove) {
            (Some(add), Some(old)) => format!("replacing mon.{old} by mon.{add}"),
            (Some(add), None) => format!("adding mon.{add}"),
            (None, Some(old)) => format!("removing mon.{old}"),
            (None, None) => "nothing to change".to_string(),
        };
        let why = match self.reason {
            ChangeReason::OutOfQuorum { secs } => format!("out of quorum for {secs}s"),
            ChangeReason::ScaleUp { count } | ChangeReason::ScaleDown { count } => {
                format!("spec.mon.count is {count}")
            }
        };
        format!("{what} ({why})")
    }

    /// In words, once done: "mon.b out of quorum for 10s: replaced by mon.d".
    pub fn describe(&self) -> String {
        let mon = |id: &Option<String>| id.as_deref().map(|i| format!("mon.{i}"));
        match (&self.reason, mon(&self.add), mon(&self.remove)) {
            (ChangeReason::OutOfQuorum { secs }, Some(add), Some(old)) => {
                format!("{old} out of quorum for {secs}s: replaced by {add}")
            }
            (ChangeReason::OutOfQuorum { secs }, None, Some(old)) => {
                format!("{old} out of quorum for {secs}s: removed (more mons than spec.mon.count)")
            }
            (ChangeReason::ScaleUp { count }, Some(add), _) => {
                format!("{add} added (spec.mon.count is {count})")
            }
            (ChangeReason::ScaleDown { count }, _, Some(old)) => {
                format!("{old} removed (spec.mon.count is {count})")
            }
            (_, add, old) => format!(
                "monmap change: add {}, remove {}",
                add.unwrap_or_else(|| "none".into()),
                old.unwrap_or_else(|| "none".into())
            ),
        }
    }
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonDecision {
    /// Every mon in quorum, as many as the spec wants.
    Healthy,
    /// No majority in quorum: the monmap cannot change, nothing is done.
    NoQuorum { in_quorum: usize, monmap: usize },
    /// A mon is out of quorum, not yet for the timeout.
    Wait {
        mon: String,
        out_for: Duration,
        timeout: Duration,
    },
    /// A mon is out of quorum past the timeout, but a rule forbids acting.
    Hold { mon: String, reason: String },
    /// Start this change (record it first, then carry it out).
    Start(MonChange),
    /// Carry on with the change in progress.
    Continue(MonChange),
}

/// Decides the next thing to do with the mons. `highest_used` is the
/// highest mon index (a = 0) ever given on this cluster, so an id removed
/// is never given again.
pub fn decide(
    observed: &MonObservation,
    policy: &MonPolicy,
    in_progress: Option<&MonChange>,
    highest_used: Option<u32>,
) -> MonDecision {
    if !observed.has_quorum() {
        return MonDecision::NoQuorum {
            in_quorum: observed.quorum.len(),
            monmap: observed.monmap.len(),
        };
    }
    if let Some(change) = in_progress {
        return MonDecision::Continue(change.clone());
    }
    let size = observed.monmap.len() as u32;
    let next = || next_id(&observed.monmap, highest_used);
    if let Some((mon, out_for)) = observed.out_of_quorum().first().copied() {
        let mon = mon.clone();
        if size > policy.count {
            // One mon too many anyway: the one that is out goes, at once.
            return MonDecision::Start(MonChange::new(
                None,
                Some(mon),
                ChangeReason::OutOfQuorum {
                    secs: out_for.as_secs(),
                },
            ));
        }
        if out_for < policy.timeout {
            return MonDecision::Wait {
                mon,
                out_for,
                timeout: policy.timeout,
            };
        }
        if !policy.failover {
            let reason = "mon failover is disabled (spec.healthCheck.daemonHealth.mon.disabled)";
            return MonDecision::Hold {
                mon,
                reason: reason.into(),
            };
        }
        if size <= 2 {
            let reason = format!(
                "the monmap has {size} mon(s); failover never takes a cluster of two down to one"
            );
            return MonDecision::Hold { mon, reason };
        }
        return MonDecision::Start(MonChange::new(
            Some(next()),
            Some(mon),
            ChangeReason::OutOfQuorum {
                secs: out_for.as_secs(),
            },
        ));
    }
    if size < policy.count {
        return MonDecision::Start(MonChange::new(
            Some(next()),
            None,
            ChangeReason::ScaleUp {
                count: policy.count,
            },
        ));
    }
    if size > policy.count {
        // Every mon is in quorum: removing one keeps a quorum of the rest.
        let newest = observed
            .monmap
            .iter()
            .max_by_key(|m| (letter_index(m), (*m).clone()))
            .cloned();
        return MonDecision::Start(MonChange::new(
            None,
            newest,
            ChangeReason::ScaleDown {
                count: policy.count,
            },
        ));
    }
    MonDecision::Healthy
}

/// The next id never used on this cluster.
pub fn next_id(monmap: &[String], highest_used: Option<u32>) -> String {
    let in_map = monmap.iter().filter_map(|m| letter_index(m)).max();
    match highest_used.max(in_map) {
        Some(i) => letter_id(i + 1),
        None => letter_id(0),
    }
}

#[cfg(test)]
#[path = "mons_tests.rs"]
mod tests;
