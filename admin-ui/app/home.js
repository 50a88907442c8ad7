// The start page: explains itself to guests; lets an organiser create meetings.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, translatePage, errorText } from './i18n.js';

translatePage();

const organiser = await api('GET', '/session').then(() => true, () => false);
document.getElementById('guest-info').hidden = organiser;
document.getElementById('organiser').hidden = !organiser;
if (organiser) {
  document.getElementById('new-meeting').addEventListener('submit', createMeeting);
  await listMeetings();
}

async function createMeeting(event) {
  event.preventDefault();
  const error = document.getElementById('create-error');
  error.hidden = true;
  const title = document.getElementById('title').value;
  const guests = Number(document.getElementById('guests').value);
  const sensitive = document.getElementById('sensitive').checked;
  try {
    const created = await api('POST', '/meetings', { title, guests, sensitive });
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
    ...created.guest_links.map((l, i) => linkItem(`${t('home.guestLink')} ${i + 1}`, l, `guest-${i}`)),
  );
  document.getElementById('created').hidden = false;
}

function linkItem(label, url, id) {
  const copy = h('button', { type: 'button', class: 'secondary' }, t('home.copy'));
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(url); copy.textContent = t('home.copied'); } catch { /* no clipboard */ }
  });
  return h('li', {},
    h('span', { class: 'link-label' }, label),
    h('input', { class: 'link-url', readonly: true, value: url, 'aria-label': label, dataset: { link: id } }),
    copy);
}

async function listMeetings() {
  const list = document.getElementById('meetings');
  const { meetings } = await api('GET', '/meetings');
  if (meetings.length === 0) {
    list.replaceChildren(h('li', {}, t('home.noMeetings')));
    return;
  }
  list.replaceChildren(...meetings.map((m) => h('li', {},
    h('strong', {}, m.title), ' ',
    h('span', { class: 'muted' }, `${new Date(m.created_at * 1000).toLocaleString()} · ${m.participants} ${t('home.participants')}`))));
}
