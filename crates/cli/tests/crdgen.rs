//! `rookery crdgen` prints what deploy/crds.yaml holds (no cluster needed).

use std::process::Command;

#[test]
fn crdgen_prints_the_committed_crds() {
    let out = Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("crdgen")
        .output()
        .expect("run rookery crdgen");
    assert!(
        out.status.success(),
        "rookery crdgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds.yaml");
    let committed = std::fs::read_to_string(path).unwrap();
    assert!(
        printed == committed,
        "deploy/crds.yaml is not what `rookery crdgen` prints; regenerate it: \
cargo run -q -p rookery -- crdgen > deploy/crds.yaml"
    );
    assert_eq!(printed.matches("kind: CustomResourceDefinition").count(), 3);
}

#[test]
fn crdgen_json_is_a_list_of_three() {
    let out = Command::new(env!("CARGO_BIN_EXE_rookery"))
        .args(["crdgen", "--output", "json"])
        .output()
        .expect("run rookery crdgen --output json");
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cephclusters.ceph.rook.io",
            "cephblockpools.ceph.rook.io",
            "cephfilesystems.ceph.rook.io"
        ]
    );
}
