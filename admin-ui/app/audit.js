// The auditors' view of the trail (R15): a meeting picked from a list, or a search by name and
// time; "who was in the meeting" first; every event in words, with its details to unfold; the
// same search as CSV or JSON. Staff are shown by name, guests by invitation and the name they
// gave. Every search is itself recorded in the trail by the server.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { t, errorText, currentLang } from './i18n.js';
import { eventWords, detailWords, valueWords } from './audit-words.js';

const $ = (id) => document.getElementById(id);
let meetings = [];
let shown = null;

export async function startAudit() {
  $('audit-form').addEventListener('submit', search);
  // The language switch redraws in the other language, without asking the server again.
  document.addEventListener('sluss:lang', () => {
    fillMeetings();
    if (shown) render(shown);
  });
  // The list of meetings follows the time range, so that a day's meetings are easy to find.
  for (const id of ['audit-from', 'audit-to']) $(id).addEventListener('change', () => listMeetings().catch(showError));
  await listMeetings();
}

async function listMeetings() {
  const q = new URLSearchParams();
  for (const [k, id] of [['from', 'audit-from'], ['to', 'audit-to']]) if (seconds(id)) q.set(k, seconds(id));
  meetings = (await api('GET', `/audit/meetings?${q}`)).meetings;
  $('audit-error').hidden = true;
  fillMeetings();
}

function showError(e) {
  const error = $('audit-error');
  error.textContent = e instanceof ApiError ? errorText(e.code, e.message) : t('error.generic');
  error.hidden = false;
}

function locale() {
  return currentLang() === 'sv' ? 'sv-SE' : 'en-GB';
}

/// A time in the page's language; to the second for events, to the minute for meetings.
function when(seconds, precise = true) {
  if (seconds === null || seconds === undefined) return '';
  return new Date(seconds * 1000).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: precise ? 'medium' : 'short' });
}

function fill(template, n) {
  return t(template).replace('{n}', String(n));
}

function fillMeetings() {
  const select = $('audit-meeting');
  const chosen = select.value;
  select.replaceChildren(
    h('option', { value: '' }, t('audit.anyMeeting')),
    ...meetings.map((m) => h('option', { value: m.meeting_id },
      `${m.title} · ${when(m.starts_at ?? m.created_at, false)} · ${fill('audit.participants', m.participants)}`)),
  );
  select.value = chosen;
  if (select.selectedIndex < 0) select.selectedIndex = 0;
}

/// Unix seconds from a `datetime-local` field, or nothing.
function seconds(id) {
  const value = $(id).value;
  return value ? String(Math.floor(new Date(value).getTime() / 1000)) : null;
}

function query() {
  const q = new URLSearchParams();
  const fields = { meeting: $('audit-meeting').value, name: $('audit-name').value.trim(), from: seconds('audit-from'), to: seconds('audit-to') };
  for (const [k, v] of Object.entries(fields)) if (v) q.set(k, v);
  return q;
}

async function search(event) {
  event.preventDefault();
  await run(query());
}

/// One person's events in the meeting picked ("Visa bara …" on their card).
async function onlyThem(participantId) {
  const q = query();
  q.set('person', participantId);
  await run(q);
  $('audit-events-heading').focus();
}

async function run(q) {
  $('audit-error').hidden = true;
  try {
    shown = await api('GET', `/audit?${q}`);
  } catch (e) {
    showError(e);
    return;
  }
  $('audit-csv').href = `/api/v1/audit?${q}&format=csv`;
  $('audit-json').href = `/api/v1/audit?${q}&format=json`;
  render(shown);
}

/// Who an opaque id is, in words: staff by name; a guest by the name they gave and the
/// invitation they came by.
function who(id, people) {
  const p = people[id];
  if (!p) return id;
  switch (p.kind) {
    case 'staff': return p.name ?? id;
    case 'guest': return `${p.name ?? t('audit.unknown')} (${t(`role.${p.invitation ?? 'guest'}`)}, ${t('audit.givenName')})`;
    case 'invitation': return `${t(`role.${p.invitation}`)} (${id})`;
    default: return `${t('audit.system')}: ${p.name ?? id}`;
  }
}

function render(body) {
  $('audit-result').hidden = false;
  renderAttendance(body);
  const count = $('audit-count');
  count.textContent = body.entries.length === 0 ? t('audit.none') : fill('audit.count', body.entries.length);
  if (body.truncated) count.textContent += ` ${t('audit.truncated')}`;
  $('audit-list').replaceChildren(...body.entries.map((e) => eventItem(e, body.people)));
}

function renderAttendance(body) {
  const section = $('audit-who');
  section.hidden = !body.attendance;
  if (!body.attendance) return;
  $('audit-who-heading').textContent = `${t('audit.who')}: ${body.meeting?.title ?? body.meeting?.meeting_id}`;
  const m = body.meeting ?? {};
  const by = (id) => (id ? ` ${t('audit.by')} ${who(id, body.people)}` : '');
  const facts = [
    [t('audit.started'), when(m.started_at)],
    [t('audit.consent'), m.consent_at ? `${when(m.consent_at)}${by(m.consent_by)}` : t('audit.noConsent')],
    [t('audit.ended'), m.ended_at ? `${when(m.ended_at)}${by(m.ended_by)}` : ''],
  ].filter(([, v]) => v);
  $('audit-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const people = body.attendance.map((a) => personItem(a, body.people));
  $('audit-people').replaceChildren(...(people.length ? people : [h('li', {}, t('audit.nobody'))]));
}

function personItem(a, people) {
  const p = people[a.participant_id] ?? {};
  const kind = p.kind === 'staff' ? t('audit.staff') : `${t(`role.${p.invitation ?? 'guest'}`)}, ${t('audit.givenName')}`;
  const by = (id) => (id ? ` ${t('audit.by')} ${who(id, people)}` : '');
  const rows = [];
  if (a.knocked_at) rows.push([t('audit.knocked'), when(a.knocked_at)]);
  if (a.admitted_at) rows.push([t('audit.admitted'), `${when(a.admitted_at)}${by(a.admitted_by)}`]);
  if (a.joined_at) rows.push([t('audit.joined'), when(a.joined_at)]);
  if (a.identified) rows.push([t('audit.identified'), `${t(`id.${a.identified}`)}${by(a.identified_by)}`]);
  if (a.left_at) {
    const how = a.left_how === 'ended' ? t('audit.stillThere') : eventWords(a.left_how);
    rows.push([t('audit.left'), `${when(a.left_at)}, ${how.charAt(0).toLowerCase()}${how.slice(1)}${by(a.left_by)}`]);
  }
  const name = p.name ?? a.participant_id;
  const only = h('button', { type: 'button', class: 'secondary small', dataset: { only: a.participant_id } },
    t('audit.onlyThem').replace('{name}', name));
  only.addEventListener('click', () => onlyThem(a.participant_id));
  return h('li', { class: 'audit-person' },
    h('strong', {}, name), ' ', h('span', { class: 'muted' }, kind),
    h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])), only);
}

function eventItem(e, people) {
  const subject = e.subject && e.subject !== e.actor ? `${who(e.subject, people)}: ` : '';
  const actor = e.actor ? ` ${t('audit.by')} ${who(e.actor, people)}` : '';
  return h('li', { class: 'audit-event' },
    h('time', { datetime: new Date(e.at * 1000).toISOString() }, when(e.at)),
    h('p', {}, `${subject}${eventWords(e.event)}${actor}`),
    h('details', {},
      h('summary', {}, t('audit.details')),
      h('dl', {}, ...detailRows(e, people).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))));
}

/// The entry's details as a readable definition list: known fields named and their values in
/// words (roles, identification, times, names), the ids and the chain's hash last.
function detailRows(e, people) {
  const rows = Object.entries(e.details ?? {})
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => [detailWords(k), detailValue(k, v, people)]);
  if (e.meeting_id) rows.push([t('audit.meetingId'), e.meeting_id]);
  if (e.actor) rows.push([t('audit.actor'), `${who(e.actor, people)} (${e.actor})`]);
  if (e.subject) rows.push([t('audit.subject'), `${who(e.subject, people)} (${e.subject})`]);
  rows.push([t('audit.event'), e.event], [t('audit.seq'), String(e.seq)], [t('audit.hash'), e.hash]);
  return rows;
}

function detailValue(key, value, people) {
  if (typeof value === 'boolean') return value ? (currentLang() === 'sv' ? 'ja' : 'yes') : (currentLang() === 'sv' ? 'nej' : 'no');
  if (['first_at', 'last_at', 'from', 'to'].includes(key) && typeof value === 'number') return when(value);
  if ((key === 'role' || key === 'invitation') && typeof value === 'string') return t(`role.${value}`);
  if (typeof value === 'string' && valueWords(key, value)) return valueWords(key, value);
  if (key === 'how' && typeof value === 'string') return t(`id.${value}`);
  if (['staff_user', 'staff_user_id', 'successor', 'participant_id'].includes(key) && typeof value === 'string') return who(value, people);
  if (key === 'whose' && Array.isArray(value)) {
    return value.map((w) => `${who(w.participant_id, people)}`).join(', ');
  }
  if (Array.isArray(value)) return value.length ? value.map((v) => detailValue(key, v, people)).join('; ') : '–';
  // An object inside the details (an invitation of a new meeting, say): its fields in words.
  if (typeof value === 'object') {
    // An invitation as a new meeting lists them: its role (or staff account) and its id.
    if (value.id && (value.role || value.staff_user_id)) {
      return `${value.role ? t(`role.${value.role}`) : who(value.staff_user_id, people)} (${value.id})`;
    }
    return Object.entries(value).filter(([, v]) => v !== null)
      .map(([k, v]) => `${detailWords(k)}: ${detailValue(k, v, people)}`).join(', ');
  }
  return String(value);
}
