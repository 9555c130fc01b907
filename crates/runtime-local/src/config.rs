//! The cluster's `ceph.conf`: one file for the daemons and for the stock
//! `ceph`/`rbd` tools (`export CEPH_CONF=...`). Rendered from the desired
//! cluster every `up`, so it always matches the spec.

use std::fmt::Write as _;

use rookery_core::desired::min_size;
use rookery_core::DesiredCluster;

use crate::layout::Layout;
use crate::mon::state::MonEntry;

/// Bytes of metadata cache per MDS (256 MiB).
pub const MDS_CACHE_MEMORY_LIMIT: u64 = 256 << 20;

/// Loopback only: servers never bind a public address here.
pub const ADDR: &str = "127.0.0.1";

/// The conf for `mons` (the mon set of `mon/state.json`).
pub fn render(desired: &DesiredCluster, fsid: &str, layout: &Layout, mons: &[MonEntry]) -> String {
    let root = layout.root().display();
    let mon_host: Vec<String> = mons.iter().map(MonEntry::addrv).collect();
    let size = desired.default_pool_size;
    let mut c = String::new();
    let _ = writeln!(
        c,
        "# Written by rookery on every `up`; edits are overwritten."
    );
    let _ = writeln!(c, "[global]");
    let _ = writeln!(c, "fsid = {fsid}");
    let _ = writeln!(c, "mon_host = {}", mon_host.join(","));
    for key in [
        "auth_cluster_required",
        "auth_service_required",
        "auth_client_required",
    ] {
        let _ = writeln!(c, "{key} = cephx");
    }
    let lines = [
        "auth_allow_insecure_global_id_reclaim = false".to_string(),
        "ms_bind_msgr1 = true".to_string(),
        "ms_bind_msgr2 = true".to_string(),
        format!("run_dir = {root}/run"),
        format!("admin_socket = {root}/run/$name.asok"),
        format!("log_file = {root}/log/$name.log"),
        format!("crash_dir = {root}/crash"),
        format!("exporter_sock_dir = {root}/run"),
        // One host: replicas go to different OSDs, not different hosts.
        "osd_crush_chooseleaf_type = 0".to_string(),
        format!("osd_pool_default_size = {size}"),
        format!("osd_pool_default_min_size = {}", min_size(size)),
        format!(
            "mon_allow_pool_size_one = {}",
            size == 1 || desired.all_pools().any(|p| p.size == 1)
        ),
        format!("mon_warn_on_pool_no_redundancy = {}", size > 1),
        "mon_allow_pool_delete = true".to_string(),
        // Read when the first OSD map is made; `up` also sets them on the
        // running cluster so a changed spec takes effect.
        format!("mon_osd_full_ratio = {}", desired.ratios.full),
        format!(
            "mon_osd_backfillfull_ratio = {}",
            desired.ratios.backfillfull
        ),
        format!("mon_osd_nearfull_ratio = {}", desired.ratios.nearfull),
        // The mon's store shares the host's disk: warn when that disk is
        // really short, not at Ceph's 30% (a normal state of a dev machine).
        "mon_data_avail_warn = 10".to_string(),
        "mon_data_avail_crit = 3".to_string(),
    ];
    for l in lines {
        let _ = writeln!(c, "{l}");
    }

    let _ = writeln!(c, "\n[mon]");
    let _ = writeln!(c, "mon_data = {root}/mon/$id");
    let _ = writeln!(c, "keyring = {root}/mon/$id/keyring");
    if desired.first_mon_ip.is_some() {
        // Each mon on its own address: its outgoing connections leave from
        // it too, so cutting that address off cuts the mon off entirely
        // (as a partitioned host would be).
        let _ = writeln!(c, "ms_bind_before_connect = true");
    }
    for m in mons {
        let _ = writeln!(c, "\n[mon.{}]", m.id);
        let _ = writeln!(c, "public_addrv = {}", m.addrv());
    }

    let _ = writeln!(c, "\n[mgr]");
    let _ = writeln!(c, "mgr_data = {root}/mgr/$id");
    let _ = writeln!(c, "keyring = {root}/mgr/$id/keyring");
    // Daemons report usage to the mgr every 5 s by default: `osd df` (what
    // `status` shows of a filling OSD) would lag the full marks by that much.
    let _ = writeln!(c, "mgr_stats_period = 1");

    let _ = writeln!(c, "\n[mds]");
    let _ = writeln!(c, "mds_data = {root}/mds/$id");
    let _ = writeln!(c, "keyring = {root}/mds/$id/keyring");
    // Ceph's 4 GiB cache per MDS would overcommit a small host running an
    // active and a standby-replay (which keeps a cache as large) per rank.
    let _ = writeln!(c, "mds_cache_memory_limit = {MDS_CACHE_MEMORY_LIMIT}");

    let _ = writeln!(c, "\n[osd]");
    let _ = writeln!(c, "osd_data = {root}/osd/$id");
    let _ = writeln!(c, "keyring = {root}/osd/$id/keyring");
    let _ = writeln!(c, "osd_objectstore = bluestore");
    let _ = writeln!(c, "bluestore_block_create = true");
    // Small hosts: Ceph's 4 GiB default per OSD would overcommit memory.
    let _ = writeln!(c, "osd_memory_target = 1073741824");
    // An OSD re-reads its own fullness on every heartbeat (default 6 s); on
    // small, fast-filling file OSDs that lag lets bluefs run out of space
    // and abort before the full ratio stops clients. Check every second.
    let _ = writeln!(c, "osd_heartbeat_interval = 1");
    let _ = writeln!(c, "osd_mon_report_interval = 1");
    // The OSD's own last line of defence, checked on every write (Ceph's
    // default 0.97 is past the point where a 10 GiB bluestore file aborts).
    let _ = writeln!(
        c,
        "osd_failsafe_full_ratio = {:.2}",
        (desired.ratios.full + 0.05).min(0.97)
    );

    let _ = writeln!(c, "\n[client.admin]");
    let _ = writeln!(c, "keyring = {}", layout.admin_keyring().display());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(mons: u32) -> DesiredCluster {
        let mut d = rookery_core::from_manifest(&rookery_api::Manifest::local_default());
        d.mons = mons;
        d
    }

    #[test]
    fn every_mon_gets_its_own_v2_and_v1_address() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let d = desired(3);
        let mons = crate::mon::state::MonState::ensure(&layout, &d)
            .unwrap()
            .mons;
        let conf = render(&d, "f00", &Layout::new("/c"), &mons);
        assert!(conf.contains(
            "mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789],[v2:127.0.0.1:3301,v1:127.0.0.1:6790],[v2:127.0.0.1:3302,v1:127.0.0.1:6791]"
        ));
        assert!(conf.contains("[mon.c]\npublic_addrv = [v2:127.0.0.1:3302,v1:127.0.0.1:6791]"));
        assert!(conf.contains("fsid = f00"));
        assert!(conf.contains("keyring = /c/ceph.client.admin.keyring"));
        assert!(conf.contains("mon_osd_full_ratio = 0.85"));
        assert!(conf.contains("osd_failsafe_full_ratio = 0.90"));
        assert!(conf.contains("osd_heartbeat_interval = 1"));
        assert!(conf.contains("osd_pool_default_min_size = 2"));
        assert!(conf.contains("mon_allow_pool_size_one = false"));
        assert!(conf.contains("[mds]\nmds_data = /c/mds/$id\nkeyring = /c/mds/$id/keyring"));
        assert!(conf.contains("mds_cache_memory_limit = 268435456"));
        assert!(!conf.contains("ms_bind_before_connect"));
    }

    #[test]
    fn mons_on_their_own_addresses_connect_from_them() {
        let mut d = desired(3);
        d.first_mon_ip = Some([127, 0, 9, 1].into());
        let mons = vec![MonEntry {
            id: "d".into(),
            ip: [127, 0, 9, 4].into(),
            v2: 3300,
            v1: 6789,
        }];
        let conf = render(&d, "f00", &Layout::new("/c"), &mons);
        assert!(conf.contains("mon_host = [v2:127.0.9.4:3300,v1:127.0.9.4:6789]\n"));
        assert!(conf.contains("ms_bind_before_connect = true\n\n[mon.d]\npublic_addrv = [v2:127.0.9.4:3300,v1:127.0.9.4:6789]"));
    }
}
