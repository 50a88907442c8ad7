//! One phone leg's media through a real media worker, as in a meeting: the trunk's side of the
//! call is played by this test over UDP with SRTP (its own key one way, ours the other), and a
//! second participant of the meeting is another direct transport on the same worker. The phone
//! hears the participant, the participant hears the phone with its audio level, keys pressed
//! on the phone arrive as digits, and nothing that fails SRTP or comes from elsewhere gets in.

mod audio;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use sluss_phone::bridge::Bridge;
use sluss_phone::dtmf::{Digit, DtmfTone};
use sluss_phone::g711::Law;
use sluss_phone::leg_media::{self, LegCrypto, LegMedia, MeetingLink};
use sluss_phone::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};
use sluss_phone::sdp::Codec;
use sluss_phone::srtp::{MasterKey, SrtpContext, Suite};
use sluss_relay::{DirectMedia, PeerId, RouterId};

use audio::{power, tone, Participant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const PCMA: u8 = 8;
const EVENT: u8 = 101;
const SUITE: Suite = Suite::AesCm128HmacSha1_80;

fn key(fill: u8) -> MasterKey {
    MasterKey::from_bytes([fill; 30])
}

fn rtp(pt: u8, seq: u16, timestamp: u32, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + payload.len()];
    RtpHeader {
        marker: false,
        payload_type: PayloadType::new(pt).unwrap(),
        sequence: seq,
        timestamp,
        ssrc: Ssrc(0x7e1e),
    }
    .write(&mut buf)
    .unwrap();
    buf[12..].copy_from_slice(payload);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_leg_hears_the_meeting_and_is_heard_in_it() {
    let router = RouterId(7);
    let (phone_id, other_id) = (PeerId(1), PeerId(2));
    let (media, phone_voices, mut other_hears) =
        audio::meeting_of_two(router, phone_id, other_id).await;

    // The trunk's end of the call, and ours.
    let trunk = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let ours = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let (trunk_addr, our_addr) = (trunk.local_addr().unwrap(), ours.local_addr().unwrap());
    let leg = LegMedia {
        socket: ours,
        remote: trunk_addr,
        sending: true,
        crypto: Some(LegCrypto {
            outbound: SrtpContext::new(SUITE, &key(1)),
            inbound: SrtpContext::new(SUITE, &key(2)),
        }),
        telephone_event: Some(EVENT),
        bridge: Bridge::new(Codec::Pcma, PCMA, Ssrc(0x0b1d)).unwrap(),
        receiving: true,
        silence_limit: Duration::from_secs(60),
    };
    let (digits_tx, mut digits) = mpsc::channel(8);
    let (stop, stopped) = mpsc::channel::<leg_media::LegControl>(1);
    let media = std::sync::Arc::new(media);
    let sender = media.clone();
    let link = MeetingLink {
        voices: phone_voices,
        send: Box::new(move |m: DirectMedia| sender.send_direct(router, phone_id, m)),
    };
    let (silent, _) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(leg_media::run(leg, Some(link), digits_tx, stopped, silent));

    // For two seconds: the phone says 440 Hz, the other participant 1 kHz; a stranger and a
    // forger send too. Halfway, the phone's user presses 5.
    let mut trunk_tx = SrtpContext::new(SUITE, &key(2));
    let mut trunk_rx = SrtpContext::new(SUITE, &key(1));
    let mut other = Participant::new(router, other_id);
    let stranger = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let mut sealed = vec![0u8; 400];
    let mut heard_by_phone = Vec::new();
    let mut buf = vec![0u8; 1500];
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // One sequence for the trunk's stream, audio and telephone events alike.
    let mut seq: u16 = 0;
    for k in 0..100usize {
        tick.tick().await;
        let mut codes = vec![0u8; 160];
        Law::A.encode(&tone(440.0, 8_000.0, 160, k, 7_000.0), &mut codes);
        seq += 1;
        let plain = rtp(PCMA, seq, (k * 160) as u32, &codes);
        let n = trunk_tx.protect_rtp(&plain, &mut sealed).unwrap();
        trunk.send_to(&sealed[..n], our_addr).await.unwrap();
        if k == 50 {
            // Telephone event "5" of 100 ms, as a phone sends it.
            let mut press = DtmfTone::new(Digit::from_char('5').unwrap(), 800, 160);
            while let Some((_, event)) = press.next_packet() {
                seq += 1;
                let plain = rtp(EVENT, seq, 50 * 160, &event);
                let n = trunk_tx.protect_rtp(&plain, &mut sealed).unwrap();
                trunk.send_to(&sealed[..n], our_addr).await.unwrap();
            }
        }
        // Hostile: plain RTP from a stranger, and a forged packet from the trunk's address.
        stranger.send_to(&plain, our_addr).await.unwrap();
        trunk.send_to(&plain, our_addr).await.unwrap();

        other.say(&media, k, 1_000.0);
        other.listen(&mut other_hears, phone_id);
        while let Ok(Ok((n, from))) =
            tokio::time::timeout(Duration::from_millis(1), trunk.recv_from(&mut buf)).await
        {
            assert_eq!(from, our_addr);
            let m = trunk_rx
                .unprotect_rtp(&buf[..n], &mut sealed)
                .expect("SRTP from us");
            let p = RtpPacket::parse(&sealed[..m]).unwrap();
            assert_eq!(p.header.payload_type.get(), PCMA);
            let mut frame = vec![0i16; p.payload.len()];
            Law::A.decode(p.payload, &mut frame);
            heard_by_phone.extend(frame);
        }
    }
    let elapsed = t0.elapsed();
    let (heard_by_other, levels) = (&other.heard, &other.levels);
    drop(stop);
    let stats = task.await.unwrap();

    // The phone heard the other participant (and not itself).
    assert!(
        heard_by_phone.len() >= 160 * 80,
        "{} samples in {elapsed:?}",
        heard_by_phone.len()
    );
    let tail = &heard_by_phone[160 * 30..];
    let (p1000, p440) = (power(tail, 8_000.0, 1_000.0), power(tail, 8_000.0, 440.0));
    assert!(
        p1000 > 300.0 && p1000 > 10.0 * p440,
        "1 kHz {p1000}, 440 Hz {p440}"
    );
    // The other participant heard the phone, loud enough to count as speaking.
    assert!(
        heard_by_other.len() >= 960 * 70,
        "{} samples",
        heard_by_other.len()
    );
    let tail = &heard_by_other[960 * 30..];
    let (p440, p1000) = (power(tail, 48_000.0, 440.0), power(tail, 48_000.0, 1_000.0));
    assert!(
        p440 > 300.0 && p440 > 10.0 * p1000,
        "440 Hz {p440}, 1 kHz {p1000}"
    );
    // About -16 dBov, fading out over the frames the key press took from the audio (they
    // are concealed from the last frame heard, softer each time).
    let loud = levels.iter().filter(|l| (-25..=-5).contains(*l)).count();
    assert!(loud * 10 >= levels.len() * 9, "{levels:?}");
    // The key pressed on the phone.
    assert_eq!(digits.try_recv().ok().map(Digit::as_char), Some('5'));
    // The stranger's and the forger's 200 packets were refused before parsing.
    assert!(stats.refused >= 190, "{stats:?}");
    assert_eq!(stats.digits, 1);
    media.shutdown();
}
