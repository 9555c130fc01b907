//! cephx secrets and keyring files, made here rather than by `ceph-authtool`
//! (one process less per key, and nothing to parse).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// A cephx secret in Ceph's text form (base64 of the encoded `CryptoKey`).
#[derive(Clone, PartialEq, Eq)]
pub struct CephxKey(String);

impl std::fmt::Debug for CephxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CephxKey(<redacted>)")
    }
}

impl CephxKey {
    /// A new random AES key: le16 type (1 = AES), le32 seconds, le32
    /// nanoseconds, le16 length (16), then 16 random bytes.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut raw = Vec::with_capacity(28);
        raw.extend_from_slice(&1u16.to_le_bytes());
        raw.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
        raw.extend_from_slice(&now.subsec_nanos().to_le_bytes());
        raw.extend_from_slice(&16u16.to_le_bytes());
        raw.extend_from_slice(&secret);
        Ok(Self(base64::engine::general_purpose::STANDARD.encode(raw)))
    }

    pub fn from_text(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// One entity of a keyring file.
#[derive(Debug, Clone)]
pub struct KeyringEntry {
    pub entity: String,
    pub key: CephxKey,
    /// (service, capability), e.g. ("mon", "allow *").
    pub caps: Vec<(&'static str, String)>,
}

/// Renders a keyring in Ceph's INI format.
pub fn render_keyring(entries: &[KeyringEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(out, "[{}]", e.entity);
        let _ = writeln!(out, "\tkey = {}", e.key.expose());
        for (svc, cap) in &e.caps {
            let _ = writeln!(out, "\tcaps {svc} = \"{cap}\"");
        }
    }
    out
}

/// Reads the key of `entity` from a keyring file's text.
pub fn parse_key(keyring: &str, entity: &str) -> Option<CephxKey> {
    let header = format!("[{entity}]");
    let mut in_section = false;
    for line in keyring.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == header;
        } else if in_section {
            if let Some(v) = line.strip_prefix("key") {
                let v = v.trim_start().strip_prefix('=')?.trim();
                return Some(CephxKey::from_text(v));
            }
        }
    }
    None
}

/// A random password for the dashboard admin that passes Ceph's password
/// policy (length, upper, lower, digit, special character).
pub fn generate_password() -> Result<String, getrandom::Error> {
    const ALNUM: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw)?;
    let body: String = raw
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    Ok(format!("Rk{body}-9q"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_has_cephx_encoding() {
        let k = CephxKey::generate().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(k.expose())
            .unwrap();
        assert_eq!(raw.len(), 28);
        assert_eq!(&raw[0..2], &[1, 0]);
        assert_eq!(&raw[10..12], &[16, 0]);
        assert_ne!(CephxKey::generate().unwrap(), k);
        assert_eq!(format!("{k:?}"), "CephxKey(<redacted>)");
    }

    #[test]
    fn keyring_round_trip() {
        let k = CephxKey::generate().unwrap();
        let text = render_keyring(&[
            KeyringEntry {
                entity: "mon.".into(),
                key: CephxKey::generate().unwrap(),
                caps: vec![("mon", "allow *".into())],
            },
            KeyringEntry {
                entity: "client.admin".into(),
                key: k.clone(),
                caps: vec![],
            },
        ]);
        assert!(text.contains("caps mon = \"allow *\""));
        assert_eq!(parse_key(&text, "client.admin"), Some(k));
        assert_eq!(parse_key(&text, "client.other"), None);
    }

    #[test]
    fn password_has_every_class() {
        let p = generate_password().unwrap();
        assert!(p.len() >= 16);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()));
    }
}
