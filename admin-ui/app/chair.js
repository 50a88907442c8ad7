// The chair's panel: the lobby with admit and deny, lock, consent and ending the meeting.
import { h } from './dom.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

export class ChairPanel {
  constructor(call) {
    this.call = call;
    $('lock').addEventListener('click', () => call.setLocked(!call.meeting?.locked));
    $('chat-toggle').addEventListener('click', () => call.setChat(!call.meeting?.chat_enabled));
    $('consent').addEventListener('click', () => call.recordConsent());
    $('end').addEventListener('click', () => { $('end-confirm').hidden = false; $('end-yes').focus(); });
    $('end-no').addEventListener('click', () => { $('end-confirm').hidden = true; $('end').focus(); });
    $('end-yes').addEventListener('click', () => call.endMeeting());
    // R14: call someone in by phone; they come to the lobby when they answer.
    $('call-in').addEventListener('submit', (e) => {
      e.preventDefault();
      const number = $('call-in-number');
      if (!number.value.trim()) { number.focus(); return; }
      call.callIn(number.value.trim());
      number.value = '';
    });
  }

  /// Someone knocked: show them, announce it and make a sound, so the chair cannot miss it.
  knock(participant) {
    this.render();
    $('knock-announce').textContent = `${participant.display_name} ${t('lobby.knock')}`;
    chime();
    const item = document.querySelector(`#lobby-list [data-participant-id="${CSS.escape(participant.participant_id)}"]`);
    item?.classList.add('new');
  }

  render() {
    const call = this.call;
    $('chair-panel').hidden = !call.isChair;
    const flags = [];
    if (call.meeting?.sensitive) flags.push(t('meeting.sensitive'));
    if (call.meeting?.locked) flags.push(t('meeting.locked'));
    // The patient (and everyone) sees that consent was recorded.
    if (call.meeting?.consent_recorded) flags.push(t('meeting.consentRecorded'));
    // R1: said to everyone while a phone leg goes over a trunk marked unencrypted.
    if (call.meeting?.unencrypted_leg) flags.push(t('meeting.unencryptedLeg'));
    const chatOn = Boolean(call.meeting?.chat_enabled);
    $('chat').hidden = !chatOn;
    // Chat turned on or off is said in words (and to a screen reader), not only shown below.
    if (this.chatOn !== undefined && this.chatOn !== chatOn) {
      $('status').textContent = t(chatOn ? 'chat.turnedOn' : 'chat.turnedOff');
    }
    this.chatOn = chatOn;
    $('meeting-flags').textContent = flags.join(' · ');
    if (!call.isChair) return;
    const list = $('lobby-list');
    if (call.lobby.size === 0) {
      list.replaceChildren(h('li', { class: 'muted' }, t('lobby.empty')));
    } else {
      list.replaceChildren(...[...call.lobby.values()].map((p) => h('li', { dataset: { participantId: p.participant_id } },
        h('span', { class: 'lobby-name' }, p.display_name,
          // Which invitation they came with, beside the name they typed.
          p.invitation ? h('span', { class: 'lobby-role' }, ` · ${t(`role.${p.invitation}`)}`) : null),
        p.reopened ? h('p', { class: 'lobby-reopened' }, t('lobby.reopened')) : null,
        // R14: a caller on the phone, known by their masked number and the PIN's invitation.
        p.by_phone ? h('p', { class: 'lobby-phone' }, t('lobby.byPhone')) : null,
        verifiedNote(call, p.participant_id),
        h('button', { type: 'button', class: 'primary', onclick: () => call.admit(p.participant_id) }, t('lobby.admit')),
        h('button', { type: 'button', class: 'secondary', onclick: () => call.deny(p.participant_id) }, t('lobby.deny')))));
    }
    $('lock').textContent = t(call.meeting?.locked ? 'chair.unlock' : 'chair.lock');
    $('chat-toggle').textContent = t(call.meeting?.chat_enabled ? 'chair.chatOff' : 'chair.chatOn');
    $('chat-toggle').setAttribute('aria-pressed', String(Boolean(call.meeting?.chat_enabled)));
    $('lock').setAttribute('aria-pressed', String(Boolean(call.meeting?.locked)));
    const consent = Boolean(call.meeting?.consent_recorded);
    $('consent').textContent = t(consent ? 'chair.consentDone' : 'chair.consent');
    $('consent').disabled = consent;
  }
}

/// A short two-tone chime through Web Audio.
function chime() {
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0.15;
    gain.connect(ctx.destination);
    [880, 660].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(ctx.currentTime + i * 0.18);
      osc.stop(ctx.currentTime + i * 0.18 + 0.15);
    });
    setTimeout(() => ctx.close(), 800);
  } catch { /* no audio output */ }
}

/// R5, for the chair's eyes only: who an e-identified person proved to be.
export function verifiedNote(call, id) {
  const v = call.verified.get(id);
  return v ? h('span', { class: 'verified' }, `${t('eid.verified')}: ${v.name}, ${v.number}`) : '';
}
