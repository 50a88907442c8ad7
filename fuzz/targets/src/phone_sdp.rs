//! What a SIP trunk sends the phone side: the SDP of an offer, an answer or a re-offer.

use sluss_phone::sdp::{
    answer, reanswer, Changes, LocalMedia, MasterKey, Offer, RemoteSdp, MAX_CRYPTO,
    MAX_PAYLOAD_TYPES, MAX_SDP_BYTES,
};

/// A trunk's audio offer, answered once, so that the input can also be a re-offer.
const RUNNING: &str = "v=0\r\no=- 1 1 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\n\
    t=0 0\r\nm=audio 40000 RTP/SAVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
    a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YIyvUXYvGLT9g9NI34RlHa6Xbq5UVFpWpOMnL12Y\r\n";

/// One SDP body through `RemoteSdp::parse`, then read as the trunk's offer (answered by a
/// trunk with SRTP and one marked unencrypted), as its answer to our offer, and as a
/// re-offer on a running leg. Checked: what parses is within the bounds; our answer to it
/// parses back to what we agreed; an accepted answer agrees only what we offered; no key
/// shows in what the leg would log.
pub fn phone_sdp(data: &[u8]) {
    let Ok(sdp) = RemoteSdp::parse(data) else {
        return;
    };
    assert!(sdp.audio_index < sdp.media.len());
    assert!(sdp.audio.formats.len() <= MAX_PAYLOAD_TYPES);
    assert!(sdp.audio.crypto.len() <= MAX_CRYPTO);
    let key = MasterKey::new([0x5a; 30]);
    let srtp = LocalMedia::new([192, 0, 2, 1].into(), 30000);
    let plain = LocalMedia {
        unencrypted: true,
        ..srtp.clone()
    };
    for local in [&srtp, &plain] {
        answered(&sdp, local, &key);
        accepted(&sdp, local, &key);
    }
    let running = RemoteSdp::parse(RUNNING.as_bytes()).expect("the running offer parses");
    let (_, current) = answer(&running, &srtp, &key).expect("the running offer is answered");
    if let Ok(re) = reanswer(&current, &sdp, &srtp, &key) {
        assert_eq!(re.changes, Changes::between(&current, &re.negotiated));
        assert_eq!(re.changes.any(), current != re.negotiated);
    }
}

/// The input as the trunk's offer: our answer must parse back to what we agreed.
fn answered(offer: &RemoteSdp, local: &LocalMedia, key: &MasterKey) {
    let Ok((body, agreed)) = answer(offer, local, key) else {
        return;
    };
    assert!(local.codecs.contains(&agreed.codec.codec));
    assert!(local.unencrypted || agreed.crypto.is_some());
    assert!(!format!("{agreed:?}").contains("inline:"));
    if body.len() > MAX_SDP_BYTES {
        return;
    }
    let ours = RemoteSdp::parse(body.as_bytes()).expect("our answer parses");
    assert_eq!(ours.media.len(), offer.media.len());
    assert_eq!(ours.audio_index, offer.audio_index);
    assert_eq!(ours.audio.formats[0].pt, agreed.codec.pt);
    assert_eq!(ours.audio.direction, agreed.direction);
    assert_eq!(ours.audio.port == 0, offer.audio.port == 0);
    let crypto: Vec<_> = ours.audio.crypto.iter().map(|c| (c.tag, c.suite)).collect();
    let expected: Vec<_> = agreed
        .crypto
        .iter()
        .map(|c| (c.tag, Some(c.suite)))
        .collect();
    assert_eq!(crypto, expected);
}

/// The input as the trunk's answer to our offer: only what we offered may be agreed.
fn accepted(answer: &RemoteSdp, local: &LocalMedia, key: &MasterKey) {
    let offer = Offer::new(local, key);
    let Ok(agreed) = offer.accept(answer) else {
        return;
    };
    assert!(local.codecs.contains(&agreed.codec.codec));
    assert!(agreed.remote.is_none() || answer.audio.port != 0);
    match &agreed.crypto {
        Some(c) => {
            assert!(!local.unencrypted);
            let tag = usize::try_from(c.tag).expect("a small tag");
            assert_eq!(local.suites.get(tag.wrapping_sub(1)), Some(&c.suite));
        }
        None => assert!(local.unencrypted),
    }
    assert!(!format!("{agreed:?} {offer:?}").contains("inline:"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds get past the parser into the answer, so the fuzzer starts from deep paths.
    #[test]
    fn every_seed_is_answered_by_one_trunk_or_the_other() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/phone_sdp");
        let key = MasterKey::new([0x5a; 30]);
        let srtp = LocalMedia::new([192, 0, 2, 1].into(), 30000);
        let plain = LocalMedia {
            unencrypted: true,
            ..srtp.clone()
        };
        let mut seeds = 0;
        for entry in std::fs::read_dir(dir).expect("the corpus") {
            let path = entry.expect("an entry").path();
            if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            {
                continue;
            }
            seeds += 1;
            let sdp = RemoteSdp::parse(&std::fs::read(&path).expect("a seed")).expect("parses");
            let ok = answer(&sdp, &srtp, &key).is_ok() || answer(&sdp, &plain, &key).is_ok();
            assert!(ok, "{} is not answered", path.display());
        }
        assert!(seeds >= 5);
    }
}
