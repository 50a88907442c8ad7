// The start page: explains itself to guests; lets an organiser create meetings and invite
// people by role (R3), with neutral texts and calendar files (R13), revoke and cancel (R16).
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, translatePage, errorText } from './i18n.js';

translatePage();

const ROLES = ['patient', 'relative', 'staff', 'professional'];
const session = await api('GET', '/session').catch(() => null);
const methods = await api('GET', '/login/methods').catch(() => ({}));
document.getElementById('require-eid-row').hidden = !methods.citizen_eid;
const organiser = Boolean(session?.organiser);
document.getElementById('guest-info').hidden = Boolean(session);
document.getElementById('organiser').hidden = !organiser;
if (session) {
  document.getElementById('whoami').hidden = false;
  document.getElementById('whoami-name').textContent = session.display_name;
  document.getElementById('logout').addEventListener('click', async () => {
    await api('POST', '/logout').catch(() => {});
    location.reload();
  });
  if (session.roles.includes('auditor')) {
    document.getElementById('auditor').hidden = false;
    const { startAudit } = await import('./audit.js');
    await startAudit().catch(() => {});
  }
  if (session.roles.includes('admin')) {
    document.getElementById('admin').hidden = false;
    document.getElementById('new-user').addEventListener('submit', createUser);
    const { listAccounts } = await import('./accounts.js');
    await listAccounts().catch(() => {});
  }
}
if (organiser) {
  document.getElementById('new-meeting').addEventListener('submit', createMeeting);
  await listMeetings();
  // The lists are written in the page's language: a switch writes them again.
  document.addEventListener('sluss:lang', () => { listMeetings().catch(() => {}); });
}

async function createUser(event) {
  event.preventDefault();
  const roles = ['staff'];
  if (document.getElementById('new-admin').checked) roles.push('admin');
  if (document.getElementById('new-auditor').checked) roles.push('auditor');
  const error = document.getElementById('user-error');
  error.hidden = true;
  try {
    const r = await api('POST', '/users', {
      username: document.getElementById('new-username').value,
      display_name: document.getElementById('new-name').value,
      roles,
    });
    document.getElementById('user-link').value = r.enrollment_link;
    document.getElementById('user-result').hidden = false;
  } catch (e) {
    error.textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
    error.hidden = false;
  }
}

async function createMeeting(event) {
  event.preventDefault();
  const error = document.getElementById('create-error');
  error.hidden = true;
  const invitations = ROLES.flatMap((role) => {
    const n = Math.max(0, Math.min(5, Number(document.getElementById(`count-${role}`).value) || 0));
    return Array.from({ length: n }, () => ({ role }));
  });
  const body = {
    title: document.getElementById('title').value,
    sensitive: document.getElementById('sensitive').checked,
    require_eid: document.getElementById('require-eid').checked,
    invitations,
  };
  const starts = document.getElementById('starts').value;
  if (starts) {
    body.starts_at = Math.floor(new Date(starts).getTime() / 1000);
    body.duration_minutes = Number(document.getElementById('duration').value) || 45;
  }
  try {
    const created = await api('POST', '/meetings', body);
    showLinks(created);
    await listMeetings();
  } catch (e) {
    error.textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
    error.hidden = false;
  }
}

function showLinks(created) {
  const list = document.getElementById('links');
  list.replaceChildren(
    linkItem(t('home.chairLink'), created.chair_link, 'chair'),
    // Numbered by role, as the meeting's page numbers them ("Närstående 1").
    ...created.invitations.map((inv, i) => invitationItem(created.meeting_id, inv, i,
      created.invitations.slice(0, i + 1).filter((x) => x.role === inv.role).length)),
  );
  const page = document.getElementById('created-page');
  page.href = `/meeting?id=${encodeURIComponent(created.meeting_id)}`;
  document.getElementById('created').hidden = false;
}

function copyButton(value) {
  const copy = h('button', { type: 'button', class: 'secondary' }, t('home.copy'));
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(value); copy.textContent = t('home.copied'); } catch { /* no clipboard */ }
  });
  return copy;
}

function linkItem(label, url, id) {
  return h('li', {},
    h('span', { class: 'link-label' }, label),
    h('input', { class: 'link-url', readonly: true, value: url, 'aria-label': label, dataset: { link: id } }),
    copyButton(url));
}

function invitationItem(meetingId, inv, i, n) {
  const label = `${t(`role.${inv.role}`)} ${n}`;
  const item = linkItem(label, inv.link, `guest-${i}`);
  const details = h('details', { class: 'invitation' },
    h('summary', {}, t('home.text')),
    h('pre', { class: 'invitation-text' }, inv.text));
  item.append(details);
  if (inv.ics) {
    const url = URL.createObjectURL(new Blob([inv.ics], { type: 'text/calendar' }));
    item.append(h('a', { href: url, download: 'vardmote.ics', class: 'ics' }, t('home.ics')));
  }
  const revoke = h('button', { type: 'button', class: 'secondary' }, t('home.revoke'));
  revoke.addEventListener('click', async () => {
    // The person's link stops working and whoever uses it is put out: ask first.
    if (!window.confirm(t('mp.revokeQuestion'))) return;
    await api('DELETE', `/meetings/${encodeURIComponent(meetingId)}/invitations/${encodeURIComponent(inv.invitation_id)}`).catch(() => {});
    revoke.textContent = t('home.revoked');
    revoke.disabled = true;
  });
  item.append(revoke);
  return item;
}

async function listMeetings() {
  // Coming, ongoing and past, each meeting linking to its page.
  const { listMeetings: fill } = await import('./meetings-list.js');
  await fill(document.getElementById('meetings'));
}
