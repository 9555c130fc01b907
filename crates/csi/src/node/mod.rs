//! What every driver's Node service needs on the host, written once: the mount
//! table as the record of what is staged and published, mounts and bind mounts
//! by system call, filesystems on mapped devices (probe, format only if blank,
//! grow, usage), and running the host's tools with a timeout.

pub mod command;
pub mod fs;
pub mod mount;
pub mod mountinfo;
