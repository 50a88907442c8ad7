//! Offer, answer and re-offer: what we choose, what we write, what we refuse.

use std::net::SocketAddr;

use super::*;

fn sdp(text: &str) -> RemoteSdp {
    RemoteSdp::parse(text.as_bytes()).expect("the test SDP parses")
}

#[test]
fn answer_to_baresip_takes_pcma_with_its_pt_and_the_80_bit_suite() {
    let offer = parse(BARESIP);
    let (body, agreed) = answer(&offer, &local(), &key()).unwrap();
    assert_eq!(
        agreed.remote,
        Some("192.0.2.20:10468".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(
        agreed.codec,
        ChosenCodec {
            codec: Codec::Pcma,
            pt: 8
        }
    );
    assert_eq!(agreed.telephone_event, Some(101));
    assert_eq!(agreed.ptime, 20);
    assert_eq!(agreed.direction, Direction::SendRecv);
    assert!(agreed.rtcp_mux);
    let crypto = agreed.crypto.as_ref().unwrap();
    assert_eq!(
        (crypto.tag, crypto.suite),
        (2, CryptoSuite::AesCm128HmacSha1_80)
    );
    assert!(crypto.remote.expose().starts_with("inline:YIyv"));
    // The answer: same m-lines, the video refused, one crypto line with the offer's tag.
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert!(lines.contains(&"m=audio 30000 RTP/SAVP 8 101"), "{body}");
    assert!(lines.contains(&"m=video 0 RTP/SAVP 96"), "{body}");
    assert!(
        lines.iter().position(|l| l.starts_with("m=audio"))
            < lines.iter().position(|l| l.starts_with("m=video"))
    );
    assert_eq!(body.matches("a=crypto:").count(), 1);
    assert!(body.contains(&format!(
        "a=crypto:2 AES_CM_128_HMAC_SHA1_80 {}",
        crypto.local.expose()
    )));
}

#[test]
fn answer_follows_our_preference_not_the_offers_order() {
    let offer = parse(BARESIP);
    let mut ours = local();
    ours.codecs = vec![Codec::G722, Codec::Pcma];
    let (_, agreed) = answer(&offer, &ours, &key()).unwrap();
    assert_eq!(
        agreed.codec,
        ChosenCodec {
            codec: Codec::G722,
            pt: 9
        }
    );
}

#[test]
fn answer_keeps_the_offerers_dynamic_payload_numbers() {
    let offer = sdp("v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/SAVP 98 97\n\
                     a=rtpmap:98 pcma/8000\na=rtpmap:97 telephone-event/8000\n\
                     a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:RnMv1fKl4MZZpZNHBdVxul4126LL4ZYGJdAAJHjB\n");
    let (body, agreed) = answer(&offer, &local(), &key()).unwrap();
    assert_eq!(agreed.codec.pt, 98);
    assert_eq!(agreed.telephone_event, Some(97));
    assert!(body.contains("m=audio 30000 RTP/SAVP 98 97\r\n"));
    assert!(body.contains("a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:"));
}

#[test]
fn offer_with_no_common_codec_is_refused() {
    let offer = sdp("v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/SAVP 18 96\n\
                     a=rtpmap:18 G729/8000\na=rtpmap:96 opus/48000/2\n\
                     a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\n");
    assert_eq!(
        answer(&offer, &local(), &key()),
        Err(SdpError::NoCommonCodec)
    );
}

#[test]
fn plain_offer_is_refused_unless_the_trunk_is_marked_unencrypted() {
    let offer = parse(OPERATOR_PLAIN_IPV6);
    assert_eq!(
        answer(&offer, &local(), &key()),
        Err(SdpError::NotEncrypted)
    );
    let mut plain = local();
    plain.unencrypted = true;
    let (body, agreed) = answer(&offer, &plain, &key()).unwrap();
    assert_eq!(agreed.crypto, None);
    assert_eq!(
        agreed.remote,
        Some("[2001:db8::10]:40200".parse::<SocketAddr>().unwrap())
    );
    assert!(body.contains("m=audio 30000 RTP/AVP 8 101\r\n"));
    assert!(!body.contains("crypto"));
}

#[test]
fn unencrypted_trunk_still_takes_srtp_when_offered() {
    let mut plain = local();
    plain.unencrypted = true;
    let (_, agreed) = answer(&parse(OPERATOR), &plain, &key()).unwrap();
    assert!(agreed.crypto.is_some());
}

#[test]
fn savp_offer_with_only_unusable_crypto_is_refused() {
    let offer = sdp("v=0\nc=IN IP4 192.0.2.9\nm=audio 4000 RTP/SAVP 8\n\
                     a=crypto:1 AEAD_AES_256_GCM inline:abc\n\
                     a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:abc UNENCRYPTED_SRTP\n\
                     a=crypto:3 AES_CM_128_HMAC_SHA1_80 notinline\n");
    assert_eq!(
        answer(&offer, &local(), &key()),
        Err(SdpError::NoUsableCrypto)
    );
    let mut plain = local();
    plain.unencrypted = true;
    assert_eq!(
        answer(&offer, &plain, &key()),
        Err(SdpError::NoUsableCrypto)
    );
}

#[test]
fn only_the_32_bit_suite_when_that_is_all_we_allow() {
    let mut ours = local();
    ours.suites = vec![CryptoSuite::AesCm128HmacSha1_32];
    let (_, agreed) = answer(&parse(OPERATOR), &ours, &key()).unwrap();
    let crypto = agreed.crypto.unwrap();
    assert_eq!(
        (crypto.tag, crypto.suite),
        (2, CryptoSuite::AesCm128HmacSha1_32)
    );
}

#[test]
fn our_offer_round_trips_through_our_parser() {
    let offer = Offer::new(&local(), &key());
    let read = RemoteSdp::parse(offer.sdp().as_bytes()).unwrap();
    let audio = &read.audio;
    assert_eq!(read.media.len(), 1);
    assert_eq!(audio.port, 30000);
    assert_eq!(audio.profile, Profile::Savp);
    let enc: Vec<_> = audio.formats.iter().map(|f| (f.pt, f.encoding)).collect();
    assert_eq!(
        enc,
        [
            (8, Some(Encoding::Audio(Codec::Pcma))),
            (0, Some(Encoding::Audio(Codec::Pcmu))),
            (9, Some(Encoding::Audio(Codec::G722))),
            (101, Some(Encoding::TelephoneEvent)),
        ]
    );
    assert_eq!(audio.ptime, Some(20));
    assert!(audio.rtcp_mux);
    let suites: Vec<_> = audio.crypto.iter().map(|c| (c.tag, c.suite)).collect();
    assert_eq!(
        suites,
        [
            (1, Some(CryptoSuite::AesCm128HmacSha1_80)),
            (2, Some(CryptoSuite::AesCm128HmacSha1_32)),
        ]
    );
    // 30 bytes of 7, base64.
    assert_eq!(
        audio.crypto[0].key_params.expose(),
        "inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
    );
    // And our own answer machinery agrees with it.
    let (_, agreed) = answer(&read, &local(), &MasterKey::new([9; 30])).unwrap();
    assert_eq!(agreed.codec.codec, Codec::Pcma);
    assert_eq!(agreed.crypto.unwrap().tag, 1);
}

#[test]
fn unencrypted_trunk_offers_plain_avp_without_keys() {
    let mut plain = local();
    plain.unencrypted = true;
    let offer = Offer::new(&plain, &key());
    assert!(offer.sdp().contains("m=audio 30000 RTP/AVP 8 0 9 101\r\n"));
    assert!(!offer.sdp().contains("a=crypto"));
}

#[test]
fn offer_debug_shows_no_key() {
    let offer = Offer::new(&local(), &key());
    let debug = format!("{offer:?}");
    assert!(
        !debug.contains("BwcH") && !debug.contains("inline"),
        "{debug}"
    );
}

/// The trunk's answer to our offer, with `audio` as its m-line and attributes.
fn trunk_answer(audio: &str) -> RemoteSdp {
    sdp(&format!(
        "v=0\no=- 1 1 IN IP4 203.0.113.10\ns=-\nc=IN IP4 203.0.113.10\nt=0 0\n{audio}"
    ))
}

#[test]
fn accepting_an_answer_takes_its_codec_tag_and_key() {
    let offer = Offer::new(&local(), &key());
    let agreed = offer
        .accept(&trunk_answer(
            "m=audio 40000 RTP/SAVP 0 101\na=rtpmap:101 telephone-event/8000\na=ptime:30\n\
             a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:RnMv1fKl4MZZpZNHBdVxul4126LL4ZYGJdAAJHjB\n",
        ))
        .unwrap();
    assert_eq!(
        agreed.codec,
        ChosenCodec {
            codec: Codec::Pcmu,
            pt: 0
        }
    );
    assert_eq!(agreed.telephone_event, Some(101));
    assert_eq!(agreed.ptime, 30);
    assert_eq!(
        agreed.remote,
        Some("203.0.113.10:40000".parse::<SocketAddr>().unwrap())
    );
    let crypto = agreed.crypto.unwrap();
    assert_eq!(
        (crypto.tag, crypto.suite),
        (2, CryptoSuite::AesCm128HmacSha1_32)
    );
    assert_eq!(
        crypto.local.expose(),
        "inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
    );
}

#[test]
fn answer_that_breaks_the_offer_is_refused() {
    let offer = Offer::new(&local(), &key());
    let cases = [
        // A tag we offered, with another suite.
        (
            "m=audio 40000 RTP/SAVP 8\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:x\n",
            SdpError::NoUsableCrypto,
        ),
        // A tag we never offered.
        (
            "m=audio 40000 RTP/SAVP 8\na=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:x\n",
            SdpError::NoUsableCrypto,
        ),
        // No keys at all.
        ("m=audio 40000 RTP/AVP 8\n", SdpError::NotEncrypted),
        // A codec we never offered.
        (
            "m=audio 40000 RTP/SAVP 18\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\n",
            SdpError::NoCommonCodec,
        ),
        // The audio refused.
        ("m=audio 0 RTP/SAVP 8\n", SdpError::AudioRefused),
    ];
    for (audio, error) in cases {
        assert_eq!(offer.accept(&trunk_answer(audio)), Err(error), "{audio}");
    }
}

#[test]
fn hold_reoffer_is_a_direction_change_and_we_answer_recvonly() {
    let (_, agreed) = answer(&parse(OPERATOR), &local(), &key()).unwrap();
    let held = OPERATOR.replace("a=sendrecv", "a=sendonly");
    let mut ours = local();
    ours.session_version += 1;
    let re = reanswer(&agreed, &parse(&held), &ours, &key()).unwrap();
    assert_eq!(re.negotiated.direction, Direction::RecvOnly);
    assert!(re.sdp.contains("a=recvonly\r\n"));
    assert!(re.sdp.contains("o=sluss 1 2 IN IP4"));
    assert_eq!(
        re.changes,
        Changes {
            direction: true,
            ..Changes::default()
        }
    );
    // Resume.
    let back = reanswer(&re.negotiated, &parse(OPERATOR), &ours, &key()).unwrap();
    assert_eq!(back.negotiated.direction, Direction::SendRecv);
    assert!(back.changes.direction && !back.changes.remote);
}

#[test]
fn reoffer_with_inactive_or_old_style_hold_stops_sending() {
    let (_, agreed) = answer(&parse(OPERATOR), &local(), &key()).unwrap();
    let inactive = OPERATOR.replace("a=sendrecv", "a=inactive");
    let re = reanswer(&agreed, &parse(&inactive), &local(), &key()).unwrap();
    assert_eq!(re.negotiated.direction, Direction::Inactive);
    // RFC 2543 hold: c=0.0.0.0.
    let zero = OPERATOR.replace("c=IN IP4 203.0.113.10", "c=IN IP4 0.0.0.0");
    let re = reanswer(&agreed, &parse(&zero), &local(), &key()).unwrap();
    assert_eq!(re.negotiated.remote, None);
    assert_eq!(re.negotiated.direction, Direction::RecvOnly);
    assert!(re.sdp.contains("a=recvonly\r\n"));
    assert!(re.changes.remote && re.changes.direction);
}

#[test]
fn reoffer_with_port_zero_removes_the_stream() {
    let (_, agreed) = answer(&parse(OPERATOR), &local(), &key()).unwrap();
    let removed = OPERATOR.replace("m=audio 40126", "m=audio 0");
    let re = reanswer(&agreed, &parse(&removed), &local(), &key()).unwrap();
    assert_eq!(re.negotiated.remote, None);
    assert_eq!(re.negotiated.direction, Direction::Inactive);
    assert!(re.sdp.contains("m=audio 0 RTP/SAVP"), "{}", re.sdp);
}

#[test]
fn reoffer_with_a_new_address_and_key_says_so() {
    let (_, agreed) = answer(&parse(OPERATOR), &local(), &key()).unwrap();
    let moved = OPERATOR
        .replace("c=IN IP4 203.0.113.10", "c=IN IP4 203.0.113.11")
        .replace(
            "6ccCwiwV5HOYA1W3rrjTnAZUmxOYATvZV5xqEnk0",
            "Yr50p7M9VEBZqKg9noS1iOH7GRr3JuuCo8k9OR4j",
        );
    let re = reanswer(&agreed, &parse(&moved), &local(), &key()).unwrap();
    assert_eq!(
        re.negotiated.remote,
        Some("203.0.113.11:40126".parse::<SocketAddr>().unwrap())
    );
    assert!(re.changes.remote && re.changes.crypto);
    assert!(!re.changes.codec && !re.changes.direction);
    // The same offer again changes nothing.
    let same = reanswer(&re.negotiated, &parse(&moved), &local(), &key()).unwrap();
    assert!(!same.changes.any());
}

#[test]
fn reoffer_keeps_the_codec_in_use_while_offered() {
    // G.722 was agreed; the re-offer lists PCMA first and still has G.722.
    let mut ours = local();
    ours.codecs = vec![Codec::G722, Codec::Pcma];
    let (_, agreed) = answer(&parse(BARESIP), &ours, &key()).unwrap();
    assert_eq!(agreed.codec.codec, Codec::G722);
    let re = reanswer(&agreed, &parse(BARESIP), &local(), &key()).unwrap();
    assert_eq!(re.negotiated.codec.codec, Codec::G722);
    assert!(!re.changes.codec);
}
