// One participant's connection to a meeting: the signaling WebSocket and the RTCPeerConnection,
// with automatic reconnection. Messages from the server are handled strictly in order.

import { videoConstraints } from './prejoin.js';

// Messages that always end the call. Whether an `error` ends it is the server's to say, in its
// `fatal` field (sluss_protocol::ErrorCode::is_fatal): the page keeps no list of fatal codes.
const TERMINAL = new Set(['denied', 'removed', 'meeting_ended', 'superseded', 'opened_elsewhere']);
const MAX_RETRIES = 10;

/// The camera's simulcast layers, lowest first: a quarter, half and full size (from 960×540:
/// 240×135, 480×270, 960×540). A browser whose camera gives less sends fewer.
/// Each in three temporal layers (L1T3): a viewer on a weak link can get the smallest at a
/// quarter or half of the frame rate.
const CAMERA_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 450_000, scalabilityMode: 'L1T3' },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_200_000, scalabilityMode: 'L1T3' },
];

/// `?ice=tcp` keeps only the gateway's TCP candidates: how support checks the ICE-TCP path a
/// patient behind a UDP-blocking network would take.
function remoteSdp(sdp) {
  if (new URLSearchParams(location.search).get('ice') !== 'tcp') return sdp;
  return sdp.split('\r\n').filter((l) => !(l.startsWith('a=candidate:') && / udp /i.test(l))).join('\r\n');
}

export class Call extends EventTarget {
  constructor({ token, name, stream }) {
    super();
    this.token = token;
    this.name = name;
    this.stream = stream;
    this.participantId = null;
    this.role = null;
    this.resume = null;
    this.participants = new Map(); // id -> participant object from the server (the room)
    this.lobby = new Map(); // id -> participant waiting to be let in (the chair's view)
    this.meeting = null; // {chair_id, locked, consent_recorded}
    this.admitted = false;
    this.remote = new Map(); // id -> MediaStream of that participant's tracks
    this.pc = null;
    this.ws = null;
    this.queue = Promise.resolve();
    this.retries = 0;
    this.closed = false;
    this.disconnectTimer = null;
    this.pingTimer = null;
    this.audioMuted = false;
    this.tracks = new Map(); // mid -> {participant_id, kind} from the server's offers
    this.pausedForLink = new Set(); // cameras the relay does not send us: our link is too weak
    this.screens = new Map(); // participant id -> MediaStream of their shared window or tab
    this.screenSender = null;
    this.screenTrack = null; // our own shared window or tab, once the server granted it
    this.pendingScreen = null;
    this.mayShare = false;
    this.iceServers = []; // TURN servers with short-lived credentials, when configured
    this.speaker = null; // who is talking, as the server hears it from the audio levels
    this.verified = new Map(); // R5, chair only: participant id -> {name, number} from e-identification
  }

  /// The camera is off exactly when our stream has no camera track (turned off, joined with it
  /// off, or there is none).
  get videoMuted() {
    return this.stream.getVideoTracks().length === 0;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  start() {
    this.connect();
  }

  connect() {
    this.emit('state', this.retries === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(`wss://${location.host}/ws`);
    this.ws = ws;
    ws.addEventListener('open', () => {
      const join = { type: 'join', v: 1, token: this.token, display_name: this.name };
      if (this.resume) join.resume = this.resume;
      ws.send(JSON.stringify(join));
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), 20000);
    });
    ws.addEventListener('message', (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      // The end of the call is never held up behind a renegotiation still in progress.
      if (TERMINAL.has(message.type) || (message.type === 'error' && message.fatal === true)) {
        this.handle(message).catch((e) => console.warn('sluss:', e));
        return;
      }
      this.queue = this.queue.then(() => this.handle(message)).catch((e) => console.warn('sluss:', e));
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pingTimer);
      if (this.ws === ws && !this.closed) this.reconnect();
    });
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  async handle(m) {
    switch (m.type) {
      case 'joined':
        this.retries = 0;
        this.participantId = m.participant_id;
        this.role = m.role;
        this.resume = m.resume;
        this.admitted = m.admitted;
        this.iceServers = m.ice_servers ?? [];
        if (!m.admitted) {
          this.emit('lobby');
          break;
        }
        await this.enterRoom(m.participants, m.meeting);
        break;
      case 'admitted':
        this.admitted = true;
        this.iceServers = m.ice_servers ?? [];
        await this.enterRoom(m.participants, m.meeting);
        break;
      case 'knock':
        this.lobby.set(m.participant.participant_id, m.participant);
        this.emit('knock', { participant: m.participant });
        break;
      case 'meeting_state_changed':
        this.meeting = m.meeting;
        await this.syncScreen();
        this.emit('meeting');
        break;
      case 'active_speaker':
        this.speaker = m.participant_id;
        this.emit('speaker');
        break;
      case 'video_paused':
        // The relay stopped (or resumed) sending us this camera: our link is too weak for it.
        if (m.paused) this.pausedForLink.add(m.participant_id);
        else this.pausedForLink.delete(m.participant_id);
        this.emit('video-paused');
        break;
      case 'verified_identity':
        this.verified.set(m.participant_id, { name: m.name, number: m.personal_identity_number });
        this.emit('participants', { changed: m.participant_id, kind: m.type });
        break;
      case 'chat':
        this.emit('chat', { from: m.from, name: m.display_name, text: m.text });
        break;
      case 'mute_requested':
        this.setAudioMuted(true);
        this.emit('muted-by-chair');
        break;
      case 'denied':
      case 'removed':
      case 'superseded':
      case 'opened_elsewhere':
      case 'meeting_ended':
        this.end();
        this.emit('fatal', { code: m.type });
        break;
      case 'answer':
        await this.pc?.setRemoteDescription({ type: 'answer', sdp: remoteSdp(m.sdp) });
        break;
      case 'offer': {
        if (!this.pc) return;
        this.tracks = new Map(m.tracks.map((t) => [t.mid, t]));
        await this.pc.setRemoteDescription({ type: 'offer', sdp: remoteSdp(m.sdp) });
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ type: 'answer', sdp: this.pc.localDescription.sdp });
        break;
      }
      case 'participant_joined':
      case 'participant_updated': {
        const p = m.participant;
        if (p.participant_id === this.participantId) {
          this.mayShare = p.may_share_screen;
          this.myAudio = p.audio ?? 'browser';
          this.myIdentification = p.identification ?? null;
          this.emit('self');
          break;
        }
        if (p.admitted) {
          this.lobby.delete(p.participant_id);
          this.participants.set(p.participant_id, p);
        } else {
          this.lobby.set(p.participant_id, p);
        }
        this.emit('participants', { changed: p.participant_id, kind: m.type });
        break;
      }
      case 'participant_left':
        this.participants.delete(m.participant_id);
        this.lobby.delete(m.participant_id);
        this.remote.delete(m.participant_id);
        this.emit('participants', { changed: m.participant_id, kind: m.type });
        break;
      case 'error':
        if (m.code === 'screen_share_refused') this.dropPendingScreen();
        if (m.fatal === true) {
          this.end();
          this.emit('fatal', { code: m.code, message: m.message });
        } else {
          this.emit('notice', { code: m.code, message: m.message });
        }
        break;
      default:
        break;
    }
  }

  async enterRoom(participants, meeting) {
    this.participants = new Map(participants.map((p) => [p.participant_id, p]));
    this.pausedForLink.clear(); // a new connection starts with every camera sent
    for (const id of [...this.remote.keys()]) if (!this.participants.has(id)) this.remote.delete(id);
    this.meeting = meeting;
    this.emit('admitted');
    this.emit('participants');
    this.emit('meeting');
    await this.negotiate();
    this.send({ type: 'media_state', audio_muted: this.audioMuted, video_muted: this.videoMuted });
    // A new connection starts with every camera on; tell the server again what we do not show.
    if (this.hiddenVideos?.length) this.send({ type: 'hidden_videos', participant_ids: this.hiddenVideos });
    if (this.tileSizes?.length) this.send({ type: 'tile_sizes', tiles: this.tileSizes });
  }

  get isChair() {
    return Boolean(this.meeting && this.meeting.chair_id === this.participantId);
  }

  // The chair's actions; the server refuses them from anyone else.
  admit(id) { this.lobby.delete(id); this.send({ type: 'admit', participant_id: id }); this.emit('participants'); }
  deny(id) { this.lobby.delete(id); this.send({ type: 'deny', participant_id: id }); this.emit('participants'); }
  remove(id) { this.send({ type: 'remove', participant_id: id }); }
  muteOther(id) { this.send({ type: 'mute', participant_id: id }); }
  identify(id, method) { this.send({ type: 'identify', participant_id: id, method }); }
  setLocked(locked) { this.send({ type: 'lock', locked }); }
  recordConsent() { this.send({ type: 'record_consent' }); }
  endMeeting() { this.send({ type: 'end_meeting' }); }
  setChat(enabled) { this.send({ type: 'set_chat', enabled }); }
  handOver(id) { this.send({ type: 'hand_over', participant_id: id }); }

  sendChat(text) { this.send({ type: 'chat', text }); }

  /// How tall each camera's tile is here, in device pixels: [{participant_id, height}].
  setTileSizes(tiles) {
    this.tileSizes = tiles;
    if (this.admitted) this.send({ type: 'tile_sizes', tiles });
  }

  setHiddenVideos(ids) {
    this.hiddenVideos = ids;
    if (this.admitted) this.send({ type: 'hidden_videos', participant_ids: ids });
  }

  /// R11: share a window or tab. The browser asks which; whole screens are not offered.
  async startShare() {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { displaySurface: 'window' },
      audio: false,
      monitorTypeSurfaces: 'exclude',
      selfBrowserSurface: 'exclude',
      surfaceSwitching: 'include',
    });
    this.pendingScreen = stream.getVideoTracks()[0];
    this.pendingScreen.addEventListener('ended', () => this.stopShare());
    this.send({ type: 'start_screen_share' });
  }

  stopShare() {
    this.send({ type: 'stop_screen_share' });
    this.dropPendingScreen();
    this.dropScreen();
  }

  dropPendingScreen() {
    this.pendingScreen?.stop();
    this.pendingScreen = null;
  }

  dropScreen() {
    if (this.screenTrack) {
      this.screenTrack.stop();
      this.screenTrack = null;
      this.screenSender?.replaceTrack(null).catch(() => {});
    }
  }

  /// Follows the server: our share starts when granted and stops when the server says so.
  async syncScreen() {
    const mine = this.meeting?.screen_sharer === this.participantId;
    if (mine && this.pendingScreen) {
      this.screenTrack = this.pendingScreen;
      this.pendingScreen = null;
      await this.screenSender?.replaceTrack(this.screenTrack);
    } else if (!mine) {
      this.dropScreen();
    }
  }

  allowScreen(id, allowed) { this.send({ type: 'allow_screen_share', participant_id: id, allowed }); }
  /// R14: Sluss calls `number` and, once answered, that person's voice goes by phone.
  moveAudioToPhone(id, number) { this.send({ type: 'move_audio_to_phone', participant_id: id, number }); }
  sendPhoneKeys(id, keys) { this.send({ type: 'send_phone_keys', participant_id: id, keys }); }
  /// R14: Sluss calls `number`; whoever answers knocks in the lobby.
  callIn(number) { this.send({ type: 'call_in', number }); }
  /// R14: the voice goes by the browser again (the chair for anyone, anyone for themself).
  audioToBrowser(id) { this.send({ type: 'audio_to_browser', participant_id: id }); }

  /// A fresh peer connection that publishes our camera and microphone.
  async negotiate() {
    this.closePc();
    // `?relay=only` sends all media through the TURN server: how support checks a network
    // that blocks UDP to the gateway (and how the TURN test proves the path).
    const relayOnly = new URLSearchParams(location.search).get('relay') === 'only';
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    this.pc = pc;
    // What each sending m-line carries is said with the offer: the relay takes nothing for a
    // screen from where it sits.
    const sources = [];
    for (const track of this.stream.getAudioTracks()) {
      sources.push([pc.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] }), 'microphone']);
    }
    // The camera goes out in three sizes (simulcast); the relay sends each viewer the one that
    // fits its link and the tile it shows. Lowest first: the relay relies on the order. Its
    // m-line is there with the camera off too (sending nothing), so the camera can come back
    // without renegotiating.
    // Without a camera (none, or turned off) its encodings start inactive: a sender without a
    // track would still pad them, hundreds of kbit/s of the uplink.
    const track = this.stream.getVideoTracks()[0];
    const camera = track ?? 'video';
    const sendEncodings = CAMERA_LAYERS.map((l) => ({ ...l, active: Boolean(track) }));
    let cameraTransceiver;
    try {
      cameraTransceiver = pc.addTransceiver(camera, { direction: 'sendonly', streams: [this.stream], sendEncodings });
    } catch {
      // A browser that knows no scalability modes still sends the three sizes.
      const plain = sendEncodings.map(({ scalabilityMode, ...l }) => l);
      cameraTransceiver = pc.addTransceiver(camera, { direction: 'sendonly', streams: [this.stream], sendEncodings: plain });
    }
    this.cameraSender = cameraTransceiver.sender;
    sources.push([cameraTransceiver, 'camera']);
    // R11: a third m-line, reserved for a shared window or tab. It carries nothing until the
    // server grants a share, and the server forwards nothing from it otherwise.
    const screenTransceiver = pc.addTransceiver('video', { direction: 'sendonly', streams: [this.stream] });
    this.screenSender = screenTransceiver.sender;
    sources.push([screenTransceiver, 'screen']);
    if (this.screenTrack) await this.screenSender.replaceTrack(this.screenTrack);
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && e.candidate.candidate) {
        this.send({ type: 'candidate', candidate: e.candidate.candidate, sdp_mid: e.candidate.sdpMid });
      }
    });
    pc.addEventListener('track', (e) => this.onTrack(e));
    pc.addEventListener('connectionstatechange', () => this.onConnectionState(pc));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // The mids exist once the offer is set.
    const declared = sources.map(([t, source]) => ({ mid: t.mid, source })).filter((d) => d.mid !== null);
    this.send({ type: 'offer', sdp: pc.localDescription.sdp, sources: declared });
  }

  onTrack(event) {
    const id = event.streams[0]?.id;
    if (!id) return;
    if (this.tracks.get(event.transceiver?.mid)?.kind === 'screen') {
      this.screens.set(id, new MediaStream([event.track]));
      this.emit('track', { participantId: id, screen: true });
      return;
    }
    let stream = this.remote.get(id);
    if (!stream) {
      stream = new MediaStream();
      this.remote.set(id, stream);
    }
    for (const old of stream.getTracks().filter((t) => t.kind === event.track.kind)) stream.removeTrack(old);
    stream.addTrack(event.track);
    this.emit('track', { participantId: id });
  }

  onConnectionState(pc) {
    if (pc !== this.pc || this.closed) return;
    clearTimeout(this.disconnectTimer);
    if (pc.connectionState === 'connected') {
      this.emit('state', 'connected');
    } else if (pc.connectionState === 'failed') {
      this.reconnect();
    } else if (pc.connectionState === 'disconnected') {
      this.emit('state', 'reconnecting');
      this.disconnectTimer = setTimeout(() => {
        if (pc === this.pc && pc.connectionState !== 'connected') this.reconnect();
      }, 5000);
    }
  }

  reconnect() {
    if (this.closed) return;
    this.teardown();
    if (this.retries >= MAX_RETRIES) {
      this.end();
      this.emit('fatal', { code: 'generic' });
      return;
    }
    const delay = Math.min(1000 * 2 ** this.retries, 10000);
    this.retries += 1;
    this.emit('state', 'reconnecting');
    setTimeout(() => { if (!this.closed) this.connect(); }, delay);
  }

  closePc() {
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.close();
    }
  }

  teardown() {
    clearTimeout(this.disconnectTimer);
    clearInterval(this.pingTimer);
    this.closePc();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }

  setAudioMuted(muted) {
    this.audioMuted = muted;
    for (const t of this.stream.getAudioTracks()) t.enabled = !muted;
    this.send({ type: 'media_state', audio_muted: this.audioMuted, video_muted: this.videoMuted });
  }

  /// Without a track the browser would still pad the camera's streams to hold its bandwidth
  /// estimate (hundreds of kbit/s of a patient's mobile uplink); inactive, they send nothing.
  async setCameraActive(active) {
    const sender = this.cameraSender;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    for (const e of params.encodings) e.active = active;
    await sender.setParameters(params).catch((e) => console.warn('sluss: camera encodings', e));
  }

  /// Camera off releases the camera (its light goes out) and sends nothing, rather than
  /// black pictures the relay would pass on to everyone; on asks for it again.
  async setVideoMuted(muted) {
    if (muted) {
      for (const t of this.stream.getVideoTracks()) {
        this.cameraId = t.getSettings().deviceId;
        t.stop();
        this.stream.removeTrack(t);
      }
      await this.cameraSender?.replaceTrack(null).catch(() => {});
      await this.setCameraActive(false);
    } else if (this.videoMuted) {
      let track;
      // The camera used before, else any (the one used before may have been unplugged).
      for (const id of this.cameraId ? [this.cameraId, undefined] : [undefined]) {
        try {
          track = (await navigator.mediaDevices.getUserMedia({ video: videoConstraints(id) })).getVideoTracks()[0];
          break;
        } catch { /* try the next */ }
      }
      if (!track) {
        // No camera, or it is busy or blocked: it stays off.
        this.emit('notice', { code: 'camera_unavailable' });
        return;
      }
      if (this.closed) {
        track.stop();
        return;
      }
      this.stream.addTrack(track);
      await this.cameraSender?.replaceTrack(track).catch(() => {});
      await this.setCameraActive(true);
    }
    this.emit('camera', { on: !muted });
    this.send({ type: 'media_state', audio_muted: this.audioMuted, video_muted: this.videoMuted });
  }

  leave() {
    this.send({ type: 'leave' });
    this.end();
  }

  /// The call is over for good, whatever ended it: nothing reconnects, and the camera, the
  /// microphone and a shared window are released at once (the camera's light goes out).
  end() {
    this.closed = true;
    this.teardown();
    this.dropPendingScreen();
    this.dropScreen();
    for (const t of this.stream.getTracks()) t.stop();
  }
}
