//! Connecting to a CSI endpoint as a client (the `rookery volume` CLI, tests).

use std::io;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::endpoint::CsiEndpoint;

/// Why a connection to a CSI endpoint failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to CSI endpoint {endpoint}: {source}; is the plugin running?")]
pub struct ConnectError {
    pub endpoint: String,
    #[source]
    pub source: tonic::transport::Error,
}

/// Opens a channel to `endpoint`; wrap it in the generated clients, e.g.
/// `IdentityClient::new(channel)`.
pub async fn connect(endpoint: &CsiEndpoint) -> Result<Channel, ConnectError> {
    let result = match endpoint {
        CsiEndpoint::Unix(path) => {
            let path = path.clone();
            // The URI is required by tonic but unused: the connector ignores it
            // and dials the socket (tonic's UDS example does the same).
            Endpoint::from_static("http://localhost")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
                }))
                .await
        }
        CsiEndpoint::Tcp(addr) => match Endpoint::from_shared(format!("http://{addr}")) {
            Ok(ep) => ep.connect().await,
            Err(e) => Err(e),
        },
    };
    result.map_err(|source| ConnectError {
        endpoint: endpoint.to_string(),
        source,
    })
}
