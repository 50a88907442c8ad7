//! Garbage and hostile bodies: every one an error, none a panic, nothing kept unbounded.

use super::*;

fn error(bytes: &[u8]) -> SdpError {
    RemoteSdp::parse(bytes).expect_err("refused")
}

#[test]
fn oversized_body_is_refused_before_reading() {
    let mut body = crlf(BARESIP).into_bytes();
    body.resize(MAX_SDP_BYTES + 1, b' ');
    assert_eq!(error(&body), SdpError::TooLarge);
}

#[test]
fn giant_line_is_refused() {
    let body = format!("v=0\r\na=x{}\r\n", "y".repeat(MAX_LINE_BYTES));
    assert_eq!(error(body.as_bytes()), SdpError::LineTooLong(2));
}

#[test]
fn ten_thousand_m_lines_are_refused() {
    let mut body = String::from("v=0\nc=IN IP4 192.0.2.1\n");
    for _ in 0..10_000 {
        body.push_str("m=audio 4000 RTP/AVP 8\n");
    }
    // Larger than the body limit; cut to fit it, still far more m-lines than allowed.
    assert_eq!(error(body.as_bytes()), SdpError::TooLarge);
    let cut = &body.as_bytes()[..MAX_SDP_BYTES - 100];
    let cut = &cut[..cut.iter().rposition(|b| *b == b'\n').unwrap() + 1];
    assert_eq!(error(cut), SdpError::TooManyMedia);
}

#[test]
fn too_many_lines_are_refused() {
    let body = format!("v=0\n{}", "i=x\n".repeat(MAX_LINES));
    assert_eq!(error(body.as_bytes()), SdpError::TooManyLines);
    let fits = format!(
        "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8\n{}",
        "i=x\n".repeat(MAX_LINES - 3)
    );
    assert!(RemoteSdp::parse(fits.as_bytes()).is_ok());
}

#[test]
fn too_many_attributes_payload_types_or_crypto_lines_are_refused() {
    let head = "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/SAVP 8\n";
    let attrs = format!("{head}{}", "a=x\n".repeat(MAX_ATTRIBUTES + 1));
    assert_eq!(error(attrs.as_bytes()), SdpError::TooManyAttributes);
    let session_attrs = format!("v=0\n{}", "a=x\n".repeat(MAX_ATTRIBUTES + 1));
    assert_eq!(error(session_attrs.as_bytes()), SdpError::TooManyAttributes);
    let pts: Vec<String> = (0..=MAX_PAYLOAD_TYPES).map(|p| p.to_string()).collect();
    let many = format!(
        "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP {}\n",
        pts.join(" ")
    );
    assert_eq!(error(many.as_bytes()), SdpError::TooManyPayloadTypes);
    let crypto = format!(
        "{head}{}",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\n".repeat(MAX_CRYPTO + 1)
    );
    assert_eq!(error(crypto.as_bytes()), SdpError::TooManyCrypto);
}

#[test]
fn bad_utf8_is_refused() {
    let mut body = crlf(BARESIP).into_bytes();
    body.extend_from_slice(b"a=tool:\xff\xfe\r\n");
    assert_eq!(error(&body), SdpError::NotUtf8);
}

#[test]
fn missing_connection_is_refused() {
    let body = BARESIP.replace("c=IN IP4 192.0.2.20\n", "");
    assert_eq!(error(body.as_bytes()), SdpError::MissingConnection);
}

#[test]
fn missing_audio_or_version_is_refused() {
    assert_eq!(error(b""), SdpError::MissingVersion);
    assert_eq!(
        error(b"o=- 1 1 IN IP4 192.0.2.1\nv=0\n"),
        SdpError::MissingVersion
    );
    assert_eq!(error(b"v=1\n"), SdpError::MissingVersion);
    assert_eq!(error(b"v=0\nc=IN IP4 192.0.2.1\n"), SdpError::NoAudio);
    assert_eq!(
        error(b"v=0\nc=IN IP4 192.0.2.1\nm=video 4000 RTP/AVP 96\n"),
        SdpError::NoAudio
    );
}

#[test]
fn browser_and_dtls_profiles_are_refused() {
    for proto in [
        "RTP/SAVPF",
        "UDP/TLS/RTP/SAVP",
        "UDP/TLS/RTP/SAVPF",
        "RTP/AVPF",
    ] {
        let body = format!("v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 {proto} 8\n");
        assert_eq!(
            error(body.as_bytes()),
            SdpError::UnsupportedProfile,
            "{proto}"
        );
    }
}

#[test]
fn malformed_lines_are_refused_with_their_number() {
    let cases: &[(&str, &str)] = &[
        ("v=0\nnonsense\n", "line"),
        ("v=0\nX=1\n", "line"),
        ("v=0\nc=IN IP4 host.example\n", "connection"),
        ("v=0\nc=IN IP6 192.0.2.1\n", "connection"),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 99999 RTP/AVP 8\n",
            "m-line",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000/2 RTP/AVP 8\n",
            "m-line",
        ),
        ("v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP\n", "m-line"),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 128\n",
            "m-line",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8 8\n",
            "m-line",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8\na=rtpmap:8 PCMA\n",
            "rtpmap",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8\na=rtpmap:8 PCMA/8000/1/2\n",
            "rtpmap",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8\na=crypto:1 AES_CM_128_HMAC_SHA1_80\n",
            "crypto",
        ),
        (
            "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 8\na=crypto:1234567890 X inline:x\n",
            "crypto",
        ),
    ];
    for (body, what) in cases {
        let got = error(body.as_bytes());
        assert!(
            matches!(got, SdpError::Malformed { what: w, .. } if w == *what),
            "{body:?}: {got:?}"
        );
    }
}

#[test]
fn errors_never_quote_the_body() {
    let secret = "inline:SECRETSECRETSECRETSECRETSECRETSECRETSE";
    let body =
        format!("v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/SAVP 8\na=crypto:x AES {secret}\n");
    let got = error(body.as_bytes());
    assert!(!got.to_string().contains("SECRET") && !format!("{got:?}").contains("SECRET"));
}

#[test]
fn every_prefix_of_every_sample_is_an_answer_or_an_error() {
    for sample in [BARESIP, KAMAILIO, OPERATOR, OPERATOR_PLAIN_IPV6] {
        let body = crlf(sample);
        for end in 0..=body.len() {
            if let Ok(sdp) = RemoteSdp::parse(&body.as_bytes()[..end]) {
                let _ = answer(&sdp, &local(), &key());
            }
        }
    }
}
