// The auditors' view (R15, issue 13 item 6), in headless Chromium: a meeting happens (a nurse,
// Karin Lind, creates it through the API and chairs it; a patient is let in, identified and
// leaves; a relative is turned away; the meeting ends), then an auditor picks the meeting from
// the list and answers "who was in it" in Swedish words, unfolds an entry's details, switches
// to English, exports CSV, searches by name and by time, and does the same on a 390x844 phone
// with nothing running off the side. axe-core on every state; screenshots in
// target/screenshots/audit-*.png. First, every event the Rust code can write must have words
// on the page (audit-events.mjs). Run inside a loopback-only network namespace.
import { chromium } from 'playwright-core';
import { checks, waiter, chromiumArgs, Sluss, totp, checkAccessible } from './lib.mjs';
import { trailEvents, missingWords } from './audit-events.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-audit-'));
const shots = path.join(repo, 'target', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const PORT = 18480;
const ORIGIN = `https://127.0.0.1:${PORT}`;
const deadlineAll = Date.now() + 150_000;

const { check, counts } = checks();
const until = waiter(deadlineAll);
const config = path.join(tmp, 'sluss.toml');
const shot = (page, name) => page.screenshot({ path: path.join(shots, `audit-${name}.png`), fullPage: true }).catch(() => {});
let sluss;
let browser;

/// Enrols on a setup page; lands on the start page logged in.
async function enrol(page, link, fields) {
  await page.goto(link);
  await page.waitForSelector('#enroll:not([hidden])', { timeout: 20_000 });
  const secret = await page.textContent('#totp-secret');
  for (const [id, value] of Object.entries(fields)) {
    if (!(await page.getAttribute(`#${id}`, 'readonly'))) await page.fill(`#${id}`, value);
  }
  await page.fill('#code', totp(secret));
  await page.click('#enroll button[type=submit]');
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 20_000 });
}

/// The administrator invites someone from the start page; gives the one-time link.
async function invite(admin, username, name, auditor) {
  await admin.fill('#new-username', username);
  await admin.fill('#new-name', name);
  await admin.setChecked('#new-auditor', auditor);
  await admin.click('#new-user button[type=submit]');
  await until('the invitation link', async () => (await admin.inputValue('#user-link')).includes('/setup#') && await admin.inputValue('#user-link') !== admin.lastLink, 10_000);
  admin.lastLink = await admin.inputValue('#user-link');
  return admin.lastLink;
}

/// Joins a meeting over the page's own WebSocket (the protocol the meeting pages speak), so
/// that the trail is made whatever the room's pages look like. Gives the participant id.
function wsJoin(page, token, name) {
  return page.evaluate(([token, name]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://${location.host}/ws`);
    window.seen = [];
    window.ws = ws;
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      window.seen.push(msg);
      if (msg.type === 'joined') resolve(msg.participant_id);
      if (msg.type === 'error') reject(new Error(msg.code));
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', v: 1, token, display_name: name }));
    setTimeout(() => reject(new Error('no joined')), 10_000);
  }), [token, name]);
}

const wsSend = (page, msg) => page.evaluate((m) => window.ws.send(JSON.stringify(m)), msg);
const wsSeen = (page, type, id) => page.evaluate(([type, id]) => window.seen.some((m) => m.type === type
  && (!id || (m.participant?.participant_id ?? m.participant_id) === id)), [type, id]);

/// The meeting: Karin chairs, lets Maja (patient) in, identifies her, records consent; Åsa
/// (relative) is turned away; Maja leaves; Karin ends it. Gives the meeting's id.
async function aMeeting(karin, context) {
  const created = await karin.evaluate(async () => (await fetch('/api/v1/meetings', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Uppföljning hjärtsvikt', invitations: [{ role: 'patient' }, { role: 'relative' }] }),
  })).json());
  const token = (link) => link.split('#')[1];
  await karin.goto(`${ORIGIN}/`);
  await wsJoin(karin, token(created.chair_link), 'x');
  const maja = await (await context()).newPage();
  await maja.goto(`${ORIGIN}/`);
  const majaId = await wsJoin(maja, token(created.invitations[0].link), 'Maja Svensson');
  await until('the knock', () => wsSeen(karin, 'knock', majaId), 10_000);
  await wsSend(karin, { type: 'admit', participant_id: majaId });
  await until('Maja let in', () => wsSeen(maja, 'admitted'), 10_000);
  await wsSend(karin, { type: 'identify', participant_id: majaId, method: 'id_shown_on_camera' });
  await wsSend(karin, { type: 'record_consent' });
  const asa = await (await context()).newPage();
  await asa.goto(`${ORIGIN}/`);
  const asaId = await wsJoin(asa, token(created.invitations[1].link), 'Åsa Öberg');
  await until('the second knock', () => wsSeen(karin, 'knock', asaId), 10_000);
  await wsSend(karin, { type: 'deny', participant_id: asaId });
  await until('Åsa turned away', () => wsSeen(asa, 'denied'), 10_000);
  await wsSend(maja, { type: 'leave' });
  await until('Maja gone', () => wsSeen(karin, 'participant_left', majaId), 10_000);
  await wsSend(karin, { type: 'end_meeting' });
  await until('the end', () => wsSeen(karin, 'meeting_ended'), 10_000);
  check('a meeting happened: a patient let in and identified, a relative turned away, the end', Boolean(majaId && asaId));
  await maja.close();
  await asa.close();
  return created.meeting_id;
}

/// Picks the meeting from the list by its title and searches.
async function pickMeeting(page, title) {
  const value = await page.evaluate((title) => [...document.querySelectorAll('#audit-meeting option')]
    .find((o) => o.textContent.startsWith(title))?.value, title);
  await page.selectOption('#audit-meeting', value);
  await page.click('#audit-form button[type=submit]');
  await page.waitForSelector('#audit-who:not([hidden]) #audit-people li', { timeout: 10_000 });
  return value;
}

const text = (page, sel) => page.textContent(sel);
const overflow = (page) => page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);

async function auditorDesktop(gun, meetingId) {
  await gun.reload();
  await gun.waitForSelector('#auditor:not([hidden]) #audit-meeting option:nth-child(2)', { state: 'attached', timeout: 10_000 });
  await checkAccessible(check, gun, "the auditor's start page");
  const picked = await pickMeeting(gun, 'Uppföljning hjärtsvikt');
  check('the auditor picks the meeting from a list of titles (no id typed)', picked === meetingId, picked);
  const who = await text(gun, '#audit-who');
  check('"who was in the meeting" names the chair by her account name, as staff', /Karin Lind/.test(who) && /Personal, inloggad/.test(who), who);
  check('... the patient by the name she gave and her invitation', /Maja Svensson/.test(who) && /Patient, angivet namn/.test(who), who);
  check('... when she was let in, by whom, how she was identified and that she left', /Släpptes in.*av Karin Lind/.test(who) && /visade legitimation/.test(who) && /lämnade mötet/i.test(who), who);
  check('... when the meeting ran and when consent was recorded, by whom', /Patientens samtycke.*av Karin Lind/.test(who) && /Mötet avslutades.*av Karin Lind/.test(who), who);
  check('... and the relative who was turned away', /Åsa Öberg/.test(who) && /nekades att komma in av Karin Lind/i.test(who), who);
  const events = await text(gun, '#audit-list');
  check('events are in Swedish words: "Släpptes in av Karin Lind"', /Maja Svensson \(Patient, angivet namn\): Släpptes in av Karin Lind/.test(events), events.slice(0, 300));
  check('no raw event code or JSON is shown', !/\badmitted\b|consent_recorded|\{"/.test(events.replace(/Händelse(admitted|\w+)/g, '')));
  // One person's events: the button on her card.
  await gun.click(`#audit-people button[data-only]:has-text("Maja Svensson")`);
  const only = await until('only Maja', async () => {
    const items = await gun.locator('#audit-list li p').allTextContents();
    return items.length && items.every((i) => i.includes('Maja Svensson')) ? items : null;
  }, 10_000).catch(() => []);
  check('"Visa bara händelser för Maja Svensson" shows hers alone', only.length >= 4, only.join(' | '));
  await pickMeeting(gun, 'Uppföljning hjärtsvikt');
  await until('everyone again', async () => /Åsa/.test(await text(gun, '#audit-list')), 10_000);
  // Unfold the patient's knock: a readable list, not JSON.
  const knock = gun.locator('#audit-list li', { hasText: 'Knackade i väntrummet' }).filter({ hasText: 'Maja' }).first();
  await knock.locator('summary').click();
  const dl = await knock.locator('dl').innerText();
  check('an entry\'s details unfold as named fields in words', /Angivet namn\s+Maja Svensson/.test(dl) && /Inbjuden som\s+Patient/.test(dl) && !/\{/.test(dl), dl);
  await checkAccessible(check, gun, 'the audit view with a meeting and details open (desktop)');
  check('on a desktop nothing runs off the side', (await overflow(gun)) <= 0);
  await shot(gun, 'meeting-desktop-sv');

  await gun.click('#lang');
  await until('English', async () => /Who was in the meeting/.test(await text(gun, '#audit-who')), 5_000).catch(() => {});
  const en = await text(gun, '#auditor');
  check('in English: "Admitted by Karin Lind", "Who was in the meeting"', /Admitted by Karin Lind/.test(en) && /Who was in the meeting/.test(en) && /Patient, name given/.test(en), en.slice(0, 300));
  check('... with nothing left in Swedish', !/Släpptes|Knackade|angivet namn/.test(en));
  await checkAccessible(check, gun, 'the audit view in English');
  await shot(gun, 'meeting-desktop-en');

  const [download] = await Promise.all([gun.waitForEvent('download'), gun.click('#audit-csv')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  check('the CSV export has the meeting with names', csv.startsWith('seq,at,meeting_id,event,actor,subject,details,hash,actor_name,subject_name\n')
    && csv.includes('Karin Lind (chair),Maja Svensson (patient)'), csv.split('\n').slice(0, 3).join(' | '));
  await gun.click('#lang');
}

async function searches(gun) {
  // By person: part of a name, any meeting.
  await gun.selectOption('#audit-meeting', '');
  await gun.fill('#audit-name', 'åsa');
  await gun.click('#audit-form button[type=submit]');
  await until('the name search', async () => (await gun.isHidden('#audit-who')) && /Åsa/.test(await text(gun, '#audit-list')), 10_000).catch(() => {});
  const found = await text(gun, '#audit-list');
  check('search by part of a name finds the relative\'s events, and only hers', /Åsa Öberg \(Närstående, angivet namn\): Nekades att komma in av Karin Lind/.test(found) && !/Maja/.test(found), found.slice(0, 300));
  // By time: a window in the future finds nothing; from after to is refused in words.
  await gun.fill('#audit-name', '');
  await gun.fill('#audit-from', '2099-01-01T00:00');
  await gun.fill('#audit-to', '2099-12-31T00:00');
  await gun.click('#audit-form button[type=submit]');
  await until('the empty answer', async () => /Inga händelser hittades/.test(await text(gun, '#audit-count')), 10_000).catch(() => {});
  check('a time window with nothing in it says so', /Inga händelser hittades/.test(await text(gun, '#audit-count')));
  const options = await until('the list for that window', async () => {
    const n = await gun.locator('#audit-meeting option').count();
    return n === 1 ? n : null;
  }, 10_000).catch(() => -1);
  check('... and the list of meetings follows the time window (none in 2099)', options === 1);
  await gun.fill('#audit-from', '2099-12-31T00:00');
  await gun.fill('#audit-to', '2099-01-01T00:00');
  await gun.click('#audit-form button[type=submit]');
  await gun.waitForSelector('#audit-error:not([hidden])', { timeout: 10_000 });
  const refusal = await text(gun, '#audit-error');
  check('from after to is refused in Swedish words, not the server\'s English', /Tiderna/.test(refusal) && !/Unix|seconds/.test(refusal), refusal);
  await checkAccessible(check, gun, 'the audit view with an error');
  await gun.fill('#audit-from', '');
  await gun.fill('#audit-to', '');
}

async function auditorPhone(storageState) {
  const phone = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, storageState })).newPage();
  await phone.goto(`${ORIGIN}/`);
  await phone.waitForSelector('#auditor:not([hidden]) #audit-meeting option:nth-child(2)', { state: 'attached', timeout: 10_000 });
  await pickMeeting(phone, 'Uppföljning hjärtsvikt');
  await phone.locator('#audit-list li summary').first().click();
  check('on a 390x844 phone nothing runs off the side', (await overflow(phone)) <= 0, `${await overflow(phone)}px too wide`);
  const narrow = await phone.evaluate(() => [...document.querySelectorAll('#auditor *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1).map((el) => el.tagName + (el.id ? `#${el.id}` : '')).slice(0, 5));
  check('... and no element of the audit view is wider than the screen', narrow.length === 0, narrow.join(', '));
  await checkAccessible(check, phone, 'the audit view on a phone');
  await shot(phone, 'meeting-phone');
  await phone.locator('#audit-who').screenshot({ path: path.join(shots, 'audit-who-phone.png') }).catch(() => {});
  await phone.locator('#audit-list li').first().screenshot({ path: path.join(shots, 'audit-event-phone.png') }).catch(() => {});
}

async function main() {
  const words = await missingWords();
  // At least the 57 found when this was written: a scan that finds none would pass otherwise.
  check(`every event the trail can hold (${trailEvents().length}) has Swedish and English words`, trailEvents().length >= 50 && words.length === 0, words.join(', '));
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41400', 'workers = 1', 'announce_ip = "127.0.0.1"',
    '[ops]', 'listen = "127.0.0.1:18489"',
    '[log]', 'level = "info"', '',
  ].join('\n'));
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const context = (viewport = { width: 1280, height: 800 }) => browser.newContext({ ignoreHTTPSErrors: true, viewport });

  const admin = await (await context()).newPage();
  await enrol(admin, setupUrl, { username: 'anna.admin', 'display-name': 'Anna Administratör', password: 'ett långt och bra lösenord' });
  await admin.waitForSelector('#admin:not([hidden])', { timeout: 10_000 });
  const karinLink = await invite(admin, 'karin.lind', 'Karin Lind', false);
  const gunLink = await invite(admin, 'gun.granskare', 'Gun Granskare', true);
  const karinContext = await context();
  const karin = await karinContext.newPage();
  await enrol(karin, karinLink, { password: 'Karins långa lösenord' });
  check('staff without the auditor role see no audit view and get 403 from the trail',
    !(await karin.isVisible('#auditor')) && (await karin.evaluate(async () => (await fetch('/api/v1/audit')).status)) === 403);
  check('nobody logged in gets 401 and no data', (await admin.evaluate(async () => {
    const r = await fetch('/api/v1/audit/meetings', { credentials: 'omit' });
    return r.status;
  })) === 401);
  const meetingId = await aMeeting(karin, context);

  const gunContext = await context();
  const gun = await gunContext.newPage();
  await enrol(gun, gunLink, { password: 'Guns långa lösenord' });
  await auditorDesktop(gun, meetingId);
  await searches(gun);
  await auditorPhone(await gunContext.storageState());
}

const watchdog = setTimeout(() => { console.log('FAIL the audit view test ran out of time'); process.exit(1); }, 170_000);
try {
  await main();
} catch (e) {
  check('audit view test', false, e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await sluss?.stop();
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
