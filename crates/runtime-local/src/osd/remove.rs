//! `rookery osd remove`: as Rook's OSD purge. Refuse when the data would
//! become unavailable (unless forced), mark the OSD out, wait while its data
//! drains to the others, stop it, purge it from Ceph, delete its data, and
//! keep a tombstone so it is never recreated.
//!
//! The command runs in its own process; the daemon belongs to the
//! supervisor. The removal is recorded in `osd/removals/<id>.json`: when the
//! record says `stopping`, the supervisor's [`RemovalPart`] (woken by SIGHUP)
//! stops the daemon for good and says `stopped`. A removal cut short is
//! resumed by running the command again.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::daemons::{self, Kind};
use crate::error::{Error, IoContext, Result};
use crate::layout::{write_atomic, Layout};
use crate::reconcile::{Context, Part, Step};

/// Where a removal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Out; data moving to the other OSDs.
    Draining,
    /// The supervisor is asked to stop the daemon for good.
    Stopping,
    /// Stopped by the supervisor; never restarted.
    Stopped,
    /// Given up: the supervisor starts the daemon again and drops the record.
    Cancelled,
}

/// `osd/removals/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub id: u32,
    pub stage: Stage,
    pub force: bool,
    /// Unix time it began.
    pub started: u64,
}

pub fn read(layout: &Layout, id: u32) -> Option<Removal> {
    let text = std::fs::read_to_string(layout.osd_removal(id)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn write(layout: &Layout, r: &Removal) -> Result<()> {
    let path = layout.osd_removal(r.id);
    std::fs::create_dir_all(layout.osd_removals_dir())
        .ctx("cannot create", layout.osd_removals_dir())?;
    let json = serde_json::to_vec_pretty(r).map_err(|e| Error::Spec(e.to_string()))?;
    write_atomic(&path, &json, 0o644).ctx("cannot write the removal record", &path)
}

pub fn clear(layout: &Layout, id: u32) {
    let _ = std::fs::remove_file(layout.osd_removal(id));
}

/// Every removal record.
pub fn all(layout: &Layout) -> Vec<Removal> {
    let mut out: Vec<Removal> = std::fs::read_dir(layout.osd_removals_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter_map(|t| serde_json::from_str(&t).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|r| r.id);
    out
}

/// A removal of `id` is under way.
pub fn in_progress(layout: &Layout, id: u32) -> bool {
    read(layout, id).is_some_and(|r| r.stage != Stage::Cancelled)
}

/// OSDs a removal has stopped or is stopping: never to be started.
pub fn held_down(layout: &Layout) -> BTreeSet<u32> {
    all(layout)
        .into_iter()
        .filter(|r| matches!(r.stage, Stage::Stopping | Stage::Stopped))
        .map(|r| r.id)
        .collect()
}

/// The supervisor's side: stops daemons whose removal asks for it, and
/// starts again those whose removal was given up.
#[derive(Debug, Default)]
pub struct RemovalPart;

impl Part for RemovalPart {
    fn name(&self) -> &'static str {
        "osd-removals"
    }

    fn tick<'a>(&'a mut self, ctx: &'a Context) -> Step<'a> {
        Box::pin(async move {
            for mut r in all(&ctx.layout) {
                let name = format!("osd.{}", r.id);
                match r.stage {
                    Stage::Draining => {}
                    Stage::Stopping | Stage::Stopped => {
                        if ctx.sup.is_supervised(&name) || r.stage == Stage::Stopping {
                            ctx.sup.stop(&name).await;
                            tracing::info!(daemon = %name, "stopped for its removal");
                        }
                        if r.stage == Stage::Stopping {
                            r.stage = Stage::Stopped;
                            write(&ctx.layout, &r)?;
                        }
                    }
                    Stage::Cancelled => {
                        let spec = daemons::spec(&ctx.layout, Kind::Osd, &r.id.to_string());
                        ctx.sup.start(spec);
                        clear(&ctx.layout, r.id);
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_only_stopping_or_stopped_hold_an_osd_down() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        for (id, stage) in [
            (1, Stage::Draining),
            (2, Stage::Stopping),
            (3, Stage::Stopped),
            (4, Stage::Cancelled),
        ] {
            let r = Removal {
                id,
                stage,
                force: false,
                started: 1,
            };
            write(&layout, &r).unwrap();
            assert_eq!(read(&layout, id), Some(r));
        }
        assert_eq!(held_down(&layout), BTreeSet::from([2, 3]));
        assert!(in_progress(&layout, 1) && !in_progress(&layout, 4));
        clear(&layout, 2);
        assert_eq!(all(&layout).len(), 3);
    }
}
