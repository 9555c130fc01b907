//! Mgr modules and the services they publish (mon-side commands of the MgrMonitor).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use super::command;

/// `ceph mgr module enable <module> [--force]`. Succeeds if already enabled; ENOENT if
/// no mgr reports the module (`force` skips that check).
#[derive(Debug, Clone, Serialize)]
pub struct MgrModuleEnable {
    pub module: String,
    #[serde(skip_serializing_if = "not_forced", serialize_with = "force_choice")]
    pub force: Option<bool>,
}
command!(mon, MgrModuleEnable, "mgr module enable", ());

/// `ceph mgr module disable <module>`. Succeeds if already disabled.
#[derive(Debug, Clone, Serialize)]
pub struct MgrModuleDisable {
    pub module: String,
}
command!(mon, MgrModuleDisable, "mgr module disable", ());

fn not_forced(force: &Option<bool>) -> bool {
    *force != Some(true)
}

/// The `force` argument is a one-value choice, not a boolean.
fn force_choice<S: Serializer>(_: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("--force")
}

/// `ceph mgr stat`: the active mgr, if any.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MgrStat;
command!(mon, MgrStat, "mgr stat", MgrStatReply);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MgrStatReply {
    pub epoch: u64,
    pub available: bool,
    /// Empty while no mgr is active.
    #[serde(default)]
    pub active_name: String,
    #[serde(rename = "num_standby", alias = "num_standbys", default)]
    pub num_standbys: u32,
}

/// `ceph mgr dump`, the parts rookery reads: which mgr process is active (its
/// gid changes when a restarted mgr takes over under the same name).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MgrDump;
command!(mon, MgrDump, "mgr dump", MgrDumpReply);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MgrDumpReply {
    pub epoch: u64,
    pub active_gid: u64,
    #[serde(default)]
    pub active_name: String,
    pub available: bool,
}

/// `ceph mgr module ls`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MgrModuleLs;
command!(mon, MgrModuleLs, "mgr module ls", MgrModules);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MgrModules {
    /// Modules that run whatever the configuration says.
    #[serde(default)]
    pub always_on_modules: Vec<String>,
    pub enabled_modules: Vec<String>,
    #[serde(default)]
    pub disabled_modules: Vec<ModuleInfo>,
}

impl MgrModules {
    /// Whether `module` is on, by configuration or always.
    pub fn is_enabled(&self, module: &str) -> bool {
        self.enabled_modules
            .iter()
            .chain(&self.always_on_modules)
            .any(|m| m == module)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModuleInfo {
    pub name: String,
    #[serde(default)]
    pub can_run: bool,
    /// Why the module cannot run, e.g. a missing Python dependency.
    #[serde(default)]
    pub error_string: String,
}

/// `ceph mgr services`: service name (e.g. `dashboard`, `prometheus`) -> URL.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MgrServices;
command!(mon, MgrServices, "mgr services", BTreeMap<String, String>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn module_enable_force_is_a_choice() {
        let cmd = MgrModuleEnable {
            module: "dashboard".into(),
            force: None,
        };
        assert_eq!(
            encode(&cmd).unwrap(),
            json!({"prefix": "mgr module enable", "format": "json", "module": "dashboard"})
        );
        let cmd = MgrModuleEnable {
            module: "dashboard".into(),
            force: Some(true),
        };
        assert_eq!(encode(&cmd).unwrap()["force"], "--force");
    }

    #[test]
    fn mgr_dump_from_pacific() {
        let d: MgrDumpReply = json_reply(include_bytes!("testdata/mgr_dump.json")).unwrap();
        assert_eq!(
            (d.epoch, d.active_gid, d.active_name.as_str(), d.available),
            (9, 4245, "a", true)
        );
        assert_eq!(
            encode(&MgrDump).unwrap(),
            json!({"prefix": "mgr dump", "format": "json"})
        );
    }

    #[test]
    fn module_ls_from_pacific() {
        let m: MgrModules = json_reply(include_bytes!("testdata/mgr_module_ls.json")).unwrap();
        assert!(m.is_enabled("restful"));
        assert!(m.is_enabled("rbd_support"));
        assert!(!m.is_enabled("dashboard"));
        let influx = m
            .disabled_modules
            .iter()
            .find(|d| d.name == "influx")
            .unwrap();
        assert!(!influx.can_run);
        assert_eq!(influx.error_string, "influxdb python module not found");
    }

    #[test]
    fn mgr_stat_from_pacific() {
        let r: MgrStatReply =
            json_reply(br#"{"epoch":17,"available":true,"active_name":"x","num_standby":0}"#)
                .unwrap();
        assert_eq!(
            (r.available, r.active_name.as_str(), r.num_standbys),
            (true, "x", 0)
        );
    }

    #[test]
    fn services() {
        let s: BTreeMap<String, String> = json_reply(
            br#"{"dashboard": "https://127.0.0.1:8443/", "prometheus": "http://127.0.0.1:9283/"}"#,
        )
        .unwrap();
        assert_eq!(s["prometheus"], "http://127.0.0.1:9283/");
        assert!(json_reply::<BTreeMap<String, String>>(b"{}")
            .unwrap()
            .is_empty());
    }
}
