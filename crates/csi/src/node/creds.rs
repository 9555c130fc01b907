//! The cephx identity a node plugin mounts and maps with: its own user
//! (ceph-csi's node secret), never the request's. The kernel clients take the
//! key itself as an option; the FUSE daemons read the keyring.

use std::path::PathBuf;

use crate::error::Error;

/// The node user: ceph.conf, user id and keyring.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub conf: PathBuf,
    /// Without `client.`.
    pub user: String,
    pub keyring: Option<PathBuf>,
}

impl Credentials {
    /// The user's key from its keyring (for the kernel clients). Never log it.
    pub fn key(&self, doing: &str) -> Result<String, Error> {
        let missing = |detail: String| Error::Node {
            doing: doing.to_owned(),
            errno: None,
            detail,
        };
        let path = self
            .keyring
            .as_ref()
            .ok_or_else(|| missing("the kernel client needs the node user's --keyring".into()))?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::os(format!("{doing}: read {}", path.display()), &e))?;
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "key").then(|| v.trim().to_owned())
            })
            .ok_or_else(|| missing(format!("{} holds no key", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_from_a_keyring() {
        let path = std::env::temp_dir().join(format!("rookery-keyring-{}", std::process::id()));
        std::fs::write(&path, "[client.csi-rbd-node]\n\tkey = AQBxyz==\n").unwrap();
        let mut creds = Credentials {
            conf: "/etc/ceph/ceph.conf".into(),
            user: "csi-rbd-node".into(),
            keyring: Some(path.clone()),
        };
        assert_eq!(creds.key("map").unwrap(), "AQBxyz==");
        std::fs::write(&path, "[client.x]\n").unwrap();
        assert!(creds
            .key("map")
            .unwrap_err()
            .to_string()
            .contains("holds no key"));
        std::fs::remove_file(&path).unwrap();
        creds.keyring = None;
        assert!(creds
            .key("map")
            .unwrap_err()
            .to_string()
            .contains("--keyring"));
    }
}
