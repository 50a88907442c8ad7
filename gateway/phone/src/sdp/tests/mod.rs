//! Tests of the SDP offer/answer, on offers in the shape real peers send (`samples/`).

mod hostile;
mod negotiation;
mod reading;

use super::*;

pub(super) const BARESIP: &str = include_str!("samples/baresip.sdp");
pub(super) const KAMAILIO: &str = include_str!("samples/kamailio.sdp");
pub(super) const OPERATOR: &str = include_str!("samples/operator.sdp");
pub(super) const OPERATOR_PLAIN_IPV6: &str = include_str!("samples/operator_plain_ipv6.sdp");

/// The samples are written with LF; SIP sends CRLF.
pub(super) fn crlf(sdp: &str) -> String {
    sdp.replace('\n', "\r\n")
}

pub(super) fn parse(sdp: &str) -> RemoteSdp {
    RemoteSdp::parse(crlf(sdp).as_bytes()).expect("the sample parses")
}

pub(super) fn local() -> LocalMedia {
    LocalMedia::new("192.0.2.1".parse().unwrap(), 30000)
}

pub(super) fn key() -> MasterKey {
    MasterKey::new([7; 30])
}
