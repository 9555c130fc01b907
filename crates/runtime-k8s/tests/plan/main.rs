//! The operator's reconcile plan, as pure functions: given the objects and
//! Ceph's state, the exact writes, Ceph operations, status and Events.

mod fixtures;
mod world;

mod deletion;
mod devices;
mod failover;
mod filesystem;
mod new_cluster;
mod pool;
mod roundtrip;
mod status;
