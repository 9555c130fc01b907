//! Changing the monmap: `mon getmap` (the binary map a new mon is made
//! from) and `mon rm`.

use serde::Serialize;

use crate::command::{Command, MonCommand};

/// `ceph mon getmap`: the current monmap, Ceph's binary encoding (what
/// `ceph-mon --mkfs --monmap <file>` reads).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonGetmap;

impl Command for MonGetmap {
    const PREFIX: &'static str = "mon getmap";
    type Reply = Vec<u8>;

    fn parse_reply(outbuf: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
        Ok(outbuf.to_vec())
    }
}
impl MonCommand for MonGetmap {}

/// `ceph mon rm <name>`: removes a mon from the monmap.
#[derive(Debug, Clone, Serialize)]
pub struct MonRm {
    pub name: String,
}
super::command!(mon, MonRm, "mon rm", ());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::encode;
    use serde_json::json;

    #[test]
    fn encodes() {
        assert_eq!(
            encode(&MonRm { name: "b".into() }).unwrap(),
            json!({"prefix": "mon rm", "name": "b", "format": "json"})
        );
        assert_eq!(MonGetmap::parse_reply(&[0, 1, 2]).unwrap(), vec![0u8, 1, 2]);
    }
}
