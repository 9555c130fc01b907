//! Background mode of `up`: start the supervisor as a detached process and
//! follow its progress file until it reports ready or failed.

use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::progress::{ProgressEvent, ProgressKind};

/// Environment variable telling the child it is the detached supervisor.
pub const DETACHED_ENV: &str = "ROOKERY_DETACHED";

/// Starts `exe args...` detached, its output in `log/supervisor.log`.
pub fn spawn(exe: &Path, args: &[String], layout: &Layout) -> Result<Child> {
    layout
        .create_dirs()
        .ctx("cannot create cluster directory", layout.root())?;
    let _ = std::fs::remove_file(layout.progress());
    let log_path = layout.supervisor_log();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .ctx("cannot open", &log_path)?;
    let err = log.try_clone().ctx("cannot open", &log_path)?;
    Command::new(exe)
        .args(args)
        .env(DETACHED_ENV, "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .ctx("cannot start supervisor", exe)
}

/// Follows the progress file, calling `on_event` for each event, until the
/// supervisor reports ready (Ok) or failed, or exits without a word (Err).
pub async fn follow(
    layout: &Layout,
    child: &mut Child,
    mut on_event: impl FnMut(&ProgressEvent),
) -> Result<ProgressEvent> {
    let path = layout.progress();
    let mut pos = 0u64;
    let mut partial = String::new();
    loop {
        let exited = child.try_wait().ctx("cannot wait for supervisor", &path)?;
        if let Ok(mut f) = std::fs::File::open(&path) {
            f.seek(SeekFrom::Start(pos)).ctx("cannot read", &path)?;
            let mut reader = std::io::BufReader::new(f);
            let mut line = String::new();
            while reader.read_line(&mut line).ctx("cannot read", &path)? > 0 {
                pos += line.len() as u64;
                if !line.ends_with('\n') {
                    partial.push_str(&line);
                    line.clear();
                    continue;
                }
                let full = std::mem::take(&mut partial) + &line;
                line.clear();
                if let Ok(ev) = serde_json::from_str::<ProgressEvent>(&full) {
                    on_event(&ev);
                    match ev.kind {
                        ProgressKind::Ready => return Ok(ev),
                        ProgressKind::Failed => return Err(Error::Refused(ev.msg)),
                        _ => {}
                    }
                }
            }
        }
        if let Some(status) = exited {
            return Err(Error::Refused(format!(
                "the supervisor exited ({status}) before the cluster was up; its log: {}",
                layout.supervisor_log().display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
