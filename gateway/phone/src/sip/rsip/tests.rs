use super::*;

#[test]
fn a_trunks_session_interval_is_read_when_sane() {
    let invite = |header: &str| {
        let text = format!(
            "INVITE sip:dialin@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-1\r\n\
             From: <sip:+46700000001@127.0.0.1>;tag=a\r\nTo: <sip:dialin@127.0.0.1>\r\n\
             Call-ID: st@test\r\nCSeq: 1 INVITE\r\n{header}Content-Length: 0\r\n\r\n"
        );
        match rsipstack::sip::SipMessage::try_from(text.as_bytes()).unwrap() {
            rsipstack::sip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    };
    let seconds = |h: &str| session_expires(&invite(h));
    assert_eq!(seconds("Session-Expires: 1800\r\n"), Some(1800));
    assert_eq!(
        seconds("x: 600;refresher=uas\r\n"),
        Some(600),
        "compact form"
    );
    assert_eq!(
        seconds("Session-Expires: 30\r\n"),
        None,
        "below RFC 4028's least"
    );
    assert_eq!(seconds("Session-Expires: 99999999999\r\n"), None);
    assert_eq!(seconds("Session-Expires: soon\r\n"), None);
    assert_eq!(seconds(""), None);
}

#[test]
fn end_reasons_name_the_side_that_hung_up() {
    let client = TransactionRole::Client;
    let server = TransactionRole::Server;
    assert_eq!(
        end_reason(&TerminatedReason::UacBye, client),
        EndReason::LocalHangUp
    );
    assert_eq!(
        end_reason(&TerminatedReason::UasBye, client),
        EndReason::RemoteHangUp
    );
    assert_eq!(
        end_reason(&TerminatedReason::UacBye, server),
        EndReason::RemoteHangUp
    );
    assert_eq!(
        end_reason(&TerminatedReason::UasBye, server),
        EndReason::LocalHangUp
    );
    assert_eq!(
        end_reason(&TerminatedReason::UasOther(StatusCode::from(407)), client),
        EndReason::AuthFailed
    );
    assert_eq!(
        end_reason(&TerminatedReason::UasBusy, client),
        EndReason::Rejected(486)
    );
}

#[tokio::test]
async fn start_refuses_tls_material_that_is_not_pem() {
    let config = SipConfig::new(
        "127.0.0.1:5061".parse().unwrap(),
        b"not a certificate".to_vec(),
        b"not a key".to_vec(),
    );
    let error = RsipStack::start(config).await.expect_err("refused");
    assert_eq!(
        error,
        SipError::Tls("no certificate in the certificate PEM")
    );
}
