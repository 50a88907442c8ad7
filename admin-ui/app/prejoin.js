// The pre-join view: camera and microphone preview with device choice.

/// Audio constraints. `?testaudio=raw` turns off the processing that would change a test tone.
function audioConstraints(deviceId) {
  const raw = new URLSearchParams(location.search).get('testaudio') === 'raw';
  const c = raw ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : {};
  if (deviceId) c.deviceId = { exact: deviceId };
  return Object.keys(c).length ? c : true;
}

export function videoConstraints(deviceId) {
  // 960×540: sharp enough for a face on a large screen, and three simulcast layers.
  const c = { width: { ideal: 960 }, height: { ideal: 540 }, frameRate: { ideal: 24 } };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

export class Preview {
  /// `soundOnlyNote` is shown while no camera could be started.
  constructor(video, cameraSelect, micSelect, soundOnlyNote) {
    this.video = video;
    this.soundOnlyNote = soundOnlyNote;
    this.cameraSelect = cameraSelect;
    this.micSelect = micSelect;
    this.stream = null;
    cameraSelect.addEventListener('change', () => this.acquire());
    micSelect.addEventListener('change', () => this.acquire());
  }

  /// Starts (or restarts with the chosen devices) the camera and microphone.
  async acquire() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(this.micSelect.value),
        video: videoConstraints(this.cameraSelect.value),
      });
    } catch {
      // No camera, or it is busy or blocked for this site while the microphone is allowed:
      // join with sound only. Without a microphone this fails too, and the page says the
      // microphone could not be started.
      stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(this.micSelect.value) });
    }
    this.stop();
    this.stream = stream;
    this.soundOnly = stream.getVideoTracks().length === 0;
    if (this.soundOnlyNote) this.soundOnlyNote.hidden = !this.soundOnly;
    this.video.srcObject = stream;
    this.onStream?.(stream);
    await this.listDevices();
    return stream;
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, track) => {
      const current = track?.getSettings().deviceId;
      select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
        const o = document.createElement('option');
        o.value = d.deviceId;
        o.textContent = d.label || `${kind} ${i + 1}`;
        o.selected = d.deviceId === current;
        return o;
      }));
    };
    fill(this.cameraSelect, 'videoinput', this.stream?.getVideoTracks()[0]);
    fill(this.micSelect, 'audioinput', this.stream?.getAudioTracks()[0]);
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
  }
}
