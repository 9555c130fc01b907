//! Typed, async access to Ceph through librados and librbd.
//!
//! - [`Rados`]: a connection ([`Rados::connect`]), mon/mgr commands, pool lookups.
//! - [`IoCtx`]: objects and omap in one pool and namespace.
//! - [`rbd`]: image create/remove/resize/info/list/trash; [`BlockImage`]: an image
//!   held open for block I/O from plain threads.
//! - [`commands`]: typed mon and mgr commands.
//!
//! Every librados/librbd call runs on tokio's blocking pool. All `unsafe` lives in
//! `rookery-ceph-sys`.

mod blocking;
pub mod command;
pub mod commands;
mod error;
mod image;
mod ioctx;
mod rados;
pub mod rbd;

pub use command::{Command, CommandOutput, MgrCommand, MonCommand};
pub use error::{errno_description, errno_name, Error, Result};
pub use image::BlockImage;
pub use ioctx::{IoCtx, ObjectStat, OmapCas};
pub use rados::{ConnectOptions, Rados};
