//! The bridge of one phone leg: the phone's G.711 to the meeting's Opus and back, one 20 ms
//! frame at a time. Sans-IO: packets and the time go in, packets come out; the shell owns the
//! socket, SRTP and the relay's direct transport.
//!
//! Toward the meeting, the phone's RTP goes through a jitter buffer, is decoded (a lost frame
//! is concealed from the last one heard), and encoded as Opus straight from 8 kHz (Opus takes
//! narrowband input itself, so no resampler is needed), with its audio level for the
//! active-speaker detector. Toward the phone, each other participant's Opus has a jitter
//! buffer and a decoder of its own, decoded straight to 8 kHz (Opus concealing its own
//! losses), summed by the [`Mixer`] and encoded in the trunk's law. The relay's direct
//! transport never hands a participant its own voice, so the sum is already the mix-minus.
//!
//! Everything is allocated when the bridge is made or a voice first speaks, never per frame;
//! the number of voices mixed is bounded by [`MAX_VOICES`].

use std::time::{Duration, Instant};

use crate::dtmf::{Digit, DtmfSender};
use crate::jitter::{Incoming, JitterBuffer, JitterConfig, JitterStats, Pop};
use crate::mixer::{AudioLevel, MemberId, Mixer};
use crate::opus::{self, OpusDecoder, OpusEncoder, OpusRate};
use crate::prompt::{Prompt, PromptPlayer};
use crate::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};
use crate::sdp::Codec;
use crate::voice_codec::{VoiceCodec, MAX_FRAME_BYTES, RTP_TICKS};
use crate::Error;

/// One frame: 20 ms.
pub const FRAME: Duration = Duration::from_millis(20);
/// A 20 ms frame on the meeting's 48 kHz RTP clock.
const OPUS_TICKS: u32 = 960;
/// Meeting voices mixed for one phone at most; more are left out (and counted) until one of
/// those falls silent for [`VOICE_IDLE`].
pub const MAX_VOICES: usize = 32;
/// A voice silent this long gives its place (decoder and buffer) back.
const VOICE_IDLE: Duration = Duration::from_secs(10);
/// Opus for a narrowband voice: more would carry nothing the phone line had.
const OPUS_BITRATE: u32 = 24_000;
/// Opus for a wideband (G.722) voice.
const OPUS_BITRATE_WIDE: u32 = 32_000;
/// The phone's own place in the mixer: it has no input there, so it hears the whole sum.
const LISTENER: MemberId = MemberId(0);
/// Room for one RTP packet to the phone: header and a frame of G.711.
pub const MAX_PHONE_PACKET: usize = 12 + MAX_FRAME_BYTES;

/// The phone's voice for the meeting, one frame of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingFrame {
    /// Counted on by one for each frame sent (it starts at 0).
    pub seq: u64,
    /// On the meeting's 48 kHz clock; it advances with time, also while the phone is silent.
    pub timestamp: u32,
    /// How loud it is in dBov (0 loudest, -127 silence), as the relay's audio level
    /// extension carries it.
    pub audio_level: i8,
    pub payload: Vec<u8>,
}

/// What one call to [`Bridge::tick`] produced; kept by the caller and reused every frame.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// The phone's voice for the meeting: `None` while the phone sends nothing (idle, on hold).
    pub meeting: Option<MeetingFrame>,
    /// The RTP packet for the phone (before SRTP): the meeting's mix, silence included.
    pub phone: Vec<u8>,
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    pub frames_to_meeting: u64,
    /// Frames of the phone's voice concealed (lost or late).
    pub concealed: u64,
    pub frames_to_phone: u64,
    /// Packets from the phone with a payload type other than the call's codec (comfort
    /// noise, a codec never agreed): ignored.
    pub foreign_payload: u64,
    /// Meeting packets left out: the bridge already mixed `MAX_VOICES` voices.
    pub voices_refused: u64,
    /// Meeting packets the Opus decoder refused.
    pub undecodable: u64,
    pub phone_jitter: JitterStats,
}

#[derive(Debug)]
struct Voice {
    publisher: u64,
    member: MemberId,
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    last_heard: Instant,
}

/// One phone leg's bridge.
#[derive(Debug)]
pub struct Bridge {
    codec: VoiceCodec,
    /// The rate everything is mixed at: the phone's (8 kHz, or 16 kHz for G.722).
    rate: OpusRate,
    /// Samples in a frame at `rate`.
    samples: usize,
    payload_type: PayloadType,
    ssrc: Ssrc,
    next_tick: Option<Instant>,
    // The phone toward the meeting.
    from_phone: JitterBuffer,
    encoder: OpusEncoder,
    /// The last frame heard from the phone, for concealment: repeated once, softer.
    last_phone: Vec<i16>,
    concealed_in_row: u32,
    meeting_seq: u64,
    meeting_ts: u32,
    // The meeting toward the phone.
    voices: Vec<Voice>,
    next_member: u32,
    mixer: Mixer,
    /// Decoding scratch (the largest Opus frame at 8 kHz).
    pcm: Vec<i16>,
    codes: Vec<u8>,
    rtp_seq: u16,
    rtp_ts: u32,
    stats: BridgeStats,
    /// While set, the phone is not in the meeting (a caller entering the PIN or waiting in
    /// the lobby): it hears this prompt, and nothing it says goes anywhere.
    prompt: Option<PromptPlayer>,
    /// Muted (by the chair, or by the caller's `*6`): what the phone says goes nowhere.
    muted: bool,
    /// Keys to press toward the phone, under the telephone-event payload type agreed.
    keys: DtmfSender,
    event_pt: Option<PayloadType>,
}

impl Bridge {
    /// A bridge for a call in `codec` under payload type `payload_type`, sending to the phone
    /// as `ssrc`. A G.722 call is bridged at 16 kHz (wideband), G.711 at 8 kHz.
    pub fn new(codec: Codec, payload_type: u8, ssrc: Ssrc) -> Result<Self, Error> {
        let codec = VoiceCodec::new(codec);
        let (rate, samples) = (codec.rate(), codec.samples());
        let bitrate = match rate {
            OpusRate::Hz8000 => OPUS_BITRATE,
            _ => OPUS_BITRATE_WIDE,
        };
        let payload_type =
            PayloadType::new(payload_type).ok_or(Error::FieldOutOfRange("payload type"))?;
        let mut mixer = Mixer::new(samples);
        mixer.add(LISTENER)?;
        Ok(Self {
            codec,
            rate,
            samples,
            payload_type,
            ssrc,
            next_tick: None,
            from_phone: JitterBuffer::new(JitterConfig::default()),
            encoder: OpusEncoder::new(rate, bitrate)?,
            last_phone: vec![0; samples],
            concealed_in_row: 0,
            meeting_seq: 0,
            meeting_ts: 0,
            voices: Vec::new(),
            next_member: 1,
            mixer,
            pcm: vec![0; rate.max_frame()],
            codes: vec![0; MAX_FRAME_BYTES],
            rtp_seq: 0,
            rtp_ts: 0,
            stats: BridgeStats::default(),
            prompt: None,
            muted: false,
            keys: DtmfSender::new(RTP_TICKS as u16),
            event_pt: None,
        })
    }

    /// The payload type of RFC 4733 telephone events both sides agreed, if any: without
    /// one, keys cannot be pressed toward the phone.
    pub fn set_telephone_event(&mut self, payload_type: Option<u8>) {
        self.event_pt = payload_type.and_then(PayloadType::new);
    }

    /// Presses `digit` toward the phone (a menu on the far side): it goes out as telephone
    /// events in place of the audio of a few frames, after any keys already waiting. False
    /// when no telephone events were agreed or too many keys wait.
    pub fn press(&mut self, digit: Digit) -> bool {
        self.event_pt.is_some() && self.keys.press(digit)
    }

    /// Takes the phone out of the meeting to hear `prompt` (R4: a caller in the lobby hears
    /// nothing of the meeting and is heard by nobody), or with `None` puts it in. Voices
    /// already buffered are forgotten either way.
    pub fn set_prompt(&mut self, prompt: Option<Prompt>) {
        match (prompt, &mut self.prompt) {
            (Some(p), Some(player)) if player.prompt() == p => {}
            (Some(p), player) => *player = Some(PromptPlayer::at(p, self.rate.hz())),
            (None, player) => *player = None,
        }
        for voice in self.voices.drain(..) {
            self.mixer.remove(voice.member);
        }
    }

    /// Mutes or unmutes the phone toward the meeting; it goes on hearing the meeting.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// The prompt being played, or `None` while the phone is in the meeting.
    pub fn prompt(&self) -> Option<&PromptPlayer> {
        self.prompt.as_ref()
    }

    pub fn stats(&self) -> BridgeStats {
        BridgeStats {
            phone_jitter: self.from_phone.stats(),
            ..self.stats
        }
    }

    /// When [`Bridge::tick`] wants to be called next; `None` before the first call.
    pub fn next_tick(&self) -> Option<Instant> {
        self.next_tick
    }

    /// A packet from the phone, after SRTP. Other payload types than the call's codec are
    /// ignored (telephone events are the shell's to route to its DTMF receiver first).
    pub fn from_phone(&mut self, now: Instant, packet: &RtpPacket<'_>) {
        if packet.header.payload_type != self.payload_type {
            self.stats.foreign_payload += 1;
            return;
        }
        self.from_phone.push(
            Incoming {
                ssrc: packet.header.ssrc,
                sequence: packet.header.sequence,
                timestamp: packet.header.timestamp,
                payload: packet.payload,
            },
            now,
        );
    }

    /// A telephone event from the phone (RFC 4733): its place in the voice's numbering plays
    /// as silence, so a key press is neither heard nor counted as lost.
    pub fn phone_event(&mut self, packet: &RtpPacket<'_>) {
        self.from_phone
            .push_silence(packet.header.ssrc, packet.header.sequence);
    }

    /// A packet of another participant's voice (Opus, 48 kHz clock), in its publisher's own
    /// numbering.
    pub fn from_meeting(
        &mut self,
        now: Instant,
        publisher: u64,
        seq: u64,
        timestamp: u32,
        payload: &[u8],
    ) {
        if self.prompt.is_some() {
            return;
        }
        let i = match self.voices.iter().position(|v| v.publisher == publisher) {
            Some(i) => i,
            None => match self.add_voice(now, publisher) {
                Some(i) => i,
                None => {
                    self.stats.voices_refused += 1;
                    return;
                }
            },
        };
        let voice = &mut self.voices[i];
        voice.last_heard = now;
        voice.jitter.push(
            Incoming {
                ssrc: Ssrc(publisher as u32),
                sequence: seq as u16,
                timestamp,
                payload,
            },
            now,
        );
    }

    /// A participant left: its voice is forgotten at once.
    pub fn forget(&mut self, publisher: u64) {
        if let Some(i) = self.voices.iter().position(|v| v.publisher == publisher) {
            let voice = self.voices.swap_remove(i);
            self.mixer.remove(voice.member);
        }
    }

    /// Makes the frames that are due: fills `out` and says whether a frame was made (false
    /// when called before [`Bridge::next_tick`]). The first call starts the clock.
    pub fn tick(&mut self, now: Instant, out: &mut TickOutput) -> Result<bool, Error> {
        let due = *self.next_tick.get_or_insert(now);
        if now < due {
            return Ok(false);
        }
        // Far behind (the process stalled): start again from now rather than catch up.
        let next = due + FRAME;
        self.next_tick = Some(if now > next + FRAME * 5 {
            now + FRAME
        } else {
            next
        });
        self.frame_for_meeting(now, out)?;
        self.frame_for_phone(now, out)?;
        Ok(true)
    }

    fn frame_for_meeting(&mut self, now: Instant, out: &mut TickOutput) -> Result<(), Error> {
        let timestamp = self.meeting_ts;
        self.meeting_ts = self.meeting_ts.wrapping_add(OPUS_TICKS);
        let pcm = &mut self.pcm[..self.samples];
        match self.from_phone.pop(now) {
            Pop::Frame(codes) => {
                let n = self.codec.decode(codes, pcm);
                pcm[n..].fill(0);
                self.last_phone.copy_from_slice(pcm);
                self.concealed_in_row = 0;
            }
            Pop::Lost => {
                // The last frame again, half as loud each time: a gap of one or two frames
                // is not heard as a click, a longer one fades out.
                self.concealed_in_row += 1;
                self.stats.concealed += 1;
                for s in &mut self.last_phone {
                    *s /= 2;
                }
                pcm.copy_from_slice(&self.last_phone);
            }
            Pop::Nothing => {
                out.meeting = None;
                return Ok(());
            }
        }
        if self.prompt.is_some() || self.muted {
            // Not in the meeting, or muted: what the phone says is dropped here.
            out.meeting = None;
            return Ok(());
        }
        let level = AudioLevel::of(pcm);
        let frame = out.meeting.get_or_insert_with(MeetingFrame::default);
        frame.payload.resize(opus::MAX_PACKET, 0);
        let n = self.encoder.encode(pcm, &mut frame.payload)?;
        frame.payload.truncate(n);
        frame.seq = self.meeting_seq;
        frame.timestamp = timestamp;
        frame.audio_level = -(level.minus_dbov() as i8);
        self.meeting_seq += 1;
        self.stats.frames_to_meeting += 1;
        Ok(())
    }

    fn frame_for_phone(&mut self, now: Instant, out: &mut TickOutput) -> Result<(), Error> {
        let mixer = &mut self.mixer;
        self.voices.retain(|v| {
            let keep = now.saturating_duration_since(v.last_heard) < VOICE_IDLE;
            if !keep {
                mixer.remove(v.member);
            }
            keep
        });
        for voice in &mut self.voices {
            let decoded = match voice.jitter.pop(now) {
                Pop::Frame(packet) => match voice.decoder.decode(packet, &mut self.pcm) {
                    Ok(n) => Some(n),
                    Err(_) => {
                        self.stats.undecodable += 1;
                        voice.decoder.conceal(&mut self.pcm).ok()
                    }
                },
                Pop::Lost => voice.decoder.conceal(&mut self.pcm).ok(),
                Pop::Nothing => None,
            };
            if let Some(n) = decoded {
                self.mixer.set_input(voice.member, &self.pcm[..n])?;
            }
        }
        let pcm = &mut self.pcm[..self.samples];
        match &mut self.prompt {
            Some(player) => player.fill(pcm),
            None => {
                self.mixer.mix();
                self.mixer.output(LISTENER, pcm)?;
            }
        }
        if let Some(pt) = self.event_pt {
            if let Some((marker, start, event)) = self.keys.next_frame(self.rtp_ts) {
                // This frame carries a key press instead of audio (RFC 4733).
                let header = RtpHeader {
                    marker,
                    payload_type: pt,
                    sequence: self.rtp_seq,
                    timestamp: start,
                    ssrc: self.ssrc,
                };
                return self.write_phone(header, &event, out);
            }
        }
        let n = self.codec.encode(pcm, &mut self.codes)?;
        let header = RtpHeader {
            marker: self.stats.frames_to_phone == 0,
            payload_type: self.payload_type,
            sequence: self.rtp_seq,
            timestamp: self.rtp_ts,
            ssrc: self.ssrc,
        };
        let codes = std::mem::take(&mut self.codes);
        let written = self.write_phone(header, &codes[..n], out);
        self.codes = codes;
        written
    }

    /// One packet to the phone: the header, then `payload`; the stream's clock moves on a
    /// frame.
    fn write_phone(
        &mut self,
        header: RtpHeader,
        payload: &[u8],
        out: &mut TickOutput,
    ) -> Result<(), Error> {
        let n = payload.len();
        out.phone.resize(MAX_PHONE_PACKET, 0);
        let h = header.write(&mut out.phone)?;
        out.phone[h..h + n].copy_from_slice(payload);
        out.phone.truncate(h + n);
        self.rtp_seq = self.rtp_seq.wrapping_add(1);
        self.rtp_ts = self.rtp_ts.wrapping_add(RTP_TICKS);
        self.stats.frames_to_phone += 1;
        Ok(())
    }

    fn add_voice(&mut self, now: Instant, publisher: u64) -> Option<usize> {
        if self.voices.len() >= MAX_VOICES {
            return None;
        }
        let member = MemberId(self.next_member);
        self.next_member = self.next_member.wrapping_add(1).max(1);
        let decoder = OpusDecoder::new(self.rate).ok()?;
        self.mixer.add(member).ok()?;
        self.voices.push(Voice {
            publisher,
            member,
            jitter: JitterBuffer::new(JitterConfig {
                clock_rate: 48_000,
                ..JitterConfig::default()
            }),
            decoder,
            last_heard: now,
        });
        Some(self.voices.len() - 1)
    }
}

#[cfg(test)]
mod tests;
