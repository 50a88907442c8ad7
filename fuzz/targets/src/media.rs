//! The relay's own byte parsers, called directly: the STUN peek and the ICE-TCP framing.

use sluss_relay::stun::{classify, local_ufrag, Demux};

/// The STUN peek that routes a datagram before any transport sees it: the demultiplexing by
/// first byte and the local ICE username fragment of a binding request.
pub fn stun(data: &[u8]) {
    let kind = classify(data);
    let Some(ufrag) = local_ufrag(data) else {
        return;
    };
    // A fragment is only ever read out of a well-formed binding request, and is the part of
    // its USERNAME before the colon: never empty, never with the colon, always in the input.
    assert_eq!(
        kind,
        Demux::Stun,
        "a fragment from a datagram that is not STUN"
    );
    assert!(data.len() >= 20 && data[..2] == [0x00, 0x01]);
    assert!(!ufrag.is_empty() && !ufrag.contains(':'));
    let start = ufrag.as_ptr() as usize - data.as_ptr() as usize;
    assert!(start >= 24 && start + ufrag.len() < data.len());
    assert_eq!(data[start + ufrag.len()], b':');
}

/// The RFC 4571 framing of ICE over TCP: a stream of two-byte lengths and packets, as a
/// connection reads it, in whatever pieces the network delivers.
///
/// The first input byte sets the size of the pieces; the rest is the stream. Decoded piece by
/// piece (the way `Connection::read` buffers), it must give the same frames as decoded in one
/// go, and those frames framed again must give back the bytes they were read from.
pub fn ice_tcp_framing(data: &[u8]) {
    let Some((&piece, stream)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);

    let mut whole = Vec::new();
    let used = sluss_net::split_frames(stream, |f| whole.push(f.to_vec()));
    assert!(used <= stream.len());
    let mut reframed = Vec::with_capacity(used);
    for f in &whole {
        let len = u16::try_from(f.len()).expect("a frame fits its length field");
        reframed.extend_from_slice(&len.to_be_bytes());
        reframed.extend_from_slice(f);
    }
    assert_eq!(
        reframed,
        stream[..used],
        "frames do not re-encode to their bytes"
    );
    // What is left is less than one whole frame.
    let left = &stream[used..];
    if let [hi, lo, body @ ..] = left {
        assert!(body.len() < usize::from(u16::from_be_bytes([*hi, *lo])));
    }

    let mut buffered = Vec::new();
    let mut pieces = Vec::new();
    for chunk in stream.chunks(piece) {
        buffered.extend_from_slice(chunk);
        let at = sluss_net::split_frames(&buffered, |f| pieces.push(f.to_vec()));
        buffered.drain(..at);
    }
    assert_eq!(pieces, whole, "the frames depend on how the stream was cut");
    assert_eq!(buffered, left);
}
