//! Per-method gRPC counts, errors by code, and latency, as the server's
//! metrics layer records them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::exposition::{family, sample, Kind};
use super::histogram::Histogram;

pub const REQUESTS: &str = "csi_grpc_requests_total";
pub const ERRORS: &str = "csi_grpc_errors_total";
pub const DURATION: &str = "csi_grpc_request_duration_seconds";

/// At most this many distinct `method` labels; further paths are counted as
/// [`OTHER_METHOD`]. The CSI services have a few dozen methods, but the path
/// comes from the client, and each label is a time series kept forever.
pub const MAX_METHODS: usize = 64;
/// The `method` label for paths beyond [`MAX_METHODS`].
pub const OTHER_METHOD: &str = "other";

/// Counts of one method.
#[derive(Debug, Clone, Default)]
struct MethodStats {
    requests: u64,
    /// gRPC code name -> count, for codes other than OK.
    errors: BTreeMap<&'static str, u64>,
    latency: Histogram,
}

/// The RPC metrics of one server. Cheap to clone; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct RpcMetrics {
    methods: Arc<Mutex<BTreeMap<String, MethodStats>>>,
}

impl RpcMetrics {
    /// Records one finished call of `method` (the gRPC path,
    /// `/csi.v1.Controller/CreateVolume`).
    pub fn record(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        let mut methods = self.methods.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if methods.contains_key(method) || methods.len() < MAX_METHODS {
            method
        } else {
            OTHER_METHOD
        };
        let stats = methods.entry(key.to_owned()).or_default();
        stats.requests += 1;
        if code != tonic::Code::Ok {
            *stats.errors.entry(code_name(code)).or_default() += 1;
        }
        stats.latency.observe(elapsed.as_secs_f64());
    }

    /// Appends the three families, methods in name order.
    pub fn render(&self, out: &mut String) {
        let methods = self
            .methods
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        family(
            out,
            REQUESTS,
            Kind::Counter,
            "CSI gRPC calls handled, by method.",
        );
        for (method, stats) in &methods {
            sample(out, REQUESTS, &[("method", method)], stats.requests);
        }
        family(
            out,
            ERRORS,
            Kind::Counter,
            "CSI gRPC calls that ended with a status other than OK, by method and gRPC code.",
        );
        for (method, stats) in &methods {
            for (code, n) in &stats.errors {
                sample(out, ERRORS, &[("method", method), ("code", code)], n);
            }
        }
        family(
            out,
            DURATION,
            Kind::Histogram,
            "Time from a CSI gRPC call's arrival until its response (or error) was ready, by method.",
        );
        for (method, stats) in &methods {
            stats.latency.render(out, DURATION, &[("method", method)]);
        }
    }
}

/// The code's name as gRPC libraries print it (`InvalidArgument`), the
/// spelling the CSI sidecars' metrics use too.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = "/csi.v1.Controller/CreateVolume";

    fn rendered(m: &RpcMetrics) -> String {
        let mut out = String::new();
        m.render(&mut out);
        out
    }

    #[test]
    fn counts_errors_by_code_and_latency() {
        let m = RpcMetrics::default();
        m.record(CREATE, tonic::Code::Ok, Duration::from_millis(20));
        m.record(CREATE, tonic::Code::Ok, Duration::from_millis(2));
        m.record(
            CREATE,
            tonic::Code::InvalidArgument,
            Duration::from_micros(300),
        );
        m.record("/csi.v1.Identity/Probe", tonic::Code::Ok, Duration::ZERO);
        let out = rendered(&m);
        for line in [
            "csi_grpc_requests_total{method=\"/csi.v1.Controller/CreateVolume\"} 3",
            "csi_grpc_requests_total{method=\"/csi.v1.Identity/Probe\"} 1",
            "csi_grpc_errors_total{method=\"/csi.v1.Controller/CreateVolume\",code=\"InvalidArgument\"} 1",
            "csi_grpc_request_duration_seconds_bucket{method=\"/csi.v1.Controller/CreateVolume\",le=\"0.001\"} 1",
            "csi_grpc_request_duration_seconds_bucket{method=\"/csi.v1.Controller/CreateVolume\",le=\"0.0025\"} 2",
            "csi_grpc_request_duration_seconds_bucket{method=\"/csi.v1.Controller/CreateVolume\",le=\"+Inf\"} 3",
            "csi_grpc_request_duration_seconds_count{method=\"/csi.v1.Controller/CreateVolume\"} 3",
            "# TYPE csi_grpc_request_duration_seconds histogram",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        // OK is not an error, and a method without errors has no error line.
        assert!(!out.contains("code=\"OK\""), "{out}");
        assert!(!out.contains("csi_grpc_errors_total{method=\"/csi.v1.Identity/Probe\""));
    }

    #[test]
    fn families_are_declared_even_before_the_first_call() {
        let out = rendered(&RpcMetrics::default());
        for name in [REQUESTS, ERRORS, DURATION] {
            assert!(out.contains(&format!("# TYPE {name} ")), "{out}");
        }
        assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 0);
    }

    #[test]
    fn method_labels_are_bounded() {
        let m = RpcMetrics::default();
        for i in 0..MAX_METHODS + 10 {
            m.record(
                &format!("/x/{i}"),
                tonic::Code::Unimplemented,
                Duration::ZERO,
            );
        }
        // A method seen before the cap keeps its own label.
        m.record("/x/0", tonic::Code::Ok, Duration::ZERO);
        let out = rendered(&m);
        let series = out
            .lines()
            .filter(|l| l.starts_with("csi_grpc_requests_total{"))
            .count();
        assert_eq!(series, MAX_METHODS + 1, "{out}");
        assert!(out.contains("csi_grpc_requests_total{method=\"other\"} 10"));
        assert!(out.contains("csi_grpc_requests_total{method=\"/x/0\"} 2"));
    }

    #[test]
    fn code_names_match_grpc_spelling() {
        assert_eq!(code_name(tonic::Code::InvalidArgument), "InvalidArgument");
        assert_eq!(code_name(tonic::Code::Cancelled), "Canceled");
        assert_eq!(code_name(tonic::Code::Ok), "OK");
    }
}
