//! What reaches the dial-in from the network: a SIP request (parsed by the SIP library as the
//! stack reads it), the caller's number and SDP offer taken from it and answered as a dial-in
//! answers, and keys pressed while a PIN is typed.

use std::time::{Duration, Instant};

use sluss_phone::dtmf::Digit;
use sluss_phone::pin::{PinEntry, MAX_PIN_DIGITS};
use sluss_phone::sdp::{answer, Codec, LocalMedia, MasterKey, RemoteSdp};
use sluss_phone::sip::rsip::read_request;

/// The input as one SIP request, and its bytes as keys. Checked: a caller's number never
/// shows in `Debug`; an answered offer is answered with G.711 and SRTP (R1) on an encrypted
/// trunk; a PIN entry never holds more than one digit past the longest PIN.
pub fn phone_sip(data: &[u8]) {
    if let Some((invite, caller, offer)) = read_request(data) {
        if let Some(number) = &caller {
            let shown = format!("{number:?} {number}");
            assert!(!shown.contains(number.expose_e164().trim_start_matches('+')));
        }
        if invite {
            let mut local = LocalMedia::new([192, 0, 2, 1].into(), 30_000);
            local.codecs = vec![Codec::Pcma, Codec::Pcmu];
            let key = MasterKey::new([0x3c; 30]);
            let answered =
                RemoteSdp::parse(offer.as_bytes()).and_then(|o| answer(&o, &local, &key));
            if let Ok((_, agreed)) = answered {
                assert!(matches!(agreed.codec.codec, Codec::Pcma | Codec::Pcmu));
                assert!(agreed.crypto.is_some(), "R1: a plain offer answered");
            }
        }
    }
    let start = Instant::now();
    let mut entry = PinEntry::new();
    for (i, byte) in data.iter().enumerate() {
        let now = start + Duration::from_millis(100 * i as u64);
        if let Some(entered) = entry.handle_timeout(now) {
            assert!(entered.expose().len() <= MAX_PIN_DIGITS + 1);
        }
        let Some(key) = Digit::from_event(byte % 16) else {
            continue;
        };
        if let Some(entered) = entry.key(now, key) {
            assert!(entered.expose().len() <= MAX_PIN_DIGITS + 1);
            assert!(entered.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written seeds in `fuzz/corpus/phone_sip` reach what they are for: the SRTP
    /// invite is answered with the caller's number read; the plain one is refused (R1).
    #[test]
    fn the_seeds_reach_the_answer() {
        let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/phone_sip/");
        let read = |name: &str| std::fs::read(format!("{corpus}{name}")).expect("seed");
        let (invite, caller, offer) = read_request(&read("seed-invite-srtp")).expect("a request");
        assert!(invite && caller.is_some());
        let mut local = LocalMedia::new([192, 0, 2, 1].into(), 30_000);
        local.codecs = vec![Codec::Pcma];
        let key = MasterKey::new([0x3c; 30]);
        let offer = RemoteSdp::parse(offer.as_bytes()).expect("the offer parses");
        assert!(answer(&offer, &local, &key).is_ok());
        let (_, _, plain) = read_request(&read("seed-invite-plain")).expect("a request");
        let plain = RemoteSdp::parse(plain.as_bytes()).expect("the plain offer parses");
        assert!(answer(&plain, &local, &key).is_err(), "R1");
        let (invite, hidden, _) =
            read_request(&read("seed-invite-hidden-number")).expect("a request");
        assert!(invite && hidden.is_none());
        assert!(read_request(&read("seed-options")).is_some_and(|(invite, _, _)| !invite));
    }
}
