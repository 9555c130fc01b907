//! The CSI plugin the local runtime starts: reachable on its socket, ready
//! while the cluster answers, running as its own least-privilege user.

mod common;

use std::collections::HashMap;

use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, GetPluginInfoRequest, ProbeRequest,
    VolumeCapability,
};
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
    let req = CreateVolumeRequest {
        name: name.clone(),
        capacity_range: Some(CapacityRange {
            required_bytes: 1 << 30,
            limit_bytes: 0,
        }),
        volume_capabilities: vec![VolumeCapability {
            access_mode: Some(AccessMode {
                mode: Mode::SingleNodeWriter as i32,
            }),
            access_type: Some(AccessType::Mount(MountVolume::default())),
        }],
        parameters: HashMap::from([
            ("clusterID".to_string(), fsid),
            ("pool".to_string(), "rbd".to_string()),
        ]),
        ..Default::default()
    };
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
