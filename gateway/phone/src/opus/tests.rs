//! Opus through ropus: a tone survives the round trip, losses are concealed, bad packets are
//! errors; and an ignored benchmark of the codec's CPU time.

use super::*;

/// A `hz` tone at `rate`, 20 ms frame number `k`.
fn tone(rate: OpusRate, hz: f64, k: usize) -> Vec<i16> {
    let n = rate.frame_20ms();
    let fs = f64::from(rate.hz());
    (0..n)
        .map(|i| {
            let t = (k * n + i) as f64 / fs;
            (8_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// Rising zero crossings per second.
fn frequency(pcm: &[i16], fs: f64) -> f64 {
    let crossings = pcm.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    crossings as f64 * fs / pcm.len() as f64
}

fn rms(pcm: &[i16]) -> f64 {
    let e: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (e / pcm.len().max(1) as f64).sqrt()
}

#[test]
fn a_tone_survives_encode_and_decode_at_each_rate() {
    for rate in [OpusRate::Hz8000, OpusRate::Hz16000, OpusRate::Hz48000] {
        let mut enc = OpusEncoder::new(rate, 32_000).unwrap();
        let mut dec = OpusDecoder::new(rate).unwrap();
        let mut packet = [0u8; MAX_PACKET];
        let mut pcm = vec![0i16; rate.max_frame()];
        let mut heard = Vec::new();
        for k in 0..25 {
            let n = enc.encode(&tone(rate, 1_000.0, k), &mut packet).unwrap();
            assert!(n > 0 && n <= MAX_PACKET);
            let m = dec.decode(&packet[..n], &mut pcm).unwrap();
            assert_eq!(m, rate.frame_20ms());
            if k >= 5 {
                heard.extend_from_slice(&pcm[..m]);
            }
        }
        let f = frequency(&heard, f64::from(rate.hz()));
        assert!((f - 1_000.0).abs() < 30.0, "{rate:?}: {f} Hz");
        assert!(rms(&heard) > 3_000.0, "{rate:?}: rms {}", rms(&heard));
    }
}

#[test]
fn a_48k_packet_decodes_at_8k_for_the_phone() {
    let mut enc = OpusEncoder::new(OpusRate::Hz48000, 32_000).unwrap();
    let mut dec = OpusDecoder::new(OpusRate::Hz8000).unwrap();
    let mut packet = [0u8; MAX_PACKET];
    let mut pcm = vec![0i16; OpusRate::Hz8000.max_frame()];
    let mut heard = Vec::new();
    for k in 0..25 {
        let n = enc
            .encode(&tone(OpusRate::Hz48000, 440.0, k), &mut packet)
            .unwrap();
        let m = dec.decode(&packet[..n], &mut pcm).unwrap();
        assert_eq!(m, 160);
        if k >= 5 {
            heard.extend_from_slice(&pcm[..m]);
        }
    }
    let f = frequency(&heard, 8_000.0);
    assert!((f - 440.0).abs() < 20.0, "{f} Hz");
}

#[test]
fn a_lost_frame_is_concealed_with_sound_not_silence() {
    let rate = OpusRate::Hz16000;
    let mut enc = OpusEncoder::new(rate, 24_000).unwrap();
    let mut dec = OpusDecoder::new(rate).unwrap();
    let mut packet = [0u8; MAX_PACKET];
    let mut pcm = vec![0i16; rate.max_frame()];
    for k in 0..10 {
        let n = enc.encode(&tone(rate, 500.0, k), &mut packet).unwrap();
        dec.decode(&packet[..n], &mut pcm).unwrap();
    }
    let m = dec.conceal(&mut pcm).unwrap();
    assert_eq!(m, rate.frame_20ms());
    assert!(rms(&pcm[..m]) > 500.0, "concealed rms {}", rms(&pcm[..m]));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut dec = OpusDecoder::new(OpusRate::Hz48000).unwrap();
    let mut pcm = vec![0i16; OpusRate::Hz48000.max_frame()];
    assert!(dec.decode(&[], &mut pcm).is_err());
    assert!(dec.decode(&[0xff, 0xff, 0xff], &mut pcm).is_err());
    // Whatever the bytes, decoding returns; the output stays within its buffer.
    let mut x: u32 = 1;
    for len in 1..200 {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        if let Ok(n) = dec.decode(&junk, &mut pcm) {
            assert!(n <= pcm.len());
        }
    }
    let mut short = [0i16; 100];
    assert!(matches!(
        dec.decode(&[0x08, 0, 0], &mut short),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut enc = OpusEncoder::new(OpusRate::Hz8000, 16_000).unwrap();
    let mut out = [0u8; MAX_PACKET];
    assert!(enc.encode(&[0; 159], &mut out).is_err());
}

/// CPU time of this thread, from the kernel's scheduler statistics.
fn thread_cpu() -> std::time::Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let ns: u64 = s.split_whitespace().next().unwrap().parse().unwrap();
    std::time::Duration::from_nanos(ns)
}

/// `cargo test --release -p sluss-phone opus_cpu -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: prints CPU time, takes a few seconds"]
fn opus_cpu_time_for_ten_seconds_of_voice() {
    for rate in [OpusRate::Hz48000, OpusRate::Hz16000] {
        let frames: Vec<Vec<i16>> = (0..500)
            .map(|k| {
                // A voice-like mix: a gliding fundamental and two formant-ish partials.
                let f0 = 120.0 + 40.0 * ((k as f64) / 25.0).sin();
                let a = tone(rate, f0, k);
                let b = tone(rate, f0 * 5.0, k);
                let c = tone(rate, 2_300.0, k);
                (0..a.len())
                    .map(|i| a[i] / 2 + b[i] / 4 + c[i] / 8)
                    .collect()
            })
            .collect();
        let mut enc = OpusEncoder::new(rate, 32_000).unwrap();
        let mut dec = OpusDecoder::new(rate).unwrap();
        let mut packet = [0u8; MAX_PACKET];
        let mut pcm = vec![0i16; rate.max_frame()];
        let mut packets = Vec::with_capacity(500);
        let t0 = thread_cpu();
        for f in &frames {
            let n = enc.encode(f, &mut packet).unwrap();
            packets.push(packet[..n].to_vec());
        }
        let t1 = thread_cpu();
        for p in &packets {
            dec.decode(p, &mut pcm).unwrap();
        }
        let t2 = thread_cpu();
        let (e, d) = (t1 - t0, t2 - t1);
        println!(
            "opus {} Hz, 10 s of audio: encode {:?}, decode {:?}, together {:.2}% of one core",
            rate.hz(),
            e,
            d,
            (e + d).as_secs_f64() / 10.0 * 100.0
        );
        assert!(
            e + d < std::time::Duration::from_secs(10),
            "slower than real time"
        );
    }
}
