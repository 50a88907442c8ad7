// The join page: check the personal link, preview camera and microphone, then the meeting.
import { api, ApiError } from './api.js';
import { Call } from './call.js';
import { Preview } from './prejoin.js';
import { Tiles } from './tiles.js';
import { ChairPanel } from './chair.js';
import { LevelMeter } from './level.js';
import { Room } from './room.js';
import { setControl } from './icons.js';
import { t, translatePage, errorText } from './i18n.js';

const $ = (id) => document.getElementById(id);

// Refusals that in the room answer nothing but a chat message: shown beside the chat box.
const CHAT_REFUSALS = new Set(['personal_identity_number', 'unspaced_phone_number', 'chat_off']);
translatePage();

// The token travels in the fragment, which browsers never send to a server. Take it out of the
// address bar at once; keep it for this tab only, so a reload still works.
let token = location.hash.slice(1);
if (token) {
  try { sessionStorage.setItem('sluss.token', token); } catch { /* private mode */ }
  history.replaceState(null, '', location.pathname + location.search);
} else {
  try { token = sessionStorage.getItem('sluss.token') ?? ''; } catch { token = ''; }
}

const status = $('status');
function setStatus(key) {
  status.textContent = key ? t(key) : '';
}

/// The page's last word (left, ended, refused): what happened, what to do next, and for
/// staff the way back to the start page. `next` is false where the text says what to do.
function showMessage(text, next = true) {
  $('prejoin').hidden = true;
  $('meeting').hidden = true;
  $('lobby').hidden = true;
  setStatus(null);
  $('message-text').textContent = text;
  $('message-next').textContent = next ? t('ended.next') : '';
  $('message').hidden = false;
  // Staff have a start page to go back to; a guest's session check is a quiet 401.
  fetch('/api/v1/session').then((r) => { if (r.ok) $('message-home').hidden = false; }).catch(() => {});
}

/// When a meeting ended, in the page's language.
function endedText(at) {
  if (!at) return t('error.meeting_ended');
  const lang = document.documentElement.lang || 'sv';
  const when = new Date(at * 1000).toLocaleString(lang, { dateStyle: 'long', timeStyle: 'short' });
  return t('ended.at').replace('{when}', when);
}

async function main() {
  if (!token) {
    showMessage(t('join.noToken'), false);
    return;
  }
  setStatus('join.checking');
  let link;
  try {
    link = await api('POST', '/links/inspect', { token });
    if (link.meeting === 'ended') {
      showMessage(endedText(link.ended_at));
      return;
    }
  } catch (e) {
    showMessage(e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic'), false);
    return;
  }
  setStatus(null);
  // R5: where the meeting requires it, the guest identifies before anything else.
  if (link.require_eid && link.role !== 'chair' && !link.identified_as) {
    $('prejoin').hidden = false;
    $('eid').hidden = false;
    $('join-form').hidden = true;
    $('eid-start').addEventListener('click', async () => {
      try {
        const { url } = await api('POST', '/eid/start', { token });
        location.assign(url);
      } catch (e) {
        $('eid-error').textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
        $('eid-error').hidden = false;
      }
    });
    return;
  }
  if (link.identified_as) {
    $('eid-done').textContent = `${t('eid.done')} ${link.identified_as}.`;
    $('eid-done').hidden = false;
    $('name').value = link.identified_as;
  }
  $('prejoin').hidden = false;
  const preview = new Preview($('preview'), $('camera'), $('microphone'), $('join-note'));
  // The microphone's level, so that one sees one's voice is heard before going in.
  const meter = new LevelMeter($('mic-level'), $('mic-level-text'), t);
  preview.onStream = (stream) => meter.attach(stream);
  document.addEventListener('sluss:lang', () => meter.retranslate());
  // Staff who are logged in find their own name filled in.
  if (!$('name').value) {
    fetch('/api/v1/session').then((r) => (r.ok ? r.json() : null)).then((s) => {
      if (s?.display_name && !$('name').value) $('name').value = s.display_name;
    }).catch(() => {});
  }
  $('name').addEventListener('input', () => {
    if ($('name').value.trim()) {
      $('name').removeAttribute('aria-invalid');
      $('name-error').hidden = true;
    }
  });
  const showNoDevices = () => {
    $('join-error').textContent = t('join.noDevices');
    $('join-error').hidden = false;
  };
  // The form must never submit itself, even if someone clicks before the camera is up.
  const ready = preview.acquire().then(() => true, () => { showNoDevices(); return false; });
  $('join-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = $('name').value.trim();
    if (!name) {
      // Said in words beside the field (read with it), not only a red border.
      $('name').setAttribute('aria-invalid', 'true');
      $('name-error').hidden = false;
      $('name').focus();
      return;
    }
    $('name').removeAttribute('aria-invalid');
    $('name-error').hidden = true;
    if (!(await ready) || !preview.stream) {
      showNoDevices();
      return;
    }
    const stream = preview.stream;
    const camera = stream.getVideoTracks()[0]?.getSettings().deviceId;
    if ($('camera-off').checked) {
      // In with the camera off: released now, and nothing is sent for it until turned on.
      for (const track of stream.getVideoTracks()) {
        track.stop();
        stream.removeTrack(track);
      }
    }
    meter.detach();
    enterMeeting(name, stream, camera);
  }, { once: false });
  $('name').focus();
}

function enterMeeting(name, stream, camera) {
  $('prejoin').hidden = true;
  const call = new Call({ token, name, stream });
  call.cameraId = camera; // the one chosen on the join page, when the camera is turned on
  const tiles = new Tiles($('tiles'), $('stage'), call);
  const chair = new ChairPanel(call);
  tiles.addSelf(stream, name);
  const room = new Room(call, tiles);
  window.sluss = Object.freeze({
    get pc() { return call.pc; },
    get participantId() { return call.participantId; },
    get stream() { return call.stream; },
  });

  const mic = $('mic');
  const cam = $('cam');
  const renderControls = () => {
    room.render();
    tiles.renderSelf();
  };
  // Grid or speaker view; a thumbnail gets a small video layer, which spares a weak link.
  $('layout').addEventListener('click', () => {
    tiles.setLayout(tiles.layout === 'speaker' ? 'grid' : 'speaker');
    room.render();
  });
  const share = $('share');
  const renderShare = () => {
    const sharer = call.meeting?.screen_sharer ?? null;
    share.hidden = !(call.isChair || call.mayShare);
    setControl(share, { name: 'share', label: t(sharer === call.participantId ? 'share.stop' : 'share.start') });
    const area = $('screen-area');
    const stream = sharer && sharer !== call.participantId ? call.screens.get(sharer) : null;
    const mine = sharer === call.participantId && call.screenTrack ? new MediaStream([call.screenTrack]) : null;
    const show = stream ?? mine;
    area.hidden = !show;
    if (show && $('screen-video').srcObject?.getVideoTracks()[0] !== show.getVideoTracks()[0]) {
      $('screen-video').srcObject = show;
    }
    const who = sharer === call.participantId ? t('meeting.you') : call.participants.get(sharer)?.display_name;
    $('screen-caption').textContent = show ? `${t('share.by')} ${who ?? ''}` : '';
  };
  share.addEventListener('click', async () => {
    if (call.meeting?.screen_sharer === call.participantId) {
      call.stopShare();
    } else {
      try { await call.startShare(); } catch { /* the person cancelled the picker */ }
    }
    renderShare();
  });
  call.addEventListener('self', renderShare);
  // R14: one's own voice by phone: said in words, with the way back to the browser.
  const renderPhone = () => {
    const route = call.myAudio ?? 'browser';
    $('phone-banner').hidden = route === 'browser';
    $('phone-banner-text').textContent = route === 'browser' ? '' : t(`phone.self.${route}`);
    tiles.renderSelf();
    room.render();
  };
  $('audio-back').addEventListener('click', () => call.audioToBrowser(call.participantId));
  call.addEventListener('self', renderPhone);
  call.addEventListener('meeting', renderShare);
  call.addEventListener('track', renderShare);
  mic.addEventListener('click', () => { call.setAudioMuted(!call.audioMuted); renderControls(); });
  cam.addEventListener('click', async () => {
    cam.disabled = true;
    try {
      await call.setVideoMuted(!call.videoMuted);
    } finally {
      cam.disabled = false;
      renderControls();
    }
  });
  call.addEventListener('camera', (e) => {
    // The self view shows the camera's new track (a stream's added track is not always picked up).
    if (e.detail.on) {
      tiles.self.video.srcObject = null;
      tiles.self.video.srcObject = call.stream;
    }
    renderControls();
  });
  $('leave').addEventListener('click', () => {
    call.leave();
    try { sessionStorage.removeItem('sluss.token'); } catch { /* private mode */ }
    showMessage(t('meeting.left'));
  });
  document.addEventListener('sluss:lang', () => { renderControls(); tiles.render(); chair.render(); renderShare(); });
  renderControls();

  // Someone let in from the lobby is told so once the call is up (not just "connected").
  let justAdmitted = false;
  call.addEventListener('state', (e) => {
    if (justAdmitted && e.detail === 'connected') {
      justAdmitted = false;
      setStatus('lobby.admitted');
      return;
    }
    setStatus(`meeting.${e.detail}`);
  });
  // The lobby says one thing: waiting, with the chair told (not "connecting" above it).
  // While waiting one can see one's picture and one's voice's level.
  const lobbyMeter = new LevelMeter($('lobby-level'), $('lobby-level-text'), t);
  document.addEventListener('sluss:lang', () => lobbyMeter.retranslate());
  call.addEventListener('lobby', () => {
    $('meeting').hidden = true;
    if ($('lobby').hidden) {
      $('lobby-preview').srcObject = call.stream;
      lobbyMeter.attach(call.stream);
    }
    $('lobby').hidden = false;
    setStatus(null);
  });
  $('lobby-leave').addEventListener('click', () => {
    call.leave();
    try { sessionStorage.removeItem('sluss.token'); } catch { /* private mode */ }
    showMessage(t('meeting.left'));
  });
  call.addEventListener('admitted', () => {
    const waited = !$('lobby').hidden;
    $('lobby').hidden = true;
    lobbyMeter.detach();
    $('lobby-preview').srcObject = null;
    $('meeting').hidden = false;
    // Said in words (and to a screen reader) when someone was waiting to be let in.
    if (waited) {
      justAdmitted = true;
      setStatus('lobby.admitted');
    }
  });
  call.addEventListener('meeting', () => { chair.render(); tiles.render(); room.render(); });
  call.addEventListener('knock', (e) => chair.knock(e.detail.participant));
  call.addEventListener('speaker', () => tiles.render());
  // R10: shown as it arrives, kept nowhere; leaving the page forgets it.
  // The last message sent, until the server passes it on or refuses it: a refused one comes
  // back into the box to be corrected (a phone number written with spaces, say).
  let unsent = null;
  const chatError = $('chat-error');
  const showChatError = (text) => {
    chatError.textContent = text ?? '';
    chatError.hidden = !text;
    if (text) $('chat-text').setAttribute('aria-invalid', 'true');
    else $('chat-text').removeAttribute('aria-invalid');
  };
  call.addEventListener('chat', (e) => {
    if (e.detail.from === call.participantId) {
      unsent = null;
      showChatError(null);
    }
    const li = document.createElement('li');
    const who = document.createElement('strong');
    who.textContent = `${e.detail.from === call.participantId ? t('meeting.you') : e.detail.name}: `;
    li.append(who, document.createTextNode(e.detail.text));
    $('chat-log').append(li);
    if (e.detail.from !== call.participantId) room.message();
  });
  $('chat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('chat-text').value.trim();
    showChatError(null);
    if (text) {
      unsent = text;
      call.sendChat(text);
    }
    $('chat-text').value = '';
  });
  call.addEventListener('muted-by-chair', () => { renderControls(); status.textContent = t('meeting.mutedByChair'); });
  call.addEventListener('participants', () => { tiles.render(); chair.render(); room.render(); });
  call.addEventListener('track', () => tiles.render());
  call.addEventListener('notice', (e) => {
    const text = errorText(e.detail.code, e.detail.message);
    if (!CHAT_REFUSALS.has(e.detail.code)) {
      status.textContent = text;
      return;
    }
    // The sender stays in the call; the refusal is told where the message was written.
    showChatError(`${t('chat.notSent')} ${text}`);
    if (unsent !== null && !$('chat-text').value) $('chat-text').value = unsent;
    unsent = null;
    $('chat-text').focus();
  });
  call.addEventListener('fatal', (e) => {
    showMessage(errorText(e.detail.code, e.detail.message), e.detail.code !== 'login_required');
    if (e.detail.code === 'login_required') {
      const a = document.createElement('a');
      a.href = '/login';
      a.textContent = t('login.link');
      $('message').append(a);
    }
  });
  call.start();
}

main();
