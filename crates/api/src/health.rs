//! `spec.healthCheck` of a `CephCluster`, as Rook types it: how often the
//! operator looks at the mons, and how long a mon may stay out of quorum
//! before it is replaced. Durations are Go durations (`45s`, `10m`, `1h30m`).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::de::nullable;
use crate::warnings::{join, Report};
use crate::Extra;

/// Rook's default: look at the mons every 45 s.
pub const DEFAULT_MON_INTERVAL: Duration = Duration::from_secs(45);
/// Rook's default: replace a mon out of quorum for 10 minutes.
pub const DEFAULT_MON_TIMEOUT: Duration = Duration::from_secs(600);

/// `spec.healthCheck`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthCheckSpec {
    /// Per-daemon health checks.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub daemon_health: DaemonHealthSpec,
    /// Other fields (Rook's `livenessProbe`, `startupProbe`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl HealthCheckSpec {
    const FIELDS: &'static [&'static str] = &["daemonHealth"];
    const ROOK_ONLY: &'static [&'static str] = &["livenessProbe", "startupProbe"];

    pub(crate) fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        self.daemon_health.report(&join(path, "daemonHealth"), r);
    }
}

/// `spec.healthCheck.daemonHealth`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonHealthSpec {
    /// The mon quorum check and failover.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub mon: MonHealthSpec,
    /// Other fields (Rook's `osd`, `status`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DaemonHealthSpec {
    const FIELDS: &'static [&'static str] = &["mon"];
    const ROOK_ONLY: &'static [&'static str] = &["osd", "status"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        r.extra(
            &join(path, "mon"),
            &self.mon.extra,
            MonHealthSpec::FIELDS,
            &[],
        );
    }
}

/// `spec.healthCheck.daemonHealth.mon`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MonHealthSpec {
    /// Never replace a mon (quorum is still watched). Default false.
    pub disabled: bool,
    /// How often to look at the quorum, e.g. `45s` (the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// How long a mon may be out of quorum before it is replaced, e.g. `10m`
    /// (the default; Rook writes `600s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MonHealthSpec {
    const FIELDS: &'static [&'static str] = &["disabled", "interval", "timeout"];

    /// The interval; the default when unset or invalid (validation reports it).
    pub fn interval(&self) -> Duration {
        parse_or(self.interval.as_deref(), DEFAULT_MON_INTERVAL)
    }

    /// The timeout; the default when unset or invalid (validation reports it).
    pub fn timeout(&self) -> Duration {
        parse_or(self.timeout.as_deref(), DEFAULT_MON_TIMEOUT)
    }
}

fn parse_or(text: Option<&str>, default: Duration) -> Duration {
    text.and_then(|t| parse_duration(t).ok()).unwrap_or(default)
}

/// The forms [`parse_duration`] accepts, for error messages.
pub const DURATION_FORMS: &str =
    "write a number with a unit: ms, s, m or h, e.g. 45s, 10m, 1h30m, 1.5h";

/// Reads a Go duration (`time.ParseDuration`): one or more decimal numbers,
/// each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone is zero.
/// Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.starts_with('-') {
        return Err(format!("{text:?} is negative"));
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{text:?} has no number where one is expected"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("{text:?} has a number without a unit")),
            other => return Err(format!("{text:?} has an unknown unit {other:?}")),
        };
        total += value * secs;
        rest = next;
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs_f64());
        assert_eq!(secs("45s"), Ok(45.0));
        assert_eq!(secs("600s"), Ok(600.0));
        assert_eq!(secs("10m"), Ok(600.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("0"), Ok(0.0));
        for bad in ["", "10", "ten minutes", "10 m", "5d", "-5s", "s", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("10x")
            .unwrap_err()
            .contains("unknown unit \"x\""));
    }

    #[test]
    fn defaults_are_rooks() {
        let m = MonHealthSpec::default();
        assert_eq!(m.interval(), Duration::from_secs(45));
        assert_eq!(m.timeout(), Duration::from_secs(600));
        let set = MonHealthSpec {
            interval: Some("2s".into()),
            timeout: Some("10s".into()),
            ..MonHealthSpec::default()
        };
        assert_eq!(set.interval(), Duration::from_secs(2));
        assert_eq!(set.timeout(), Duration::from_secs(10));
    }
}
