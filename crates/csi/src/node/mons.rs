//! The monitors' addresses for the kernel clients (krbd, kernel CephFS), which
//! take them as mount or map arguments instead of reading ceph.conf. Pacific's
//! kernel client speaks msgr v1 only, so these are the mons' v1 addresses.

use rookery_ceph::Rados;

use crate::error::Error;

/// The mons' msgr v1 addresses (`ip:port`), from `mon dump`.
pub async fn v1_addrs(rados: &Rados, doing: &str) -> Result<Vec<String>, Error> {
    let cmd = serde_json::json!({"prefix": "mon dump", "format": "json"});
    let out = rados
        .mon_command_json(cmd, Vec::new())
        .await
        .map_err(|e| Error::ceph(format!("{doing}: read the monitor addresses"), e))?;
    let addrs = parse_v1_addrs(&out.out);
    if addrs.is_empty() {
        return Err(Error::Node {
            doing: doing.to_owned(),
            errno: None,
            detail: "no monitor has a msgr v1 address, which the kernel client needs; bind \
                     the mons on v1 too"
                .into(),
        });
    }
    Ok(addrs)
}

fn parse_v1_addrs(mon_dump: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(mon_dump) else {
        return Vec::new();
    };
    let mons = v["mons"].as_array().cloned().unwrap_or_default();
    mons.iter()
        .flat_map(|m| {
            m["public_addrs"]["addrvec"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|a| a["type"] == "v1")
        .filter_map(|a| a["addr"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_addresses_from_mon_dump() {
        let dump = br#"{"mons":[{"name":"a","public_addrs":{"addrvec":[
            {"type":"v2","addr":"127.0.0.1:3300","nonce":0},
            {"type":"v1","addr":"127.0.0.1:6789","nonce":0}]}}]}"#;
        assert_eq!(parse_v1_addrs(dump), vec!["127.0.0.1:6789".to_string()]);
        assert!(parse_v1_addrs(b"not json").is_empty());
    }
}
