//! The mon watcher: every `spec.healthCheck.daemonHealth.mon.interval` it
//! reads the quorum, notes since when each mon has been out of it, asks
//! `core::mons::decide` what to do, and has `failover` do it.

use std::time::Duration;

use rookery_ceph::commands::QuorumStatus;
use rookery_core::{decide, MonDecision, MonObservation};

use super::failover;
use crate::ceph_ops::Admin;
use crate::error::{CephContext, Result};
use crate::events::now_secs;
use crate::mon::state::MonState;
use crate::reconcile::{Context, Part, Step};

/// A quorum read that takes longer than this means the connection's mon is
/// hung or there is no quorum: the watcher reconnects (to another mon).
const QUORUM_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The [`Part`] that keeps the mons in quorum.
#[derive(Debug)]
pub struct MonWatch {
    /// spec.healthCheck.daemonHealth.mon.interval.
    period: Duration,
    /// The next look: sooner than `period` when a mon's timeout ends
    /// before it.
    next: Duration,
    /// What was last said about a situation that lasts, so it is said once.
    last_said: Option<String>,
    /// The watcher's own connection, made when a read on the current one
    /// got stuck: librados waits long on a mon that is frozen rather than
    /// gone, and a new connection hunts for a mon that answers. None: the
    /// supervisor's shared connection is used.
    admin: Option<Admin>,
}

impl MonWatch {
    pub fn new(interval: Duration) -> Self {
        Self {
            period: interval,
            next: interval,
            last_said: None,
            admin: None,
        }
    }

    /// Logs a lasting situation once, not at every turn.
    fn say(&mut self, msg: String) {
        if self.last_said.as_deref() != Some(msg.as_str()) {
            tracing::warn!(part = "mons", "{msg}");
            self.last_said = Some(msg);
        }
    }

    async fn look(&mut self, ctx: &Context) -> Result<()> {
        self.next = self.period;
        let Some(mut state) = MonState::load(&ctx.layout)? else {
            return Ok(());
        };
        // The supervisor's connection, or the watcher's own once that one
        // was found stuck.
        let admin = self.admin.clone().unwrap_or_else(|| ctx.admin.clone());
        let read = tokio::time::timeout(
            QUORUM_READ_TIMEOUT,
            admin.rados().mon_command(&QuorumStatus),
        )
        .await;
        let q = match read {
            Ok(r) => r.ceph("quorum_status")?,
            Err(_) => {
                self.say(format!(
                    "no mon answered quorum_status within {}s (a hung mon, or no quorum); \
                     reconnecting, nothing is changed meanwhile",
                    QUORUM_READ_TIMEOUT.as_secs()
                ));
                self.admin = None;
                self.admin = Some(Admin::connect(&ctx.layout, QUORUM_READ_TIMEOUT * 2).await?);
                self.next = Duration::from_secs(1).min(self.period);
                return Ok(());
            }
        };
        let monmap: Vec<String> = q.monmap.mons.iter().map(|m| m.name.clone()).collect();
        let now = now_secs();
        let before = state.out_since.clone();
        state.out_since.retain(|m, _| monmap.contains(m));
        for m in &monmap {
            if q.quorum_names.contains(m) {
                state.out_since.remove(m);
            } else {
                state.out_since.entry(m.clone()).or_insert(now);
            }
        }
        if state.out_since != before {
            state.save(&ctx.layout)?;
        }
        let observed = MonObservation {
            out_for: state
                .out_since
                .iter()
                .map(|(m, since)| (m.clone(), Duration::from_secs(now.saturating_sub(*since))))
                .collect(),
            monmap,
            quorum: q.quorum_names.clone(),
        };
        let decision = decide(
            &observed,
            &ctx.desired.mon_policy(),
            state.change.as_ref(),
            state.highest_id,
        );
        match decision {
            MonDecision::Healthy => self.last_said = None,
            MonDecision::NoQuorum { in_quorum, monmap } => self.say(format!(
                "{in_quorum} of {monmap} mons in quorum: no majority, nothing is changed"
            )),
            MonDecision::Wait {
                mon,
                out_for,
                timeout,
            } => {
                let left = timeout.saturating_sub(out_for);
                // Look again right when the timeout ends, not up to an
                // interval later.
                self.next = self.period.min(left + Duration::from_secs(1));
                self.say(format!(
                    "mon.{mon} out of quorum for {}s; replaced after {}s",
                    out_for.as_secs(),
                    timeout.as_secs()
                ));
            }
            MonDecision::Hold { mon, reason } => {
                self.say(format!("mon.{mon} is out of quorum but stays: {reason}"))
            }
            MonDecision::Start(change) => {
                self.last_said = None;
                failover::start(ctx, &admin, &mut state, change).await?;
            }
            MonDecision::Continue(_) => {
                self.last_said = None;
                failover::resume(ctx, &admin, &mut state).await?;
            }
        }
        Ok(())
    }
}

impl Part for MonWatch {
    fn name(&self) -> &'static str {
        "mons"
    }

    fn interval(&self) -> Duration {
        self.next
    }

    fn tick<'a>(&'a mut self, ctx: &'a Context) -> Step<'a> {
        Box::pin(self.look(ctx))
    }
}
