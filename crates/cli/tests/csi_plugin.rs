//! The CSI plugin the local runtime starts: reachable on its socket, ready
//! while the cluster answers, running as its own least-privilege user.

mod common;

use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::{DeleteVolumeRequest, GetPluginInfoRequest, ProbeRequest};
use rookery_csi::grpc::{connect, CsiEndpoint};
use rookery_csi::rbd::connect_controller;

#[tokio::test]
async fn up_starts_the_rbd_plugin_on_its_socket_and_it_probes_ready() {
    let c = common::shared();
    let s = c.status();
    let endpoint = s["csi"]["rbd.csi.ceph.com"]
        .as_str()
        .unwrap_or_else(|| panic!("no RBD CSI endpoint in status: {s:#}"));
    assert!(endpoint.starts_with("unix://"), "{endpoint}");
    let daemon = c
        .daemons()
        .into_iter()
        .find(|d| d["name"] == "csi.rbd")
        .unwrap_or_else(|| panic!("csi.rbd not supervised: {:?}", c.daemons()));
    assert_eq!(daemon["state"], "running");

    let channel = connect(&CsiEndpoint::parse(endpoint).unwrap())
        .await
        .unwrap();
    let mut client = IdentityClient::new(channel);
    let info = client
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "rbd.csi.ceph.com");
    let probe = client.probe(ProbeRequest {}).await.unwrap().into_inner();
    assert_eq!(probe.ready, Some(true));

    // Least privilege: the plugin runs as its own user, not as admin, and the
    // keyrings are private.
    let pid = daemon["pid"].as_u64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let user = args
        .iter()
        .position(|a| a == "--user")
        .map(|i| &args[i + 1]);
    assert_eq!(user.map(String::as_str), Some("csi-rbd-provisioner"));
    use std::os::unix::fs::PermissionsExt;
    for id in ["csi-rbd-provisioner", "csi-rbd-node"] {
        let path = c.dir.join(format!("keys/client.{id}.keyring"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// The plugin `up` started provisions through its own socket as the
/// provisioner user: a volume appears as an image in the rbd pool and goes
/// away again.
#[tokio::test]
async fn the_plugin_up_started_creates_and_deletes_a_volume() {
    let c = common::shared();
    let s = c.status();
    let endpoint = CsiEndpoint::parse(s["csi"]["rbd.csi.ceph.com"].as_str().unwrap()).unwrap();
    let fsid = s["fsid"].as_str().unwrap().to_string();
    let mut ctl = connect_controller(&endpoint).await.unwrap();
    let name = common::unique("pvc");
    let req = common::csi::create_request(&name, 1 << 30, &fsid, "rbd");
    let vol = ctl
        .create_volume(req)
        .await
        .unwrap()
        .into_inner()
        .volume
        .unwrap();
    assert_eq!(vol.capacity_bytes, 1 << 30);
    let image = vol.volume_context["imageName"].clone();
    let rados = c.rados().await;
    let io = rados.ioctx("rbd", None).await.unwrap();
    assert_eq!(
        rookery_ceph::rbd::info(&io, &image).await.unwrap().size,
        1 << 30
    );
    ctl.delete_volume(DeleteVolumeRequest {
        volume_id: vol.volume_id,
        ..Default::default()
    })
    .await
    .unwrap();
    let names: Vec<String> = rookery_ceph::rbd::list(&io)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(!names.contains(&image), "{image} still listed: {names:?}");
}

/// `rookery volume` drives the plugin like a CO: create, list, expand,
/// delete by name, with clear errors for unknown names and bad sizes.
#[test]
fn volume_command_creates_lists_expands_and_deletes() {
    let c = common::shared();
    let name = common::unique("vol");
    let json = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["volume", "--dir", c.dir_str(), "--output", "json"];
        full.extend_from_slice(args);
        let o = common::rookery(&full);
        assert!(o.status.success(), "{}", common::text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    let created = json(&["create", &name, "--size", "2G"]);
    assert_eq!(created[0]["size_bytes"], 2u64 << 30);
    let listed = json(&["list"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {listed:#}"));
    assert_eq!(row["volume_id"], created[0]["volume_id"]);
    assert_eq!(
        json(&["expand", &name, "--size", "3G"])["size_bytes"],
        3u64 << 30
    );
    json(&["delete", &name]);
    let listed = json(&["list"]);
    assert!(!listed.to_string().contains(&name), "{listed:#}");

    let o = common::rookery(&["volume", "--dir", c.dir_str(), "delete", &name]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no volume named"),
        "{}",
        common::text(&o)
    );
    let o = common::rookery(&[
        "volume",
        "--dir",
        c.dir_str(),
        "create",
        "x",
        "--size",
        "ten",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("size \"ten\""),
        "{}",
        common::text(&o)
    );
}

/// `up` also starts the node plugin, as the node user, and says which mapper
/// it uses; `rookery volume` mounts a volume with it, snapshots and clones it,
/// and unmounts everything again.
#[test]
fn volume_command_mounts_snapshots_clones_and_unmounts() {
    let c = common::shared();
    let s = c.status();
    let node = &s["csi_node"]["rbd.csi.ceph.com"];
    assert!(
        node["endpoint"]
            .as_str()
            .is_some_and(|e| e.ends_with("csi-rbd-node.sock")),
        "{s:#}"
    );
    let expected = if std::path::Path::new("/sys/bus/rbd/add_single_major").exists() {
        "krbd"
    } else {
        "rbd-fuse"
    };
    assert_eq!(node["mapper"], expected, "{s:#}");
    let daemon = c
        .daemons()
        .into_iter()
        .find(|d| d["name"] == "csi.rbd-node")
        .unwrap_or_else(|| panic!("csi.rbd-node not supervised: {:?}", c.daemons()));
    let pid = daemon["pid"].as_u64().unwrap();
    let cmdline = String::from_utf8(std::fs::read(format!("/proc/{pid}/cmdline")).unwrap())
        .unwrap()
        .replace('\0', " ");
    assert!(cmdline.contains("--user csi-rbd-node"), "{cmdline}");

    let dir = tempfile::tempdir_in(common::tmp_root()).unwrap();
    let cleanup = common::csi::MountCleanup {
        root: dir.path().to_owned(),
    };
    let (src, copy, snap) = (
        common::unique("vm"),
        common::unique("vc"),
        common::unique("vs"),
    );
    let at = |n: &str| dir.path().join(n).display().to_string();
    let run = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["volume", "--dir", c.dir_str(), "--output", "json"];
        full.extend_from_slice(args);
        let o = common::rookery(&full);
        assert!(o.status.success(), "{}", common::text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    run(&["create", &src, "--size", "256M"]);
    let m = run(&["mount", &src, &at("src")]);
    assert_eq!(m["fs_type"], "ext4");
    assert_eq!(m["mapper"], expected);
    std::fs::write(dir.path().join("src/hello"), b"from the source").unwrap();
    run(&["unmount", &src]);
    assert!(cleanup.mounts().is_empty(), "{:?}", cleanup.mounts());

    run(&["snapshot", "create", &src, &snap]);
    let snaps = run(&["snapshot", "list"]);
    let row = snaps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == snap.as_str())
        .unwrap_or_else(|| panic!("{snap} not listed: {snaps:#}"));
    assert_eq!(row["source"], src.as_str());
    run(&["clone", &snap, &copy, "--snapshot"]);
    // The clone and its source mounted at once, each with its own data.
    run(&["mount", &copy, &at("copy")]);
    run(&["mount", &src, &at("src")]);
    assert_eq!(
        std::fs::read(dir.path().join("copy/hello")).unwrap(),
        b"from the source"
    );
    std::fs::write(dir.path().join("copy/hello"), b"changed in the clone").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("src/hello")).unwrap(),
        b"from the source"
    );
    // The cluster will not stop under mounted volumes.
    let o = common::rookery(&["down", "--dir", c.dir_str()]);
    assert!(!o.status.success(), "{}", common::text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&at("copy")),
        "{}",
        common::text(&o)
    );
    let out = run(&["unmount", &copy, &at("copy")]);
    assert_eq!(out["still_mounted"], serde_json::json!([]));
    run(&["unmount", &src]);
    assert!(cleanup.mounts().is_empty(), "{:?}", cleanup.mounts());
    assert!(cleanup.loops().is_empty(), "{:?}", cleanup.loops());

    // Unknown names are named in the error.
    let o = common::rookery(&[
        "volume",
        "--dir",
        c.dir_str(),
        "mount",
        "no-such-vol",
        &at("x"),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no volume named no-such-vol"),
        "{}",
        common::text(&o)
    );
    run(&["snapshot", "delete", &snap]);
    run(&["delete", &copy]);
    run(&["delete", &src]);
}
