//! ceph-csi's versioned CSI identifier (volume and snapshot IDs).
//!
//! Version 1, as ceph-csi composes it (`internal/util/volid.go`):
//!
//! ```text
//! <version: 4 hex>-<len(cluster id): 4 hex>-<cluster id>-<location id: 16 hex>-<uuid: 36>
//! 0001-0024-7c1a6a0e-...-0000000000000002-5e2a1c9d-...
//! ```
//!
//! The numbers are big-endian and hex-encoded in lower case; the location id is the
//! pool id (RBD) or the filesystem id (CephFS) as a signed 64-bit value. The fixed
//! parts take 64 bytes and the CSI spec caps IDs at 128, so a cluster id has at most
//! 64 bytes. Decoding accepts exactly what encoding produces: any other spelling of
//! the same value (upper-case hex, a malformed uuid) is rejected, so an ID decodes to
//! one identifier and that identifier encodes back to the same string.

use std::fmt;

/// The only encoding version ceph-csi has ever written.
pub const VERSION: u16 = 1;
/// The CSI spec's limit on IDs, in bytes.
pub const MAX_LEN: usize = 128;
/// Bytes of a hyphenated uuid.
pub const UUID_LEN: usize = 36;
/// Bytes of everything but the cluster id: 4+1 + 4+1 + 1 + 16+1 + 36.
const FIXED_LEN: usize = 64;
/// The longest cluster id that still fits in [`MAX_LEN`].
pub const MAX_CLUSTER_ID_LEN: usize = MAX_LEN - FIXED_LEN;

/// A decoded CSI volume or snapshot ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeId {
    /// Encoding version; always [`VERSION`] for IDs we accept.
    pub version: u16,
    /// The `clusterID` of the StorageClass (usually the Ceph fsid).
    pub cluster_id: String,
    /// Pool id (RBD) or filesystem id (CephFS).
    pub location_id: i64,
    /// The journal uuid: image `csi-vol-<uuid>`, object `csi.volume.<uuid>`.
    pub object_uuid: String,
}

/// Why an ID was refused, precisely enough to tell a user which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeIdError {
    #[error("is {len} bytes long; a version 1 ID has between {FIXED_LEN} and {MAX_LEN}")]
    Length { len: usize },
    #[error("has {found:?} where the {field} should be: {expected}")]
    BadField {
        field: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("has encoding version {0}; only version {VERSION} is known")]
    Version(u16),
    #[error(
        "says its cluster id has {declared} bytes, but the rest of the ID leaves {actual} for it"
    )]
    ClusterIdLength { declared: usize, actual: usize },
    #[error(
        "has a cluster id of {len} bytes; at most {MAX_CLUSTER_ID_LEN} fit in {MAX_LEN} bytes"
    )]
    ClusterIdTooLong { len: usize },
    #[error("has {found:?} where the uuid should be: {expected}")]
    Uuid {
        found: String,
        expected: &'static str,
    },
}

impl VolumeId {
    /// A version 1 identifier.
    pub fn new(
        cluster_id: impl Into<String>,
        location_id: i64,
        object_uuid: impl Into<String>,
    ) -> Self {
        Self {
            version: VERSION,
            cluster_id: cluster_id.into(),
            location_id,
            object_uuid: object_uuid.into(),
        }
    }

    /// The ID string, e.g. `0001-0024-<fsid>-0000000000000002-<uuid>`.
    pub fn encode(&self) -> Result<String, VolumeIdError> {
        if self.version != VERSION {
            return Err(VolumeIdError::Version(self.version));
        }
        if self.cluster_id.len() > MAX_CLUSTER_ID_LEN {
            return Err(VolumeIdError::ClusterIdTooLong {
                len: self.cluster_id.len(),
            });
        }
        check_uuid(&self.object_uuid)?;
        Ok(format!(
            "{:04x}-{:04x}-{}-{:016x}-{}",
            self.version,
            self.cluster_id.len(),
            self.cluster_id,
            // Two's complement, as ceph-csi's uint64(int64) conversion writes it.
            self.location_id as u64,
            self.object_uuid
        ))
    }

    /// Parses an ID made by [`VolumeId::encode`] or by ceph-csi.
    pub fn decode(id: &str) -> Result<Self, VolumeIdError> {
        let len = id.len();
        if !(FIXED_LEN..=MAX_LEN).contains(&len) {
            return Err(VolumeIdError::Length { len });
        }
        let bytes = id.as_bytes();
        let version = hex_field(bytes, 0, 4, "version")? as u16;
        separator(bytes, 4, "separator after the version")?;
        let declared = hex_field(bytes, 5, 4, "cluster id length")? as usize;
        separator(bytes, 9, "separator after the cluster id length")?;
        if version != VERSION {
            return Err(VolumeIdError::Version(version));
        }
        // Everything after the cluster id has a fixed width, so its length is known.
        let actual = len - FIXED_LEN;
        if declared != actual {
            return Err(VolumeIdError::ClusterIdLength { declared, actual });
        }
        let cluster_end = 10 + actual;
        let cluster_id = id
            .get(10..cluster_end)
            .ok_or_else(|| VolumeIdError::BadField {
                field: "cluster id",
                found: String::from_utf8_lossy(&bytes[10..cluster_end]).into_owned(),
                expected: "whole UTF-8 characters",
            })?;
        separator(bytes, cluster_end, "separator after the cluster id")?;
        let location_id = hex_field(bytes, cluster_end + 1, 16, "location id")? as i64;
        separator(bytes, cluster_end + 17, "separator after the location id")?;
        // Bytes up to here are ASCII, so this is a char boundary.
        let object_uuid = &id[cluster_end + 18..];
        check_uuid(object_uuid)?;
        Ok(Self {
            version,
            cluster_id: cluster_id.to_owned(),
            location_id,
            object_uuid: object_uuid.to_owned(),
        })
    }
}

impl fmt::Display for VolumeId {
    /// The encoded ID, or a description when it cannot be encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.encode() {
            Ok(id) => f.write_str(&id),
            Err(e) => write!(f, "<unencodable volume id: {e}>"),
        }
    }
}

/// Checks the canonical uuid form ceph-csi writes: 8-4-4-4-12 lower-case hex digits.
pub fn check_uuid(uuid: &str) -> Result<(), VolumeIdError> {
    const EXPECTED: &str = "36 characters, 8-4-4-4-12 lower-case hex digits";
    let ok = uuid.len() == UUID_LEN
        && uuid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => is_lower_hex(b),
        });
    if ok {
        Ok(())
    } else {
        Err(VolumeIdError::Uuid {
            found: uuid.to_owned(),
            expected: EXPECTED,
        })
    }
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `width` lower-case hex digits at `at`, as a number.
fn hex_field(
    bytes: &[u8],
    at: usize,
    width: usize,
    field: &'static str,
) -> Result<u64, VolumeIdError> {
    let digits = &bytes[at..at + width];
    if !digits.iter().all(|&b| is_lower_hex(b)) {
        return Err(VolumeIdError::BadField {
            field,
            found: String::from_utf8_lossy(digits).into_owned(),
            expected: match width {
                4 => "4 lower-case hex digits",
                _ => "16 lower-case hex digits",
            },
        });
    }
    Ok(digits.iter().fold(0, |n, &b| {
        let d = if b.is_ascii_digit() {
            b - b'0'
        } else {
            b - b'a' + 10
        };
        (n << 4) | u64::from(d)
    }))
}

fn separator(bytes: &[u8], at: usize, field: &'static str) -> Result<(), VolumeIdError> {
    if bytes[at] == b'-' {
        Ok(())
    } else {
        Err(VolumeIdError::BadField {
            field,
            found: String::from_utf8_lossy(&bytes[at..=at]).into_owned(),
            expected: "'-'",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FSID: &str = "7c1a6a0e-4f4c-4d2b-9a9e-2f0d1c3b5a79";
    const UUID: &str = "5e2a1c9d-0b7f-4a61-8e3c-1d2f3a4b5c6d";

    /// splitmix64: reproducible values without a test-only dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn uuid(&mut self) -> String {
            let bytes = (u128::from(self.next()) << 64) | u128::from(self.next());
            uuid::Uuid::from_u128(bytes).hyphenated().to_string()
        }
        /// A cluster id of up to `max` bytes: fsid-like, names with dashes and dots,
        /// and (when `ascii` is false) multi-byte characters.
        fn cluster_id(&mut self, max: usize, ascii: bool) -> String {
            const ASCII: &[char] = &['a', 'z', '0', '9', '-', '.', '_', 'F', ' '];
            const WIDE: &[char] = &['é', '中', '🦀'];
            let target = self.below(max + 1);
            let mut s = String::new();
            loop {
                let c = if !ascii && self.below(4) == 0 {
                    WIDE[self.below(WIDE.len())]
                } else {
                    ASCII[self.below(ASCII.len())]
                };
                if s.len() + c.len_utf8() > target {
                    return s;
                }
                s.push(c);
            }
        }
        fn location(&mut self) -> i64 {
            match self.below(4) {
                0 => self.below(64) as i64,
                1 => -(self.below(3) as i64) - 1,
                2 => i64::MAX - self.below(3) as i64,
                _ => self.next() as i64,
            }
        }
        fn volume_id(&mut self, ascii: bool) -> VolumeId {
            VolumeId::new(
                self.cluster_id(MAX_CLUSTER_ID_LEN, ascii),
                self.location(),
                self.uuid(),
            )
        }
    }

    #[test]
    fn design_example_decodes_to_its_parts() {
        let id = format!("0001-0024-{FSID}-0000000000000002-{UUID}");
        let v = VolumeId::decode(&id).unwrap();
        assert_eq!(v, VolumeId::new(FSID, 2, UUID));
        assert_eq!(v.version, 1);
        assert_eq!(v.encode().unwrap(), id);
        assert_eq!(v.to_string(), id);
        assert_eq!(id.len(), 100);
    }

    #[test]
    fn negative_and_large_locations_are_twos_complement() {
        let v = VolumeId::new("c", -1, UUID);
        let id = v.encode().unwrap();
        assert_eq!(id, format!("0001-0001-c-ffffffffffffffff-{UUID}"));
        assert_eq!(VolumeId::decode(&id).unwrap(), v);
        let v = VolumeId::new("", i64::MAX, UUID);
        let id = v.encode().unwrap();
        assert_eq!(id, format!("0001-0000--7fffffffffffffff-{UUID}"));
        assert_eq!(VolumeId::decode(&id).unwrap(), v);
    }

    #[test]
    fn round_trips_generated_ids() {
        let mut rng = Rng(1);
        for _ in 0..5000 {
            let v = rng.volume_id(false);
            let id = v.encode().unwrap();
            assert!(id.len() <= MAX_LEN, "{id}");
            assert_eq!(id.len(), FIXED_LEN + v.cluster_id.len());
            assert_eq!(VolumeId::decode(&id).as_ref(), Ok(&v), "{id}");
        }
    }

    /// A mutated ID either fails to decode, or decodes to another identifier whose
    /// encoding is exactly the mutated string (so it cannot alias the original).
    fn assert_not_aliased(original: &VolumeId, mutated: &str) {
        if let Ok(v) = VolumeId::decode(mutated) {
            assert_ne!(&v, original, "{mutated:?} decoded to the original");
            assert_eq!(v.encode().unwrap(), mutated);
        }
    }

    #[test]
    fn truncations_never_decode() {
        let mut rng = Rng(2);
        for _ in 0..200 {
            let v = rng.volume_id(false);
            let id = v.encode().unwrap();
            // Every proper prefix and every proper suffix.
            for at in (1..id.len()).filter(|&i| id.is_char_boundary(i)) {
                assert!(VolumeId::decode(&id[..at]).is_err(), "{:?}", &id[..at]);
                assert!(VolumeId::decode(&id[at..]).is_err(), "{:?}", &id[at..]);
            }
        }
    }

    #[test]
    fn single_byte_corruptions_do_not_alias() {
        let mut rng = Rng(3);
        let replacements = b"0aAfFgz9-. ";
        for _ in 0..200 {
            let v = rng.volume_id(true);
            let id = v.encode().unwrap();
            for at in 0..id.len() {
                for &r in replacements {
                    let mut bytes = id.clone().into_bytes();
                    if bytes[at] == r {
                        continue;
                    }
                    bytes[at] = r;
                    assert_not_aliased(&v, std::str::from_utf8(&bytes).unwrap());
                }
                let mut deleted = id.clone();
                deleted.remove(at);
                assert!(VolumeId::decode(&deleted).is_err(), "{deleted:?}");
                let mut inserted = id.clone();
                inserted.insert(at, '0');
                assert_not_aliased(&v, &inserted);
            }
        }
    }

    #[test]
    fn each_malformation_has_its_reason() {
        use VolumeIdError as E;
        let good = format!("0001-0024-{FSID}-0000000000000002-{UUID}");
        let err = |s: &str| VolumeId::decode(s).unwrap_err();
        assert_eq!(err("0001-0000"), E::Length { len: 9 });
        assert_eq!(err(&"x".repeat(129)), E::Length { len: 129 });
        assert!(matches!(
            err(&good.replacen("0001", "00g1", 1)),
            E::BadField {
                field: "version",
                ..
            }
        ));
        assert!(matches!(
            err(&good.replacen("0001", "000A", 1)),
            E::BadField {
                field: "version",
                ..
            }
        ));
        assert_eq!(err(&good.replacen("0001", "0002", 1)), E::Version(2));
        assert_eq!(
            err(&good.replacen("0024", "0023", 1)),
            E::ClusterIdLength {
                declared: 35,
                actual: 36
            }
        );
        assert!(matches!(
            err(&good.replacen("-0024-", "_0024-", 1)),
            E::BadField {
                field: "separator after the version",
                ..
            }
        ));
        assert!(matches!(
            err(&good.replace("0000000000000002", "000000000000000X")),
            E::BadField {
                field: "location id",
                ..
            }
        ));
        assert!(matches!(
            err(&good.replace(UUID, &UUID.to_uppercase())),
            E::Uuid { .. }
        ));
        let msg = err(&good.replace("-5e2a", "_5e2a")).to_string();
        assert!(msg.contains("separator after the location id"), "{msg}");
        // A cluster id that splits a multi-byte character is refused, not sliced.
        let split = format!("0001-0002-a\u{e9}0000000000000002-{UUID}");
        assert_eq!(split.len(), 66);
        assert!(matches!(
            err(&split),
            E::BadField {
                field: "cluster id",
                ..
            }
        ));
        let e = err(&format!("0001-0001-x-0000000000000002-{}", &UUID[..35]));
        assert!(
            matches!(
                e,
                E::ClusterIdLength {
                    declared: 1,
                    actual: 0
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn encode_refuses_what_cannot_round_trip() {
        let long = VolumeId::new("c".repeat(MAX_CLUSTER_ID_LEN + 1), 1, UUID);
        assert_eq!(
            long.encode(),
            Err(VolumeIdError::ClusterIdTooLong { len: 65 })
        );
        let at_max = VolumeId::new("c".repeat(MAX_CLUSTER_ID_LEN), 1, UUID);
        assert_eq!(at_max.encode().unwrap().len(), MAX_LEN);
        assert!(VolumeId::new(FSID, 1, "not-a-uuid").encode().is_err());
        assert!(VolumeId::new(FSID, 1, UUID.to_uppercase())
            .encode()
            .is_err());
        let mut v2 = VolumeId::new(FSID, 1, UUID);
        v2.version = 2;
        assert_eq!(v2.encode(), Err(VolumeIdError::Version(2)));
        assert!(v2.to_string().starts_with("<unencodable volume id"));
    }
}
