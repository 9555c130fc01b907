//! cephx entities: `auth get-or-create`, `auth get`, `auth rm`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::command;

/// `ceph auth get-or-create <entity> <caps...>`. Returns the existing key if the
/// entity exists with the same caps; EINVAL if its caps differ.
#[derive(Debug, Clone, Serialize)]
pub struct AuthGetOrCreate {
    /// e.g. `client.csi-rbd-node`.
    pub entity: String,
    /// Alternating service and capability, e.g. `["mon", "profile rbd", "osd", "profile rbd"]`.
    pub caps: Vec<String>,
}
command!(mon, AuthGetOrCreate, "auth get-or-create", AuthEntity);

/// `ceph auth get <entity>`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthGet {
    pub entity: String,
}
command!(mon, AuthGet, "auth get", AuthEntity);

/// `ceph auth rm <entity>`. Succeeds if the entity does not exist.
#[derive(Debug, Clone, Serialize)]
pub struct AuthRm {
    pub entity: String,
}
command!(mon, AuthRm, "auth rm", ());

/// One entity of a keyring reply. Ceph answers with a one-element list.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<EntityJson>")]
pub struct AuthEntity {
    pub entity: String,
    /// The base64 cephx key.
    pub key: String,
    /// Service -> capability string.
    pub caps: BTreeMap<String, String>,
}

impl fmt::Debug for AuthEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthEntity")
            .field("entity", &self.entity)
            .field("key", &"<redacted>")
            .field("caps", &self.caps)
            .finish()
    }
}

#[derive(Deserialize)]
struct EntityJson {
    entity: String,
    key: String,
    #[serde(default)]
    caps: BTreeMap<String, String>,
}

impl TryFrom<Vec<EntityJson>> for AuthEntity {
    type Error = String;

    fn try_from(list: Vec<EntityJson>) -> Result<Self, String> {
        let n = list.len();
        let mut list = list.into_iter();
        match (list.next(), n) {
            (Some(e), 1) => Ok(Self {
                entity: e.entity,
                key: e.key,
                caps: e.caps,
            }),
            _ => Err(format!("expected exactly one entity, got {n}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn get_or_create() {
        let cmd = AuthGetOrCreate {
            entity: "client.test1".into(),
            caps: ["mon", "allow r", "osd", "allow rwx pool=rbd"]
                .map(String::from)
                .to_vec(),
        };
        assert_eq!(
            encode(&cmd).unwrap(),
            json!({"prefix": "auth get-or-create", "format": "json", "entity": "client.test1",
                   "caps": ["mon", "allow r", "osd", "allow rwx pool=rbd"]})
        );
        let e: AuthEntity = json_reply(include_bytes!("testdata/auth_get_or_create.json")).unwrap();
        assert_eq!(e.entity, "client.test1");
        assert_eq!(e.key, "AQBsYW1wbGUta2V5LW5vdC1yZWFsLTEyMzQ1Ng==");
        assert_eq!(e.caps["osd"], "allow rwx pool=rbd");
        assert!(!format!("{e:?}").contains("AQB"));
    }

    #[test]
    fn empty_entity_list_is_an_error() {
        assert!(json_reply::<AuthEntity>(b"[]").is_err());
        assert_eq!(
            encode(&AuthRm {
                entity: "client.x".into()
            })
            .unwrap()["entity"],
            "client.x"
        );
    }
}
