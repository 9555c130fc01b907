//! A latency histogram with fixed buckets, rendered as Prometheus renders
//! them: cumulative `_bucket{le=...}` lines ending in `+Inf`, `_sum`, `_count`.

use super::exposition::sample;

/// Upper bounds in seconds, 1 ms to 60 s: from a journal lookup to a
/// CreateVolume that waits out a slow cluster (the sidecars' default timeout
/// is on the order of a minute).
pub const BUCKETS_SECONDS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Observations per bucket (not cumulative; the last slot is above 60 s),
/// their sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    counts: [u64; BUCKETS_SECONDS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Adds one observation of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        // `le` is inclusive: an observation equal to a bound counts in it.
        let slot = BUCKETS_SECONDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS_SECONDS.len());
        self.counts[slot] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The `_bucket`, `_sum` and `_count` samples of `name`, each with
    /// `labels` (the `le` label is added).
    pub fn render(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let with_le = |le: &str, value: u64, out: &mut String| {
            let mut all = labels.to_vec();
            all.push(("le", le));
            sample(out, &bucket, &all, value);
        };
        let mut cumulative = 0;
        for (bound, count) in BUCKETS_SECONDS.iter().zip(self.counts) {
            cumulative += count;
            with_le(&bound.to_string(), cumulative, out);
        }
        with_le("+Inf", self.count, out);
        sample(out, &format!("{name}_sum"), labels, self.sum);
        sample(out, &format!("{name}_count"), labels, self.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(h: &Histogram) -> Vec<String> {
        let mut out = String::new();
        h.render(&mut out, "d_seconds", &[("method", "/m")]);
        out.lines().map(str::to_owned).collect()
    }

    #[test]
    fn buckets_are_cumulative_and_le_is_inclusive() {
        let mut h = Histogram::default();
        for s in [0.0005, 0.001, 0.02, 0.02, 3.0, 61.0] {
            h.observe(s);
        }
        let l = lines(&h);
        assert_eq!(l.len(), BUCKETS_SECONDS.len() + 3, "{l:#?}");
        assert_eq!(l[0], "d_seconds_bucket{method=\"/m\",le=\"0.001\"} 2");
        assert_eq!(l[3], "d_seconds_bucket{method=\"/m\",le=\"0.01\"} 2");
        assert_eq!(l[4], "d_seconds_bucket{method=\"/m\",le=\"0.025\"} 4");
        assert_eq!(l[9], "d_seconds_bucket{method=\"/m\",le=\"1\"} 4");
        assert_eq!(l[11], "d_seconds_bucket{method=\"/m\",le=\"5\"} 5");
        assert_eq!(l[14], "d_seconds_bucket{method=\"/m\",le=\"60\"} 5");
        assert_eq!(l[15], "d_seconds_bucket{method=\"/m\",le=\"+Inf\"} 6");
        assert_eq!(l[17], "d_seconds_count{method=\"/m\"} 6");
        let sum: f64 = l[16]
            .strip_prefix("d_seconds_sum{method=\"/m\"} ")
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 64.0415).abs() < 1e-9, "{sum}");
        assert_eq!(h.count(), 6);
    }

    #[test]
    fn empty_histogram_renders_zeroes() {
        let l = lines(&Histogram::default());
        assert!(l.iter().all(|line| line.ends_with(" 0")), "{l:#?}");
    }

    #[test]
    fn bounds_are_increasing_from_1ms_to_60s() {
        assert!(BUCKETS_SECONDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(BUCKETS_SECONDS[0], 0.001);
        assert_eq!(BUCKETS_SECONDS[BUCKETS_SECONDS.len() - 1], 60.0);
    }
}
