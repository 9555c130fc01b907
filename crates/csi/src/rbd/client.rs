//! A Controller client over a CSI endpoint (tests, the `rookery volume` CLI).

use rookery_csi_proto::v1::controller_client;
use tonic::transport::Channel;

use crate::grpc::{connect, ConnectError, CsiEndpoint};

/// The generated Controller client on a connected channel.
pub type ControllerClient = controller_client::ControllerClient<Channel>;

/// Connects a Controller client to `endpoint`.
pub async fn connect_controller(endpoint: &CsiEndpoint) -> Result<ControllerClient, ConnectError> {
    Ok(ControllerClient::new(connect(endpoint).await?))
}
