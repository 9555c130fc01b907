//! The CephFS CSI plugins the local runtime starts when the cluster has a
//! filesystem (the shared cluster has `myfs`), and `rookery volume --type fs`
//! through them: shared volumes mounted at two paths at once.

mod common;

use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::{GetPluginInfoRequest, ProbeRequest};
use rookery_csi::grpc::{connect, CsiEndpoint};

/// The argument after `flag` on the command line of supervised daemon `name`.
fn daemon_arg(c: &common::TestCluster, name: &str, flag: &str) -> Option<String> {
    let daemon = c
        .daemons()
        .into_iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} not supervised: {:?}", c.daemons()));
    assert_eq!(daemon["state"], "running", "{daemon}");
    let pid = daemon["pid"].as_u64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

/// What the node plugin's probe picks on this host.
fn expected_mounter() -> &'static str {
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if fs.lines().any(|l| l.rsplit('\t').next() == Some("ceph")) {
        "kernel"
    } else {
        "fuse"
    }
}

#[tokio::test]
async fn up_starts_both_cephfs_plugins_as_their_users() {
    let c = common::shared();
    let s = c.status();
    let endpoint = s["csi"]["cephfs.csi.ceph.com"]
        .as_str()
        .unwrap_or_else(|| panic!("no CephFS CSI endpoint in status: {s:#}"));
    assert!(endpoint.ends_with("/run/csi-cephfs.sock"), "{endpoint}");
    let metrics = s["csi_metrics"]["cephfs.csi.ceph.com"].as_str().unwrap();
    assert!(metrics.ends_with("/metrics"), "{s:#}");
    let node = &s["csi_node"]["cephfs.csi.ceph.com"];
    assert!(
        node["endpoint"]
            .as_str()
            .is_some_and(|e| e.ends_with("/run/csi-cephfs-node.sock")),
        "{s:#}"
    );
    assert_eq!(node["mounter"], expected_mounter(), "{s:#}");
    assert_ne!(node["metrics"].as_str(), Some(metrics), "{s:#}");
    // RBD's node plugin is still described by its mapper.
    assert!(
        s["csi_node"]["rbd.csi.ceph.com"]["mapper"].is_string(),
        "{s:#}"
    );

    assert_eq!(
        daemon_arg(&c, "csi.cephfs", "--user").as_deref(),
        Some("csi-cephfs-provisioner")
    );
    assert_eq!(
        daemon_arg(&c, "csi.cephfs-node", "--user").as_deref(),
        Some("csi-cephfs-node")
    );
    assert_eq!(
        daemon_arg(&c, "csi.cephfs-node", "--state-dir"),
        Some(c.dir.join("csi/cephfs-node").display().to_string())
    );
    use std::os::unix::fs::PermissionsExt;
    for id in ["csi-cephfs-provisioner", "csi-cephfs-node"] {
        let path = c.dir.join(format!("keys/client.{id}.keyring"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }

    for endpoint in [endpoint, node["endpoint"].as_str().unwrap()] {
        let channel = connect(&CsiEndpoint::parse(endpoint).unwrap())
            .await
            .unwrap();
        let mut client = IdentityClient::new(channel);
        let info = client
            .get_plugin_info(GetPluginInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(info.name, "cephfs.csi.ceph.com");
        let probe = client.probe(ProbeRequest {}).await.unwrap().into_inner();
        assert_eq!(probe.ready, Some(true), "{endpoint}");
    }

    // The text form shows them too.
    let o = common::rookery(&["status", "--dir", c.dir_str()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("mounts volumes with {}", expected_mounter())),
        "{out}"
    );
    assert!(out.contains("cephfs.csi.ceph.com"), "{out}");
}

/// Unmounts what a failed test left staged, so the shared cluster can stop.
struct Unstage<'a> {
    c: &'a common::TestCluster,
    names: Vec<String>,
}

impl Drop for Unstage<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = common::rookery(&[
                "volume",
                "--type",
                "fs",
                "--dir",
                self.c.dir_str(),
                "unmount",
                n,
            ]);
        }
    }
}

#[test]
fn volume_type_fs_shares_snapshots_clones_expands_and_deletes() {
    let c = common::shared();
    let dir = tempfile::tempdir_in(common::tmp_root()).unwrap();
    let cleanup = common::csi::MountCleanup {
        root: dir.path().to_owned(),
    };
    let (src, copy, snap) = (
        common::unique("fm"),
        common::unique("fc"),
        common::unique("fs"),
    );
    let _unstage = Unstage {
        c: &c,
        names: vec![src.clone(), copy.clone()],
    };
    let at = |n: &str| dir.path().join(n).display().to_string();
    let run = |args: &[&str]| -> serde_json::Value {
        let mut full = vec![
            "volume",
            "--type",
            "fs",
            "--dir",
            c.dir_str(),
            "--output",
            "json",
        ];
        full.extend_from_slice(args);
        let o = common::rookery(&full);
        assert!(o.status.success(), "{args:?}: {}", common::text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    let size_of = |name: &str| -> u64 {
        let rows = run(&["list"]);
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {rows:#}"))
            .clone();
        assert!(
            row["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("csi-vol-")),
            "{row}"
        );
        row["size_bytes"].as_u64().unwrap()
    };

    let created = run(&["create", &src, "--size", "256M"]);
    assert!(
        created[0]["volume_id"]
            .as_str()
            .is_some_and(|i| !i.is_empty()),
        "{created:#}"
    );
    assert_eq!(size_of(&src), 256 << 20);

    // One volume, two mounts, one file.
    let m = run(&["mount", &src, &at("a")]);
    assert_eq!(m["mapper"], expected_mounter(), "{m:#}");
    run(&["mount", &src, &at("b")]);
    std::fs::write(dir.path().join("a/hello"), b"written at a").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("b/hello")).unwrap(),
        b"written at a"
    );

    // The cluster will not stop under mounted CephFS volumes.
    let o = common::rookery(&["down", "--dir", c.dir_str()]);
    assert!(!o.status.success(), "{}", common::text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&at("a")) && err.contains(&at("b")), "{err}");

    run(&["snapshot", "create", &src, &snap]);
    let snaps = run(&["snapshot", "list"]);
    let row = snaps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == snap.as_str())
        .unwrap_or_else(|| panic!("{snap} not listed: {snaps:#}"));
    assert_eq!(row["source"], src.as_str());
    // Changed after the snapshot: the clone must not see this.
    std::fs::write(dir.path().join("b/hello"), b"changed later").unwrap();
    run(&["clone", &snap, &copy, "--snapshot"]);
    run(&["mount", &copy, &at("copy")]);
    assert_eq!(
        std::fs::read(dir.path().join("copy/hello")).unwrap(),
        b"written at a"
    );
    let out = run(&["unmount", &copy]);
    assert_eq!(out["still_mounted"], serde_json::json!([]), "{out:#}");

    // A quota grows; the mounts stay.
    let grown = run(&["expand", &src, "--size", "512M"]);
    assert_eq!(grown["size_bytes"], 512 << 20, "{grown:#}");
    assert_eq!(grown["filesystem_grown"], false, "{grown:#}");
    assert_eq!(size_of(&src), 512 << 20);
    assert_eq!(
        std::fs::read(dir.path().join("a/hello")).unwrap(),
        b"changed later"
    );

    // One path, then the rest: unstaged once nothing is left.
    let out = run(&["unmount", &src, &at("a")]);
    assert_eq!(
        out["still_mounted"],
        serde_json::json!([at("b")]),
        "{out:#}"
    );
    let out = run(&["unmount", &src]);
    assert_eq!(out["still_mounted"], serde_json::json!([]), "{out:#}");
    assert!(cleanup.mounts().is_empty(), "{:?}", cleanup.mounts());
    let staged: Vec<_> = rookery_csi::node::mountinfo::read()
        .unwrap()
        .into_iter()
        .filter(|e| e.mount_point.starts_with(c.dir.join("csi")))
        .filter(|e| e.fs_type.contains("ceph"))
        .map(|e| e.mount_point)
        .collect();
    assert!(staged.is_empty(), "still staged: {staged:?}");

    run(&["snapshot", "delete", &snap]);
    run(&["delete", &copy]);
    run(&["delete", &src]);
    let rows = run(&["list"]);
    assert!(
        !rows
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == src.as_str() || r["name"] == copy.as_str()),
        "{rows:#}"
    );
    let o = common::rookery(&[
        "volume",
        "--type",
        "fs",
        "--dir",
        c.dir_str(),
        "delete",
        &src,
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("in filesystem myfs"),
        "{}",
        common::text(&o)
    );
}
