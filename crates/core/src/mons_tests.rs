use super::*;

const TEN_MIN: Duration = Duration::from_secs(600);

fn names(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// `monmap` and `quorum` as "a,b,c"; `out` as [("c", secs)].
fn seen(monmap: &str, quorum: &str, out: &[(&str, u64)]) -> MonObservation {
    MonObservation {
        monmap: names(monmap),
        quorum: names(quorum),
        out_for: out
            .iter()
            .map(|(m, s)| (m.to_string(), Duration::from_secs(*s)))
            .collect(),
    }
}

fn policy(count: u32) -> MonPolicy {
    MonPolicy {
        count,
        timeout: TEN_MIN,
        failover: true,
    }
}

fn failover(add: &str, remove: &str, secs: u64) -> MonDecision {
    MonDecision::Start(MonChange {
        add: Some(add.into()),
        remove: Some(remove.into()),
        reason: ChangeReason::OutOfQuorum { secs },
        step: ChangeStep::Create,
    })
}

#[test]
fn table() {
    use MonDecision::*;
    type Check = Box<dyn Fn(&MonDecision) -> bool>;
    #[rustfmt::skip]
    let cases: Vec<(&str, MonObservation, MonPolicy, Option<u32>, Check)> = vec![
        ("all in quorum", seen("a,b,c", "a,b,c", &[]), policy(3), Some(2),
            Box::new(|d| *d == Healthy)),
        ("one out, within the timeout", seen("a,b,c", "a,c", &[("b", 30)]), policy(3), Some(2),
            Box::new(|d| *d == Wait { mon: "b".into(), out_for: Duration::from_secs(30), timeout: TEN_MIN })),
        ("one out past the timeout: next letter", seen("a,b,c", "a,c", &[("b", 601)]), policy(3), Some(2),
            Box::new(|d| *d == failover("d", "b", 601))),
        ("exactly at the timeout", seen("a,b,c", "a,c", &[("b", 600)]), policy(3), Some(2),
            Box::new(|d| *d == failover("d", "b", 600))),
        ("a removed id is never reused", seen("a,c,d", "a,d", &[("c", 700)]), policy(3), Some(4),
            Box::new(|d| *d == failover("f", "c", 700))),
        ("state behind the monmap: the monmap's highest counts", seen("a,b,x", "a,x", &[("b", 700)]), policy(3), Some(2),
            Box::new(|d| *d == failover("y", "b", 700))),
        ("two out of three: no quorum", seen("a,b,c", "a", &[("b", 900), ("c", 900)]), policy(3), Some(2),
            Box::new(|d| *d == NoQuorum { in_quorum: 1, monmap: 3 })),
        ("no quorum at all", seen("a,b,c", "", &[]), policy(3), Some(2),
            Box::new(|d| matches!(d, NoQuorum { in_quorum: 0, .. }))),
        ("two of four is no majority", seen("a,b,c,d", "a,b", &[("c", 900), ("d", 900)]), policy(3), Some(3),
            Box::new(|d| matches!(d, NoQuorum { .. }))),
        ("two mons, the spec wants three: one more", seen("a,b", "a,b", &[]), policy(3), Some(1),
            Box::new(|d| *d == Start(MonChange { add: Some("c".into()), remove: None,
                reason: ChangeReason::ScaleUp { count: 3 }, step: ChangeStep::Create }))),
        ("failover disabled", seen("a,b,c", "a,b", &[("c", 9000)]), MonPolicy { failover: false, ..policy(3) }, Some(2),
            Box::new(|d| matches!(d, Hold { mon, .. } if mon == "c"))),
        ("the longest out goes first", seen("a,b,c,d,e", "a,b,c", &[("d", 700), ("e", 800)]), policy(5), Some(4),
            Box::new(|d| *d == failover("f", "e", 800))),
        ("scale up 1 -> 3, one at a time", seen("a", "a", &[]), policy(3), Some(0),
            Box::new(|d| matches!(d, Start(MonChange { add: Some(a), remove: None, step: ChangeStep::Create, .. }) if a == "b"))),
        ("scale down 3 -> 1 removes the newest", seen("a,b,d", "a,b,d", &[]), policy(1), Some(3),
            Box::new(|d| matches!(d, Start(MonChange { add: None, remove: Some(r), step: ChangeStep::Remove, .. }) if r == "d"))),
        ("scale down, 2 -> 1 when both are in quorum", seen("a,b", "a,b", &[]), policy(1), Some(1),
            Box::new(|d| matches!(d, Start(MonChange { remove: Some(r), add: None, .. }) if r == "b"))),
        ("scale down takes the out mon at once", seen("a,b,c", "a,b", &[("b", 0), ("c", 5)]), policy(1), Some(2),
            Box::new(|d| matches!(d, Start(MonChange { remove: Some(r), add: None, reason: ChangeReason::OutOfQuorum { .. }, .. }) if r == "c"))),
        ("ids past z", seen("x,y,z", "x,y", &[("z", 601)]), policy(3), Some(25),
            Box::new(|d| *d == failover("aa", "z", 601))),
    ];
    for (what, obs, pol, highest, check) in cases {
        let d = decide(&obs, &pol, None, highest);
        assert!(check(&d), "{what}: got {d:?}");
    }
}

#[test]
fn two_mons_one_out_is_no_quorum_and_never_a_removal() {
    // With two mons, one out means no majority: nothing to decide on.
    let d = decide(&seen("a,b", "a", &[("b", 9000)]), &policy(3), None, Some(1));
    assert!(matches!(d, MonDecision::NoQuorum { .. }), "{d:?}");
    // Even if a quorum were reported, two mons never lose one to failover.
    let odd = MonObservation {
        monmap: names("a,b"),
        quorum: names("a,b,z"),
        out_for: BTreeMap::new(),
    };
    let d = decide(&odd, &policy(2), None, Some(1));
    assert_eq!(d, MonDecision::Healthy);
    let d = decide(
        &MonObservation {
            monmap: names("a,b"),
            quorum: names("a,x,y"),
            out_for: [("b".to_string(), TEN_MIN * 2)].into(),
        },
        &policy(2),
        None,
        Some(1),
    );
    // "x" and "y" are not in the monmap: 1 of 2 is no majority.
    assert!(matches!(d, MonDecision::NoQuorum { .. }), "{d:?}");
}

#[test]
fn a_change_in_progress_is_finished_first_but_never_without_quorum() {
    let change = MonChange {
        add: Some("d".into()),
        remove: Some("b".into()),
        reason: ChangeReason::OutOfQuorum { secs: 601 },
        step: ChangeStep::Join,
    };
    // Another mon going out meanwhile starts nothing new.
    let obs = seen("a,b,c,d", "a,c,d", &[("b", 900)]);
    let d = decide(&obs, &policy(3), Some(&change), Some(3));
    assert_eq!(d, MonDecision::Continue(change.clone()));
    let lost = seen("a,b,c,d", "a", &[("b", 900), ("c", 30), ("d", 30)]);
    assert!(matches!(
        decide(&lost, &policy(3), Some(&change), Some(3)),
        MonDecision::NoQuorum { .. }
    ));
}

#[test]
fn steps_run_in_order_and_skip_what_a_change_does_not_do() {
    let mut failover = MonChange::new(
        Some("d".into()),
        Some("b".into()),
        ChangeReason::OutOfQuorum { secs: 10 },
    );
    let mut seen = vec![failover.step];
    while let Some(next) = failover.next_step() {
        failover.step = next;
        seen.push(next);
    }
    use ChangeStep::*;
    assert_eq!(seen, [Create, Join, Remove, Cleanup]);

    let add = MonChange::new(Some("b".into()), None, ChangeReason::ScaleUp { count: 3 });
    assert_eq!(add.step, Create);
    let joined = MonChange { step: Join, ..add };
    assert_eq!(joined.next_step(), Some(Cleanup));

    let remove = MonChange::new(None, Some("c".into()), ChangeReason::ScaleDown { count: 1 });
    assert_eq!(remove.step, Remove);
    assert_eq!(remove.next_step(), Some(Cleanup));
}

#[test]
fn changes_say_what_happened() {
    let f = MonChange::new(
        Some("d".into()),
        Some("b".into()),
        ChangeReason::OutOfQuorum { secs: 10 },
    );
    assert_eq!(
        f.describe(),
        "mon.b out of quorum for 10s: replaced by mon.d"
    );
    let up = MonChange::new(Some("b".into()), None, ChangeReason::ScaleUp { count: 3 });
    assert_eq!(up.describe(), "mon.b added (spec.mon.count is 3)");
    let down = MonChange::new(None, Some("c".into()), ChangeReason::ScaleDown { count: 1 });
    assert_eq!(down.describe(), "mon.c removed (spec.mon.count is 1)");
    // The state file keeps it as JSON.
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<MonChange>(&json).unwrap(), f);
}

#[test]
fn next_id_follows_the_highest_ever_used() {
    assert_eq!(next_id(&[], None), "a");
    assert_eq!(next_id(&names("a,b,c"), None), "d");
    assert_eq!(next_id(&names("a,b,c"), Some(5)), "g");
    assert_eq!(next_id(&names("a,z"), Some(3)), "aa");
}
