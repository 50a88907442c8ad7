// The meeting grid: one tile per participant, ours first.
import { h } from './dom.js';
import { t, ATTESTABLE_METHODS } from './i18n.js';

export class Tiles {
  /// `list` holds the tiles (on a phone, the strip that scrolls sideways); `stage` the one
  /// shown large on a phone, with one's own picture in its corner.
  constructor(list, stage, call) {
    this.list = list;
    this.stage = stage;
    this.call = call;
    this.phone = window.matchMedia('(max-width: 47.99rem)');
    this.phone.addEventListener('change', () => this.render());
    this.tiles = new Map(); // participant id -> {li, video, caption}
    // Tiles this page does not show (scrolled away on a phone, or the tab in the background):
    // the server pauses their video toward us, and the audio goes on.
    this.offscreen = new Set();
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = e.target.dataset.participantId;
        if (e.isIntersecting) this.offscreen.delete(id); else this.offscreen.add(id);
      }
      this.reportHidden();
    });
    document.addEventListener('visibilitychange', () => this.reportHidden());
    // How tall each tile is on this screen: the relay sends a thumbnail a small layer.
    this.heights = new Map(); // participant id -> tile height in device pixels
    this.resizer = new ResizeObserver((entries) => {
      for (const e of entries) {
        this.heights.set(e.target.dataset.participantId, Math.round(e.contentRect.height * (window.devicePixelRatio || 1)));
      }
      clearTimeout(this.sizeTimer);
      this.sizeTimer = setTimeout(() => this.reportSizes(), 150);
    });
    this.layout = 'grid';
    // A camera that is on and shown but whose picture has stopped: on a weak link the relay
    // turns the smallest tiles' video off so that the voices get through. The tile says so
    // rather than showing a frozen picture.
    this.frames = new Map(); // participant id -> { frames, since }
    setInterval(() => this.watchFrames().catch(() => {}), 1000);
    call.addEventListener('video-paused', () => this.watchFrames().catch(() => {}));
    call.addEventListener('admitted', () => {
      this.lastHidden = null;
      this.lastSizes = null;
      this.reportHidden();
      this.reportSizes();
    });
  }

  /// Tells the server how tall each camera's tile is, when that changes.
  reportSizes() {
    const tiles = [...this.tiles.keys()]
      .filter((id) => this.heights.has(id))
      .map((id) => ({ participant_id: id, height: this.heights.get(id) }));
    const key = JSON.stringify(tiles);
    if (key === this.lastSizes) return;
    this.lastSizes = key;
    this.call.setTileSizes(tiles);
  }

  /// Marks the tiles whose picture the relay stopped for our weak link at once, and those
  /// whose picture has not moved for 3 s while their camera is on (a link that stalls).
  async watchFrames() {
    const pc = this.call.pc;
    if (!pc || document.hidden) return;
    const decoded = new Map(); // track id -> frames decoded
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') decoded.set(r.trackIdentifier, r.framesDecoded || 0);
    });
    const now = Date.now();
    for (const [id, tile] of this.tiles) {
      const track = tile.stream?.getVideoTracks()[0];
      const frames = track ? decoded.get(track.id) : undefined;
      const last = this.frames.get(id);
      // A camera turned off or a tile not shown is not expected to move: its clock restarts.
      const expected = !this.call.participants.get(id)?.video_muted && !this.offscreen.has(id);
      if (!last || !expected || frames === undefined || frames > last.frames) this.frames.set(id, { frames: frames ?? 0, since: now });
      const paused = expected && this.call.pausedForLink.has(id);
      tile.li.toggleAttribute('data-paused-for-link', paused);
      tile.stalled.hidden = !(paused || (frames > 0 && now - this.frames.get(id).since >= 3000));
    }
  }

  /// 'grid': every tile the same size. 'speaker': the one talking large, the rest as a row of
  /// thumbnails (which then get a small video layer, sparing a weak link).
  setLayout(layout) {
    this.layout = layout;
    this.list.classList.toggle('speaker-view', layout === 'speaker');
    this.render();
  }

  /// Tells the server which cameras we do not show, when that changes.
  reportHidden() {
    const hidden = document.hidden ? [...this.tiles.keys()] : [...this.offscreen].filter((id) => this.tiles.has(id));
    const key = hidden.sort().join(',');
    if (key === this.lastHidden) return;
    this.lastHidden = key;
    this.call.setHiddenVideos(hidden);
  }

  /// Our own tile: the local preview, muted so we do not hear ourselves.
  addSelf(stream, name) {
    const video = h('video', { autoplay: true, playsinline: true, muted: true });
    video.muted = true;
    video.srcObject = stream;
    const caption = h('p', { class: 'caption' });
    const off = offCard();
    const li = h('li', { class: 'tile self', dataset: { self: '1' } },
      h('div', { class: 'frame' }, video, off.el), h('div', { class: 'tile-bar' }, caption));
    this.self = { li, video, caption, name, off };
    this.list.prepend(li);
    this.renderSelf();
  }

  renderSelf() {
    if (!this.self) return;
    const muted = this.call.audioMuted ? ` · ${t('meeting.muted')}` : '';
    const route = this.call.myAudio && this.call.myAudio !== 'browser' ? ` · ${t(`phone.route.${this.call.myAudio}`)}` : '';
    this.self.caption.textContent = `${this.self.name} (${t('meeting.you')})${muted}${route}`;
    this.self.li.classList.toggle('camera-off', Boolean(this.call.videoMuted));
    this.self.off.update(this.self.name, t('meeting.cameraIsOff'));
  }

  /// The chair's controls on someone's tile: identification, mute, remove.
  chairActions(id) {
    const select = h('select', { 'aria-label': t('chair.identify'), class: 'identify' },
      h('option', { value: '' }, t('id.none')),
      ...ATTESTABLE_METHODS.map((m) => h('option', { value: m }, t(`id.${m}`))),
      // Shown when a login proved it; never the chair's to choose (R5).
      ...['e_identification', 'staff_login'].map((m) => h('option', { value: m, disabled: true }, t(`id.${m}`))));
    select.addEventListener('change', () => { if (select.value) this.call.identify(id, select.value); });
    const el = h('div', { class: 'tile-actions', id: `actions-${id}`, hidden: true },
      select,
      h('button', { type: 'button', class: 'secondary small', onclick: () => this.call.muteOther(id) }, t('chair.mute')),
      // Removing someone cannot be undone: it asks first.
      h('button', { type: 'button', class: 'secondary small', onclick: () => {
        const name = this.call.participants.get(id)?.display_name ?? '';
        if (confirm(t('chair.confirmRemove').replace('{name}', name))) this.call.remove(id);
      } }, t('chair.remove')));
    const handOver = h('button', { type: 'button', class: 'secondary small hand-over', hidden: true, onclick: () => this.call.handOver(id) }, t('chair.handOver'));
    const share = h('button', { type: 'button', class: 'secondary small allow-share', 'aria-pressed': 'false' }, t('chair.allowShare'));
    share.addEventListener('click', () => this.call.allowScreen(id, share.getAttribute('aria-pressed') !== 'true'));
    // R14: move this person's voice to their phone (a number to call), or back.
    const number = h('input', { type: 'tel', class: 'phone-number', autocomplete: 'off', maxlength: '32',
      placeholder: '070-123 45 67', 'aria-label': t('phone.number') });
    const form = h('form', { class: 'phone-form', hidden: true }, number,
      h('button', { type: 'submit', class: 'primary small' }, t('phone.call')),
      h('button', { type: 'button', class: 'secondary small', onclick: () => { form.hidden = true; phone.focus(); } }, t('phone.cancel')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!number.value.trim()) { number.focus(); return; }
      this.call.moveAudioToPhone(id, number.value.trim());
      number.value = '';
      form.hidden = true;
    });
    const phone = h('button', { type: 'button', class: 'secondary small to-phone' }, t('phone.move'));
    phone.addEventListener('click', () => {
      const route = this.call.participants.get(id)?.audio ?? 'browser';
      if (route !== 'browser') { this.call.audioToBrowser(id); return; }
      form.hidden = false;
      number.focus();
    });
    // R14: keys toward someone in by phone (a reception's menu, an extension).
    const keyInput = h('input', { type: 'text', inputmode: 'tel', class: 'phone-keys', autocomplete: 'off',
      maxlength: '32', pattern: '[0-9*#]{1,32}', 'aria-label': t('phone.keysLabel') });
    const keysForm = h('form', { class: 'keys-form', hidden: true }, keyInput,
      h('button', { type: 'submit', class: 'primary small' }, t('phone.keysSend')),
      h('button', { type: 'button', class: 'secondary small', onclick: () => { keysForm.hidden = true; keys.focus(); } }, t('phone.cancel')));
    keysForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const typed = keyInput.value.replace(/\s/g, '');
      if (!/^[0-9*#]{1,32}$/.test(typed)) { keyInput.focus(); return; }
      this.call.sendPhoneKeys(id, typed);
      keyInput.value = '';
    });
    const keys = h('button', { type: 'button', class: 'secondary small keypad', hidden: true,
      onclick: () => { keysForm.hidden = false; keyInput.focus(); } }, t('phone.keys'));
    el.append(handOver, share, phone, form, keys, keysForm);
    // The chair's actions open from a button under the picture and unfold below it: nothing
    // the chair needs is ever laid over someone's video.
    const menu = h('button', { type: 'button', class: 'tile-menu', 'aria-expanded': 'false', 'aria-controls': el.id });
    const setOpen = (open) => {
      el.hidden = !open;
      menu.setAttribute('aria-expanded', String(open));
    };
    menu.addEventListener('click', () => setOpen(el.hidden));
    el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { setOpen(false); menu.focus(); }
    });
    return { el, menu, setOpen, select, handOver, share, phone, form, keys, keysForm };
  }

  /// Brings the grid in line with the call's participants and remote streams.
  render() {
    for (const [id, p] of this.call.participants) {
      let tile = this.tiles.get(id);
      if (!tile) {
        const video = h('video', { autoplay: true, playsinline: true });
        const caption = h('p', { class: 'caption' });
        const idState = h('p', { class: 'id-state' });
        const actions = this.chairActions(id);
        const verified = h('p', { class: 'verified' });
        const stalled = h('p', { class: 'stalled', hidden: true, role: 'status' }, t('meeting.videoStalled'));
        const off = offCard();
        const linkState = h('p', { class: 'link-state', hidden: true });
        const frame = h('div', { class: 'frame' }, video, off.el, stalled, idState, linkState);
        const li = h('li', { class: 'tile', dataset: { participantId: id } },
          frame, h('div', { class: 'tile-bar' }, caption, actions.menu), verified, actions.el);
        tile = { li, video, off, stalled, caption, idState, linkState, verified, actions, stream: null };
        this.tiles.set(id, tile);
        this.list.append(li);
        // Where a picture can be pinned (speaker view, a phone), a tap or click on it brings
        // that person up large and a second lets go; for the keyboard and screen readers a
        // button lies over it (Enter or Space), which pointer events pass through.
        const pin = h('button', { type: 'button', class: 'pin', hidden: true });
        const toggle = () => {
          this.pinned = this.pinned === id ? null : id;
          this.render();
        };
        pin.addEventListener('click', (e) => { e.stopPropagation(); toggle(); });
        frame.addEventListener('click', () => { if (!pin.hidden) toggle(); });
        frame.append(pin);
        this.observer.observe(li);
        this.resizer.observe(li);
      }
      const stream = this.call.remote.get(id) ?? null;
      if (stream && (tile.stream !== stream || tile.trackCount !== stream.getTracks().length)) {
        tile.stream = stream;
        tile.trackCount = stream.getTracks().length;
        tile.video.srcObject = stream;
        tile.video.play().catch(() => {});
      }
      const notes = [];
      if (p.role === 'chair') notes.push(t('meeting.chair'));
      if (p.audio_muted) notes.push(t('meeting.muted'));
      // A connection that is being restored is said on the picture, in words.
      tile.linkState.hidden = p.connection !== 'reconnecting';
      tile.linkState.textContent = t('meeting.tileReconnecting');
      // R14: where their voice goes, in words on the tile; a caller is there by phone alone.
      if (p.by_phone) notes.push(t('phone.caller'));
      else if (p.audio && p.audio !== 'browser') notes.push(t(`phone.route.${p.audio}`));
      tile.caption.textContent = notes.length ? `${p.display_name} · ${notes.join(' · ')}` : p.display_name;
      tile.li.classList.toggle('reconnecting', p.connection === 'reconnecting');
      // R5: everyone sees how each person was identified, and who is not.
      tile.idState.textContent = t(p.identification ? `id.${p.identification}` : 'id.none');
      tile.li.classList.toggle('unidentified', !p.identification);
      // Only the chair is ever sent what e-identification proved.
      const v = this.call.isChair ? this.call.verified.get(id) : null;
      tile.verified.textContent = v ? `${t('eid.verified')}: ${v.name}, ${v.number}` : '';
      tile.verified.hidden = !v;
      tile.actions.menu.hidden = !this.call.isChair;
      tile.actions.menu.textContent = t('chair.menu');
      tile.actions.menu.setAttribute('aria-label', `${t('chair.menu')}: ${p.display_name}`);
      if (!this.call.isChair) tile.actions.setOpen(false);
      tile.actions.select.value = p.identification ?? '';
      // R7: the chair can be handed only to logged-in staff.
      tile.actions.handOver.hidden = !p.staff;
      tile.actions.share.setAttribute('aria-pressed', String(Boolean(p.may_share_screen)));
      tile.actions.share.textContent = t(p.may_share_screen ? 'chair.disallowShare' : 'chair.allowShare');
      tile.actions.phone.textContent = t((p.audio ?? 'browser') === 'browser' ? 'phone.move' : 'phone.back');
      // A caller has no browser to move a voice from or back to, and no screen to share.
      tile.actions.phone.hidden = Boolean(p.by_phone);
      tile.actions.share.hidden = Boolean(p.by_phone);
      tile.actions.keys.hidden = !p.by_phone;
      if (!p.by_phone) tile.actions.keysForm.hidden = true;
      tile.li.classList.toggle('audio-by-phone', p.audio === 'phone');
      tile.li.classList.toggle('camera-off', Boolean(p.video_muted));
      tile.off.update(p.display_name, t(p.by_phone ? 'phone.caller' : 'meeting.cameraIsOff'));
      tile.li.classList.toggle('speaking', this.call.speaker === id);
      const pin = tile.li.querySelector('.frame > .pin');
      pin.hidden = !(this.layout === 'speaker' || this.phone.matches);
      pin.setAttribute('aria-pressed', String(this.pinned === id));
      pin.setAttribute('aria-label', `${t('meeting.pin')}: ${p.display_name}`);
    }
    // In speaker view the pinned person is shown large, else the one talking, else the first.
    if (this.pinned && !this.tiles.has(this.pinned)) this.pinned = null;
    const speaker = this.call.speaker && this.tiles.has(this.call.speaker) ? this.call.speaker : null;
    const featured = this.pinned ?? speaker ?? this.tiles.keys().next().value;
    for (const [id, tile] of this.tiles) {
      tile.li.classList.toggle('featured', id === featured);
      tile.li.classList.toggle('pinned', id === this.pinned);
    }
    this.place(featured);
    for (const [id, tile] of this.tiles) {
      if (!this.call.participants.has(id)) {
        this.observer.unobserve(tile.li);
        this.resizer.unobserve(tile.li);
        this.offscreen.delete(id);
        this.heights.delete(id);
        this.frames.delete(id);
        tile.li.remove();
        this.tiles.delete(id);
      }
    }
    this.list.dataset.count = String(this.tiles.size + 1);
    this.renderSelf();
  }

  /// Puts each tile where this screen shows it. On a phone the featured person goes to the
  /// stage with one's own picture in its corner (one's own picture alone when nobody else is
  /// there) and everyone else to the strip; elsewhere every tile is in the grid, ours first.
  place(featured) {
    const phone = this.phone.matches;
    const move = (li, parent, first = false) => {
      if (li.parentElement === parent && (!first || parent.firstElementChild === li)) return;
      if (first) parent.prepend(li); else parent.append(li);
      // A moved video element pauses in some browsers.
      li.querySelector('video')?.play().catch(() => {});
    };
    for (const [id, tile] of this.tiles) {
      if (phone && id === featured) move(tile.li, this.stage, true);
      else if (tile.li.parentElement !== this.list) move(tile.li, this.list);
    }
    if (this.self) {
      this.self.li.classList.toggle('featured', phone && this.tiles.size === 0);
      move(this.self.li, phone ? this.stage : this.list, !phone);
    }
  }
}

/// What a tile shows while the camera is off: the person's initials and, in words, why there
/// is no picture.
function offCard() {
  const initials = h('span', { class: 'initials', 'aria-hidden': 'true' });
  const text = h('span', { class: 'off-text' });
  const el = h('div', { class: 'off-card' }, initials, text);
  return {
    el,
    update(name, why) {
      const letters = String(name ?? '').trim().split(/\s+/).filter(Boolean).slice(0, 2)
        .map((w) => w[0].toUpperCase()).join('');
      initials.textContent = letters || '?';
      text.textContent = why;
    },
  };
}
