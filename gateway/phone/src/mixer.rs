//! Mix-minus for 16-bit PCM at one sample rate: each member hears the sum of everyone else.
//!
//! Drive it once per frame: [`Mixer::set_input`] for every member that has audio this
//! frame, then [`Mixer::mix`], then [`Mixer::output`] for every member who listens. The sum
//! is kept in 32 bits and each output is its member's share taken away and then clamped to
//! 16 bits, so loud voices saturate instead of wrapping. [`Mixer::level`] gives each input's
//! level in -dBov (RFC 6464) for the active-speaker detector and the audio level extension.
//! Buffers are allocated when a member is added, never per frame.

use crate::Error;

/// Members one mixer takes at most.
pub const MAX_MEMBERS: usize = 64;

/// An opaque handle for one member of the mix; the bridge maps it to a meeting participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(pub u32);

/// An audio level in -dBov as RFC 6464 carries it: 0 is the loudest, 127 silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AudioLevel(u8);

impl AudioLevel {
    pub const SILENT: Self = Self(127);

    /// The level of a frame: its RMS relative to a full-scale square wave.
    pub fn of(pcm: &[i16]) -> Self {
        if pcm.is_empty() {
            return Self::SILENT;
        }
        let energy: i64 = pcm.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
        let mean = energy as f64 / pcm.len() as f64;
        if mean < 1.0 {
            return Self::SILENT;
        }
        let full = f64::from(i16::MAX) * f64::from(i16::MAX);
        let dbov = -10.0 * (mean / full).log10();
        Self(dbov.round().clamp(0.0, 127.0) as u8)
    }

    /// The level in -dBov, 0..=127.
    pub fn minus_dbov(self) -> u8 {
        self.0
    }
}

#[derive(Debug)]
struct Member {
    id: MemberId,
    pcm: Vec<i16>,
    /// Whether `pcm` holds this frame's audio.
    fresh: bool,
    level: AudioLevel,
}

/// The mixer of one meeting's phone bridge at one sample rate and frame length.
#[derive(Debug)]
pub struct Mixer {
    frame_len: usize,
    members: Vec<Member>,
    sum: Vec<i32>,
}

impl Mixer {
    /// A mixer for frames of `frame_len` samples (160 for 20 ms at 8 kHz).
    pub fn new(frame_len: usize) -> Self {
        Self {
            frame_len,
            members: Vec::new(),
            sum: vec![0; frame_len],
        }
    }

    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Adds a member (a no-op if present).
    pub fn add(&mut self, id: MemberId) -> Result<(), Error> {
        if self.find(id).is_some() {
            return Ok(());
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(Error::FieldOutOfRange("mixer members"));
        }
        self.members.push(Member {
            id,
            pcm: vec![0; self.frame_len],
            fresh: false,
            level: AudioLevel::SILENT,
        });
        Ok(())
    }

    pub fn remove(&mut self, id: MemberId) {
        if let Some(i) = self.find(id) {
            self.members.swap_remove(i);
        }
    }

    /// This frame's audio from `id`. A shorter frame is padded with silence, a longer one cut.
    /// A member with no input this frame is silent in the mix.
    pub fn set_input(&mut self, id: MemberId, pcm: &[i16]) -> Result<(), Error> {
        let i = self
            .find(id)
            .ok_or(Error::FieldOutOfRange("mixer member"))?;
        let m = &mut self.members[i];
        let n = pcm.len().min(m.pcm.len());
        m.pcm[..n].copy_from_slice(&pcm[..n]);
        m.pcm[n..].fill(0);
        m.fresh = true;
        Ok(())
    }

    /// Sums this frame's inputs and measures their levels; inputs are then used up.
    pub fn mix(&mut self) {
        self.sum.fill(0);
        for m in &mut self.members {
            if !m.fresh {
                m.pcm.fill(0);
                m.level = AudioLevel::SILENT;
                continue;
            }
            m.fresh = false;
            m.level = AudioLevel::of(&m.pcm);
            for (acc, &s) in self.sum.iter_mut().zip(&m.pcm) {
                *acc += i32::from(s);
            }
        }
    }

    /// What `id` hears this frame: everyone but itself, saturated to 16 bits.
    pub fn output(&self, id: MemberId, out: &mut [i16]) -> Result<usize, Error> {
        let i = self
            .find(id)
            .ok_or(Error::FieldOutOfRange("mixer member"))?;
        let own = &self.members[i].pcm;
        let n = out.len().min(self.frame_len);
        for ((o, &total), &mine) in out.iter_mut().zip(&self.sum).zip(own) {
            let s = total - i32::from(mine);
            *o = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
        Ok(n)
    }

    /// The level of `id`'s input in the last mixed frame.
    pub fn level(&self, id: MemberId) -> Option<AudioLevel> {
        self.find(id).map(|i| self.members[i].level)
    }

    fn find(&self, id: MemberId) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MemberId = MemberId(1);
    const B: MemberId = MemberId(2);
    const C: MemberId = MemberId(3);

    fn mixer(ids: &[MemberId]) -> Mixer {
        let mut m = Mixer::new(4);
        for &id in ids {
            m.add(id).unwrap();
        }
        m
    }

    fn out(m: &Mixer, id: MemberId) -> [i16; 4] {
        let mut o = [0; 4];
        m.output(id, &mut o).unwrap();
        o
    }

    #[test]
    fn each_member_hears_everyone_but_itself() {
        let mut m = mixer(&[A, B, C]);
        m.set_input(A, &[100, 0, 0, 0]).unwrap();
        m.set_input(B, &[0, 200, 0, 0]).unwrap();
        m.set_input(C, &[0, 0, 300, -5]).unwrap();
        m.mix();
        assert_eq!(out(&m, A), [0, 200, 300, -5]);
        assert_eq!(out(&m, B), [100, 0, 300, -5]);
        assert_eq!(out(&m, C), [100, 200, 0, 0]);
    }

    #[test]
    fn loud_sums_saturate_instead_of_wrapping() {
        let mut m = mixer(&[A, B, C]);
        m.set_input(A, &[30_000, -30_000, 20_000, 0]).unwrap();
        m.set_input(B, &[30_000, -30_000, -20_000, 0]).unwrap();
        m.mix();
        assert_eq!(out(&m, C), [i16::MAX, i16::MIN, 0, 0]);
        assert_eq!(out(&m, A), [30_000, -30_000, -20_000, 0]);
    }

    #[test]
    fn a_member_without_input_is_silent_and_inputs_are_used_once() {
        let mut m = mixer(&[A, B]);
        m.set_input(A, &[7, 7, 7, 7]).unwrap();
        m.mix();
        assert_eq!(out(&m, B), [7; 4]);
        assert_eq!(m.level(B), Some(AudioLevel::SILENT));
        m.mix(); // nothing new from A this frame
        assert_eq!(out(&m, B), [0; 4]);
        assert_eq!(m.level(A), Some(AudioLevel::SILENT));
    }

    #[test]
    fn short_inputs_are_padded_and_members_come_and_go() {
        let mut m = mixer(&[A, B]);
        m.set_input(A, &[1, 2]).unwrap();
        m.set_input(B, &[1, 1, 1, 1, 9, 9]).unwrap();
        m.mix();
        assert_eq!(out(&m, B), [1, 2, 0, 0]);
        m.remove(A);
        assert!(m.output(A, &mut [0; 4]).is_err());
        assert!(m.set_input(A, &[1]).is_err());
        assert_eq!(m.level(A), None);
    }

    #[test]
    fn member_count_is_bounded() {
        let mut m = Mixer::new(160);
        for i in 0..MAX_MEMBERS as u32 {
            m.add(MemberId(i)).unwrap();
        }
        assert!(m.add(MemberId(9999)).is_err());
        m.add(MemberId(0)).unwrap(); // already there
    }

    fn sine(amplitude: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amplitude * (i as f64 * 2.0 * std::f64::consts::PI / 16.0).sin()) as i16)
            .collect()
    }

    #[test]
    fn levels_are_in_minus_dbov() {
        assert_eq!(AudioLevel::of(&[i16::MAX; 160]).minus_dbov(), 0);
        assert_eq!(AudioLevel::of(&[0; 160]), AudioLevel::SILENT);
        assert_eq!(AudioLevel::of(&[]), AudioLevel::SILENT);
        assert_eq!(AudioLevel::of(&sine(32_767.0, 160)).minus_dbov(), 3);
        assert_eq!(AudioLevel::of(&sine(3_277.0, 160)).minus_dbov(), 23);
        assert_eq!(AudioLevel::of(&[1, -1, 1, -1]).minus_dbov(), 90);
        // The mixer reports them per input.
        let mut m = Mixer::new(160);
        m.add(A).unwrap();
        m.add(B).unwrap();
        m.set_input(A, &sine(32_767.0, 160)).unwrap();
        m.set_input(B, &sine(3_277.0, 160)).unwrap();
        m.mix();
        assert!(m.level(A).unwrap() < m.level(B).unwrap());
    }
}
