//! Where a CSI server listens: `--endpoint` parsed into a [`CsiEndpoint`].
//!
//! Accepted forms, as COs and ceph-csi deployments write them:
//! `unix:///abs/path.sock`, `unix:path.sock` (relative or absolute), a bare path,
//! and `tcp://<loopback ip or localhost>:<port>`. Servers here never listen on a
//! routable address: CSI has no authentication, so a TCP endpoint must be loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// `sockaddr_un.sun_path` is 108 bytes on Linux, one of them the terminating NUL.
pub const MAX_UNIX_PATH_LEN: usize = 107;

/// A parsed CSI endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsiEndpoint {
    /// A unix domain socket at this path.
    Unix(PathBuf),
    /// A loopback TCP address (checked at parse time).
    Tcp(SocketAddr),
}

/// Why an endpoint string was rejected. The message names the input and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("CSI endpoint is empty: pass e.g. unix:///run/rookery/csi.sock")]
    Empty,
    #[error("CSI endpoint {input:?}: unsupported scheme {scheme:?}; use unix:///path/to/csi.sock or tcp://127.0.0.1:<port>")]
    UnsupportedScheme { input: String, scheme: String },
    #[error(
        "CSI endpoint {input:?}: no socket path after the scheme; use unix:///path/to/csi.sock"
    )]
    EmptyPath { input: String },
    #[error("CSI endpoint {input:?}: unix:// must be followed by an absolute path (unix:///path); for a relative path write unix:{rest}")]
    UnixHostNotAllowed { input: String, rest: String },
    #[error("CSI endpoint {input:?}: socket path is {len} bytes, the limit for a unix socket is {MAX_UNIX_PATH_LEN}; choose a shorter path")]
    PathTooLong { input: String, len: usize },
    #[error("CSI endpoint {input:?}: socket path contains a NUL byte")]
    NulInPath { input: String },
    #[error("CSI endpoint {input:?}: expected tcp://<host>:<port>, e.g. tcp://127.0.0.1:10000 ({reason})")]
    BadTcpAddress { input: String, reason: String },
    #[error("CSI endpoint {input:?}: refusing to serve on non-loopback address {ip}; CSI has no authentication, so bind 127.0.0.1/::1 or use a unix socket")]
    NotLoopback { input: String, ip: IpAddr },
}

impl CsiEndpoint {
    /// Parses an endpoint string; see the module docs for the accepted forms.
    pub fn parse(input: &str) -> Result<Self, EndpointError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EndpointError::Empty);
        }
        if let Some(rest) = trimmed.strip_prefix("unix://") {
            // unix:///abs -> rest "/abs"; unix://host/x names a host, which
            // unix sockets do not have.
            if !rest.is_empty() && !rest.starts_with('/') {
                return Err(EndpointError::UnixHostNotAllowed {
                    input: input.to_owned(),
                    rest: rest.to_owned(),
                });
            }
            return unix_path(input, rest);
        }
        if let Some(rest) = trimmed.strip_prefix("unix:") {
            return unix_path(input, rest);
        }
        if let Some(rest) = trimmed.strip_prefix("tcp://") {
            return tcp_addr(input, rest);
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(EndpointError::UnsupportedScheme {
                input: input.to_owned(),
                scheme: scheme.to_owned(),
            });
        }
        if let Some(scheme) = ["tcp:", "unix-abstract:", "dns:", "http:", "https:"]
            .iter()
            .find(|s| trimmed.starts_with(*s))
        {
            return Err(EndpointError::UnsupportedScheme {
                input: input.to_owned(),
                scheme: scheme.trim_end_matches(':').to_owned(),
            });
        }
        // Anything else is a filesystem path, colons included.
        unix_path(input, trimmed)
    }

    /// The socket path, for a unix endpoint.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Self::Unix(path) => Some(path),
            Self::Tcp(_) => None,
        }
    }
}

impl FromStr for CsiEndpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CsiEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) if path.is_absolute() => write!(f, "unix://{}", path.display()),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

fn unix_path(input: &str, path: &str) -> Result<CsiEndpoint, EndpointError> {
    if path.is_empty() {
        return Err(EndpointError::EmptyPath {
            input: input.to_owned(),
        });
    }
    if path.contains('\0') {
        return Err(EndpointError::NulInPath {
            input: input.to_owned(),
        });
    }
    if path.len() > MAX_UNIX_PATH_LEN {
        return Err(EndpointError::PathTooLong {
            input: input.to_owned(),
            len: path.len(),
        });
    }
    Ok(CsiEndpoint::Unix(PathBuf::from(path)))
}

fn tcp_addr(input: &str, rest: &str) -> Result<CsiEndpoint, EndpointError> {
    let bad = |reason: &str| EndpointError::BadTcpAddress {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    if rest.contains('/') {
        return Err(bad("no path allowed after the port"));
    }
    let addr = match rest.strip_prefix("localhost:") {
        Some(port) => {
            let port = port.parse::<u16>().map_err(|_| bad("invalid port"))?;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        }
        // Only literal addresses: resolving names here could turn into a
        // routable address behind our back.
        None => rest
            .parse::<SocketAddr>()
            .map_err(|_| bad("host must be an IP literal or localhost, with a port"))?,
    };
    if !addr.ip().is_loopback() {
        return Err(EndpointError::NotLoopback {
            input: input.to_owned(),
            ip: addr.ip(),
        });
    }
    Ok(CsiEndpoint::Tcp(addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn unix(p: &str) -> CsiEndpoint {
        CsiEndpoint::Unix(PathBuf::from(p))
    }

    #[test]
    fn unix_forms() {
        let cases = [
            ("unix:///csi/csi.sock", "/csi/csi.sock"),
            ("unix:/csi/csi.sock", "/csi/csi.sock"),
            ("unix:csi.sock", "csi.sock"),
            ("unix:./run/csi.sock", "./run/csi.sock"),
            (
                "/var/lib/kubelet/plugins/rbd.csi.ceph.com/csi.sock",
                "/var/lib/kubelet/plugins/rbd.csi.ceph.com/csi.sock",
            ),
            ("csi.sock", "csi.sock"),
            ("  unix:///tmp/a.sock\n", "/tmp/a.sock"),
            // A colon inside a bare path is still a path.
            ("/tmp/odd:name.sock", "/tmp/odd:name.sock"),
        ];
        for (input, path) in cases {
            assert_eq!(CsiEndpoint::parse(input), Ok(unix(path)), "{input}");
        }
    }

    #[test]
    fn tcp_loopback_forms() {
        assert_eq!(
            CsiEndpoint::parse("tcp://127.0.0.1:10000"),
            Ok(CsiEndpoint::Tcp(SocketAddr::new(
                Ipv4Addr::LOCALHOST.into(),
                10000
            )))
        );
        assert_eq!(
            CsiEndpoint::parse("tcp://[::1]:9000"),
            Ok(CsiEndpoint::Tcp(SocketAddr::new(
                Ipv6Addr::LOCALHOST.into(),
                9000
            )))
        );
        assert_eq!(
            CsiEndpoint::parse("tcp://localhost:0"),
            Ok(CsiEndpoint::Tcp(SocketAddr::new(
                Ipv4Addr::LOCALHOST.into(),
                0
            )))
        );
        assert_eq!(
            CsiEndpoint::parse("tcp://127.1.2.3:1"),
            Ok(CsiEndpoint::Tcp("127.1.2.3:1".parse().unwrap()))
        );
    }

    #[test]
    fn rejects_non_loopback_tcp() {
        for input in [
            "tcp://0.0.0.0:10000",
            "tcp://10.0.0.5:10000",
            "tcp://[::]:10000",
        ] {
            match CsiEndpoint::parse(input) {
                Err(EndpointError::NotLoopback { .. }) => {}
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_tcp() {
        for input in [
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:99999",
            "tcp://example.com:10000",
            "tcp://127.0.0.1:10000/csi",
            "tcp://",
        ] {
            match CsiEndpoint::parse(input) {
                Err(EndpointError::BadTcpAddress { .. }) => {}
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_unix_and_schemes() {
        assert_eq!(CsiEndpoint::parse(""), Err(EndpointError::Empty));
        assert_eq!(CsiEndpoint::parse("   "), Err(EndpointError::Empty));
        assert!(matches!(
            CsiEndpoint::parse("unix://"),
            Err(EndpointError::EmptyPath { .. })
        ));
        assert!(matches!(
            CsiEndpoint::parse("unix:"),
            Err(EndpointError::EmptyPath { .. })
        ));
        assert!(matches!(
            CsiEndpoint::parse("unix://csi/csi.sock"),
            Err(EndpointError::UnixHostNotAllowed { .. })
        ));
        assert!(matches!(
            CsiEndpoint::parse("unix:///tmp/a\0b"),
            Err(EndpointError::NulInPath { .. })
        ));
        let long = format!("unix:///{}", "x".repeat(MAX_UNIX_PATH_LEN));
        assert!(matches!(
            CsiEndpoint::parse(&long),
            Err(EndpointError::PathTooLong { .. })
        ));
        for input in [
            "http://127.0.0.1:80",
            "dns:///csi",
            "unix-abstract:csi",
            "tcp:127.0.0.1:1",
        ] {
            assert!(
                matches!(
                    CsiEndpoint::parse(input),
                    Err(EndpointError::UnsupportedScheme { .. })
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn errors_name_the_input_and_the_fix() {
        let msg = CsiEndpoint::parse("tcp://0.0.0.0:10000")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("0.0.0.0") && msg.contains("unix socket"),
            "{msg}"
        );
        let msg = CsiEndpoint::parse("unix://csi/csi.sock")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unix:csi/csi.sock"), "{msg}");
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "unix:///csi/csi.sock",
            "unix:rel/csi.sock",
            "tcp://127.0.0.1:10000",
            "tcp://[::1]:1",
        ] {
            let ep = CsiEndpoint::parse(input).unwrap();
            assert_eq!(ep.to_string(), input);
            assert_eq!(CsiEndpoint::parse(&ep.to_string()).unwrap(), ep);
        }
    }
}
