// The start page's meetings in three lists, coming, ongoing and past (the last 30 days), each
// linking to the meeting's page (/meeting?id=...; the id is opaque, never a token).
import { api } from './api.js';
import { h } from './dom.js';
import { t, currentLang } from './i18n.js';

const CALLER_ROLE = { convener: 'home.asConvener', invited: 'home.asInvited', admin: 'home.asAdmin' };
const GROUPS = ['ongoing', 'coming', 'past'];

const when = (secs) => new Date(secs * 1000).toLocaleString(currentLang() === 'sv' ? 'sv-SE' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });

/// Fills `container` with a heading and a list per group.
export async function listMeetings(container) {
  const { meetings } = await api('GET', '/meetings?include_ended=true');
  const sections = GROUPS.map((status) => {
    const mine = meetings.filter((m) => m.status === status).sort(order(status));
    const id = `meetings-${status}`;
    const list = h('ul', { class: 'meeting-list', id, 'aria-labelledby': `${id}-heading` },
      mine.length ? mine.map(item) : h('li', { class: 'muted' }, t(`mp.none.${status}`)));
    return h('section', { class: 'meeting-group' },
      h('h3', { id: `${id}-heading` }, `${t(`mp.group.${status}`)} (${mine.length})`), list);
  });
  container.replaceChildren(...sections);
}

/// Coming and ongoing soonest first; past most recent first.
function order(status) {
  const at = (m) => m.starts_at ?? m.created_at;
  if (status === 'past') return (a, b) => (b.ended_at ?? at(b)) - (a.ended_at ?? at(a));
  // A meeting without a time goes after the booked ones.
  return (a, b) => (a.starts_at ?? Infinity) - (b.starts_at ?? Infinity) || b.created_at - a.created_at;
}

function item(m) {
  const time = m.starts_at ? when(m.starts_at) : t('mp.noTime');
  const facts = [time];
  if (m.ended_at) facts.push(t('mp.ended').replace('{when}', when(m.ended_at)));
  else facts.push(`${m.participants} ${t('home.participants')}`);
  facts.push(t(CALLER_ROLE[m.caller_role] ?? 'home.asInvited'));
  return h('li', { dataset: { meeting: m.meeting_id } },
    h('a', { href: `/meeting?id=${encodeURIComponent(m.meeting_id)}`, class: 'meeting-link' }, m.title),
    h('span', { class: 'muted' }, facts.join(' · ')));
}
