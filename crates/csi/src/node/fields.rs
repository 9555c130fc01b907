//! The request fields every Node service reads the same way: the volume ID
//! (which names staging mounts, so it must be safe as a path component) and
//! the absolute paths the CO gives.

use std::path::{Path, PathBuf};

use crate::request::{RequestError, Result};

/// A required path field: non-empty and absolute. Returned without a
/// trailing `/`, as the mount table and the FUSE daemons' command lines show it.
pub fn required_path(field: &'static str, value: &str) -> Result<PathBuf> {
    if value.is_empty() {
        return Err(RequestError::invalid(field, "it is required"));
    }
    let path = Path::new(value);
    if !path.is_absolute() {
        return Err(RequestError::invalid(
            field,
            format!("{value:?} is not an absolute path"),
        ));
    }
    Ok(path.components().collect())
}

/// A volume ID that is safe as a path component.
pub fn required_volume_id(value: &str) -> Result<&str> {
    if value.is_empty() {
        return Err(RequestError::invalid("volume_id", "it is required"));
    }
    if value.contains(['/', '\0']) || value == "." || value == ".." {
        return Err(RequestError::invalid(
            "volume_id",
            format!("{value:?} is not a volume ID (it contains a path separator)"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CsiCode;

    #[test]
    fn request_fields_are_checked_by_name() {
        let e = required_path("staging_target_path", "").unwrap_err();
        assert_eq!(e.code(), CsiCode::InvalidArgument);
        assert_eq!(e.to_string(), "invalid staging_target_path: it is required");
        let e = required_path("target_path", "rel/dir").unwrap_err();
        assert!(e.to_string().contains("not an absolute path"), "{e}");
        assert_eq!(
            required_path("target_path", "/a/b/").unwrap().as_os_str(),
            "/a/b"
        );
        assert!(required_volume_id("a/../b").is_err());
        assert!(required_volume_id("..").is_err());
        assert_eq!(required_volume_id("0001-x").unwrap(), "0001-x");
    }
}
