//! Mon and mgr commands as typed requests: a struct serializes to the command's JSON
//! arguments, the trait adds its `prefix` and the reply type.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A Ceph command. Fields serialize to the command's named arguments (as in Ceph's
/// `MonCommands.h` / the mgr modules' command signatures); `prefix` and
/// `"format": "json"` are added on top.
pub trait Command: Serialize {
    /// The command words, e.g. `osd pool create`.
    const PREFIX: &'static str;
    /// The decoded reply; `()` for commands that print nothing on success.
    type Reply: DeserializeOwned;

    /// Input data (the CLI's `-i file`). Never logged: it may hold secrets.
    fn inbuf(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Decodes the output buffer. JSON by default; an empty buffer reads as `null`.
    fn parse_reply(outbuf: &[u8]) -> Result<Self::Reply, serde_json::Error> {
        json_reply(outbuf)
    }
}

/// A command the monitors handle (sent with `rados_mon_command`).
pub trait MonCommand: Command {}

/// A command the active mgr handles (sent with `rados_mgr_command`).
pub trait MgrCommand: Command {}

/// What a command returned on success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The output buffer (JSON when asked for).
    pub out: Vec<u8>,
    /// Ceph's status line, e.g. `pool 'x' created`.
    pub status: String,
}

/// JSON decoding in which an empty reply means `null`, so `()` and `Option` fit
/// commands that print nothing.
pub fn json_reply<R: DeserializeOwned>(outbuf: &[u8]) -> Result<R, serde_json::Error> {
    if outbuf.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null")
    } else {
        serde_json::from_slice(outbuf)
    }
}

/// The full JSON command text for `cmd`.
pub fn encode<C: Command>(cmd: &C) -> Result<Value> {
    let invalid = |reason: String| Error::InvalidInput {
        what: "command",
        value: C::PREFIX.to_owned(),
        reason,
    };
    let mut args = match serde_json::to_value(cmd) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => Map::new(),
        Ok(other) => {
            return Err(invalid(format!(
                "arguments serialize to {other}, not an object"
            )))
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    args.insert("prefix".to_owned(), Value::from(C::PREFIX));
    args.insert("format".to_owned(), Value::from("json"));
    Ok(Value::Object(args))
}

/// The `prefix` of a raw JSON command, for logs and error messages.
pub(crate) fn prefix_of(cmd: &Value) -> String {
    cmd.get("prefix")
        .and_then(Value::as_str)
        .unwrap_or("<no prefix>")
        .to_owned()
}

/// Decodes a typed reply, naming the command on failure.
pub(crate) fn decode<C: Command>(target: &str, out: &CommandOutput) -> Result<C::Reply> {
    C::parse_reply(&out.out)
        .map_err(|e| Error::decode(format!("{target} command '{}'", C::PREFIX), &out.out, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Probe {
        pool: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pg_num: Option<u32>,
    }
    impl Command for Probe {
        const PREFIX: &'static str = "osd pool create";
        type Reply = ();
    }

    #[derive(Serialize)]
    struct Unit;
    impl Command for Unit {
        const PREFIX: &'static str = "status";
        type Reply = Value;
    }

    #[test]
    fn encode_merges_prefix_and_format() {
        let v = encode(&Probe {
            pool: "p".into(),
            pg_num: Some(8),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"prefix": "osd pool create", "format": "json", "pool": "p", "pg_num": 8})
        );
        let v = encode(&Probe {
            pool: "p".into(),
            pg_num: None,
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"prefix": "osd pool create", "format": "json", "pool": "p"})
        );
    }

    #[test]
    fn encode_unit_struct() {
        assert_eq!(
            encode(&Unit).unwrap(),
            json!({"prefix": "status", "format": "json"})
        );
    }

    #[test]
    fn empty_reply_is_unit() {
        let out = CommandOutput {
            out: vec![],
            status: "pool 'p' created".into(),
        };
        decode::<Probe>("mon", &out).unwrap();
        let out = CommandOutput {
            out: b"\n".to_vec(),
            status: String::new(),
        };
        decode::<Probe>("mon", &out).unwrap();
    }

    #[test]
    fn bad_reply_names_the_command() {
        let out = CommandOutput {
            out: b"not json".to_vec(),
            status: String::new(),
        };
        let err = decode::<Unit>("mon", &out).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("mon command 'status': cannot decode"),
            "{text}"
        );
        assert!(text.contains("not json"), "{text}");
    }

    #[test]
    fn prefix_of_raw_command() {
        assert_eq!(prefix_of(&json!({"prefix": "df"})), "df");
        assert_eq!(prefix_of(&json!({})), "<no prefix>");
    }
}
