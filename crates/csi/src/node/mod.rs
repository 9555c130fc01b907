//! What every driver's Node service needs on the host, written once: the mount
//! table as the record of what is staged and published, mounts and bind mounts
//! by system call, filesystems on mapped devices (probe, format only if blank,
//! grow, usage), FUSE daemons (found by command line, waited for), the
//! mons' addresses and the node user's key for kernel clients, and running the
//! host's tools with a timeout.

pub mod command;
pub mod creds;
pub mod fields;
pub mod fs;
pub mod fuse;
pub mod mons;
pub mod mount;
pub mod mountinfo;
