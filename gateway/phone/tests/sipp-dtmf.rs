//! The RFC 4733 captures that ship with sipp (Debian's `sip-tester`, which the telephony tests
//! install anyway): each key press, read from real packets through the RTP parser and the
//! DTMF receiver, comes out as its one digit. Skipped, saying so, where sipp is not installed.

use sluss_phone::dtmf::DtmfReceiver;
use sluss_phone::rtp::RtpPacket;

const DIR: &str = "/usr/share/sip-tester";

/// The UDP payloads of a classic little-endian pcap of Ethernet frames with IPv4 headers.
fn udp_payloads(pcap: &[u8]) -> Vec<&[u8]> {
    assert_eq!(pcap[..4], [0xd4, 0xc3, 0xb2, 0xa1], "a little-endian pcap");
    assert_eq!(pcap[20], 1, "Ethernet frames");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let incl = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &pcap[at + 16..at + 16 + incl];
        let ip_header = usize::from(frame[14] & 0x0f) * 4;
        out.push(&frame[14 + ip_header + 8..]);
        at += 16 + incl;
    }
    out
}

#[test]
fn every_sipp_key_press_is_one_digit() {
    let keys = [
        ("0", '0'),
        ("1", '1'),
        ("2", '2'),
        ("3", '3'),
        ("4", '4'),
        ("5", '5'),
        ("6", '6'),
        ("7", '7'),
        ("8", '8'),
        ("9", '9'),
        ("pound", '#'),
        ("star", '*'),
    ];
    if !std::path::Path::new(DIR).exists() {
        eprintln!("skipped: {DIR} is missing (apt-get install sip-tester)");
        return;
    }
    for (name, want) in keys {
        let pcap = std::fs::read(format!("{DIR}/dtmf_2833_{name}.pcap")).unwrap();
        let mut rx = DtmfReceiver::new();
        let mut digits = String::new();
        let packets = udp_payloads(&pcap);
        assert!(packets.len() >= 4, "{name}: {} packets", packets.len());
        for datagram in packets {
            let p = RtpPacket::parse(datagram).unwrap();
            assert_eq!(p.header.payload_type.get(), 101);
            if let Some(d) = rx.on_packet(p.header.timestamp, p.payload).unwrap() {
                digits.push(d.as_char());
            }
        }
        assert_eq!(digits, want.to_string(), "{name}");
    }
}
