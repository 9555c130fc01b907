//! Progress of long work (`up`), for people and for the `up` process that
//! waits on a background supervisor: every step is printed (when asked) and
//! appended as one JSON line to `run/progress.jsonl`, which the waiting
//! process follows.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgressKind {
    /// A step began.
    Step,
    /// A step finished; `secs` is how long it took.
    Done,
    Warn,
    /// The cluster is up; `msg` is the summary.
    Ready,
    /// Bring-up failed; `msg` says why and what to do.
    Failed,
}

/// One line of progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProgressEvent {
    /// Seconds since the start of the work.
    pub t: f64,
    pub kind: ProgressKind,
    pub step: String,
    pub msg: String,
    /// For `done`: the step's own duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<f64>,
    /// For `ready`: the machine-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ProgressEvent {
    /// Human form: `[  3.2s] osd.1       mkfs done (2.1s)`.
    pub fn render(&self) -> String {
        let mark = match self.kind {
            ProgressKind::Step => "  ",
            ProgressKind::Done => "✓ ",
            ProgressKind::Warn => "! ",
            ProgressKind::Ready => "✓ ",
            ProgressKind::Failed => "✗ ",
        };
        let took = self.secs.map(|s| format!(" ({s:.1}s)")).unwrap_or_default();
        format!(
            "[{:6.1}s] {mark}{:<10} {}{took}",
            self.t, self.step, self.msg
        )
    }
}

/// Reports progress. Cheap to clone; safe from many tasks.
#[derive(Debug, Clone)]
pub struct Progress {
    start: Instant,
    file: Option<Arc<Mutex<std::fs::File>>>,
    echo: bool,
}

impl Progress {
    /// `file`: the JSON lines sink (truncated); `echo`: also print to stdout.
    pub fn new(file: Option<PathBuf>, echo: bool) -> std::io::Result<Self> {
        let file = match file {
            Some(p) => Some(Arc::new(Mutex::new(std::fs::File::create(p)?))),
            None => None,
        };
        Ok(Self {
            start: Instant::now(),
            file,
            echo,
        })
    }

    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn emit(&self, kind: ProgressKind, step: &str, msg: String, secs: Option<f64>) {
        self.emit_event(ProgressEvent {
            t: self.elapsed(),
            kind,
            step: step.to_string(),
            msg,
            secs,
            data: None,
        });
    }

    fn emit_event(&self, ev: ProgressEvent) {
        let (kind, step) = (ev.kind, ev.step.as_str());
        tracing::info!(step, kind = ?kind, msg = %ev.msg, "progress");
        if self.echo {
            println!("{}", ev.render());
        }
        if let Some(f) = &self.file {
            if let (Ok(line), Ok(mut f)) = (serde_json::to_string(&ev), f.lock()) {
                let _ = writeln!(f, "{line}");
            }
        }
    }

    /// Starts a step; call `done` on the returned guard.
    pub fn step(&self, step: &str, msg: impl Into<String>) -> StepGuard {
        self.emit(ProgressKind::Step, step, msg.into(), None);
        StepGuard {
            progress: self.clone(),
            step: step.to_string(),
            start: Instant::now(),
        }
    }

    pub fn warn(&self, step: &str, msg: impl Into<String>) {
        self.emit(ProgressKind::Warn, step, msg.into(), None);
    }

    pub fn ready(&self, msg: impl Into<String>, data: serde_json::Value) {
        self.emit_event(ProgressEvent {
            t: self.elapsed(),
            kind: ProgressKind::Ready,
            step: "ready".into(),
            msg: msg.into(),
            secs: None,
            data: Some(data),
        });
    }

    pub fn failed(&self, msg: impl Into<String>) {
        self.emit(ProgressKind::Failed, "failed", msg.into(), None);
    }
}

/// A running step.
#[derive(Debug)]
pub struct StepGuard {
    progress: Progress,
    step: String,
    start: Instant,
}

impl StepGuard {
    pub fn done(self, msg: impl Into<String>) {
        let secs = self.start.elapsed().as_secs_f64();
        self.progress
            .emit(ProgressKind::Done, &self.step, msg.into(), Some(secs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_written_as_json_lines_and_render_for_people() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        let p = Progress::new(Some(path.clone()), false).unwrap();
        p.step("mon.a", "mkfs").done("created");
        p.ready("cluster is up", serde_json::json!({"health": "HEALTH_OK"}));
        let lines: Vec<ProgressEvent> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].kind, ProgressKind::Step);
        assert_eq!(lines[1].kind, ProgressKind::Done);
        assert!(lines[1].secs.is_some());
        assert_eq!(lines[2].kind, ProgressKind::Ready);
        assert_eq!(lines[2].data.as_ref().unwrap()["health"], "HEALTH_OK");
        assert!(lines[1].render().contains("mon.a"));
        assert!(lines[1].render().contains("created"));
    }
}
