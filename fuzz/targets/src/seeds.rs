//! How the seed inputs in `fuzz/corpus/<target>/seed-*` were made: real SDP, STUN, DTLS and
//! SRTP from the str0m clients of the test world, and hand-written messages and texts.
//!
//! Run again with `cargo test --release -p sluss-fuzz-targets -- --ignored write_seeds`
//! (the SDP and crypto differ on every run, so commit the result only when a seed changes).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::world::{Client, World};

/// A STUN binding request with `username` as its USERNAME attribute.
fn binding_request(username: &[u8]) -> Vec<u8> {
    let padded = (username.len() + 3) & !3;
    let mut v = vec![0x00, 0x01];
    v.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    v.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    v.extend_from_slice(&[7; 12]);
    v.extend_from_slice(&[0x00, 0x06]);
    v.extend_from_slice(&(username.len() as u16).to_be_bytes());
    v.extend_from_slice(username);
    v.resize(20 + 4 + padded, 0);
    v
}

/// One datagram in the `relay_datagram` encoding.
fn datagram(how: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![how];
    v.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    v.extend_from_slice(bytes);
    v
}

/// What a client sends while it connects: its first STUN, DTLS and SRTP datagrams.
fn captured() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut w = World::new();
    let idx = w.join(false);
    w.connect();
    send_keyframe(&mut w, idx);
    let first = |range: std::ops::RangeInclusive<u8>| {
        w.sent_by_clients
            .iter()
            .find(|d| d.first().is_some_and(|b| range.contains(b)))
            .cloned()
            .unwrap_or_default()
    };
    (first(0..=3), first(20..=63), first(128..=191))
}

fn send_keyframe(w: &mut World, idx: usize) {
    let now = w.now;
    let c = &mut w.clients[idx];
    if let Some(pt) = c.pt(str0m::format::Codec::Vp8) {
        let mut api = c.rtc.direct_api();
        if let Some(tx) = api.stream_tx_by_mid(c.video, None) {
            let rtp = str0m::rtp::RtpWrite::new(pt, 1.into(), 1, now, vp8(true, 0));
            tx.write_rtp(rtp.marker(true));
        }
    }
    w.advance(Duration::from_millis(20), false);
}

/// A VP8 payload: descriptor with picture id, TL0PICIDX and temporal layer, then a frame.
fn vp8(keyframe: bool, tid: u8) -> Vec<u8> {
    let mut p = vec![0x90, 0xe0, 0x80, 0x12, 0x05, tid << 6 | 0x20];
    if keyframe {
        p.extend_from_slice(&[0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
    } else {
        p.extend_from_slice(&[0x01, 0x00, 0x00]);
    }
    p.resize(300, 0xaa);
    p
}

/// One packet in the `relay_rtp` encoding.
fn rtp_op(stream: u8, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![stream, 0, 0x0b, 0xb8, u8::from(marker) | 0x12];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut s: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    let (stun, dtls, srtp) = captured();
    let placeholder = binding_request(b"@@ufrag-relay@@@:abcd");

    s.push(("stun", "binding-request", binding_request(b"abcd:wxyz")));
    s.push(("stun", "client-binding-request", stun.clone()));
    s.push(("stun", "dtls", dtls.clone()));

    s.push((
        "relay_datagram",
        "stranger-stun",
        [vec![0], datagram(0, &placeholder)].concat(),
    ));
    s.push((
        "relay_datagram",
        "validated-dtls",
        [vec![1], datagram(1, &dtls), datagram(0, &dtls)].concat(),
    ));
    s.push((
        "relay_datagram",
        "validated-stun-tcp",
        [vec![1], datagram(3, &stun)].concat(),
    ));
    s.push((
        "relay_datagram",
        "connected-srtp",
        [vec![2], datagram(1, &srtp), datagram(5, &srtp)].concat(),
    ));
    s.push((
        "relay_datagram",
        "connected-garbage",
        [
            vec![2],
            datagram(1, &[0x80, 96, 0, 1]),
            datagram(1, &[21, 254, 253, 0, 0]),
        ]
        .concat(),
    ));

    let key = vp8(true, 0);
    let delta = vp8(false, 2);
    let audio = rtp_op(0, false, &[0xfc; 80]);
    // Each track goes live with its first packet, the relay then offers it to the
    // subscriber, and forwards what comes after.
    let single = [
        vec![0],
        audio.clone(),
        rtp_op(1, true, &key),
        vec![5, 10],
        audio.clone(),
        rtp_op(1, true, &key),
        rtp_op(1, true, &delta),
        vec![6 | 0x10],
        vec![5, 20],
        rtp_op(1, true, &key),
        audio.clone(),
    ]
    .concat();
    s.push(("relay_rtp", "single-layer", single));
    let layers = [
        vec![1],
        rtp_op(1, true, &key),
        rtp_op(2, true, &key),
        rtp_op(3, true, &key),
        vec![5, 100],
        rtp_op(1, true, &key),
        rtp_op(2, true, &key),
        rtp_op(3, true, &key),
        vec![5, 100],
        rtp_op(3, true, &delta),
        rtp_op(1, true, &key),
        vec![5, 100],
        rtp_op(2, true, &delta),
        rtp_op(1, true, &delta),
    ]
    .concat();
    s.push(("relay_rtp", "simulcast", layers));

    let now = std::time::Instant::now();
    let addr: SocketAddr = "127.0.0.2:5000".parse().expect("an address");
    let (_, offer, _) = Client::new(now, addr, false);
    let (_, simulcast_offer, _) = Client::new(now, addr, true);
    s.push((
        "relay_sdp",
        "offer",
        [b"\x00".to_vec(), offer.clone().into_bytes()].concat(),
    ));
    s.push((
        "relay_sdp",
        "offer-simulcast",
        [b"\x00".to_vec(), simulcast_offer.into_bytes()].concat(),
    ));
    s.push((
        "relay_sdp",
        "renegotiation",
        [b"\x01".to_vec(), offer.into_bytes()].concat(),
    ));
    s.push((
        "relay_sdp",
        "candidate",
        b"\x02candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host".to_vec(),
    ));
    s.push((
        "relay_sdp",
        "candidate-tcp",
        b"\x02a=candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active".to_vec(),
    ));
    s.push((
        "relay_sdp",
        "answer",
        [b"\x03".to_vec(), answer_to_relay_offer().into_bytes()].concat(),
    ));

    s.push((
        "ice_tcp_framing",
        "frames",
        vec![7, 0, 3, 1, 2, 3, 0, 1, 9, 0, 4, 7],
    ));
    let mut framed = vec![16, 0, stun.len() as u8];
    framed.extend_from_slice(&stun);
    s.push(("ice_tcp_framing", "stun", framed));

    for (name, msg) in [
        (
            "join",
            r#"{"type":"join","v":1,"token":"abcdefghijklmnop","display_name":"Anna","resume":"r1"}"#,
        ),
        (
            "offer",
            r#"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}"#,
        ),
        ("answer", r#"{"type":"answer","sdp":"v=0\r\n"}"#),
        (
            "candidate",
            r#"{"type":"candidate","candidate":"candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host","sdp_mid":"0"}"#,
        ),
        (
            "chat",
            r#"{"type":"chat","text":"Hej! Ring mig p\u00e5 070-115 12 35"}"#,
        ),
        ("admit", r#"{"type":"admit","participant_id":"p-1"}"#),
        (
            "identify",
            r#"{"type":"identify","participant_id":"p-1","method":"id_shown_on_camera"}"#,
        ),
        (
            "hidden",
            r#"{"type":"hidden_videos","participant_ids":["a","b"]}"#,
        ),
        (
            "tiles",
            r#"{"type":"tile_sizes","tiles":[{"participant_id":"a","height":360}]}"#,
        ),
        (
            "media",
            r#"{"type":"media_state","audio_muted":true,"video_muted":false}"#,
        ),
        (
            "screen",
            r#"{"type":"allow_screen_share","participant_id":"a","allowed":true}"#,
        ),
        ("lock", r#"{"type":"lock","locked":true}"#),
        ("ping", r#"{"type":"ping"}"#),
    ] {
        s.push(("ws_message", name, msg.as_bytes().to_vec()));
    }

    for (which, name, body) in [
        (
            0u8,
            "create-meeting",
            r#"{"title":"Uppföljning","guests":1,"invitations":[{"role":"patient","expires_at":1900000000}],"starts_at":1800000000,"duration_minutes":30,"sensitive":true,"require_eid":false}"#,
        ),
        (1, "new-invitation", r#"{"role":"relative"}"#),
        (2, "claim-setup", r#"{"token":"abc"}"#),
        (3, "inspect-link", r#"{"token":"abc"}"#),
        (
            4,
            "link-info",
            r#"{"role":"guest","meeting":"open","require_eid":true,"identified_as":"A"}"#,
        ),
        (
            5,
            "invitation",
            r#"{"invitation_id":"i","role":"staff","link":"https://x/j#t","expires_at":1,"text":"t","ics":null}"#,
        ),
        (
            6,
            "created-meeting",
            r#"{"meeting_id":"m","title":"t","chair_link":"c","guest_links":["g"],"invitations":[]}"#,
        ),
        (
            7,
            "meeting-summary",
            r#"{"meeting_id":"m","title":"t","created_at":1,"participants":2}"#,
        ),
        (
            8,
            "meeting-list",
            r#"{"meetings":[{"meeting_id":"m","title":"t","created_at":1,"participants":2}]}"#,
        ),
        (
            9,
            "error",
            r#"{"error":{"code":"bad_request","message":"no"}}"#,
        ),
        (10, "role", r#""professional""#),
    ] {
        s.push((
            "rest_body",
            name,
            [vec![which], body.as_bytes().to_vec()].concat(),
        ));
    }

    for (name, text) in [
        ("personnummer", "Mitt personnummer är 121212-1212."),
        ("long-form", "19121212+1212"),
        ("no-separator", "1212121212"),
        ("phone", "Ring 0701151235 eller 070-115 12 35"),
        ("order-number", "Order 123456-7890 är skickad"),
        ("name", "Anna-Karin Öberg"),
    ] {
        s.push(("personnummer", name, text.as_bytes().to_vec()));
    }

    // The phone side's SDP, in the shape real trunks and phones send it (the samples of
    // sluss-phone's own tests), and our own offer read back as if it were an answer.
    for (name, file) in [
        (
            "baresip",
            include_str!("../../../gateway/phone/src/sdp/tests/samples/baresip.sdp"),
        ),
        (
            "kamailio",
            include_str!("../../../gateway/phone/src/sdp/tests/samples/kamailio.sdp"),
        ),
        (
            "operator",
            include_str!("../../../gateway/phone/src/sdp/tests/samples/operator.sdp"),
        ),
        (
            "operator-plain-ipv6",
            include_str!("../../../gateway/phone/src/sdp/tests/samples/operator_plain_ipv6.sdp"),
        ),
    ] {
        s.push(("phone_sdp", name, file.replace('\n', "\r\n").into_bytes()));
    }
    let operator = include_str!("../../../gateway/phone/src/sdp/tests/samples/operator.sdp");
    s.push((
        "phone_sdp",
        "hold",
        operator.replace("a=sendrecv", "a=sendonly").into_bytes(),
    ));
    s.push((
        "phone_sdp",
        "old-hold",
        operator
            .replace("c=IN IP4 203.0.113.10", "c=IN IP4 0.0.0.0")
            .into_bytes(),
    ));
    let local = sluss_phone::sdp::LocalMedia::new([192, 0, 2, 1].into(), 30000);
    let ours = sluss_phone::sdp::Offer::new(&local, &sluss_phone::sdp::MasterKey::new([1; 30]));
    s.push(("phone_sdp", "our-offer", ours.sdp().as_bytes().to_vec()));

    // Header (meeting of 4, grace 30 s), then: the chair joins, a guest joins and knocks,
    // the chair admits, identifies and lets them share, the guest shares and chats; time
    // passes, the guest's connection drops and it rejoins; the chair ends the meeting.
    let story = vec![
        3, 29, 0, 0, 0, 0, 1, 0x12, 4, 0, 0, 1, 4, 0, 5, 1, 4, 0, 0x88, 1, 6, 1, 8, 1, 5, 10, 1, 1,
        0, 1, 0x12, 4, 0, 11, 0,
    ];
    s.push(("meeting_commands", "story", story));
    s.push((
        "meeting_commands",
        "eid-required",
        vec![
            0x43, 5, 0, 0, 0, 0, 2, 0x02, 0, 3, 0x00, 4, 0, 0, 2, 10, 2, 11, 0,
        ],
    ));
    s
}

/// A client's answer to the offer the relay makes a newcomer when a publisher is live.
fn answer_to_relay_offer() -> String {
    let mut w = World::new();
    let publisher = w.join(false);
    w.connect();
    send_keyframe(&mut w, publisher);
    let newcomer = w.join(false);
    w.answer_offers = false;
    w.pump(true);
    let peer = w.clients[newcomer].peer;
    let Some((_, offer)) = w.offers.iter().find(|(p, _)| *p == peer) else {
        return String::new();
    };
    let offer = str0m::change::SdpOffer::from_sdp_string(offer).expect("SDP");
    let answer = w.clients[newcomer].rtc.sdp_api().accept_offer(offer);
    answer.map(|a| a.to_sdp_string()).unwrap_or_default()
}

#[test]
#[ignore = "writes the seed files; run by hand"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for (target, name, data) in seeds() {
        assert!(!data.is_empty(), "{target}/{name} came out empty");
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("a corpus folder");
        std::fs::write(dir.join(format!("seed-{name}")), data).expect("a seed file");
    }
}
