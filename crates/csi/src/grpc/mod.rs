//! The gRPC edge of the CSI drivers: endpoint parsing, serving on a unix socket,
//! the shared Identity service, the one error -> status mapping, and a client
//! connector. Generated protocol types stay here and in the services; the
//! mechanisms (journal, locks, volume IDs) never see them.

pub mod client;
pub mod endpoint;
pub mod identity;
pub mod server;
pub mod status;

pub use client::{connect, ConnectError};
pub use endpoint::{CsiEndpoint, EndpointError};
pub use identity::{DriverKind, IdentityService, CEPHFS_DRIVER_NAME, RBD_DRIVER_NAME};
pub use server::{bind, serve, CsiListener, ServeError};
pub use status::{code_to_tonic, status};

/// The generated CSI protocol (`proto::v1`), so users of this crate need not
/// depend on `rookery-csi-proto` themselves.
pub use rookery_csi_proto as proto;
/// Service routing for [`serve`], re-exported from tonic.
pub use tonic::service::Routes;
