//! G.711 (ITU-T): A-law and µ-law between 16-bit linear PCM and 8-bit codes at 8 kHz.
//!
//! Both laws cut the magnitude into eight segments of sixteen steps each, every segment
//! twice as coarse as the one below, so that the quantisation error stays near a constant
//! fraction of the signal. A-law inverts the even bits of the code (XOR 0x55) and has
//! a sign bit of 1 for positive values; µ-law inverts every bit and adds a bias of 132
//! before finding the segment. Decoding goes through a 256-entry table built at compile time.

/// Which law a trunk uses: A-law in Europe (Sweden's default), µ-law in North America.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    A,
    Mu,
}

impl Law {
    /// Encodes `pcm` into `out`, one byte per sample; returns the number of samples encoded
    /// (the shorter of the two lengths).
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        let f = match self {
            Self::A => alaw_encode,
            Self::Mu => ulaw_encode,
        };
        for (o, &s) in out.iter_mut().zip(pcm) {
            *o = f(s);
        }
        pcm.len().min(out.len())
    }

    /// Decodes `codes` into `out`; returns the number of samples written.
    pub fn decode(self, codes: &[u8], out: &mut [i16]) -> usize {
        let table = match self {
            Self::A => &ALAW_TABLE,
            Self::Mu => &ULAW_TABLE,
        };
        for (o, &c) in out.iter_mut().zip(codes) {
            *o = table[usize::from(c)];
        }
        codes.len().min(out.len())
    }
}

/// A-law code of one linear sample.
pub fn alaw_encode(sample: i16) -> u8 {
    // Magnitude on the law's 12-bit scale; negative values fold onto -s - 1 so that
    // i16::MIN needs no special case.
    let (mask, magnitude) = if sample >= 0 {
        (0xd5, (sample >> 3) as u16)
    } else {
        (0x55, ((!sample) >> 3) as u16)
    };
    let code = if magnitude < 32 {
        // Segment 0 has the same step (2 on this scale) as segment 1.
        (magnitude >> 1) as u8
    } else {
        // Bits 5..=11 give segments 1..=7.
        let segment = (15 - magnitude.leading_zeros() - 4) as u8;
        (segment << 4) | ((magnitude >> segment) & 0x0f) as u8
    };
    code ^ mask
}

/// Linear sample of one A-law code: the middle of its step.
pub const fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = (a >> 4) & 0x07;
    let step = ((a & 0x0f) as i16) << 4;
    let magnitude = if segment == 0 {
        step + 8
    } else {
        (step + 0x108) << (segment - 1)
    };
    if a & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }
}

const ULAW_BIAS: i32 = 0x84;
/// The largest magnitude µ-law can express before the bias pushes it out of 15 bits.
const ULAW_CLIP: i32 = 32_635;

/// µ-law code of one linear sample.
pub fn ulaw_encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, magnitude) = if s < 0 { (0x80u8, -s) } else { (0, s) };
    // 132..=32767: the highest set bit is bit 7..=14, giving segments 0..=7.
    let biased = (magnitude.min(ULAW_CLIP) + ULAW_BIAS) as u32;
    let segment = 31 - biased.leading_zeros() - 7;
    let step = (biased >> (segment + 3)) & 0x0f;
    !(sign | (segment << 4) as u8 | step as u8)
}

/// Linear sample of one µ-law code.
pub const fn ulaw_decode(code: u8) -> i16 {
    let u = !code;
    let segment = (u >> 4) & 0x07;
    let step = (u & 0x0f) as i32;
    let magnitude = (((step << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    // At most 32124: always fits.
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

const fn table(law: Law) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match law {
            Law::A => alaw_decode(i as u8),
            Law::Mu => ulaw_decode(i as u8),
        };
        i += 1;
    }
    t
}

static ALAW_TABLE: [i16; 256] = table(Law::A);
static ULAW_TABLE: [i16; 256] = table(Law::Mu);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_of_both_laws() {
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32_256);
        assert_eq!(alaw_decode(0x2a), -32_256);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0x80), 32_124);
        assert_eq!(ulaw_decode(0x00), -32_124);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        // A mid-scale value: 1000 lies in µ-law segment 3 (step 64) and A-law segment 2 (step 16).
        assert_eq!(ulaw_decode(ulaw_encode(1000)), 988);
        assert_eq!(alaw_decode(alaw_encode(1000)), 1_008);
    }

    #[test]
    fn round_trip_error_stays_within_half_a_step() {
        for s in i16::MIN..=i16::MAX {
            let m = i32::from(s).abs();
            let a = (i32::from(alaw_decode(alaw_encode(s))) - i32::from(s)).abs();
            assert!(a <= (m / 32 + 1).max(8), "A-law {s}: error {a}");
            let u = (i32::from(ulaw_decode(ulaw_encode(s))) - i32::from(s)).abs();
            assert!(u <= ((m + 132) / 32 + 1).max(4), "µ-law {s}: error {u}");
        }
    }

    #[test]
    fn encoding_is_monotonic_over_all_samples() {
        let (mut last_a, mut last_u) = (i16::MIN, i16::MIN);
        for s in i16::MIN..=i16::MAX {
            let a = alaw_decode(alaw_encode(s));
            let u = ulaw_decode(ulaw_encode(s));
            assert!(a >= last_a && u >= last_u, "at {s}");
            (last_a, last_u) = (a, u);
        }
    }

    #[test]
    fn decode_tables_are_strictly_monotonic_and_symmetric() {
        // µ-law: 0x00..=0x7f rise from -32124 to 0, 0xff down to 0x80 rise from 0 to 32124.
        let neg: Vec<i16> = (0x00..=0x7f).map(ulaw_decode).collect();
        let pos: Vec<i16> = (0x80..=0xff).rev().map(ulaw_decode).collect();
        assert!(neg.windows(2).all(|w| w[0] < w[1]));
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
        // A-law: in the even-bit-inverted order, positive codes rise, negative ones fall.
        let pos: Vec<i16> = (0x80..=0xffu8).map(|a| alaw_decode(a ^ 0x55)).collect();
        let neg: Vec<i16> = (0x00..=0x7fu8).map(|a| alaw_decode(a ^ 0x55)).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
        assert!(neg.windows(2).all(|w| w[0] > w[1]));
        for code in 0..=255u8 {
            assert_eq!(alaw_decode(code ^ 0x80), -alaw_decode(code));
            assert_eq!(ulaw_decode(code ^ 0x80), -ulaw_decode(code));
            assert_eq!(ALAW_TABLE[usize::from(code)], alaw_decode(code));
            assert_eq!(ULAW_TABLE[usize::from(code)], ulaw_decode(code));
        }
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#x}");
            // µ-law's negative zero (0x7f) decodes to 0, which encodes as positive zero.
            let want = if code == 0x7f { 0xff } else { code };
            assert_eq!(ulaw_encode(ulaw_decode(code)), want, "µ-law {code:#x}");
        }
    }

    #[test]
    fn slices_encode_and_decode_up_to_the_shorter_length() {
        let pcm = [0i16, 1000, -1000, 32_000];
        let mut codes = [0u8; 3];
        assert_eq!(Law::A.encode(&pcm, &mut codes), 3);
        assert_eq!(codes, [0xd5, alaw_encode(1000), alaw_encode(-1000)]);
        let mut back = [0i16; 8];
        assert_eq!(Law::Mu.decode(&[0xff, 0x80], &mut back), 2);
        assert_eq!(back[..2], [0, 32_124]);
    }

    fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
        bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Hashes of the tables Python's `audioop` (the Sun reference code) gives: A-law encoding
    /// of every 16-bit sample, and both laws' decoding of every code (little-endian). µ-law
    /// encoding is left out: on 381 negative samples that lie exactly on a decision level,
    /// audioop reduces 16 to 14 bits rounding the other way (G.711 is defined on 14 bits).
    #[test]
    fn tables_match_the_sun_reference_bit_for_bit() {
        let alaw: Vec<u8> = (i16::MIN..=i16::MAX).map(alaw_encode).collect();
        assert_eq!(fnv1a(alaw), 0xf030_666e_b780_cf25);
        let decoded = |t: &[i16; 256]| fnv1a(t.iter().flat_map(|s| s.to_le_bytes()));
        assert_eq!(decoded(&ALAW_TABLE), 0x693a_40ca_62a3_d2a5);
        assert_eq!(decoded(&ULAW_TABLE), 0xb91e_65d6_8481_a1a8);
    }
}
