//! The tones a caller hears while not in the meeting: asked for the PIN, told it was wrong,
//! waiting in the lobby (R4: the lobby gets no media of the meeting, only these). Sans-IO: a
//! pattern of tone and silence, generated at the phone's 8 kHz one frame at a time.

/// The phone's sample rate unless told otherwise (narrowband).
const RATE: u32 = 8_000;
/// Loud enough to hear on a handset, soft enough not to startle: about -16 dBov.
const AMPLITUDE: f32 = 5_000.0;

/// What the caller is being told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Enter the meeting's PIN, then `#`: two short rising beeps, repeated every few seconds.
    EnterPin,
    /// That PIN was wrong: three low beeps (then the caller is asked again).
    Wrong,
    /// In the lobby, waiting for the chair: one soft beep every four seconds.
    Waiting,
    /// Nothing (before the first prompt, or while hanging up).
    Silence,
}

/// One piece of a pattern: a tone of `hz` (0 for silence) lasting `ms`.
#[derive(Clone, Copy)]
struct Segment {
    hz: u32,
    ms: u32,
}

const fn seg(hz: u32, ms: u32) -> Segment {
    Segment { hz, ms }
}

impl Prompt {
    /// The pattern, repeated for as long as the prompt lasts.
    fn pattern(self) -> &'static [Segment] {
        const ENTER_PIN: [Segment; 4] = [seg(660, 150), seg(0, 100), seg(880, 150), seg(0, 3_000)];
        const WRONG: [Segment; 6] = [
            seg(350, 120),
            seg(0, 80),
            seg(350, 120),
            seg(0, 80),
            seg(350, 120),
            seg(0, 1_000),
        ];
        const WAITING: [Segment; 2] = [seg(425, 200), seg(0, 3_800)];
        const SILENCE: [Segment; 1] = [seg(0, 1_000)];
        match self {
            Prompt::EnterPin => &ENTER_PIN,
            Prompt::Wrong => &WRONG,
            Prompt::Waiting => &WAITING,
            Prompt::Silence => &SILENCE,
        }
    }

    /// How long one round of the pattern lasts, in samples at `rate`.
    fn period(self, rate: u32) -> u64 {
        self.pattern()
            .iter()
            .map(|s| u64::from(s.ms) * u64::from(rate) / 1_000)
            .sum()
    }
}

/// Plays one prompt from its start, frame by frame.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    prompt: Prompt,
    /// Samples a second.
    rate: u32,
    /// Samples played since the prompt began.
    played: u64,
}

impl PromptPlayer {
    /// At the narrowband 8 kHz.
    pub fn new(prompt: Prompt) -> Self {
        Self::at(prompt, RATE)
    }

    /// At `rate` samples a second (16000 for a wideband call).
    pub fn at(prompt: Prompt, rate: u32) -> Self {
        Self {
            prompt,
            rate: rate.max(1),
            played: 0,
        }
    }

    pub fn prompt(&self) -> Prompt {
        self.prompt
    }

    /// Starts `prompt` from its beginning (a prompt set again starts over).
    pub fn set(&mut self, prompt: Prompt) {
        *self = Self::at(prompt, self.rate);
    }

    /// Whether one whole round of the prompt has been played (a `Wrong` is heard once).
    pub fn played_once(&self) -> bool {
        self.played >= self.prompt.period(self.rate)
    }

    /// Fills `pcm` with the next samples of the prompt.
    pub fn fill(&mut self, pcm: &mut [i16]) {
        let period = self.prompt.period(self.rate).max(1);
        for sample in pcm.iter_mut() {
            let at = self.played % period;
            *sample = self.sample_at(at);
            self.played += 1;
        }
    }

    fn sample_at(&self, mut at: u64) -> i16 {
        for s in self.prompt.pattern() {
            let len = u64::from(s.ms) * u64::from(self.rate) / 1_000;
            if at < len {
                if s.hz == 0 {
                    return 0;
                }
                // A 5 ms fade at both ends, so that the beep does not click.
                let fade = u64::from(self.rate / 200).max(1);
                let edge = at.min(len - 1 - at).min(fade) as f32 / fade as f32;
                let phase = 2.0 * std::f32::consts::PI * s.hz as f32 * at as f32 / self.rate as f32;
                return (AMPLITUDE * edge * phase.sin()) as i16;
            }
            at -= len;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn power_at(pcm: &[i16], hz: f32) -> f32 {
        // Goertzel: the energy of one frequency.
        let k = 2.0 * (2.0 * std::f32::consts::PI * hz / RATE as f32).cos();
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in pcm {
            let s = x as f32 + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - k * s1 * s2) / pcm.len() as f32
    }

    #[test]
    fn each_prompt_is_its_own_tone_then_silence() {
        for (prompt, hz) in [
            (Prompt::EnterPin, 660.0),
            (Prompt::Wrong, 350.0),
            (Prompt::Waiting, 425.0),
        ] {
            let mut player = PromptPlayer::new(prompt);
            let mut beep = vec![0i16; 800]; // the first 100 ms
            player.fill(&mut beep);
            assert!(
                power_at(&beep, hz) > 100.0 * power_at(&beep, 1_000.0),
                "{prompt:?} is not mostly {hz} Hz"
            );
            let mut rest = vec![0i16; 8_000];
            player.fill(&mut rest);
            let loud = rest.iter().filter(|s| s.unsigned_abs() > 100).count();
            assert!(
                loud < 4_000,
                "{prompt:?} does not pause: {loud} loud samples"
            );
        }
    }

    #[test]
    fn prompts_repeat_and_wrong_is_heard_once() {
        let mut player = PromptPlayer::new(Prompt::Waiting);
        let mut round = vec![0i16; 32_000]; // one round of four seconds
        player.fill(&mut round);
        let mut again = vec![0i16; 32_000];
        player.fill(&mut again);
        assert_eq!(round, again);
        player.set(Prompt::Wrong);
        assert!(!player.played_once());
        let mut pcm = vec![0i16; 160];
        for _ in 0..80 {
            player.fill(&mut pcm);
        }
        assert!(player.played_once());
    }

    #[test]
    fn silence_is_silent_and_beeps_do_not_click() {
        let mut player = PromptPlayer::new(Prompt::Silence);
        let mut pcm = vec![1i16; 1_600];
        player.fill(&mut pcm);
        assert!(pcm.iter().all(|s| *s == 0));
        let mut player = PromptPlayer::new(Prompt::Waiting);
        let mut pcm = vec![0i16; 1_700];
        player.fill(&mut pcm);
        assert!(pcm[0].abs() < 10 && pcm[1_599].abs() < 200, "no fade");
    }
}
