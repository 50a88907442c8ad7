use super::*;
use crate::sdp::{answer, reanswer, RemoteSdp};

fn offer(port: u16, direction: &str, codec: &str, key: &str) -> RemoteSdp {
    let (pt, name) = match codec {
        "PCMU" => (0, "PCMU/8000"),
        _ => (8, "PCMA/8000"),
    };
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/SAVP {pt} 101\r\na=rtpmap:{pt} {name}\r\n\
         a=rtpmap:101 telephone-event/8000\r\na={direction}\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}\r\n"
    );
    RemoteSdp::parse(sdp.as_bytes()).expect("offer parses")
}

const KEY_A: &str = "YIyvUXYvGLT9g9NI34RlHa6Xbq5UVFpWpOMnL12Y";
const KEY_B: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk";

#[test]
fn a_re_offer_becomes_the_update_the_running_leg_needs() {
    let local = LocalMedia::new([127, 0, 0, 1].into(), 30_000);
    let key = MasterKey::new([7; 30]);
    let (_, first) = answer(&offer(40_000, "sendrecv", "PCMA", KEY_A), &local, &key).unwrap();
    let again = |o: RemoteSdp, current: &Negotiated| {
        let mut l = local.clone();
        l.session_version += 1;
        reanswer(current, &o, &l, &key).unwrap().negotiated
    };

    // Hold: the trunk sends only, so we stop sending; nothing else changes.
    let held = again(offer(40_000, "sendonly", "PCMA", KEY_A), &first);
    let update = media_update(&first, &held, 5).unwrap();
    assert!(!update.sending);
    assert!(update.crypto.is_none() && update.bridge.is_none());
    // Resumed at a new address with new keys: we send there, under new contexts.
    let moved = again(offer(40_010, "sendrecv", "PCMA", KEY_B), &held);
    let update = media_update(&held, &moved, 5).unwrap();
    assert!(update.sending);
    assert_eq!(update.remote.map(|a| a.port()), Some(40_010));
    assert!(update.crypto.is_some(), "new keys, new contexts");
    assert!(update.bridge.is_none());
    // Only µ-law offered now: a new bridge in that law.
    let mu = again(offer(40_010, "sendrecv", "PCMU", KEY_B), &moved);
    let update = media_update(&moved, &mu, 5).unwrap();
    assert!(update.bridge.is_some(), "a new codec needs a new bridge");
}
