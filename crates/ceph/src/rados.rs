//! The cluster connection: connect with bounded timeouts, pool lookups, I/O contexts,
//! mon and mgr commands.

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rookery_ceph_sys::safe;
use serde_json::Value;

use crate::blocking::{c_name, c_path, run};
use crate::command::{self, CommandOutput, MgrCommand, MonCommand};
use crate::error::{Error, Result};
use crate::ioctx::IoCtx;

/// How to reach and authenticate to a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The ceph.conf to read (mon addresses, fsid, ...).
    pub conf: PathBuf,
    /// The client id: `admin` means `client.admin`; a full `client.x` name is kept.
    pub user: String,
    /// The keyring; None uses the conf's `keyring` setting or Ceph's defaults.
    pub keyring: Option<PathBuf>,
    /// Upper bound for connecting and for each mon command and OSD operation.
    pub timeout: Duration,
}

impl ConnectOptions {
    /// `client.admin` with the conf's keyring and a 30 s timeout.
    pub fn new(conf: impl Into<PathBuf>) -> Self {
        Self {
            conf: conf.into(),
            user: "admin".to_owned(),
            keyring: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// The full entity name, e.g. `client.admin`.
    pub fn entity(&self) -> String {
        if self.user.contains('.') {
            self.user.clone()
        } else {
            format!("client.{}", self.user)
        }
    }

    /// The options we set on the handle, in order. Timeouts are whole seconds, at least 1:
    /// Ceph reads them as integers and 0 would mean "wait forever".
    /// `block_io`: for a block device's data path (see
    /// [`Rados::connect_for_block_io`]).
    fn settings(&self, block_io: bool) -> Result<Vec<(CString, CString)>> {
        let secs = CString::new(self.timeout_secs().to_string()).expect("digits contain no NUL");
        let mut settings = Vec::new();
        if let Some(keyring) = &self.keyring {
            settings.push((c"keyring".to_owned(), c_path("keyring path", keyring)?));
        }
        for option in [
            c"client_mount_timeout",
            c"rados_mon_op_timeout",
            c"rados_osd_op_timeout",
        ] {
            if option != c"rados_osd_op_timeout" || !block_io {
                settings.push((option.to_owned(), secs.clone()));
            }
        }
        if block_io {
            settings.push((c"rbd_cache".to_owned(), c"false".to_owned()));
        }
        Ok(settings)
    }

    fn timeout_secs(&self) -> u64 {
        let secs = self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// A connected cluster handle, cheap to clone and safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Rados {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cluster: ClusterHandle,
    fsid: String,
    entity: String,
}

impl Rados {
    /// Connects, failing with a timeout errno after about `opts.timeout` if no mon answers.
    pub async fn connect(opts: ConnectOptions) -> Result<Self> {
        Self::connect_with(opts, false).await
    }

    /// As [`Rados::connect`], for a block device's data path: OSD operations
    /// wait as long as they take (a timed-out write would become an I/O error
    /// under a filesystem, and a slow cluster is not a failed write), and
    /// librbd's cache is off (a write is acknowledged once the OSDs have it,
    /// so its error is its own, not a later flush's). Connecting and mon
    /// commands stay bounded.
    pub async fn connect_for_block_io(opts: ConnectOptions) -> Result<Self> {
        Self::connect_with(opts, true).await
    }

    async fn connect_with(opts: ConnectOptions, block_io: bool) -> Result<Self> {
        let entity = opts.entity();
        let conf_text = opts.conf.display().to_string();
        let op = format!("connect to the cluster as '{entity}' with conf '{conf_text}'");
        let started = Instant::now();
        let name = c_name("entity name", &entity)?;
        let conf = c_path("conf path", &opts.conf)?;
        let settings = opts.settings(block_io)?;
        let hint = connect_hint(opts.timeout_secs());
        let (cluster, fsid) = run(|| op.clone(), {
            let op = op.clone();
            move || {
                let failed = |errno| Error::Ceph {
                    op: op.clone(),
                    errno,
                    status: hint(errno),
                };
                let mut builder = safe::ClusterBuilder::new(&name).map_err(failed)?;
                builder
                    .conf_read_file(&conf)
                    .map_err(|e| Error::ceph(format!("read of ceph.conf '{conf_text}'"), e))?;
                for (key, value) in &settings {
                    builder.conf_set(key, value).map_err(|e| {
                        Error::ceph(format!("setting option '{}'", key.to_string_lossy()), e)
                    })?;
                }
                let cluster = builder.connect().map_err(failed)?;
                let fsid = cluster
                    .fsid()
                    .map_err(|e| Error::ceph("read of the cluster fsid", e))?;
                Ok((cluster, fsid))
            }
        })
        .await?;
        tracing::debug!(entity, %fsid, elapsed_ms = started.elapsed().as_millis() as u64, "connected to ceph");
        Ok(Self {
            inner: Arc::new(Inner {
                cluster: ClusterHandle(Some(Arc::new(cluster))),
                fsid,
                entity,
            }),
        })
    }

    /// The cluster fsid, read at connect time.
    pub fn fsid(&self) -> &str {
        &self.inner.fsid
    }

    /// The entity this handle authenticated as, e.g. `client.admin`.
    pub fn entity(&self) -> &str {
        &self.inner.entity
    }

    pub(crate) fn cluster(&self) -> Arc<safe::Cluster> {
        Arc::clone(
            self.inner
                .cluster
                .0
                .as_ref()
                .expect("cluster handle present until drop"),
        )
    }

    /// The id of pool `name`; ENOENT if there is none.
    pub async fn pool_id(&self, name: &str) -> Result<i64> {
        let c_pool = c_name("pool name", name)?;
        let op = format!("lookup of pool '{name}'");
        let cluster = self.cluster();
        run(|| op.clone(), {
            let op = op.clone();
            move || cluster.pool_lookup(&c_pool).map_err(|e| Error::ceph(op, e))
        })
        .await
    }

    /// An I/O context on `pool`, in `namespace` (None: the default namespace).
    pub async fn ioctx(&self, pool: &str, namespace: Option<&str>) -> Result<IoCtx> {
        IoCtx::open(self.clone(), pool, namespace).await
    }

    /// Sends a typed mon command and decodes its reply.
    pub async fn mon_command<C: MonCommand>(&self, cmd: &C) -> Result<C::Reply> {
        let out = self
            .mon_command_json(command::encode(cmd)?, cmd.inbuf())
            .await?;
        command::decode::<C>("mon", &out)
    }

    /// Sends a typed mgr command and decodes its reply.
    pub async fn mgr_command<C: MgrCommand>(&self, cmd: &C) -> Result<C::Reply> {
        let out = self
            .mgr_command_json(command::encode(cmd)?, cmd.inbuf())
            .await?;
        command::decode::<C>("mgr", &out)
    }

    /// Sends a raw JSON mon command (with its own `prefix` and `format`).
    pub async fn mon_command_json(&self, cmd: Value, inbuf: Vec<u8>) -> Result<CommandOutput> {
        self.command(Target::Mon, cmd, inbuf).await
    }

    /// Sends a raw JSON mgr command (with its own `prefix` and `format`).
    pub async fn mgr_command_json(&self, cmd: Value, inbuf: Vec<u8>) -> Result<CommandOutput> {
        self.command(Target::Mgr, cmd, inbuf).await
    }

    async fn command(&self, target: Target, cmd: Value, inbuf: Vec<u8>) -> Result<CommandOutput> {
        let prefix = command::prefix_of(&cmd);
        let op = format!("{} command '{prefix}'", target.name());
        let text = c_name("command", &cmd.to_string())?;
        let cluster = self.cluster();
        let started = Instant::now();
        let result = run(|| op.clone(), {
            let op = op.clone();
            move || {
                let result = match target {
                    Target::Mon => cluster.mon_command(&text, &inbuf),
                    Target::Mgr => cluster.mgr_command(&text, &inbuf),
                };
                result
                    .map(|o| CommandOutput {
                        out: o.outbuf,
                        status: o.outs,
                    })
                    .map_err(|f| Error::Ceph {
                        op,
                        errno: f.errno,
                        status: f.outs,
                    })
            }
        })
        .await;
        // Only the prefix is logged: arguments and inbuf may carry keys or passwords.
        tracing::debug!(
            target_daemon = target.name(),
            prefix,
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "ceph command"
        );
        result
    }
}

/// What to check when connecting fails, by errno.
fn connect_hint(timeout_secs: u64) -> impl Fn(i32) -> String {
    move |errno| {
        match errno {
        libc::ETIMEDOUT => format!(
            "no monitor answered within {timeout_secs} s; check mon_host in the conf and that the mons are running"
        ),
        libc::EACCES | libc::EPERM => {
            "authentication failed; check the keyring and that the user exists with this key".to_owned()
        }
        _ => String::new(),
    }
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Mon,
    Mgr,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Mon => "mon",
            Target::Mgr => "mgr",
        }
    }
}

/// Owns the last reference the async layer holds to the cluster; shuts it down off the
/// executor, since `rados_shutdown` joins librados threads.
#[derive(Debug)]
struct ClusterHandle(Option<Arc<safe::Cluster>>);

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        let Some(cluster) = self.0.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || drop(cluster));
            }
            Err(_) => drop(cluster),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names() {
        let mut opts = ConnectOptions::new("/etc/ceph/ceph.conf");
        assert_eq!(opts.entity(), "client.admin");
        opts.user = "client.csi-rbd".into();
        assert_eq!(opts.entity(), "client.csi-rbd");
        opts.user = "csi".into();
        assert_eq!(opts.entity(), "client.csi");
    }

    #[test]
    fn settings_bound_every_wait() {
        let mut opts = ConnectOptions::new("c");
        opts.timeout = Duration::from_millis(2500);
        opts.keyring = Some("/k".into());
        let settings = opts.settings(false).unwrap();
        assert_eq!(settings[0], (c"keyring".to_owned(), c"/k".to_owned()));
        for name in [
            c"client_mount_timeout",
            c"rados_mon_op_timeout",
            c"rados_osd_op_timeout",
        ] {
            assert!(
                settings.contains(&(name.to_owned(), c"3".to_owned())),
                "{name:?}"
            );
        }
        let block = opts.settings(true).unwrap();
        assert!(!block.iter().any(|(k, _)| k == c"rados_osd_op_timeout"));
        assert!(block.contains(&(c"rbd_cache".to_owned(), c"false".to_owned())));
        opts.timeout = Duration::ZERO;
        assert_eq!(opts.timeout_secs(), 1);
    }

    #[test]
    fn connect_hints() {
        let hint = connect_hint(5);
        assert!(hint(libc::ETIMEDOUT).contains("within 5 s"));
        assert!(hint(libc::EACCES).contains("keyring"));
        assert_eq!(hint(libc::EINVAL), "");
    }
}
