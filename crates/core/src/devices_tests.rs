use super::*;

const GIB: u64 = 1 << 30;

fn file(f: &str) -> DiskIdentity {
    DiskIdentity::BackingFile(f.into())
}

fn seen(path: &str, id: DiskIdentity, usable: bool) -> SeenDevice {
    SeenDevice {
        path: path.into(),
        identity: id,
        size_bytes: 6 * GIB,
        usable,
        detaching: false,
        read: true,
        osd_uuid: (!usable).then(|| "u".to_string()),
    }
}

fn known(key: &str, osd: u32, path: &str, id: DiskIdentity, state: DiskState) -> KnownDisk {
    KnownDisk {
        key: key.into(),
        osd: Some(osd),
        uuid: "u".into(),
        gone_why: None,
        identity: id,
        path: path.into(),
        size_bytes: 6 * GIB,
        state,
    }
}

#[test]
fn identity_prefers_wwn_then_serial_then_backing_file() {
    let id = DiskIdentity::of(Some("0x50"), Some("S1"), None, "/dev/sdb");
    assert_eq!(id, DiskIdentity::Wwn("0x50".into()));
    let id = DiskIdentity::of(Some(" "), Some("S1"), None, "/dev/sdb");
    assert_eq!(id, DiskIdentity::Serial("S1".into()));
    let id = DiskIdentity::of(None, None, Some("/x.img"), "/dev/loop3");
    assert_eq!(id.describe(), "file /x.img");
    let id = DiskIdentity::of(None, None, None, "/dev/vdc");
    assert_eq!(id, DiskIdentity::Path("/dev/vdc".into()));
}

#[test]
fn a_new_usable_disk_becomes_an_osd_and_nothing_else_does() {
    let seen = [
        seen("/dev/loop9", file("/b.img"), true),
        seen("/dev/loop3", file("/a.img"), true),
        seen("/dev/loop4", file("/full.img"), false),
    ];
    let plan = plan_disks(&seen, &[]);
    let paths: Vec<&str> = plan
        .iter()
        .map(|a| match a {
            DiskAction::Create { path, .. } => path.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths, ["/dev/loop3", "/dev/loop9"], "by path, usable only");
}

#[test]
fn a_known_disk_is_never_created_again_even_under_a_new_name() {
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Active,
    )];
    let plan = plan_disks(&[seen("/dev/loop3", file("/a.img"), false)], &k);
    assert!(plan.is_empty(), "{plan:?}");
    // Renamed while its OSD was down: point the OSD at the new name.
    let plan = plan_disks(&[seen("/dev/loop7", file("/a.img"), false)], &k);
    assert_eq!(
        plan,
        [DiskAction::Back {
            key: "d0".into(),
            osd: Some(3),
            path: "/dev/loop7".into()
        }]
    );
}

#[test]
fn a_missing_detaching_or_shrunk_disk_is_gone_and_says_which() {
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Active,
    )];
    let gone = |seen: &[SeenDevice]| match &plan_disks(seen, &k)[..] {
        [DiskAction::Gone { osd, why, .. }] => {
            assert_eq!(*osd, Some(3));
            why.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(gone(&[]), "disk gone: /dev/loop3 (file /a.img)");
    let mut d = seen("/dev/loop3", file("/a.img"), false);
    d.detaching = true;
    assert_eq!(
        gone(std::slice::from_ref(&d)),
        "disk gone: /dev/loop3 (file /a.img) is being detached"
    );
    d.detaching = false;
    d.size_bytes = GIB / 2;
    assert_eq!(
        gone(&[d]),
        "disk failed: /dev/loop3 (file /a.img) shrank from 6 GiB to 512 MiB"
    );
}

#[test]
fn a_gone_disk_comes_back_only_whole() {
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Gone,
    )];
    assert!(plan_disks(&[], &k).is_empty(), "still gone: nothing new");
    let mut small = seen("/dev/loop5", file("/a.img"), false);
    small.size_bytes = GIB;
    let plan = plan_disks(&[small], &k);
    assert!(
        matches!(&plan[..], [DiskAction::Gone { why, .. }] if why.contains("shrank")),
        "not back while shrunk: {plan:?}"
    );
    assert_eq!(
        plan_disks(&[seen("/dev/loop5", file("/a.img"), false)], &k),
        [DiskAction::Back {
            key: "d0".into(),
            osd: Some(3),
            path: "/dev/loop5".into()
        }]
    );
}

#[test]
fn a_disk_back_without_its_label_stays_gone_and_says_why_once() {
    let mut k = known("d0", 3, "/dev/loop3", file("/a.img"), DiskState::Gone);
    k.gone_why = Some("disk gone: /dev/loop3 (file /a.img)".into());
    let mut blank = seen("/dev/loop5", file("/a.img"), true);
    blank.osd_uuid = None;
    let why = match &plan_disks(std::slice::from_ref(&blank), std::slice::from_ref(&k))[..] {
        [DiskAction::Gone { why, .. }] => why.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        why,
        "disk replaced: /dev/loop3 (file /a.img) no longer holds this OSD's data (no BlueStore label of it)"
    );
    k.gone_why = Some(why);
    assert!(
        plan_disks(&[blank.clone()], &[k.clone()]).is_empty(),
        "said once"
    );
    // Another OSD's label is not this OSD's data either; an unread device
    // is not judged by its label.
    let mut other = seen("/dev/loop5", file("/a.img"), false);
    other.osd_uuid = Some("v".into());
    assert!(plan_disks(&[other.clone()], &[k.clone()]).is_empty());
    other.read = false;
    assert!(matches!(
        plan_disks(&[other], &[k])[..],
        [DiskAction::Back { .. }]
    ));
}

#[test]
fn an_interrupted_creation_is_resumed_when_its_disk_is_there() {
    let mut k = known("d1", 0, "/dev/loop3", file("/a.img"), DiskState::Creating);
    k.osd = None;
    assert!(plan_disks(&[], std::slice::from_ref(&k)).is_empty());
    // Half-made, it is no longer blank: resumed anyway, by identity.
    assert_eq!(
        plan_disks(&[seen("/dev/loop4", file("/a.img"), false)], &[k]),
        [DiskAction::Resume {
            key: "d1".into(),
            path: "/dev/loop4".into()
        }]
    );
}

#[test]
fn removed_disks_are_left_alone_unless_wiped() {
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Removed,
    )];
    // Still labelled (not usable): nothing, not even "back".
    assert!(plan_disks(&[seen("/dev/loop3", file("/a.img"), false)], &k).is_empty());
    assert!(plan_disks(&[], &k).is_empty(), "not gone either");
    // Wiped by its owner: a new disk like any other.
    let plan = plan_disks(&[seen("/dev/loop3", file("/a.img"), true)], &k);
    assert!(matches!(plan[..], [DiskAction::Create { .. }]), "{plan:?}");
}

#[test]
fn a_file_attached_twice_is_never_used() {
    let twice = [
        seen("/dev/loop3", file("/a.img"), true),
        seen("/dev/loop4", file("/a.img"), true),
    ];
    assert!(plan_disks(&twice, &[]).is_empty());
    // A running OSD keeps the device it holds; a gone one waits.
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Active,
    )];
    assert!(plan_disks(&twice, &k).is_empty());
    let k = [known(
        "d0",
        3,
        "/dev/loop3",
        file("/a.img"),
        DiskState::Gone,
    )];
    assert!(plan_disks(&twice, &k).is_empty());
}
