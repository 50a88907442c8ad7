//! What the parser reads from real-world offers.

use std::net::IpAddr;

use super::*;

#[test]
fn baresip_offer_reads_audio_formats_crypto_and_refusable_video() {
    let sdp = parse(BARESIP);
    assert_eq!(sdp.version, Some(2890844527));
    assert_eq!(sdp.audio_index, 0);
    assert_eq!(sdp.media.len(), 2);
    assert_eq!(sdp.media[1].kind, "video");
    assert_eq!(sdp.media[1].first_format, "96");
    let audio = &sdp.audio;
    assert_eq!(audio.address, Some("192.0.2.20".parse::<IpAddr>().unwrap()));
    assert_eq!(audio.port, 10468);
    assert_eq!(audio.profile, Profile::Savp);
    let pts: Vec<u8> = audio.formats.iter().map(|f| f.pt).collect();
    assert_eq!(pts, [8, 0, 9, 101]);
    assert_eq!(
        audio.formats[0].encoding,
        Some(Encoding::Audio(Codec::Pcma))
    );
    assert_eq!(
        audio.formats[2].encoding,
        Some(Encoding::Audio(Codec::G722))
    );
    assert_eq!(audio.formats[3].encoding, Some(Encoding::TelephoneEvent));
    assert_eq!(audio.formats[3].fmtp.as_deref(), Some("0-15"));
    assert_eq!(audio.ptime, Some(20));
    assert_eq!(audio.direction, Direction::SendRecv);
    assert!(audio.rtcp_mux);
    assert_eq!(
        audio.crypto.len(),
        2,
        "the video's crypto line stays with the video"
    );
    assert_eq!(audio.crypto[0].tag, 1);
    assert_eq!(
        audio.crypto[0].suite,
        Some(CryptoSuite::AesCm128HmacSha1_32)
    );
    assert_eq!(
        audio.crypto[1].suite,
        Some(CryptoSuite::AesCm128HmacSha1_80)
    );
    assert!(audio.crypto[1]
        .key_params
        .expose()
        .starts_with("inline:YIyv"));
}

#[test]
fn media_level_connection_overrides_the_session_one() {
    let sdp = parse(KAMAILIO);
    assert_eq!(
        sdp.audio.address,
        Some("203.0.113.40".parse::<IpAddr>().unwrap())
    );
    assert!(!sdp.audio.rtcp_mux);
    assert_eq!(
        sdp.audio.crypto[0].key_params.expose(),
        "inline:Yr50p7M9VEBZqKg9noS1iOH7GRr3JuuCo8k9OR4j|2^31"
    );
}

#[test]
fn operator_offer_keeps_unknown_codecs_and_lifetime_mki_key_params() {
    let sdp = parse(OPERATOR);
    let g729 = &sdp.audio.formats[2];
    assert_eq!(g729.pt, 18);
    assert_eq!(g729.encoding, Some(Encoding::Other));
    assert_eq!(g729.fmtp.as_deref(), Some("annexb=no"));
    assert!(sdp.audio.crypto[0]
        .key_params
        .expose()
        .ends_with("|2^31|1:1"));
    assert!(!sdp.audio.crypto[0].has_session_params);
}

#[test]
fn ipv6_plain_offer_reads() {
    let sdp = parse(OPERATOR_PLAIN_IPV6);
    assert_eq!(
        sdp.audio.address,
        Some("2001:db8::10".parse::<IpAddr>().unwrap())
    );
    assert_eq!(sdp.audio.profile, Profile::Avp);
    assert!(sdp.audio.crypto.is_empty());
}

#[test]
fn lf_line_endings_read_like_crlf() {
    let lf = RemoteSdp::parse(BARESIP.as_bytes()).unwrap();
    assert_eq!(lf, parse(BARESIP));
}

#[test]
fn static_payload_types_without_rtpmap_are_known() {
    let sdp = "v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/AVP 0 8 9 96\n";
    let sdp = RemoteSdp::parse(sdp.as_bytes()).unwrap();
    let enc: Vec<_> = sdp.audio.formats.iter().map(|f| f.encoding).collect();
    assert_eq!(
        enc,
        [
            Some(Encoding::Audio(Codec::Pcmu)),
            Some(Encoding::Audio(Codec::Pcma)),
            Some(Encoding::Audio(Codec::G722)),
            None,
        ]
    );
}

#[test]
fn session_level_direction_applies_unless_the_media_says_otherwise() {
    let held = "v=0\nc=IN IP4 192.0.2.9\na=sendonly\nm=audio 4000 RTP/AVP 8\n";
    let sdp = RemoteSdp::parse(held.as_bytes()).unwrap();
    assert_eq!(sdp.audio.direction, Direction::SendOnly);
    let both = format!("{held}a=inactive\n");
    let sdp = RemoteSdp::parse(both.as_bytes()).unwrap();
    assert_eq!(sdp.audio.direction, Direction::Inactive);
}

#[test]
fn first_audio_line_with_a_supported_profile_is_chosen() {
    let sdp = "v=0\nc=IN IP4 192.0.2.9\n\
               m=audio 5000 UDP/TLS/RTP/SAVPF 111\n\
               m=audio 4000 RTP/SAVP 8\n\
               a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YIyvUXYvGLT9g9NI34RlHa6Xbq5UVFpWpOMnL12Y\n";
    let sdp = RemoteSdp::parse(sdp.as_bytes()).unwrap();
    assert_eq!(sdp.audio_index, 1);
    assert_eq!(sdp.audio.port, 4000);
}

#[test]
fn port_zero_needs_no_connection_address() {
    let sdp = "v=0\nm=audio 0 RTP/SAVP 8\n";
    let sdp = RemoteSdp::parse(sdp.as_bytes()).unwrap();
    assert_eq!(sdp.audio.port, 0);
    assert_eq!(sdp.audio.address, None);
}

#[test]
fn crypto_with_session_parameters_and_unknown_suites_are_read_but_marked() {
    let sdp = "v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/SAVP 8\n\
               a=crypto:1 AEAD_AES_256_GCM inline:abc\n\
               a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:abc UNENCRYPTED_SRTP\n";
    let sdp = RemoteSdp::parse(sdp.as_bytes()).unwrap();
    assert_eq!(sdp.audio.crypto[0].suite, None);
    assert!(sdp.audio.crypto[1].has_session_params);
}

#[test]
fn key_params_never_show_in_debug() {
    let sdp = parse(BARESIP);
    let debug = format!("{sdp:?}");
    assert!(debug.contains("KeyParams(…)"));
    for secret in ["cdzzAx8Y", "YIyvUXYv", "c3DrM3bH", "inline"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert_eq!(format!("{:?}", key()), "MasterKey(…)");
}

#[test]
fn unreadable_ptime_is_no_preference_and_a_fraction_is_cut() {
    let head = "v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/AVP 8\n";
    for (ptime, expected) in [
        ("20.0", Some(20)),
        ("-5", None),
        ("x", None),
        ("30", Some(30)),
    ] {
        let body = format!("{head}a=ptime:{ptime}\n");
        let sdp = RemoteSdp::parse(body.as_bytes()).unwrap();
        assert_eq!(sdp.audio.ptime, expected, "{ptime}");
    }
}
