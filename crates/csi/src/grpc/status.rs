//! The one mapping from this crate's errors to gRPC statuses. Which CSI code an
//! error gets is decided in [`crate::error`]; this only translates that code to
//! tonic's and carries the message (which names the object and the fix).

use crate::error::{CsiCode, Error};

/// The tonic code for a CSI code.
pub fn code_to_tonic(code: CsiCode) -> tonic::Code {
    match code {
        CsiCode::InvalidArgument => tonic::Code::InvalidArgument,
        CsiCode::NotFound => tonic::Code::NotFound,
        CsiCode::AlreadyExists => tonic::Code::AlreadyExists,
        CsiCode::Aborted => tonic::Code::Aborted,
        CsiCode::ResourceExhausted => tonic::Code::ResourceExhausted,
        CsiCode::FailedPrecondition => tonic::Code::FailedPrecondition,
        CsiCode::DeadlineExceeded => tonic::Code::DeadlineExceeded,
        CsiCode::Unavailable => tonic::Code::Unavailable,
        CsiCode::Internal => tonic::Code::Internal,
        CsiCode::OutOfRange => tonic::Code::OutOfRange,
    }
}

/// The gRPC status for an error: its CSI code and its message. CSI requires
/// `details` to stay empty, so nothing else is attached.
pub fn status(err: &Error) -> tonic::Status {
    tonic::Status::new(code_to_tonic(err.code()), err.to_string())
}

/// Lets service methods use `?` on this crate's results.
impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        status(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_csi_code_maps_to_the_same_named_grpc_code() {
        let all = [
            CsiCode::InvalidArgument,
            CsiCode::NotFound,
            CsiCode::AlreadyExists,
            CsiCode::Aborted,
            CsiCode::ResourceExhausted,
            CsiCode::FailedPrecondition,
            CsiCode::DeadlineExceeded,
            CsiCode::Unavailable,
            CsiCode::Internal,
            CsiCode::OutOfRange,
        ];
        for code in all {
            // tonic's Debug is the CamelCase name; CSI's as_str is SCREAMING_CASE.
            let tonic_name = format!("{:?}", code_to_tonic(code));
            assert_eq!(
                tonic_name.to_ascii_uppercase(),
                code.as_str().replace('_', ""),
                "{code}"
            );
        }
    }

    #[test]
    fn status_carries_code_and_message() {
        let err = Error::InvalidArgument {
            what: "volume name",
            value: String::new(),
            reason: "must not be empty".into(),
        };
        let st = status(&err);
        assert_eq!(st.code(), tonic::Code::InvalidArgument);
        assert_eq!(st.message(), err.to_string());
        assert!(st.details().is_empty());
        let via_into: tonic::Status = err.into();
        assert_eq!(via_into.code(), tonic::Code::InvalidArgument);
    }
}
