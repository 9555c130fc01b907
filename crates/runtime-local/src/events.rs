//! The cluster's story: daemon restarts, OSDs added, bring-ups, as one JSON
//! line each in `events.jsonl`, shown by `rookery status`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One thing that happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
    pub message: String,
}

/// Appends events to the cluster's event log.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
}

impl EventLog {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn record(&self, kind: &str, daemon: Option<&str>, message: impl Into<String>) {
        let event = Event {
            time: now_secs(),
            kind: kind.to_string(),
            daemon: daemon.map(str::to_string),
            message: message.into(),
        };
        tracing::info!(kind, daemon, message = %event.message, "event");
        let line = match serde_json::to_string(&event) {
            Ok(l) => l,
            Err(_) => return,
        };
        // Losing an event line is better than failing the work it describes.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            let _ = writeln!(f, "{line}");
        }
    }

    /// The last `n` events, oldest first.
    pub fn tail(&self, n: usize) -> Vec<Event> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let all: Vec<Event> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        all[all.len().saturating_sub(n)..].to_vec()
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_tails_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.jsonl"));
        for i in 0..5 {
            log.record("restart", Some("osd.0"), format!("n{i}"));
        }
        let tail = log.tail(2);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].message, "n3");
        assert_eq!(tail[1].message, "n4");
        assert_eq!(tail[1].daemon.as_deref(), Some("osd.0"));
    }
}
