use super::*;
use crate::g711::Law;
use crate::opus::OpusDecoder;
use crate::prompt::Prompt;

const PT: u8 = 8; // PCMA

fn tone(hz: f64, rate: f64, len: usize, k: usize, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = (k * len + i) as f64 / rate;
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// The frequency of the strongest of `candidates` in `pcm` (Goertzel), and its power share.
fn strongest(pcm: &[i16], rate: f64, candidates: &[f64]) -> Vec<f64> {
    candidates
        .iter()
        .map(|hz| {
            let w = 2.0 * std::f64::consts::PI * hz / rate;
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &x in pcm {
                let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() / pcm.len() as f64
        })
        .collect()
}

/// A G.711 A-law RTP packet from the phone.
fn phone_packet(seq: u16, pcm: &[i16]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + pcm.len()];
    RtpHeader {
        marker: false,
        payload_type: PayloadType::new(PT).unwrap(),
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: Ssrc(0xfeed),
    }
    .write(&mut buf)
    .unwrap();
    Law::A.encode(pcm, &mut buf[12..]);
    buf
}

fn bridge() -> Bridge {
    Bridge::new(Codec::Pcma, PT, Ssrc(0x5150)).unwrap()
}

/// Runs `frames` frames: the phone sends `phone(k)` if any, each meeting voice its tone;
/// returns what the meeting and the phone got.
struct Run {
    to_meeting: Vec<MeetingFrame>,
    to_phone: Vec<Vec<u8>>,
}

fn run(
    bridge: &mut Bridge,
    frames: usize,
    phone: impl Fn(usize) -> Option<Vec<i16>>,
    voices: &[(u64, f64)],
) -> Run {
    run_from(Instant::now(), bridge, frames, phone, voices)
}

fn run_from(
    t0: Instant,
    bridge: &mut Bridge,
    frames: usize,
    phone: impl Fn(usize) -> Option<Vec<i16>>,
    voices: &[(u64, f64)],
) -> Run {
    let mut encoders: Vec<OpusEncoder> = voices
        .iter()
        .map(|_| OpusEncoder::new(OpusRate::Hz48000, 32_000).unwrap())
        .collect();
    let mut out = TickOutput::default();
    let mut result = Run {
        to_meeting: Vec::new(),
        to_phone: Vec::new(),
    };
    let mut packet = vec![0u8; opus::MAX_PACKET];
    for k in 0..frames {
        let now = t0 + FRAME * k as u32;
        if let Some(pcm) = phone(k) {
            let datagram = phone_packet(k as u16, &pcm);
            bridge.from_phone(now, &RtpPacket::parse(&datagram).unwrap());
        }
        for ((publisher, hz), encoder) in voices.iter().zip(&mut encoders) {
            let pcm = tone(*hz, 48_000.0, 960, k, 6_000.0);
            let n = encoder.encode(&pcm, &mut packet).unwrap();
            bridge.from_meeting(now, *publisher, k as u64, (k * 960) as u32, &packet[..n]);
        }
        assert!(bridge.tick(now, &mut out).unwrap(), "frame {k} made");
        if let Some(frame) = out.meeting.take() {
            result.to_meeting.push(frame);
        }
        result.to_phone.push(out.phone.clone());
    }
    result
}

/// Decodes what the phone received (after the first `skip` frames).
fn heard_by_phone(packets: &[Vec<u8>], skip: usize) -> Vec<i16> {
    let mut pcm = Vec::new();
    for p in &packets[skip..] {
        let rtp = RtpPacket::parse(p).unwrap();
        assert_eq!(rtp.header.payload_type.get(), PT);
        let mut frame = vec![0i16; rtp.payload.len()];
        Law::A.decode(rtp.payload, &mut frame);
        pcm.extend(frame);
    }
    pcm
}

#[test]
fn the_phones_voice_reaches_the_meeting_as_opus_with_its_level() {
    let mut b = bridge();
    let r = run(
        &mut b,
        50,
        |k| Some(tone(440.0, 8_000.0, 160, k, 8_000.0)),
        &[],
    );
    // The jitter buffer holds the first frame back a little; then one Opus frame per frame.
    assert!(r.to_meeting.len() >= 47, "{} frames", r.to_meeting.len());
    let seqs: Vec<u64> = r.to_meeting.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..r.to_meeting.len() as u64).collect::<Vec<_>>());
    for pair in r.to_meeting.windows(2) {
        assert_eq!(pair[1].timestamp.wrapping_sub(pair[0].timestamp), 960);
    }
    // A loud tone: about -15 dBov.
    let level = r.to_meeting[20].audio_level;
    assert!((-20..=-10).contains(&level), "level {level}");
    // Decoded as a browser would (48 kHz): the tone is there.
    let mut decoder = OpusDecoder::new(OpusRate::Hz48000).unwrap();
    let mut pcm = Vec::new();
    let mut frame = vec![0i16; OpusRate::Hz48000.max_frame()];
    for f in &r.to_meeting {
        let n = decoder.decode(&f.payload, &mut frame).unwrap();
        pcm.extend_from_slice(&frame[..n]);
    }
    let power = strongest(&pcm[48_000 / 5..], 48_000.0, &[440.0, 1_000.0]);
    assert!(power[0] > 10.0 * power[1], "{power:?}");
}

#[test]
fn the_phone_hears_every_other_voice_mixed_and_silence_when_nobody_speaks() {
    let mut b = bridge();
    let r = run(&mut b, 60, |_| None, &[(7, 400.0), (9, 1_200.0)]);
    assert!(r.to_meeting.is_empty(), "a silent phone sends nothing");
    let pcm = heard_by_phone(&r.to_phone, 20);
    let power = strongest(&pcm, 8_000.0, &[400.0, 1_200.0, 2_500.0]);
    assert!(power[0] > 200.0 && power[1] > 200.0, "{power:?}");
    assert!(power[2] < power[0] / 10.0, "{power:?}");
    // RTP numbering for the phone is continuous and its clock at 8 kHz.
    for pair in r.to_phone.windows(2) {
        let (a, b) = (
            RtpPacket::parse(&pair[0]).unwrap().header,
            RtpPacket::parse(&pair[1]).unwrap().header,
        );
        assert_eq!(b.sequence, a.sequence.wrapping_add(1));
        assert_eq!(b.timestamp.wrapping_sub(a.timestamp), 160);
        assert_eq!(b.ssrc, Ssrc(0x5150));
    }
    // Nobody in the meeting: the phone gets silence, still one packet a frame.
    let mut quiet = bridge();
    let r = run(&mut quiet, 10, |_| None, &[]);
    assert_eq!(r.to_phone.len(), 10);
    assert!(heard_by_phone(&r.to_phone, 0).iter().all(|s| s.abs() < 16));
}

#[test]
fn the_phone_does_not_hear_itself() {
    // Only the phone speaks: what goes back to it is silence (the relay never hands the
    // bridge the phone's own voice, and the bridge never mixes it in).
    let mut b = bridge();
    let r = run(
        &mut b,
        30,
        |k| Some(tone(440.0, 8_000.0, 160, k, 8_000.0)),
        &[],
    );
    assert!(heard_by_phone(&r.to_phone, 0).iter().all(|s| s.abs() < 16));
}

#[test]
fn a_lost_phone_packet_is_concealed_and_the_meeting_stream_has_no_gap() {
    let mut b = bridge();
    let r = run(
        &mut b,
        40,
        |k| (k != 20 && k != 21).then(|| tone(440.0, 8_000.0, 160, k, 8_000.0)),
        &[],
    );
    assert!(b.stats().concealed >= 2, "{:?}", b.stats());
    let seqs: Vec<u64> = r.to_meeting.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..r.to_meeting.len() as u64).collect::<Vec<_>>());
    assert!(r.to_meeting.len() >= 37);
}

#[test]
fn hostile_and_foreign_input_is_bounded_and_ignored() {
    let mut b = bridge();
    let t0 = Instant::now();
    // Comfort noise (13) and a never-agreed payload type: ignored, counted.
    let mut cn = phone_packet(1, &[0; 10]);
    cn[1] = 13;
    b.from_phone(t0, &RtpPacket::parse(&cn).unwrap());
    assert_eq!(b.stats().foreign_payload, 1);
    // More meeting voices than the bridge mixes: the rest are left out and counted.
    for publisher in 0..(MAX_VOICES as u64 + 5) {
        b.from_meeting(t0, publisher, 0, 0, &[0xfc, 0xff, 0xfe]);
    }
    assert_eq!(b.voices.len(), MAX_VOICES);
    assert_eq!(b.stats().voices_refused, 5);
    // Garbage where Opus should be, and a giant payload: nothing breaks, frames keep coming.
    b.from_meeting(t0, 3, 1, 960, &[0xff; 3]);
    b.from_meeting(t0, 4, 1, 960, &vec![0x55; 20_000]);
    let mut out = TickOutput::default();
    for k in 0..20u32 {
        assert!(b.tick(t0 + FRAME * k, &mut out).unwrap());
        assert!(out.phone.len() <= MAX_PHONE_PACKET);
    }
    // Voices that fell silent give their places back.
    b.tick(t0 + VOICE_IDLE + FRAME * 30, &mut out).unwrap();
    assert!(b.voices.is_empty());
    b.from_meeting(t0 + VOICE_IDLE * 2, 99, 0, 0, &[0xfc, 0xff, 0xfe]);
    assert_eq!(b.voices.len(), 1);
    // A participant who leaves is forgotten at once.
    b.forget(99);
    assert!(b.voices.is_empty());
}

#[test]
fn frames_come_every_20_ms_and_a_stalled_caller_starts_again_from_now() {
    let mut b = bridge();
    let t0 = Instant::now();
    let mut out = TickOutput::default();
    assert!(b.tick(t0, &mut out).unwrap());
    assert!(!b.tick(t0 + Duration::from_millis(10), &mut out).unwrap());
    assert!(b.tick(t0 + FRAME, &mut out).unwrap());
    assert_eq!(b.next_tick(), Some(t0 + FRAME * 2));
    // A second behind: one frame now, the next 20 ms on, no burst of fifty.
    let late = t0 + Duration::from_secs(1);
    assert!(b.tick(late, &mut out).unwrap());
    assert_eq!(b.next_tick(), Some(late + FRAME));
    assert!(Bridge::new(Codec::Pcmu, 200, Ssrc(1)).is_err());
}

#[test]
fn a_caller_with_a_prompt_is_out_of_the_meeting_both_ways_until_put_in() {
    let mut bridge = bridge();
    bridge.set_prompt(Some(Prompt::Waiting));
    let phone = |k| Some(tone(440.0, 8_000.0, 160, k, 8_000.0));
    let t0 = Instant::now();
    let lobby = run_from(t0, &mut bridge, 50, phone, &[(7, 1_000.0)]);
    assert!(
        lobby.to_meeting.is_empty(),
        "the lobby was heard in the meeting"
    );
    let heard = heard_by_phone(&lobby.to_phone, 0);
    let power = strongest(&heard[..1_600], 8_000.0, &[425.0, 1_000.0]);
    assert!(
        power[0] > 10.0 * power[1],
        "the caller heard the meeting: {power:?}"
    );
    assert_eq!(lobby.to_phone.len(), 50, "the prompt keeps the line alive");

    bridge.set_prompt(None);
    let room = run_from(t0 + FRAME * 50, &mut bridge, 50, phone, &[(7, 1_000.0)]);
    assert!(room.to_meeting.len() > 40, "admitted, the caller is heard");
    let heard = heard_by_phone(&room.to_phone, 20);
    let power = strongest(&heard, 8_000.0, &[425.0, 1_000.0]);
    assert!(
        power[1] > 10.0 * power[0],
        "admitted, the caller hears the meeting: {power:?}"
    );
}

#[test]
fn a_muted_phone_is_not_heard_but_still_hears() {
    let mut bridge = bridge();
    bridge.set_muted(true);
    let phone = |k| Some(tone(440.0, 8_000.0, 160, k, 8_000.0));
    let t0 = Instant::now();
    let muted = run_from(t0, &mut bridge, 50, phone, &[(7, 1_000.0)]);
    assert!(muted.to_meeting.is_empty(), "a muted phone was heard");
    let heard = heard_by_phone(&muted.to_phone, 20);
    let power = strongest(&heard, 8_000.0, &[1_000.0, 440.0]);
    assert!(
        power[0] > 10.0 * power[1],
        "muted, it still hears the meeting: {power:?}"
    );
    bridge.set_muted(false);
    let unmuted = run_from(t0 + FRAME * 50, &mut bridge, 50, phone, &[(7, 1_000.0)]);
    assert!(unmuted.to_meeting.len() > 40);
}

#[test]
fn a_g722_call_is_bridged_in_wideband_both_ways() {
    use crate::voice_codec::VoiceCodec;
    let mut b = Bridge::new(Codec::G722, 9, Ssrc(0x722)).unwrap();
    let mut phone = VoiceCodec::new(Codec::G722);
    let mut listen = VoiceCodec::new(Codec::G722);
    let mut meeting_voice = OpusEncoder::new(OpusRate::Hz48000, 48_000).unwrap();
    let mut to_meeting = OpusDecoder::new(OpusRate::Hz16000).unwrap();
    let (mut heard_in_meeting, mut heard_on_phone) = (Vec::new(), Vec::new());
    let mut out = TickOutput::default();
    let t0 = Instant::now();
    let mut wire = [0u8; 160];
    let mut opus = vec![0u8; opus::MAX_PACKET];
    let mut pcm = vec![0i16; 1_920];
    for k in 0..60usize {
        let now = t0 + FRAME * k as u32;
        // The phone says 5 kHz, which only a wideband line carries.
        let n = phone
            .encode(&tone(5_000.0, 16_000.0, 320, k, 8_000.0), &mut wire)
            .unwrap();
        let mut packet = vec![0u8; 12 + n];
        RtpHeader {
            marker: false,
            payload_type: PayloadType::new(9).unwrap(),
            sequence: k as u16,
            timestamp: (k * 160) as u32,
            ssrc: Ssrc(0xfeed),
        }
        .write(&mut packet)
        .unwrap();
        packet[12..].copy_from_slice(&wire[..n]);
        b.from_phone(now, &RtpPacket::parse(&packet).unwrap());
        // Someone in the meeting says 6 kHz.
        let m = meeting_voice
            .encode(&tone(6_000.0, 48_000.0, 960, k, 6_000.0), &mut opus)
            .unwrap();
        b.from_meeting(now, 7, k as u64, (k * 960) as u32, &opus[..m]);
        assert!(b.tick(now, &mut out).unwrap());
        if let Some(frame) = out.meeting.take() {
            let got = to_meeting.decode(&frame.payload, &mut pcm).unwrap();
            heard_in_meeting.extend_from_slice(&pcm[..got]);
        }
        let rtp = RtpPacket::parse(&out.phone).unwrap();
        assert_eq!(rtp.header.payload_type.get(), 9);
        let got = listen.decode(rtp.payload, &mut pcm);
        heard_on_phone.extend_from_slice(&pcm[..got]);
    }
    let meeting = strongest(&heard_in_meeting[3_200..], 16_000.0, &[5_000.0, 1_000.0]);
    assert!(
        meeting[0] > 10.0 * meeting[1],
        "5 kHz lost toward the meeting: {meeting:?}"
    );
    let phone_heard = strongest(&heard_on_phone[6_400..], 16_000.0, &[6_000.0, 1_000.0]);
    assert!(
        phone_heard[0] > 10.0 * phone_heard[1],
        "6 kHz lost toward the phone: {phone_heard:?}"
    );
}

#[test]
fn keys_pressed_go_to_the_phone_as_telephone_events_in_place_of_audio() {
    let mut b = bridge();
    assert!(
        !b.press(Digit::from_char('1').unwrap()),
        "no events agreed, no keys"
    );
    b.set_telephone_event(Some(101));
    for key in "1#".chars() {
        assert!(b.press(Digit::from_char(key).unwrap()));
    }
    let got = run(&mut b, 30, |_| None, &[]);
    let mut receiver = crate::dtmf::DtmfReceiver::new();
    let (mut heard, mut last_seq) = (String::new(), None::<u16>);
    for packet in &got.to_phone {
        let p = RtpPacket::parse(packet).unwrap();
        // One stream: the numbering runs on through events and audio alike.
        if let Some(last) = last_seq {
            assert_eq!(p.header.sequence, last.wrapping_add(1));
        }
        last_seq = Some(p.header.sequence);
        match p.header.payload_type.get() {
            101 => {
                if let Some(d) = receiver.on_packet(p.header.timestamp, p.payload).unwrap() {
                    heard.push(d.as_char());
                }
            }
            pt => assert_eq!(pt, PT),
        }
    }
    assert_eq!(heard, "1#");
    let events = got
        .to_phone
        .iter()
        .filter(|p| RtpPacket::parse(p).unwrap().header.payload_type.get() == 101)
        .count();
    assert_eq!(events, 14, "two presses of seven packets");
}
