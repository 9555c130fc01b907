//! StorageClass parameters and capacity ranges, read the same way by every
//! driver (as ceph-csi reads them).

use std::collections::HashMap;

use rookery_csi_proto::v1::CapacityRange;

use super::{RequestError, Result};

pub(crate) const MIB: u64 = 1 << 20;
/// ceph-csi's size when the request gives none.
pub(crate) const DEFAULT_SIZE: u64 = 1 << 30;

/// Parameter keys every driver reads, as ceph-csi spells them.
pub(crate) mod keys {
    pub const CLUSTER_ID: &str = "clusterID";
    pub const POOL: &str = "pool";
    pub const FS_NAME: &str = "fsName";
    /// The CO's own keys (secret references, PVC names), never passed on.
    pub const CO_PREFIX: &str = "csi.storage.k8s.io/";
}

/// The StorageClass parameters a volume keeps as its volume_context: all but
/// the CO's own keys.
pub(crate) fn volume_context(params: &HashMap<String, String>) -> HashMap<String, String> {
    params
        .iter()
        .filter(|(k, _)| !k.starts_with(keys::CO_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `clusterID` must be given and name this cluster, as ceph-csi requires.
pub(crate) fn check_cluster_id(params: &HashMap<String, String>, cluster_id: &str) -> Result<()> {
    let given = required(params, keys::CLUSTER_ID)?;
    if given != cluster_id {
        return Err(RequestError::invalid(
            "parameters.clusterID",
            format!("{given:?} is not the cluster this controller serves ({cluster_id:?})"),
        ));
    }
    Ok(())
}

/// A required, non-empty parameter.
pub(crate) fn required(params: &HashMap<String, String>, key: &'static str) -> Result<String> {
    match params.get(key).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(RequestError::Invalid {
            field: param_field(key),
            reason: format!("the StorageClass parameter '{key}' is required"),
        }),
    }
}

fn param_field(key: &str) -> &'static str {
    match key {
        keys::CLUSTER_ID => "parameters.clusterID",
        keys::POOL => "parameters.pool",
        keys::FS_NAME => "parameters.fsName",
        _ => "parameters",
    }
}

/// The size to create: `required_bytes` rounded up to MiB (as ceph-csi rounds),
/// 1 GiB when the request gives none; never above `limit_bytes`.
pub(crate) fn volume_size(range: Option<&CapacityRange>) -> Result<u64> {
    let (required, limit) = range.map_or((0, 0), |r| (r.required_bytes, r.limit_bytes));
    let required = non_negative("capacity_range.required_bytes", required)?;
    let limit = non_negative("capacity_range.limit_bytes", limit)?;
    if limit > 0 && required > limit {
        return Err(RequestError::invalid(
            "capacity_range",
            format!("required_bytes {required} is above limit_bytes {limit}"),
        ));
    }
    let size = if required == 0 {
        match limit {
            0 => DEFAULT_SIZE,
            l => DEFAULT_SIZE.min(l / MIB * MIB),
        }
    } else {
        required.div_ceil(MIB) * MIB
    };
    if size == 0 || (limit > 0 && size > limit) {
        return Err(RequestError::OutOfRange(format!(
            "capacity_range: no size in whole MiB fits between required_bytes {required} and \
             limit_bytes {limit}; volumes are sized in MiB"
        )));
    }
    Ok(size)
}

/// Whether an existing volume of `size` bytes satisfies `range` (CSI's rule for
/// a repeated CreateVolume: compatible, or ALREADY_EXISTS).
pub(crate) fn fits(size: u64, range: Option<&CapacityRange>) -> bool {
    let (required, limit) = range.map_or((0, 0), |r| (r.required_bytes, r.limit_bytes));
    let required = u64::try_from(required).unwrap_or(0);
    let limit = u64::try_from(limit).unwrap_or(0);
    let wanted = if required == 0 && limit == 0 {
        DEFAULT_SIZE
    } else {
        required
    };
    size >= wanted && (limit == 0 || size <= limit)
}

fn non_negative(field: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| RequestError::invalid(field, format!("{value} is negative")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(required: i64, limit: i64) -> Option<CapacityRange> {
        Some(CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        })
    }

    #[test]
    fn sizes_round_up_to_mib() {
        assert_eq!(volume_size(None).unwrap(), DEFAULT_SIZE);
        assert_eq!(volume_size(range(1, 0).as_ref()).unwrap(), MIB);
        assert_eq!(
            volume_size(range(MIB as i64 + 1, 0).as_ref()).unwrap(),
            2 * MIB
        );
        assert_eq!(
            volume_size(range(0, 10 * MIB as i64).as_ref()).unwrap(),
            10 * MIB
        );
        let e = volume_size(range(MIB as i64 + 1, MIB as i64 + 2).as_ref()).unwrap_err();
        assert!(matches!(e, RequestError::OutOfRange(_)), "{e}");
        assert!(volume_size(range(-1, 0).as_ref()).is_err());
        assert!(volume_size(range(5, 4).as_ref()).is_err());
        assert!(fits(DEFAULT_SIZE, None));
        assert!(fits(2 * MIB, range(MIB as i64, 0).as_ref()));
        assert!(!fits(MIB, range(2 * MIB as i64, 0).as_ref()));
        assert!(!fits(3 * MIB, range(MIB as i64, 2 * MIB as i64).as_ref()));
    }
}
