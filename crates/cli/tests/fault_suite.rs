//! The fault suite: checksummed writes into an RBD volume and a CephFS volume
//! (both mounted through the local runtime's CSI plugins) while, in turn,
//! each kind of daemon is SIGKILLed, a mon is partitioned, the supervisor is
//! killed and started again, and the CSI node plugins are killed.
//!
//! After each fault: the time until the cluster is as it was (same health,
//! quorum, OSDs up, mgr, MDS daemons, every supervised daemon running) and
//! both writers acknowledged a write started after the fault; then every
//! acknowledged block is read back with the page cache dropped. At the end
//! both volumes are unmounted and mounted again (fresh mappers: the blocks
//! come from Ceph), read back once more, written and unmounted.
//!
//! The table (fault, recovery time, bytes verified, bytes lost) goes to
//! stderr and to `<target tmp>/fault-suite.txt`; no acknowledged byte may
//! be lost.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::checksummed::{drop_caches, verify, Verified, Writer, BLOCK};
use common::faults::{fault_cluster, Fault, MountedVolume, Target};
use common::recovery::{wait_recovered, Recovery, Shape};
use common::TestCluster;
use rookery_ceph::Rados;

/// The faults, in order.
const FAULTS: [Fault; 7] = [
    Fault::Kill("mon.b"),
    Fault::Kill("mgr.a"),
    Fault::Kill("osd.1"),
    Fault::KillActiveMds,
    Fault::PartitionMon("mon.c", Duration::from_secs(20)),
    Fault::Supervisor,
    Fault::CsiNodePlugins,
];

/// Generous: the machine is shared and loaded.
const RECOVERY_LIMIT: Duration = Duration::from_secs(180);
const PAUSE_LIMIT: Duration = Duration::from_secs(120);

struct Row {
    fault: String,
    recovery: Option<Recovery>,
    verified: Verified,
    write_errors: usize,
}

/// Declared so that it drops writers first, then mounts, then the cluster.
struct Lab {
    writers: Vec<Writer>,
    volumes: Vec<MountedVolume>,
    rados: Rados,
    rt: tokio::runtime::Runtime,
    cluster: TestCluster,
    mnt: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let cluster = fault_cluster("faults");
        let mnt = tempfile::tempdir_in(common::tmp_root()).expect("mount dir");
        let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let rados = rt.block_on(cluster.rados());
        let mut lab = Lab {
            writers: Vec::new(),
            volumes: Vec::new(),
            rados,
            rt,
            cluster,
            mnt,
        };
        for (kind, name) in [("block", "rbd-vol"), ("fs", "fs-vol")] {
            let at = lab.mnt.path().join(name);
            let v = MountedVolume::create(&lab.cluster, kind, name, "256M", &at);
            lab.writers
                .push(Writer::start(&format!("{kind} {name}"), &at));
            lab.volumes.push(v);
        }
        lab
    }

    fn target(&self) -> Target<'_> {
        Target {
            cluster: &self.cluster,
            rt: &self.rt,
            rados: &self.rados,
        }
    }

    /// Pauses the writers, drops the caches and reads every acknowledged
    /// block back.
    fn verify_all(&self) -> Verified {
        for w in &self.writers {
            w.pause(PAUSE_LIMIT);
        }
        drop_caches();
        let mut total = Verified::default();
        for w in &self.writers {
            total += verify(&w.label, &w.path, w.acked());
        }
        for w in &self.writers {
            w.resume();
        }
        total
    }

    fn run(&self, fault: Fault, before: &Shape) -> Result<Row, (Row, String)> {
        let errors_before: usize = self.writers.iter().map(|w| w.errors().len()).sum();
        let t = self.target();
        let fault = fault.inject(&t);
        eprintln!("fault: {}", fault.label);
        let writers: Vec<&Writer> = self.writers.iter().collect();
        let recovered = wait_recovered(&t, before, &fault, &writers, RECOVERY_LIMIT);
        let row = Row {
            fault: fault.label,
            recovery: recovered.as_ref().ok().cloned(),
            verified: self.verify_all(),
            write_errors: self.writers.iter().map(|w| w.errors().len()).sum::<usize>()
                - errors_before,
        };
        match recovered {
            Ok(_) => Ok(row),
            Err(e) => Err((row, e)),
        }
    }

    /// Stops the writers, remounts both volumes (new mappers read from
    /// Ceph), verifies, writes a new file, and unmounts for good.
    fn finish(&mut self) -> Row {
        let acked: Vec<u64> = self
            .writers
            .iter_mut()
            .map(|w| {
                w.stop(PAUSE_LIMIT);
                w.acked()
            })
            .collect();
        let acked_total: u64 = acked.iter().sum();
        let mut verified = Verified::default();
        for ((v, w), acked) in self.volumes.iter_mut().zip(&self.writers).zip(acked) {
            v.unmount();
            v.mount();
            verified += verify(&w.label, &w.path, acked);
            let probe = v.path.join("after-faults");
            std::fs::write(&probe, b"still writable").expect("write after the faults");
            assert_eq!(std::fs::read(&probe).unwrap(), b"still writable");
            v.unmount();
        }
        let mib = (acked_total * BLOCK as u64) >> 20;
        Row {
            fault: format!("end: remounted, read back ({mib} MiB acked in all)"),
            recovery: None,
            verified,
            write_errors: 0,
        }
    }
}

fn table(rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<56} {:>10} {:>15} {:>11} {:>12}  health checks seen",
        "fault", "recovery s", "bytes verified", "bytes lost", "write errors"
    );
    for r in rows {
        let (rec, checks) = r
            .recovery
            .as_ref()
            .map_or(("-".into(), String::new()), |x| {
                let checks: Vec<&str> = x.checks.iter().map(String::as_str).collect();
                (format!("{:.1}", x.took.as_secs_f64()), checks.join(" "))
            });
        let _ = writeln!(
            t,
            "{:<56} {:>10} {:>15} {:>11} {:>12}  {}",
            r.fault, rec, r.verified.bytes_verified, r.verified.bytes_lost, r.write_errors, checks
        );
    }
    t
}

fn report(rows: &[Row]) {
    let t = table(rows);
    eprintln!("\n{t}");
    let path = common::tmp_root().join("fault-suite.txt");
    if let Err(e) = std::fs::write(&path, &t) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}

#[test]
fn acknowledged_writes_survive_every_fault_and_the_cluster_heals() {
    let started = Instant::now();
    let mut lab = Lab::new();
    let before =
        lab.cluster
            .wait_status("HEALTH_OK with the volumes mounted", RECOVERY_LIMIT, |s| {
                Shape::of(s).is_some_and(|x| x.health == "HEALTH_OK" && x.quorum == 3 && x.mds == 2)
            });
    let before = Shape::of(&before).expect("a shape");
    eprintln!(
        "cluster and volumes ready after {:?}: {before:?}",
        started.elapsed()
    );
    let mut rows = Vec::new();
    for fault in FAULTS {
        match lab.run(fault, &before) {
            Ok(row) => rows.push(row),
            Err((row, why)) => {
                rows.push(row);
                report(&rows);
                panic!("{why}");
            }
        }
    }
    rows.push(lab.finish());
    report(&rows);
    eprintln!("fault suite took {:?}", started.elapsed());

    for r in &rows {
        assert_eq!(
            r.verified.bytes_lost, 0,
            "{}: acknowledged bytes lost",
            r.fault
        );
        assert!(
            r.verified.bytes_verified > 0,
            "{}: nothing verified",
            r.fault
        );
    }
    let s = lab
        .cluster
        .wait_status("HEALTH_OK at the end", RECOVERY_LIMIT, |s| {
            s["ceph"]["health"] == "HEALTH_OK"
        });
    assert_eq!(Shape::of(&s).as_ref(), Some(&before));
}
