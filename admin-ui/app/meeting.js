// A meeting's page for staff (/meeting?id=m_...): its invitations with their state, "new
// link" (the old one stops working; the new one is shown this once with its neutral text and
// calendar file, R13), revoking, opening the meeting as its chair, and cancelling, which asks
// first. The page asks again every few seconds while it is in view, so that a patient who
// knocks shows up as waiting without a reload.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, translatePage, errorText, currentLang } from './i18n.js';

translatePage();

const POLL_MS = 4000;
const meetingId = new URLSearchParams(location.search).get('id') ?? '';
const path = `/meetings/${encodeURIComponent(meetingId)}`;
const CALLER_ROLE = { convener: 'home.asConvener', invited: 'home.asInvited', admin: 'home.asAdmin' };
let detail = null;
let shape = '';
let icsUrl = null;

document.addEventListener('sluss:lang', () => { shape = ''; if (detail) render(detail); });
document.getElementById('open-chair').addEventListener('click', () => {
  const chair = current().find(({ inv }) => inv.role === 'chair');
  // Someone is on the chair's link now (most likely this nurse in another tab): ask first.
  if (chair && ['in_meeting', 'waiting'].includes(chair.inv.state)) {
    document.getElementById('open-confirm').hidden = false;
    document.getElementById('open-yes').focus();
  } else {
    openAsChair();
  }
});
document.getElementById('open-yes').addEventListener('click', openAsChair);
document.getElementById('open-no').addEventListener('click', () => { document.getElementById('open-confirm').hidden = true; });
document.getElementById('cancel').addEventListener('click', () => {
  document.getElementById('cancel-confirm').hidden = false;
  document.getElementById('cancel-yes').focus();
});
document.getElementById('cancel-no').addEventListener('click', () => {
  document.getElementById('cancel-confirm').hidden = true;
  document.getElementById('cancel').focus();
});
document.getElementById('cancel-yes').addEventListener('click', cancelMeeting);
document.getElementById('add-invitation').addEventListener('submit', addInvitation);
document.getElementById('new-link-copy').addEventListener('click', async (e) => {
  try { await navigator.clipboard.writeText(document.getElementById('new-link-url').value); e.target.textContent = t('home.copied'); } catch { /* no clipboard */ }
});

// Where the error shown came from: a load (gone with the next good one) or an action.
let errorFrom = null;
await load();
setInterval(() => { if (document.visibilityState === 'visible' && detail && !detail.ended_at) load(); }, POLL_MS);

async function load() {
  try {
    render(await api('GET', path));
    // A failed load's error goes when a load succeeds; an action's stays until the next one.
    if (errorFrom === 'load') hideError();
  } catch (e) {
    fail(e, 'load');
  }
}

function fail(e, from = 'action') {
  const error = document.getElementById('error');
  error.textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
  error.hidden = false;
  errorFrom = from;
}

function hideError() {
  document.getElementById('error').hidden = true;
  errorFrom = null;
}

const when = (secs) => new Date(secs * 1000).toLocaleString(currentLang() === 'sv' ? 'sv-SE' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const mayChange = (d) => (d.caller_role === 'convener' || d.caller_role === 'admin') && !d.ended_at;

/// Each invitation with its label ("Patient 2"): numbered by role in the order they were
/// made; a new link carries the label of the one it replaced.
function labelled(invitations) {
  const labelOf = new Map();
  const counts = {};
  return invitations.map((inv) => {
    let label = inv.replaces && labelOf.get(inv.replaces);
    if (!label) {
      counts[inv.role] = (counts[inv.role] ?? 0) + 1;
      label = inv.role === 'chair' ? t('role.chair') : `${t(`role.${inv.role}`)} ${counts[inv.role]}`;
    }
    labelOf.set(inv.invitation_id, label);
    return { inv, label };
  });
}

const current = () => labelled(detail?.invitations ?? []).filter(({ inv }) => !inv.replaced_by);

function render(d) {
  detail = d;
  document.getElementById('meeting-page').hidden = false;
  document.title = `${d.title} – Sluss`;
  document.getElementById('meeting-title').textContent = d.title;
  const status = document.getElementById('meeting-status');
  status.textContent = d.ended_at ? t('mp.ended').replace('{when}', when(d.ended_at)) : t(`mp.status.${d.status}`);
  status.dataset.status = d.status;
  const time = d.starts_at ? `${when(d.starts_at)}, ${d.duration_minutes ?? 60} min` : t('mp.noTime');
  document.getElementById('meeting-when').textContent = `${time} · ${d.participants} ${t('home.participants')}`;
  document.getElementById('meeting-role').textContent = t(CALLER_ROLE[d.caller_role] ?? 'home.asInvited');
  const changeable = mayChange(d);
  document.getElementById('chair-card').hidden = !changeable;
  document.getElementById('cancel-card').hidden = !changeable;
  document.getElementById('add-invitation').hidden = !changeable;
  const all = labelled(d.invitations);
  // Re-drawn only when something other than the states changed, so that focus stays put.
  const newShape = JSON.stringify([currentLang(), changeable, all.map(({ inv }) => [inv.invitation_id, inv.replaced_by, inv.revoked_at])]);
  if (newShape !== shape) {
    shape = newShape;
    const live = all.filter(({ inv }) => !inv.replaced_by);
    const earlier = all.filter(({ inv }) => inv.replaced_by);
    document.getElementById('invitations').replaceChildren(...live.map((x) => invitationItem(x, changeable)));
    document.getElementById('earlier-list').replaceChildren(...earlier.map((x) => invitationItem(x, false)));
    document.getElementById('earlier').hidden = earlier.length === 0;
    document.getElementById('earlier-summary').textContent = `${t('mp.earlier')} (${earlier.length})`;
  }
  for (const { inv } of all) {
    const item = document.querySelector(`li[data-invitation="${CSS.escape(inv.invitation_id)}"]`);
    if (!item) continue;
    item.dataset.state = inv.state;
    item.querySelector('.state').textContent = t(`mp.state.${inv.state}`);
    item.querySelector('.inv-times').textContent = times(inv);
  }
}

function times(inv) {
  const parts = [];
  if (inv.opened_at) parts.push(`${t('mp.opened')} ${when(inv.opened_at)}`);
  if (inv.entered_at) parts.push(`${t('mp.entered')} ${when(inv.entered_at)}`);
  if (inv.revoked_at) parts.push(`${t('mp.revokedAt')} ${when(inv.revoked_at)}`);
  else if (inv.expires_at) parts.push(`${t('mp.validUntil')} ${when(inv.expires_at)}`);
  return parts.join(' · ');
}

function invitationItem({ inv, label }, changeable) {
  const item = h('li', { dataset: { invitation: inv.invitation_id, role: inv.role, state: inv.state } },
    // A staff invitation naming an account shows whose it is.
    h('span', { class: 'inv-name' }, inv.staff_name ? `${label} · ${inv.staff_name}` : label),
    h('span', { class: 'state' }, t(`mp.state.${inv.state}`)),
    h('span', { class: 'inv-times muted' }, times(inv)));
  if (!changeable || inv.revoked_at) return item;
  const actions = h('span', { class: 'inv-actions' });
  const renew = h('button', { type: 'button', class: 'small', 'aria-label': `${t('mp.newLink')}: ${label}` }, t('mp.newLink'));
  renew.addEventListener('click', () => {
    // Whoever is on the old link now is put out by it: ask first.
    if (['in_meeting', 'waiting'].includes(item.dataset.state)) {
      confirmIn(actions, t('mp.newLinkQuestion'), t('mp.newLink'), () => reissue(inv, label));
    } else {
      reissue(inv, label);
    }
  });
  actions.append(renew);
  if (inv.role !== 'chair') {
    const revoke = h('button', { type: 'button', class: 'small', 'aria-label': `${t('home.revoke')}: ${label}` }, t('home.revoke'));
    revoke.addEventListener('click', () => confirmIn(actions, t('mp.revokeQuestion'), t('home.revoke'), () => revokeLink(inv)));
    actions.append(revoke);
  }
  item.append(actions);
  return item;
}

/// A question with "yes" and "no" inside `where`, instead of a dialog box.
function confirmIn(where, question, yes, onYes) {
  where.querySelector('.confirm')?.remove();
  const box = h('span', { class: 'confirm', role: 'group', 'aria-label': question },
    h('span', {}, question), ' ');
  const yesButton = h('button', { type: 'button', class: 'danger small' }, yes);
  const noButton = h('button', { type: 'button', class: 'small' }, t('mp.no'));
  yesButton.addEventListener('click', () => { box.remove(); onYes(); });
  noButton.addEventListener('click', () => box.remove());
  box.append(yesButton, ' ', noButton);
  where.append(box);
  yesButton.focus();
}

async function reissue(inv, label) {
  hideError();
  try {
    const renewed = await api('POST', `${path}/invitations/${encodeURIComponent(inv.invitation_id)}/reissue`);
    showNewLink(renewed, `${t('mp.newLinkFor')} ${label}`, true);
    await load();
  } catch (e) {
    fail(e);
    await load();
  }
}

function showNewLink(renewed, heading, replacing) {
  const panel = document.getElementById('new-link');
  document.getElementById('new-link-heading').textContent = heading;
  document.getElementById('new-link-note').textContent = replacing ? `${t('mp.onceOnly')} ${t('mp.oldDead')}` : t('mp.onceOnly');
  document.getElementById('new-link-url').value = renewed.link;
  document.getElementById('new-link-copy').textContent = t('home.copy');
  document.getElementById('new-link-text').textContent = renewed.text;
  const ics = document.getElementById('new-link-ics');
  if (icsUrl) URL.revokeObjectURL(icsUrl);
  icsUrl = renewed.ics ? URL.createObjectURL(new Blob([renewed.ics], { type: 'text/calendar' })) : null;
  ics.hidden = !icsUrl;
  if (icsUrl) ics.href = icsUrl;
  panel.hidden = false;
  panel.focus();
}

/// One more invitation (R3: one per person and role); its link is shown this once.
async function addInvitation(event) {
  hideError();
  event.preventDefault();
  try {
    const role = document.getElementById('add-role').value;
    const added = await api('POST', `${path}/invitations`, { role });
    await load();
    const label = current().find(({ inv }) => inv.invitation_id === added.invitation_id)?.label ?? t(`role.${role}`);
    showNewLink(added, `${t('mp.linkFor')} ${label}`, false);
  } catch (e) {
    fail(e);
  }
}

async function revokeLink(inv) {
  hideError();
  try {
    await api('DELETE', `${path}/invitations/${encodeURIComponent(inv.invitation_id)}`);
  } catch (e) {
    fail(e);
  }
  await load();
}

/// The chair's link is renewed (the old one stops working: it may be lost) and opened here.
async function openAsChair() {
  hideError();
  const chair = current().find(({ inv }) => inv.role === 'chair');
  if (!chair) return;
  try {
    const renewed = await api('POST', `${path}/invitations/${encodeURIComponent(chair.inv.invitation_id)}/reissue`);
    location.assign(renewed.link);
  } catch (e) {
    fail(e);
  }
}

async function cancelMeeting() {
  hideError();
  document.getElementById('cancel-confirm').hidden = true;
  try {
    await api('DELETE', path);
    document.getElementById('status').textContent = t('home.cancelled');
    shape = '';
    await load();
  } catch (e) {
    fail(e);
  }
}
