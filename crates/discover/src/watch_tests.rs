use super::*;
use crate::fixtures::disk;

const STABLE: Duration = Duration::from_millis(500);

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

fn kinds(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let kind = match e {
                Event::Added { .. } => "added",
                Event::Removed { .. } => "removed",
                Event::Changed { .. } => "changed",
            };
            format!("{kind} {}", e.device().name)
        })
        .collect()
}

#[test]
fn prime_publishes_at_once() {
    let mut w = Debouncer::new(STABLE);
    assert_eq!(kinds(&w.prime(vec![disk("sda")])), vec!["added sda"]);
    let t0 = Instant::now();
    assert!(w.observe(t0, vec![disk("sda")]).is_empty());
}

#[test]
fn an_addition_is_published_once_stable() {
    let mut w = Debouncer::new(STABLE);
    w.prime(vec![disk("sda")]);
    let t0 = Instant::now();
    let both = || vec![disk("sda"), disk("sdb")];
    assert!(w.observe(t0, both()).is_empty(), "just seen");
    assert!(w.observe(ms(t0, 499), both()).is_empty(), "not stable yet");
    assert_eq!(kinds(&w.observe(ms(t0, 500), both())), vec!["added sdb"]);
    assert!(w.observe(ms(t0, 1000), both()).is_empty(), "published once");
}

#[test]
fn a_removal_is_published_once_stable() {
    let mut w = Debouncer::new(STABLE);
    w.prime(vec![disk("sda"), disk("sdb")]);
    let t0 = Instant::now();
    assert!(w.observe(t0, vec![disk("sda")]).is_empty());
    let e = w.observe(ms(t0, 600), vec![disk("sda")]);
    assert_eq!(kinds(&e), vec!["removed sdb"]);
}

#[test]
fn a_flap_publishes_nothing() {
    let mut w = Debouncer::new(STABLE);
    w.prime(vec![disk("sda")]);
    let t0 = Instant::now();
    assert!(w.observe(t0, vec![]).is_empty());
    assert!(w.observe(ms(t0, 200), vec![disk("sda")]).is_empty());
    assert!(w.observe(ms(t0, 900), vec![disk("sda")]).is_empty());
    // And the pending removal was forgotten: a new one waits its own time.
    assert!(w.observe(ms(t0, 1000), vec![]).is_empty());
    assert_eq!(kinds(&w.observe(ms(t0, 1500), vec![])), vec!["removed sda"]);
}

#[test]
fn each_new_state_restarts_the_wait() {
    let mut w = Debouncer::new(STABLE);
    w.prime(vec![disk("sda")]);
    let t0 = Instant::now();
    let with_table = || {
        let mut d = disk("sda");
        d.part_table = Some("gpt".into());
        vec![d]
    };
    let with_parts = || {
        let mut d = with_table().remove(0);
        d.partitions = vec!["sda1".into()];
        vec![d]
    };
    assert!(w.observe(t0, with_table()).is_empty());
    assert!(
        w.observe(ms(t0, 400), with_parts()).is_empty(),
        "changed again"
    );
    assert!(
        w.observe(ms(t0, 800), with_parts()).is_empty(),
        "400 ms stable"
    );
    let e = w.observe(ms(t0, 900), with_parts());
    assert_eq!(kinds(&e), vec!["changed sda"]);
    let Event::Changed { fields, device } = &e[0] else {
        unreachable!()
    };
    assert_eq!(fields, &["partTable", "partitions"]);
    assert_eq!(device.partitions, vec!["sda1"]);
}

#[test]
fn event_json_shape() {
    let e = Event::Removed {
        device: disk("sdb"),
    };
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["event"], "removed");
    assert_eq!(v["device"]["name"], "sdb");
}
