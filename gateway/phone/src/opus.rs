//! Opus for the meeting side of a phone leg, through `ropus` (a pure-Rust port of libopus):
//! decode a packet or conceal a lost one to mono PCM at 8, 16 or 48 kHz, and encode 20 ms
//! of mono PCM.
//!
//! Buffers are the caller's. A decoder's output must hold the longest frame a packet may
//! carry (120 ms, [`OpusRate::max_frame`] samples), since the packet says how long it is.

use crate::Error;

/// The sample rates the bridge uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusRate {
    Hz8000,
    Hz16000,
    Hz48000,
}

impl OpusRate {
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8_000,
            Self::Hz16000 => 16_000,
            Self::Hz48000 => 48_000,
        }
    }

    /// Samples in 20 ms.
    pub fn frame_20ms(self) -> usize {
        self.hz() as usize / 50
    }

    /// Samples in 120 ms, the longest Opus packet.
    pub fn max_frame(self) -> usize {
        self.frame_20ms() * 6
    }
}

/// Decodes one Opus stream to mono PCM.
pub struct OpusDecoder {
    inner: ropus::Decoder,
    rate: OpusRate,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("rate", &self.rate)
            .finish()
    }
}

impl OpusDecoder {
    pub fn new(rate: OpusRate) -> Result<Self, Error> {
        let inner = ropus::Decoder::new(rate.hz(), ropus::Channels::Mono)
            .map_err(|_| Error::Codec("opus decoder init"))?;
        Ok(Self { inner, rate })
    }

    /// Decodes `packet` into `out` (at least [`OpusRate::max_frame`] samples); returns the
    /// number of samples. Stereo packets are mixed down.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, Error> {
        if packet.is_empty() {
            // An empty packet would ask the codec for concealment of an unknown length.
            return Err(Error::Codec("empty opus packet"));
        }
        let out = fit(out, self.rate.max_frame())?;
        self.inner
            .decode(packet, out, ropus::DecodeMode::Normal)
            .map_err(|_| Error::Codec("opus packet rejected"))
    }

    /// Conceals one lost 20 ms frame into `out`; returns the number of samples.
    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, Error> {
        let out = fit(out, self.rate.frame_20ms())?;
        self.inner
            .decode(&[], out, ropus::DecodeMode::Normal)
            .map_err(|_| Error::Codec("opus concealment failed"))
    }
}

/// Encodes 20 ms frames of mono PCM as Opus for the meeting.
pub struct OpusEncoder {
    inner: ropus::Encoder,
    rate: OpusRate,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("rate", &self.rate)
            .finish()
    }
}

/// The encoder's effort (0 to 10). The voices it encodes come from a phone line at 8 or
/// 16 kHz; the delayed-decision quantiser of 8 to 10 costs about twice the CPU of 5 and
/// improves nothing a phone line's band can carry.
const COMPLEXITY: u8 = 5;

/// Bytes enough for any 20 ms Opus packet (RFC 6716 caps a frame at 1275).
pub const MAX_PACKET: usize = 1275;

impl OpusEncoder {
    /// A voice encoder at `bitrate` bits per second, with in-band FEC for the lossy leg.
    pub fn new(rate: OpusRate, bitrate: u32) -> Result<Self, Error> {
        let inner =
            ropus::Encoder::builder(rate.hz(), ropus::Channels::Mono, ropus::Application::Voip)
                .bitrate(ropus::Bitrate::Bits(bitrate.clamp(6_000, 128_000)))
                .signal(ropus::Signal::Voice)
                .inband_fec(ropus::InbandFec::Enabled)
                .packet_loss_perc(5)
                .complexity(COMPLEXITY)
                .build()
                .map_err(|_| Error::Codec("opus encoder init"))?;
        Ok(Self { inner, rate })
    }

    /// Encodes exactly 20 ms of PCM into `out`; returns the packet's length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, Error> {
        if pcm.len() != self.rate.frame_20ms() {
            return Err(Error::Codec("opus frame is not 20 ms"));
        }
        let n = out.len().min(MAX_PACKET);
        self.inner
            .encode(pcm, &mut out[..n])
            .map_err(|_| Error::Codec("opus encode failed"))
    }
}

fn fit(out: &mut [i16], len: usize) -> Result<&mut [i16], Error> {
    let got = out.len();
    out.get_mut(..len)
        .ok_or(Error::BufferTooSmall { needed: len, got })
}

#[cfg(test)]
mod tests;
