//! The mon config database: `config set`.

use serde::Serialize;

use super::command;

/// `ceph config set <who> <name> <value>`, e.g. who `mgr`, name
/// `mgr/dashboard/ssl_server_port`. Values are stored centrally and seen by daemons
/// at their next config fetch.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSet {
    pub who: String,
    pub name: String,
    pub value: String,
    /// Accept an option the mons do not know yet — a mgr module's option
    /// before that module has loaded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}
command!(mon, ConfigSet, "config set", ());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::encode;
    use serde_json::json;

    #[test]
    fn config_set() {
        let cmd = ConfigSet {
            who: "mgr".into(),
            name: "mgr/dashboard/ssl_server_port".into(),
            value: "8443".into(),
            force: false,
        };
        assert_eq!(
            encode(&cmd).unwrap(),
            json!({"prefix": "config set", "format": "json", "who": "mgr", "name": "mgr/dashboard/ssl_server_port", "value": "8443"})
        );
        let forced = ConfigSet { force: true, ..cmd };
        assert_eq!(encode(&forced).unwrap()["force"], true);
    }
}
