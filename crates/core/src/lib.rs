//! Runtime-agnostic operator logic. Everything here is a pure function of the
//! desired spec and the observed state: the local runtime and (later) the
//! Kubernetes operator execute what these functions decide.

pub mod backoff;
pub mod desired;
pub mod devices;
pub mod mons;
pub mod naming;
pub mod plan;
pub mod readiness;
pub mod removal;

pub use backoff::RestartBackoff;
pub use desired::{
    from_manifest, DesiredCluster, DesiredFilesystem, DesiredPool, FullRatios, OsdBacking, Ports,
};
pub use mons::{decide, ChangeStep, MonChange, MonDecision, MonObservation, MonPolicy};
pub use plan::{plan_daemons, DaemonPlan, ObservedDaemons, OsdSlotState};
pub use readiness::{evaluate, ClusterSnapshot, Readiness};
