//! Whether an OSD may be removed without making data unavailable, as Rook's
//! OSD purge asks before it drains: every pool must still find as many OSDs
//! as it keeps copies, and the other OSDs must have room for the data that
//! moves to them. Pure; the runtime gathers the figures.

use serde::Serialize;

use rookery_api::human_bytes as size;

/// One OSD as `osd dump` and `osd df` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsdLoad {
    pub id: u32,
    pub up: bool,
    pub in_: bool,
    /// Capacity and use, in bytes.
    pub total: u64,
    pub used: u64,
    /// Object data on it (what moves elsewhere when it goes out).
    pub data: u64,
}

/// One pool: how many copies it keeps and how much it stores (one copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolLoad {
    pub name: String,
    pub size: u32,
    pub stored: u64,
}

/// Why a removal is refused: a sentence naming the pool or the space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub reason: String,
    /// The pool the reason is about.
    pub pool: Option<String>,
}

/// Ok, or why removing `target` would make data unavailable.
pub fn check_removal(
    target: u32,
    osds: &[OsdLoad],
    pools: &[PoolLoad],
    backfillfull_ratio: f64,
) -> Result<(), Refusal> {
    let remaining: Vec<&OsdLoad> = osds
        .iter()
        .filter(|o| o.id != target && o.up && o.in_)
        .collect();
    let n = remaining.len() as u32;
    // The pool that needs the most OSDs; among equals the first by name, so
    // the message does not depend on pool order.
    let widest = pools
        .iter()
        .filter(|p| p.size > n)
        .max_by(|a, b| a.size.cmp(&b.size).then_with(|| b.name.cmp(&a.name)));
    if let Some(p) = widest {
        let osds = if n == 1 { "OSD" } else { "OSDs" };
        return Err(Refusal {
            reason: format!(
                "pool {} has size {} and only {n} {osds} would remain up and in",
                p.name, p.size
            ),
            pool: Some(p.name.clone()),
        });
    }
    let Some(t) = osds.iter().find(|o| o.id == target) else {
        return Ok(());
    };
    // Data already moved off (the OSD is out) needs no room.
    let moving = if t.in_ { t.data } else { 0 };
    let room: u64 = remaining
        .iter()
        .map(|o| ((o.total as f64 * backfillfull_ratio) as u64).saturating_sub(o.used))
        .sum();
    if moving > room {
        let biggest = pools
            .iter()
            .filter(|p| p.stored > 0)
            .max_by(|a, b| a.stored.cmp(&b.stored).then_with(|| b.name.cmp(&a.name)));
        let pool_note = biggest
            .map(|p| format!(" (pool {} stores the most: {})", p.name, size(p.stored)))
            .unwrap_or_default();
        return Err(Refusal {
            reason: format!(
                "the remaining OSDs cannot hold the data: osd.{target} holds {} and the other \
OSDs have {} free below the backfill-full ratio ({:.0}%){pool_note}",
                size(moving),
                size(room),
                backfillfull_ratio * 100.0
            ),
            pool: biggest.map(|p| p.name.clone()),
        });
    }
    Ok(())
}

/// How far a drain has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Drain {
    /// PGs still mapped to the OSD.
    pub pgs_on_osd: u64,
    pub pgs_clean: u64,
    pub pgs_total: u64,
}

impl Drain {
    /// Done when nothing is left on the OSD and every PG is active+clean.
    pub fn done(&self) -> bool {
        self.pgs_on_osd == 0 && self.pgs_clean == self.pgs_total
    }

    /// "4 PGs left on osd.1; 60/64 PGs active+clean".
    pub fn describe(&self, id: u32) -> String {
        format!(
            "{} PG{} left on osd.{id}; {}/{} PGs active+clean",
            self.pgs_on_osd,
            if self.pgs_on_osd == 1 { "" } else { "s" },
            self.pgs_clean,
            self.pgs_total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn osd(id: u32, up: bool, in_: bool, used: u64, data: u64) -> OsdLoad {
        OsdLoad {
            id,
            up,
            in_,
            total: 10 * GIB,
            used,
            data,
        }
    }

    fn pool(name: &str, size: u32, stored: u64) -> PoolLoad {
        PoolLoad {
            name: name.into(),
            size,
            stored,
        }
    }

    fn three() -> Vec<OsdLoad> {
        (0..3).map(|i| osd(i, true, true, GIB, GIB / 2)).collect()
    }

    #[test]
    fn a_pool_that_needs_more_osds_than_remain_refuses_and_is_named() {
        let pools = [pool("rbd", 3, 0), pool("small", 2, 0)];
        let r = check_removal(1, &three(), &pools, 0.8).unwrap_err();
        assert_eq!(
            r.reason,
            "pool rbd has size 3 and only 2 OSDs would remain up and in"
        );
        assert_eq!(r.pool.as_deref(), Some("rbd"));
        assert!(check_removal(1, &three(), &[pool("small", 2, 0)], 0.8).is_ok());
    }

    #[test]
    fn the_named_pool_does_not_depend_on_pool_order() {
        let a = [pool("zeta", 3, 0), pool("alpha", 3, 0), pool("two", 2, 0)];
        let mut b = a.clone();
        b.reverse();
        for pools in [&a[..], &b[..]] {
            let r = check_removal(0, &three(), pools, 0.8).unwrap_err();
            assert!(
                r.reason.starts_with("pool alpha has size 3"),
                "{}",
                r.reason
            );
        }
        let mixed = [pool("b", 2, 0), pool("z", 3, 0)];
        let two = &three()[..2];
        let r = check_removal(0, two, &mixed, 0.8).unwrap_err();
        assert_eq!(
            r.reason,
            "pool z has size 3 and only 1 OSD would remain up and in"
        );
    }

    #[test]
    fn down_or_out_osds_do_not_count_as_remaining() {
        let mut osds = three();
        osds.push(osd(3, false, true, 0, 0));
        osds.push(osd(4, true, false, 0, 0));
        let r = check_removal(0, &osds, &[pool("rbd", 3, 0)], 0.8).unwrap_err();
        assert!(r.reason.contains("only 2 OSDs"), "{}", r.reason);
    }

    #[test]
    fn data_that_does_not_fit_elsewhere_refuses() {
        // Each of the two others has 8 GiB below 80% minus 7.5 GiB used.
        let osds = [
            osd(0, true, true, GIB, 6 * GIB),
            osd(1, true, true, 7 * GIB + GIB / 2, 0),
            osd(2, true, true, 7 * GIB + GIB / 2, 0),
        ];
        let pools = [pool("rbd", 1, 5 * GIB), pool("big", 1, 6 * GIB)];
        let r = check_removal(0, &osds, &pools, 0.8).unwrap_err();
        assert_eq!(
            r.reason,
            "the remaining OSDs cannot hold the data: osd.0 holds 6 GiB and the other OSDs \
have 1 GiB free below the backfill-full ratio (80%) (pool big stores the most: 6 GiB)"
        );
        assert_eq!(r.pool.as_deref(), Some("big"));
        // Already out: its data has moved, nothing to hold.
        let mut out = osds.clone();
        out[0].in_ = false;
        assert!(check_removal(0, &out, &pools, 0.8).is_ok());
    }

    #[test]
    fn drain_is_done_when_empty_and_clean() {
        let d = Drain {
            pgs_on_osd: 1,
            pgs_clean: 60,
            pgs_total: 64,
        };
        assert!(!d.done());
        assert_eq!(d.describe(2), "1 PG left on osd.2; 60/64 PGs active+clean");
        let d = Drain {
            pgs_on_osd: 0,
            pgs_clean: 64,
            pgs_total: 64,
        };
        assert!(d.done());
    }
}
