//! FFI to librados and librbd (Ceph Pacific), and the only `unsafe` code of rookery.
//!
//! - [`rados`], [`rbd`]: hand-written declarations matching the C headers.
//! - [`safe`]: owned handles and safe, synchronous (blocking) calls built on them.

pub mod rados;
pub mod rbd;
pub mod safe;
