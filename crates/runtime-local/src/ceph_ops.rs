//! The cluster operations the local runtime needs, over `rookery_ceph`'s
//! typed commands: one admin connection, no CLI process.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rookery_ceph::commands as cmd;
use rookery_ceph::{ConnectOptions, Rados};
use rookery_core::{ClusterSnapshot, DesiredPool, FullRatios};
use serde::Serialize;

use crate::error::{CephContext, Result};
use crate::keys::CephxKey;
use crate::layout::Layout;

/// The admin's connection to the cluster.
#[derive(Clone, Debug)]
pub struct Admin {
    rados: Rados,
}

/// One health check, as `ceph health detail` names it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthCheck {
    pub name: String,
    pub severity: String,
    pub message: String,
}

/// A pool in the status report.
#[derive(Debug, Clone, Serialize)]
pub struct PoolReport {
    pub name: String,
    pub id: i64,
    pub size: u32,
    pub min_size: u32,
    pub pg_num: u32,
    pub stored: u64,
    pub objects: u64,
    pub max_avail: u64,
}

/// What Ceph says about itself, for `rookery status`.
#[derive(Debug, Clone, Serialize)]
pub struct CephReport {
    pub fsid: String,
    pub health: String,
    pub checks: Vec<HealthCheck>,
    pub num_mons: u32,
    pub quorum: Vec<String>,
    pub mgr_available: bool,
    pub mgr_active: Option<String>,
    pub mgr_standbys: u32,
    pub osds: u32,
    pub osds_up: u32,
    pub osds_in: u32,
    pub pgs: u64,
    pub pgs_by_state: Vec<(String, u64)>,
    pub pools: Vec<PoolReport>,
    pub raw_total: u64,
    pub raw_used: u64,
    pub raw_avail: u64,
    /// What clients can still write to the fullest-replicated pool (Ceph's
    /// MAX AVAIL: replication and the full ratio already accounted for).
    pub usable_avail: u64,
    /// Writes stop when an OSD is this full.
    pub full_ratio: f64,
    pub services: BTreeMap<String, String>,
    /// CephFS filesystems with their MDS ranks and states, and the standbys.
    pub fs: crate::filesystem::FsMapReport,
    /// Each OSD's use against the full ratios, and what to do when full.
    pub capacity: crate::capacity::CapacityReport,
}

impl Admin {
    pub async fn connect(layout: &Layout, timeout: Duration) -> Result<Self> {
        let opts = ConnectOptions {
            conf: layout.conf(),
            user: "admin".into(),
            keyring: Some(layout.admin_keyring()),
            timeout,
        };
        let rados = Rados::connect(opts).await.ceph(format!(
            "cannot connect to the cluster as client.admin ({})",
            conf_str(&layout.conf())
        ))?;
        Ok(Self { rados })
    }

    /// Connects, retrying while the mons are still starting.
    pub async fn connect_until(layout: &Layout, deadline: Instant) -> Result<Self> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match Self::connect(
                layout,
                left.clamp(Duration::from_secs(1), Duration::from_secs(10)),
            )
            .await
            {
                Ok(a) => return Ok(a),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "mon not reachable yet");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn rados(&self) -> &Rados {
        &self.rados
    }

    /// The facts readiness depends on.
    pub async fn snapshot(&self) -> Result<ClusterSnapshot> {
        let s = self.rados.mon_command(&cmd::Status).await.ceph("status")?;
        Ok(snapshot_of(&s))
    }

    /// `osd new` is idempotent for the same uuid and secret: it returns the
    /// id already given to that uuid.
    pub async fn osd_new(&self, uuid: &str, key: &CephxKey) -> Result<u32> {
        let reply = self
            .rados
            .mon_command(&cmd::OsdNew {
                uuid: uuid.to_string(),
                cephx_secret: key.expose().to_string(),
            })
            .await
            .ceph(format!("cannot register OSD {uuid}"))?;
        Ok(reply.osdid)
    }

    pub async fn auth_get_or_create(
        &self,
        entity: &str,
        caps: &[(&str, &str)],
    ) -> Result<CephxKey> {
        let caps = caps
            .iter()
            .flat_map(|(svc, cap)| [svc.to_string(), cap.to_string()])
            .collect();
        let key = self
            .rados
            .mon_command(&cmd::AuthGetOrCreate {
                entity: entity.to_string(),
                caps,
            })
            .await
            .ceph(format!("cannot get or create the key of {entity}"))?;
        Ok(CephxKey::from_text(key.key))
    }

    pub async fn config_set(&self, who: &str, name: &str, value: &str) -> Result<()> {
        self.rados
            .mon_command(&cmd::ConfigSet {
                who: who.to_string(),
                name: name.to_string(),
                value: value.to_string(),
                // Module options are unknown to the mons until the module loads.
                force: name.starts_with("mgr/"),
            })
            .await
            .ceph(format!("cannot set {name} for {who}"))
    }

    /// Puts the spec's full ratios into the OSD map (the conf only seeds
    /// them when the first map is made).
    pub async fn set_full_ratios(&self, r: &FullRatios) -> Result<()> {
        let dump = self
            .rados
            .mon_command(&cmd::OsdDump)
            .await
            .ceph("osd dump")?;
        let same = |a: f64, b: f64| (a - b).abs() < 1e-6;
        if !same(dump.nearfull_ratio, r.nearfull) {
            self.rados
                .mon_command(&cmd::OsdSetNearfullRatio { ratio: r.nearfull })
                .await
                .ceph("cannot set the nearfull ratio")?;
        }
        if !same(dump.backfillfull_ratio, r.backfillfull) {
            self.rados
                .mon_command(&cmd::OsdSetBackfillfullRatio {
                    ratio: r.backfillfull,
                })
                .await
                .ceph("cannot set the backfillfull ratio")?;
        }
        if !same(dump.full_ratio, r.full) {
            self.rados
                .mon_command(&cmd::OsdSetFullRatio { ratio: r.full })
                .await
                .ceph("cannot set the full ratio")?;
        }
        Ok(())
    }

    pub async fn set_flag(&self, flag: &str) -> Result<()> {
        self.rados
            .mon_command(&cmd::OsdSetFlag {
                key: flag.to_string(),
            })
            .await
            .ceph(format!("cannot set the {flag} flag"))
    }

    pub async fn unset_flag(&self, flag: &str) -> Result<()> {
        self.rados
            .mon_command(&cmd::OsdUnsetFlag {
                key: flag.to_string(),
            })
            .await
            .ceph(format!("cannot unset the {flag} flag"))
    }

    /// Creates the pool if missing and brings its size and application in
    /// line with the spec. Returns true if it was created.
    pub async fn ensure_pool(&self, pool: &DesiredPool) -> Result<bool> {
        let ctx = |what: &str| format!("pool {}: cannot {what}", pool.name);
        let mut current = self.pool_detail(&pool.name).await?;
        let created = current.is_none();
        if created {
            self.rados
                .mon_command(&cmd::OsdPoolCreate {
                    pool: pool.name.clone(),
                    pg_num: Some(pool.pg_num),
                    size: Some(pool.size),
                })
                .await
                .ceph(ctx("create it"))?;
            current = self.pool_detail(&pool.name).await?;
        }
        // Each change below costs an OSD map epoch: only what differs.
        let (size, min_size) = current
            .as_ref()
            .map(|p| (p.size, p.min_size))
            .unwrap_or((0, 0));
        if size != pool.size {
            self.pool_set(&pool.name, "size", pool.size).await?;
        }
        if min_size != pool.min_size {
            self.pool_set(&pool.name, "min_size", pool.min_size).await?;
        }
        let has_app = current
            .map(|p| p.application_metadata.contains_key(&pool.application))
            .unwrap_or(false);
        if !has_app {
            self.rados
                .mon_command(&cmd::OsdPoolApplicationEnable {
                    pool: pool.name.clone(),
                    app: pool.application.clone(),
                })
                .await
                .ceph(ctx("enable its application"))?;
        }
        Ok(created)
    }

    async fn pool_detail(&self, name: &str) -> Result<Option<cmd::PoolDetail>> {
        let pools = self
            .rados
            .mon_command(&cmd::OsdPoolLsDetail)
            .await
            .ceph(format!("pool {name}: cannot list pools"))?;
        Ok(pools.into_iter().find(|p| p.pool_name == name))
    }

    async fn pool_set(&self, pool: &str, var: &str, val: u32) -> Result<()> {
        let set = cmd::OsdPoolSet {
            pool: pool.to_string(),
            var: var.to_string(),
            val: val.to_string(),
        };
        // Ceph wants a confirmation for a pool without redundancy; the spec
        // validation already demanded requireSafeReplicaSize: false for it.
        let sent = if var == "size" && val == 1 {
            self.rados.mon_command(&cmd::Confirmed(set)).await
        } else {
            self.rados.mon_command(&set).await
        };
        sent.ceph(format!("pool {pool}: cannot set {var} to {val}"))
    }

    pub async fn enable_module(&self, module: &str) -> Result<()> {
        self.rados
            .mon_command(&cmd::MgrModuleEnable {
                module: module.to_string(),
                force: None,
            })
            .await
            .ceph(format!("cannot enable mgr module {module}"))
    }

    pub async fn disable_module(&self, module: &str) -> Result<()> {
        self.rados
            .mon_command(&cmd::MgrModuleDisable {
                module: module.to_string(),
            })
            .await
            .ceph(format!("cannot disable mgr module {module}"))
    }

    pub async fn mgr_services(&self) -> Result<BTreeMap<String, String>> {
        self.rados
            .mon_command(&cmd::MgrServices)
            .await
            .ceph("cannot list mgr services")
    }

    pub async fn dashboard_create_cert(&self) -> Result<()> {
        self.rados
            .mgr_command(&cmd::DashboardCreateSelfSignedCert)
            .await
            .ceph("dashboard: cannot create its self-signed certificate")
            .map(|_| ())
    }

    /// Creates the dashboard's `admin` user, or resets its password if the
    /// user exists but rookery no longer has the password.
    pub async fn dashboard_set_admin(&self, password: &str) -> Result<()> {
        let create = self
            .rados
            .mgr_command(&cmd::DashboardAcUserCreate {
                username: "admin".into(),
                password: password.to_string(),
                roles: vec!["administrator".into()],
            })
            .await;
        match create {
            Ok(cmd::AcUserCreated::Created) => Ok(()),
            // Pacific answers success with "already exists" for an existing user.
            Ok(cmd::AcUserCreated::AlreadyExists) => self
                .rados
                .mgr_command(&cmd::DashboardAcUserSetPassword {
                    username: "admin".into(),
                    password: password.to_string(),
                })
                .await
                .ceph("dashboard: cannot reset the admin password")
                .map(|_| ()),
            Err(e) => Err(e).ceph("dashboard: cannot create the admin user"),
        }
    }

    /// Everything `status` shows from Ceph.
    pub async fn report(&self) -> Result<CephReport> {
        let s = self.rados.mon_command(&cmd::Status).await.ceph("status")?;
        let df = self.rados.mon_command(&cmd::Df).await.ceph("df")?;
        let pools = self
            .rados
            .mon_command(&cmd::OsdPoolLsDetail)
            .await
            .ceph("osd pool ls")?;
        let mgr = self
            .rados
            .mon_command(&cmd::MgrStat)
            .await
            .ceph("mgr stat")?;
        let osd_dump = self
            .rados
            .mon_command(&cmd::OsdDump)
            .await
            .ceph("osd dump")?;
        // The mgr answers `osd df`: without one, the rest of the report (and
        // Ceph's full marks) still count, only the per-OSD usage is missing.
        let osd_df =
            tokio::time::timeout(Duration::from_secs(3), self.rados.mon_command(&cmd::OsdDf))
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|r| r.nodes)
                .unwrap_or_default();
        let capacity = crate::capacity::assess(
            (
                osd_dump.full_ratio,
                osd_dump.backfillfull_ratio,
                osd_dump.nearfull_ratio,
            ),
            &osd_df,
            &osd_dump.osds,
            &pools,
        );
        let services = self.mgr_services().await.unwrap_or_default();
        let fs_dump = self.rados.mon_command(&cmd::FsDump).await.ceph("fs dump")?;
        let pool_names = pools
            .iter()
            .map(|p| (p.pool_id, p.pool_name.clone()))
            .collect();
        let fs = crate::filesystem::summarize(&fs_dump, &pool_names);
        let pool_reports: Vec<PoolReport> = pools
            .iter()
            .map(|p| {
                let st = df.pools.iter().find(|d| d.name == p.pool_name);
                PoolReport {
                    name: p.pool_name.clone(),
                    id: p.pool_id,
                    size: p.size,
                    min_size: p.min_size,
                    pg_num: p.pg_num,
                    stored: st.map(|d| d.stats.stored).unwrap_or(0),
                    objects: st.map(|d| d.stats.objects).unwrap_or(0),
                    max_avail: st.map(|d| d.stats.max_avail).unwrap_or(0),
                }
            })
            .collect();
        // MAX AVAIL at the highest replication; a pool too new for `df`
        // reports 0 and must not hide the others.
        let top_size = pool_reports.iter().map(|p| p.size).max().unwrap_or(0);
        let usable_avail = pool_reports
            .iter()
            .filter(|p| p.size == top_size)
            .map(|p| p.max_avail)
            .max()
            .unwrap_or(0);
        Ok(CephReport {
            fsid: s.fsid.clone(),
            health: s.health.status.clone(),
            checks: s
                .health
                .checks
                .iter()
                .map(|(name, c)| HealthCheck {
                    name: name.clone(),
                    severity: c.severity.clone(),
                    message: c.summary.message.clone(),
                })
                .collect(),
            num_mons: s.monmap.num_mons,
            quorum: s.quorum_names.clone(),
            mgr_available: mgr.available,
            mgr_active: (!mgr.active_name.is_empty()).then(|| mgr.active_name.clone()),
            mgr_standbys: mgr.num_standbys,
            osds: s.osdmap.num_osds,
            osds_up: s.osdmap.num_up_osds,
            osds_in: s.osdmap.num_in_osds,
            pgs: s.pgmap.num_pgs,
            pgs_by_state: s
                .pgmap
                .pgs_by_state
                .iter()
                .map(|p| (p.state_name.clone(), p.count))
                .collect(),
            pools: pool_reports,
            raw_total: df.stats.total_bytes,
            raw_used: df.stats.total_used_raw_bytes,
            raw_avail: df.stats.total_avail_bytes,
            usable_avail,
            full_ratio: osd_dump.full_ratio,
            services,
            fs,
            capacity,
        })
    }
}

fn snapshot_of(s: &cmd::StatusReply) -> ClusterSnapshot {
    let count = |pred: &dyn Fn(&str) -> bool| -> u64 {
        s.pgmap
            .pgs_by_state
            .iter()
            .filter(|p| pred(&p.state_name))
            .map(|p| p.count)
            .sum()
    };
    ClusterSnapshot {
        health: s.health.status.clone(),
        checks: s
            .health
            .checks
            .iter()
            .map(|(n, c)| (n.clone(), c.summary.message.clone()))
            .collect(),
        mons_in_quorum: s.quorum_names.len() as u32,
        mgr_available: s.mgrmap.available,
        osds: s.osdmap.num_osds,
        osds_up: s.osdmap.num_up_osds,
        osds_in: s.osdmap.num_in_osds,
        pgs: s.pgmap.num_pgs,
        pgs_active: count(&|st| st.split('+').any(|x| x == "active")),
        pgs_clean: count(&|st| st == "active+clean"),
    }
}

fn conf_str(p: &Path) -> String {
    p.display().to_string()
}
