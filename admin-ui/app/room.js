// The meeting room's frame: the control bar (microphone, camera, share, view, chat, more,
// leave), the side panel with the people in the meeting, and the chat panel with its unread
// count. On a phone the side panel and the chat are sheets opened from the bar; on a larger
// screen they are a column beside the pictures.
import { h } from './dom.js';
import { t } from './i18n.js';
import { setControl } from './icons.js';

const $ = (id) => document.getElementById(id);

export class Room {
  constructor(call, tiles) {
    this.call = call;
    this.tiles = tiles;
    this.unread = 0;
    this.sheet = null; // on a phone: 'side', 'chat' or none open
    this.sideClosed = false; // on a larger screen: the side column folded away
    this.phone = window.matchMedia('(max-width: 47.99rem)');
    this.phone.addEventListener('change', () => this.render());
    $('more').addEventListener('click', () => {
      if (this.phone.matches) {
        this.open(this.sheet === 'side' ? null : 'side');
        if (this.sheet === 'side') $('side-close').focus();
      } else {
        this.sideClosed = !this.sideClosed;
      }
      this.render();
    });
    $('side-close').addEventListener('click', () => { this.open(null); $('more').focus(); });
    $('chat-open').addEventListener('click', () => {
      if (this.phone.matches) this.open(this.sheet === 'chat' ? null : 'chat');
      if (this.chatShown()) $('chat-text').focus();
    });
    $('chat-close').addEventListener('click', () => { this.open(null); $('chat-open').focus(); });
    // Escape shuts an open sheet, wherever the focus is, and gives the focus back to its button.
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.phone.matches || !this.sheet) return;
      const back = this.sheet === 'chat' ? $('chat-open') : $('more');
      this.open(null);
      back.focus();
    });
    // Where the room starts on the screen: on a phone it fills the rest of it, bar at the bottom.
    // The sheets end where the bar begins.
    const measure = () => {
      const top = $('meeting').getBoundingClientRect().top + window.scrollY;
      document.documentElement.style.setProperty('--room-top', `${Math.round(top)}px`);
      const bar = $('controls').getBoundingClientRect();
      if (bar.height) document.documentElement.style.setProperty('--bar-h', `${Math.ceil(window.innerHeight - bar.top)}px`);
    };
    window.addEventListener('resize', measure);
    new ResizeObserver(measure).observe(document.querySelector('main'));
    new ResizeObserver(measure).observe($('controls'));
  }

  /// Opens one sheet (or none) on a phone; the chat's unread count goes when it is seen.
  open(sheet) {
    this.sheet = sheet;
    if (this.chatShown()) this.unread = 0;
    this.render();
  }

  /// Whether the chat can be read now without opening anything.
  chatShown() {
    if ($('chat').hidden) return false;
    return !this.phone.matches || this.sheet === 'chat';
  }

  /// A chat message came: counted as unread unless the chat is in sight.
  message() {
    if (!this.chatShown()) this.unread += 1;
    this.render();
  }

  render() {
    const call = this.call;
    const phone = this.phone.matches;
    const chatOn = Boolean(call.meeting?.chat_enabled);
    if (!chatOn) {
      this.unread = 0;
      if (this.sheet === 'chat') this.sheet = null;
    }
    setControl($('mic'), { name: 'mic', crossed: call.audioMuted, label: t(call.audioMuted ? 'meeting.unmute' : 'meeting.mute') });
    $('mic').classList.toggle('off', Boolean(call.audioMuted));
    setControl($('cam'), { name: 'camera', crossed: call.videoMuted, label: t(call.videoMuted ? 'meeting.cameraOn' : 'meeting.cameraOff') });
    $('cam').classList.toggle('off', Boolean(call.videoMuted));
    const speaker = this.tiles.layout === 'speaker';
    setControl($('layout'), { name: speaker ? 'grid' : 'speaker', label: t(speaker ? 'meeting.gridView' : 'meeting.speakerView') });
    $('chat-open').hidden = !chatOn;
    setControl($('chat-open'), { name: 'chat', label: t('chat.heading'), badge: this.unread, badgeWords: t('chat.unread') });
    $('chat-open').setAttribute('aria-expanded', String(chatOn && (phone ? this.sheet === 'chat' : true)));
    // The chair's eye on the lobby: how many wait, on the button that opens it.
    const waiting = call.isChair ? call.lobby.size : 0;
    const sideOpen = phone ? this.sheet === 'side' : !this.sideClosed;
    setControl($('more'), { name: 'more', label: t('meeting.more'), badge: sideOpen ? 0 : waiting, badgeWords: t('lobby.waitingCount') });
    $('more').setAttribute('aria-expanded', String(sideOpen));
    setControl($('leave'), { name: 'leave', label: t('meeting.leave') });
    $('side').classList.toggle('open', phone && this.sheet === 'side');
    $('chat').classList.toggle('open', phone && this.sheet === 'chat');
    $('side').hidden = !phone && this.sideClosed;
    $('meeting').classList.toggle('narrow', !phone && this.sideClosed && !chatOn);
    $('side-heading').textContent = t(call.isChair ? 'side.heading' : 'side.headingGuest');
    this.renderPeople();
  }

  /// Everyone in the meeting with their state in words: how identified, muted, by phone.
  renderPeople() {
    const call = this.call;
    const me = h('li', {}, h('span', { class: 'person-name' }, `${this.tiles.self?.name ?? ''} (${t('meeting.you')})`),
      h('span', { class: 'person-state' }, [
        call.isChair ? t('meeting.chair') : null,
        call.myIdentification ? t(`id.${call.myIdentification}`) : null,
        call.audioMuted ? t('meeting.muted') : null,
        call.myAudio && call.myAudio !== 'browser' ? t(`phone.route.${call.myAudio}`) : null,
      ].filter(Boolean).join(' · ')));
    const others = [...call.participants.values()].map((p) => {
      const state = [
        p.role === 'chair' ? t('meeting.chair') : null,
        t(p.identification ? `id.${p.identification}` : 'id.none'),
        p.audio_muted ? t('meeting.muted') : null,
        p.by_phone ? t('phone.caller') : (p.audio && p.audio !== 'browser' ? t(`phone.route.${p.audio}`) : null),
        p.connection === 'reconnecting' ? t('meeting.tileReconnecting') : null,
      ].filter(Boolean);
      return h('li', { dataset: { participantId: p.participant_id } },
        h('span', { class: 'person-name' }, p.display_name),
        h('span', { class: 'person-state' }, state.join(' · ')));
    });
    $('people-list').replaceChildren(me, ...others);
    $('people-heading').textContent = `${t('people.heading')} (${others.length + 1})`;
  }
}
