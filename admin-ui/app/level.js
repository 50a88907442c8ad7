// A microphone level meter: shows that one's voice is picked up before anyone else hears it
// (the join page and the lobby). Reads the microphone through Web Audio; sends nothing.

const QUIET = 0.05; // below this the meter says nothing is heard

export class LevelMeter {
  /// `meter` is a <meter> from 0 to 1; `words` says in text whether the voice is heard, for
  /// those who cannot see the bar move.
  constructor(meter, words, t) {
    this.meter = meter;
    this.words = words;
    this.t = t;
    this.timer = null;
    this.heard = false;
  }

  /// Starts following the microphone of `stream` (and stops following any other).
  attach(stream) {
    this.detach();
    const track = stream?.getAudioTracks()[0];
    if (!track) {
      this.say('join.levelNone');
      return;
    }
    try {
      this.ctx = new AudioContext();
      const source = this.ctx.createMediaStreamSource(new MediaStream([track]));
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      source.connect(this.analyser);
    } catch {
      this.say('join.levelNone');
      return;
    }
    // A page not yet touched may start its audio suspended: the first tap or key resumes it.
    const resume = () => this.ctx?.resume().catch(() => {});
    for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, resume, { once: true });
    resume();
    const samples = new Float32Array(this.analyser.fftSize);
    let peak = 0;
    let lastHeard = 0;
    this.heard = false;
    this.say('join.levelQuiet');
    this.timer = setInterval(() => {
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // Loudness on a scale a speaking voice fills: RMS of about 0.1 shows as most of the bar.
      const level = Math.min(1, Math.sqrt(sum / samples.length) * 8);
      peak = Math.max(level, peak * 0.8);
      this.meter.value = peak;
      const now = Date.now();
      if (level >= QUIET) lastHeard = now;
      const heard = now - lastHeard < 1500;
      if (heard !== this.heard) {
        this.heard = heard;
        this.say(heard ? 'join.levelHeard' : 'join.levelQuiet');
      }
    }, 100);
  }

  say(key) {
    this.key = key;
    if (this.words) this.words.textContent = this.t(key);
  }

  /// After a change of language.
  retranslate() {
    if (this.key) this.say(this.key);
  }

  detach() {
    clearInterval(this.timer);
    this.timer = null;
    this.ctx?.close().catch(() => {});
    this.ctx = null;
    this.meter.value = 0;
  }
}
