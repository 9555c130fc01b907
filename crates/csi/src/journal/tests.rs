//! Unit tests of the journal's names and encodings (no cluster).

use super::records::{parse_attributes, parse_directory_value, BadValue, Stored};
use super::*;

const UUID: &str = "5e2a1c9d-0b7f-4a61-8e3c-1d2f3a4b5c6d";

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn complete(stored: std::result::Result<Stored, BadValue>) -> ImageAttributes {
    match stored {
        Ok(Stored::Complete(a)) => a,
        Ok(Stored::Incomplete(k)) => panic!("incomplete: {k}"),
        Ok(Stored::Missing) => panic!("missing"),
        Err(e) => panic!("bad value: {e:?}"),
    }
}

#[test]
fn names_match_ceph_csi() {
    let v = JournalConfig::volumes(DEFAULT_INSTANCE_ID);
    assert_eq!(v.directory_object(), "csi.volumes.default");
    assert_eq!(v.name_key("pvc-1"), "csi.volume.pvc-1");
    assert_eq!(v.uuid_object(UUID), format!("csi.volume.{UUID}"));
    assert_eq!(v.request_name_key(), "csi.volname");
    assert_eq!(v.image_name(None, UUID), format!("csi-vol-{UUID}"));
    assert_eq!(v.image_name(Some(""), UUID), format!("csi-vol-{UUID}"));
    assert_eq!(v.image_name(Some("k8s-"), UUID), format!("k8s-{UUID}"));

    let s = JournalConfig::snapshots("east");
    assert_eq!(s.instance_id(), "east");
    assert_eq!(s.directory_object(), "csi.snaps.east");
    assert_eq!(s.name_key("snap-1"), "csi.snap.snap-1");
    assert_eq!(s.uuid_object(UUID), format!("csi.snap.{UUID}"));
    assert_eq!(s.request_name_key(), "csi.snapname");
    assert_eq!(s.image_name(None, UUID), format!("csi-snap-{UUID}"));
}

#[test]
fn new_reservations_write_exactly_ceph_csi_keys() {
    let v = JournalConfig::volumes("default");
    let mut a = complete(parse_attributes(
        &v,
        UUID,
        map(&[("csi.volname", "pvc-1"), ("csi.imagename", "csi-vol-x")]),
    ));
    assert_eq!(
        attribute_entries(&v, &a),
        map(&[("csi.imagename", "csi-vol-x"), ("csi.volname", "pvc-1")])
    );
    let s = JournalConfig::snapshots("default");
    a.source_name = Some("csi-vol-src".into());
    assert_eq!(
        attribute_entries(&s, &a),
        map(&[
            ("csi.imagename", "csi-vol-x"),
            ("csi.snapname", "pvc-1"),
            ("csi.source", "csi-vol-src"),
        ])
    );
}

#[test]
fn directory_values() {
    assert_eq!(
        parse_directory_value(UUID.as_bytes()),
        Some((UUID.to_owned(), None))
    );
    let pooled = format!("0000000000000005/{UUID}");
    assert_eq!(
        parse_directory_value(pooled.as_bytes()),
        Some((UUID.to_owned(), Some(5)))
    );
    for bad in [
        UUID.to_uppercase(),
        format!("5/{UUID}"),
        format!("000000000000000G/{UUID}"),
        UUID[..35].to_owned(),
        // ceph-csi's mirroring map keeps a volume handle as the value.
        format!("0001-0004-east-0000000000000002-{UUID}"),
        String::new(),
    ] {
        assert_eq!(parse_directory_value(bad.as_bytes()), None, "{bad}");
    }
    assert_eq!(parse_directory_value(&[0xff; 36]), None);
}

#[test]
fn attributes_of_ceph_csi_volumes() {
    let v = JournalConfig::volumes("default");
    let a = complete(parse_attributes(
        &v,
        UUID,
        map(&[
            ("csi.volname", "pvc-1"),
            ("csi.imagename", "csi-vol-1"),
            ("csi.imageid", "10a3f6b8b1c2"),
            ("csi.journalpool", "0000000000000003"),
            ("csi.volume.encryptKMS", "vault"),
            ("csi.volume.encryptionType", "block"),
            ("csi.volume.owner", "tenant"),
            ("csi.volume.backingsnapshotid", "snap-id"),
        ]),
    ));
    assert_eq!(
        a,
        ImageAttributes {
            request_name: "pvc-1".into(),
            image_name: "csi-vol-1".into(),
            image_id: Some("10a3f6b8b1c2".into()),
            source_name: None,
            journal_pool_id: Some(3),
            kms_id: Some("vault".into()),
            encryption_type: Some("block".into()),
            owner: Some("tenant".into()),
            backing_snapshot_id: Some("snap-id".into()),
        }
    );
    // Volumes from before csi.imagename: the default name.
    let old = complete(parse_attributes(&v, UUID, map(&[("csi.volname", "pvc-1")])));
    assert_eq!(old.image_name, format!("csi-vol-{UUID}"));
}

#[test]
fn half_made_and_bad_attributes() {
    let v = JournalConfig::volumes("default");
    let s = JournalConfig::snapshots("default");
    let incomplete = |c: &JournalConfig, m| match parse_attributes(c, UUID, m) {
        Ok(Stored::Incomplete(k)) => k,
        _ => panic!("expected incomplete"),
    };
    assert_eq!(incomplete(&v, map(&[])), "csi.volname");
    assert_eq!(incomplete(&v, map(&[("csi.volname", "")])), "csi.volname");
    assert_eq!(incomplete(&s, map(&[("csi.snapname", "s")])), "csi.source");
    let bad = parse_attributes(
        &v,
        UUID,
        map(&[("csi.volname", "p"), ("csi.journalpool", "3")]),
    );
    assert!(matches!(bad, Err(("csi.journalpool", _, _))));
    let mut m = map(&[("csi.volname", "p")]);
    m.insert("csi.imagename".into(), vec![0xff]);
    assert!(matches!(
        parse_attributes(&v, UUID, m),
        Err(("csi.imagename", _, _))
    ));
}

#[test]
fn argument_checks() {
    assert!(check_request_name("pvc-1").is_ok());
    assert!(check_request_name("").is_err());
    assert!(check_request_name("a\0b").is_err());
    assert!(check_uuid_arg(UUID).is_ok());
    let e = check_uuid_arg("nope").unwrap_err();
    assert_eq!(e.code(), crate::error::CsiCode::InvalidArgument);
    assert!(e.to_string().contains("journal uuid \"nope\""), "{e}");
}
