//! The CSI plugin the local runtime starts: reachable on its socket, ready
//! while the cluster answers, running as its own least-privilege user.

mod common;

use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::{GetPluginInfoRequest, ProbeRequest};
use rookery_csi::grpc::{connect, CsiEndpoint};

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
