//! Running the node's tools (mkfs, blkid, losetup, resize2fs, ...): each
//! bounded by a timeout and killed when it runs over, its stderr kept for the
//! error message. These are system tools, not the Ceph CLIs — nothing here talks
//! to the cluster.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::error::Error;

/// Long enough for mkfs on a large volume; a tool that hangs past it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What a finished tool printed.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` and returns its output whatever its exit code; only a
/// tool that cannot start or runs past `timeout` is an error.
pub async fn output<I, S>(
    program: &str,
    args: I,
    timeout: Duration,
    doing: &str,
) -> Result<Finished, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            let detail = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{program}` is not installed on this node; {}",
                    install_hint(program)
                )
            } else {
                format!("cannot start `{program}`: {e}")
            };
            Error::Node {
                doing: doing.to_owned(),
                errno: None,
                detail,
            }
        })?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| Error::Node {
            doing: doing.to_owned(),
            errno: Some(libc::ETIMEDOUT),
            detail: format!("`{program}` did not finish within {timeout:?} and was killed"),
        })?
        .map_err(|e| Error::os(doing, &e))?;
    Ok(Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs `program args`; a non-zero exit is an error carrying its stderr.
pub async fn run<I, S>(program: &str, args: I, doing: &str) -> Result<String, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = output(program, args, DEFAULT_TIMEOUT, doing).await?;
    if out.code == Some(0) {
        return Ok(out.stdout);
    }
    Err(Error::Node {
        doing: doing.to_owned(),
        errno: None,
        detail: format!(
            "`{program}` failed ({}): {}",
            out.code
                .map_or("killed by a signal".to_owned(), |c| format!("exit {c}")),
            last_lines(&out.stderr, &out.stdout)
        ),
    })
}

/// The tail of what a failed tool said, for the error message.
fn last_lines(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.trim().lines().collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        "no output".to_owned()
    } else {
        tail.join(" / ")
    }
}

fn install_hint(program: &str) -> &'static str {
    match program {
        "mkfs.xfs" | "xfs_growfs" => "install xfsprogs",
        "mkfs.ext4" | "resize2fs" => "install e2fsprogs",
        "blkid" | "losetup" => "install util-linux",
        _ => "install it or choose another option",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CsiCode;

    #[tokio::test]
    async fn failures_say_which_tool_and_why() {
        let e = run(
            "sh",
            ["-c", "echo one >&2; echo two >&2; exit 3"],
            "format x",
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "format x: `sh` failed (exit 3): one / two");
        assert_eq!(e.code(), CsiCode::Internal);
        let e = run("no-such-tool-here", ["x"], "map y").await.unwrap_err();
        assert!(e.to_string().contains("is not installed"), "{e}");
        assert_eq!(run("sh", ["-c", "echo ok"], "x").await.unwrap(), "ok\n");
    }

    #[tokio::test]
    async fn a_tool_past_its_timeout_is_killed() {
        let e = output("sleep", ["5"], Duration::from_millis(100), "wait")
            .await
            .unwrap_err();
        assert_eq!(e.code(), CsiCode::DeadlineExceeded);
    }
}
