//! Safe wrappers over the raw declarations: owned handles freed on drop, slices and
//! `CStr`s in, owned Rust values out. Errors are positive errno values, as Ceph
//! reports them negated.
//!
//! These wrappers are synchronous and may block on the network: callers in async code
//! must run them on a blocking thread.

mod cluster;
mod ioctx;
pub mod rbd;
mod shared_image;

pub use cluster::{Cluster, ClusterBuilder, CommandFailure, CommandOutput};
pub use ioctx::{IoCtx, OmapEntries, WriteStep};
pub use rbd::{Image, ImageOptions, ImageSpec, ImageStat};
pub use shared_image::SharedImage;

use std::ffi::{c_char, c_int};

/// A positive errno value, as in `<errno.h>`.
pub type Errno = i32;

/// Turns a C return code (negative errno on failure) into a Result.
fn check(ret: c_int) -> Result<c_int, Errno> {
    if ret < 0 {
        Err(-ret)
    } else {
        Ok(ret)
    }
}

/// Reads a NUL-terminated string out of a fixed buffer filled by C.
fn string_from_buf(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_maps_negative_errno() {
        assert_eq!(check(-2), Err(2));
        assert_eq!(check(0), Ok(0));
        assert_eq!(check(7), Ok(7));
    }

    #[test]
    fn string_from_buf_stops_at_nul() {
        let buf = [b'a' as c_char, b'b' as c_char, 0, b'c' as c_char];
        assert_eq!(string_from_buf(&buf), "ab");
        let full = [b'x' as c_char; 3];
        assert_eq!(string_from_buf(&full), "xxx");
    }
}
