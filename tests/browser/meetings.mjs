// The staff start page and a meeting's page (issue 13, item 4), as a nurse uses them in headless
// Chromium: she books a meeting, finds it under "Kommande", opens its page; a patient opens her
// link on a phone and the page shows her waiting without a reload; the nurse opens the meeting
// as its chair from the page and lets her in; she gives the relative a new link (the old one is
// refused on the join page, the new one works); cancelling asks first. axe-core on every page
// state, desktop and phone, screenshots in target/screenshots. Run inside a loopback-only
// network namespace (run-in-netns.sh).
import { chromium } from 'playwright-core';
import { checks, waiter, chromiumArgs, Sluss, totp, checkAccessible, joinMeeting, admitNext } from './lib.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-meetings-'));
const shots = path.join(repo, 'target/screenshots');
const PORT = 18470;
const ORIGIN = `https://127.0.0.1:${PORT}`;
const deadlineAll = Date.now() + 160_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const { check, counts } = checks();
const until = waiter(deadlineAll);
const config = path.join(tmp, 'sluss.toml');
let sluss;
let browser;

const shot = (page, name) => page.screenshot({ path: path.join(shots, `meetings-${name}.png`), fullPage: true });

/// The state the meeting's page shows for the invitation with this label's role (`li`'s
/// data-state), or null.
const stateOf = (page, role) => page.getAttribute(`#invitations li[data-role="${role}"]`, 'data-state').catch(() => null);

/// How far the page runs off the side of the screen, in pixels.
const overflow = (page) => page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);

/// Whether a link, opened in a fresh phone browser, is refused on the join page.
async function refusedOnJoinPage(context, link) {
  const page = await (await context(PHONE)).newPage();
  await page.goto(link);
  const outcome = await until('the join page to decide', async () => {
    if (await page.isVisible('#prejoin')) return 'works';
    if (await page.isVisible('#message')) return 'refused';
    return null;
  }, 15_000);
  const text = outcome === 'refused' ? await page.textContent('#message') : '';
  return { outcome, text, page };
}

async function main() {
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41500', 'workers = 1', 'announce_ip = "127.0.0.1"',
    '[ops]', 'listen = "127.0.0.1:18479"',
    '[log]', 'level = "info"', '',
  ].join('\n'));
  fs.mkdirSync(shots, { recursive: true });
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const context = (viewport = DESKTOP) => browser.newContext({ ignoreHTTPSErrors: true, viewport });

  // The nurse enrols (the first account) and books a meeting two hours ahead.
  const nurseContext = await context();
  const nurse = await nurseContext.newPage();
  await nurse.goto(setupUrl);
  await nurse.waitForSelector('#enroll:not([hidden])', { timeout: 20_000 });
  const secret = await nurse.textContent('#totp-secret');
  await nurse.fill('#username', 'karin.lind');
  await nurse.fill('#display-name', 'Karin Lind');
  await nurse.fill('#password', 'ett långt lösenord för Karin');
  await nurse.fill('#code', totp(secret));
  await nurse.click('#enroll button[type=submit]');
  await nurse.waitForSelector('#organiser:not([hidden])', { timeout: 20_000 });
  const starts = new Date(Date.now() + 2 * 3600_000);
  const local = new Date(starts.getTime() - starts.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await nurse.fill('#title', 'Uppföljning hjärta');
  await nurse.fill('#count-patient', '1');
  await nurse.fill('#count-relative', '1');
  await nurse.fill('#starts', local);
  await nurse.click('#new-meeting button[type=submit]');
  await nurse.waitForSelector('#created:not([hidden])', { timeout: 10_000 });
  const links = {
    patient: await nurse.inputValue('[data-link=guest-0]'),
    relative: await nurse.inputValue('[data-link=guest-1]'),
  };
  await nurse.waitForSelector('#meetings-coming li[data-meeting]', { timeout: 10_000 });
  const coming = await nurse.textContent('#meetings-coming');
  check('the start page lists the booked meeting under "Kommande", with ongoing and past lists beside it',
    /Uppföljning hjärta/.test(coming) && await nurse.isVisible('#meetings-ongoing') && await nurse.isVisible('#meetings-past'), coming);
  await checkAccessible(check, nurse, 'the start page with its meeting lists (desktop)');
  await shot(nurse, 'start-desktop');

  // Its page: every invitation, none opened, no link shown.
  await nurse.click('#created-page');
  await nurse.waitForSelector('#meeting-page:not([hidden]) #invitations li', { timeout: 10_000 });
  const meetingUrl = nurse.url();
  check("the meeting's page is /meeting?id=<opaque id>, no token in the URL", /\/meeting\?id=m_[A-Za-z0-9_-]+$/.test(meetingUrl), meetingUrl);
  const rows = await nurse.$$eval('#invitations li', (lis) => lis.map((li) => `${li.dataset.role}:${li.dataset.state}`));
  check('it lists the chair, the patient and the relative, none opened', rows.join(' ') === 'chair:not_opened patient:not_opened relative:not_opened', rows.join(' '));
  const pageText = await nurse.textContent('#main');
  check('it says so in Swedish and shows no link', /Inte öppnad/.test(pageText) && /Kommande/.test(pageText) && !/#[A-Za-z0-9_-]{43}/.test(pageText));
  await checkAccessible(check, nurse, "a meeting's page (desktop)");
  await shot(nurse, 'page-desktop');

  // The patient opens her link on a phone and knocks; the page shows it without a reload.
  const patient = await (await context(PHONE)).newPage();
  await joinMeeting(patient, links.patient, 'Pia Patient');
  await patient.waitForSelector('#lobby:not([hidden])', { timeout: 20_000 });
  const waiting = await until('the page to show her waiting', async () => (await stateOf(nurse, 'patient')) === 'waiting', 15_000).then(() => true, () => false);
  check('the page shows the patient waiting in the lobby, without a reload', waiting && /Väntar i lobbyn/.test(await nurse.textContent('#invitations li[data-role="patient"]')));
  await checkAccessible(check, nurse, "a meeting's page with someone waiting");

  // The nurse opens the meeting as its chair from the page, and lets the patient in.
  await nurse.click('#open-chair');
  await nurse.waitForURL(/\/join#[A-Za-z0-9_-]{43}$/, { timeout: 10_000 });
  await nurse.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  const named = await until('her name filled in', async () => (await nurse.inputValue('#name')) === 'Karin Lind', 5_000).then(() => true, () => false);
  check('"Öppna mötet som ordförande" opens the join page with a fresh chair link, her name filled in', named);
  await nurse.click('#join-button');
  await nurse.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  await admitNext(nurse);
  await patient.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const page = await nurseContext.newPage();
  await page.goto(meetingUrl);
  await page.waitForSelector('#invitations li', { timeout: 10_000 });
  const inMeeting = await until('both in the meeting', async () => (await stateOf(page, 'patient')) === 'in_meeting' && (await stateOf(page, 'chair')) === 'in_meeting', 10_000).then(() => true, () => false);
  check('the page shows the chair and the patient in the meeting, and the meeting ongoing', inMeeting && /Pågår/.test(await page.textContent('#meeting-status')));

  // "Ny länk" for the relative: the new link shown once, with its text and calendar file.
  await page.click('#invitations li[data-role="relative"] button:has-text("Ny länk")');
  await page.waitForSelector('#new-link:not([hidden])', { timeout: 10_000 });
  const renewed = await page.inputValue('#new-link-url');
  const text = await page.textContent('#new-link-text');
  check('"Ny länk" shows a new link once, with the neutral text and the calendar file',
    /\/join#[A-Za-z0-9_-]{43}$/.test(renewed) && renewed !== links.relative && text.includes('Klicka för att delta i ditt bokade vårdmöte.') && text.includes(renewed) && !/hjärta/.test(text) && await page.isVisible('#new-link-ics'), renewed);
  await until('the old link listed as earlier', () => page.isVisible('#earlier'), 10_000).catch(() => {});
  const earlier = await page.textContent('#earlier-list').catch(() => '');
  check('the old link is listed among the earlier ones, revoked', /Återkallad/.test(earlier), earlier);
  await checkAccessible(check, page, "a meeting's page with a new link shown");
  await shot(page, 'new-link-desktop');
  const old = await refusedOnJoinPage(context, links.relative);
  check('the old link is refused on the join page, in Swedish', old.outcome === 'refused' && /Länken gäller inte/.test(old.text), old.text);
  await checkAccessible(check, old.page, 'the join page refusing a replaced link (phone)');
  const fresh = await refusedOnJoinPage(context, renewed);
  check('the new link opens the join page', fresh.outcome === 'works');
  await until('the new link noted as opened', async () => (await stateOf(page, 'relative')) === 'opened', 10_000).catch(() => {});
  check('and the page shows it opened', (await stateOf(page, 'relative')) === 'opened');

  // One more invitation from the page: its link shown once, in the list at once.
  await page.selectOption('#add-role', 'professional');
  await page.click('#add-invitation button[type=submit]');
  const added = await until('the added invitation', async () => /Länk för Annan yrkesperson 1/.test(await page.textContent('#new-link-heading')), 10_000).then(() => true, () => false);
  const addedLink = await page.inputValue('#new-link-url');
  check('"Bjud in" adds a professional: the link shown once, the invitation listed unopened',
    added && /\/join#[A-Za-z0-9_-]{43}$/.test(addedLink) && addedLink !== renewed && (await stateOf(page, 'professional')) === 'not_opened'
    && !/gamla/.test(await page.textContent('#new-link-note')), addedLink);

  // On a phone the page fits the screen.
  await page.setViewportSize(PHONE);
  await page.reload();
  await page.waitForSelector('#invitations li', { timeout: 10_000 });
  check("on a phone the meeting's page fits the screen", (await overflow(page)) <= 0, `${await overflow(page)}px too wide`);
  await checkAccessible(check, page, "a meeting's page (phone)");
  await shot(page, 'page-phone');

  // Cancelling asks first: "Nej" changes nothing; "Ja" cancels, and everyone is told.
  await page.click('#cancel');
  await page.waitForSelector('#cancel-confirm:not([hidden])', { timeout: 5_000 });
  await checkAccessible(check, page, 'the question before cancelling (phone)');
  await shot(page, 'cancel-question-phone');
  await page.click('#cancel-no');
  // The meeting is still there and not ended (an error body would have no ended_at either).
  const stillOpen = await page.evaluate(async (url) => {
    const r = await fetch(`/api/v1/meetings/${new URL(url).searchParams.get('id')}`);
    const body = await r.json();
    return r.status === 200 && typeof body.title === 'string' && body.ended_at === undefined;
  }, meetingUrl);
  check('"Ställ in mötet" asks first, and "Nej" leaves the meeting as it was', stillOpen && await page.isHidden('#cancel-confirm'));
  await page.click('#cancel');
  await page.click('#cancel-yes');
  await until('the meeting shown as ended', async () => /Avslutat/.test(await page.textContent('#meeting-status')), 10_000).catch(() => {});
  check('"Ja, ställ in mötet" cancels it: the page says ended', /Avslutat/.test(await page.textContent('#meeting-status')) && await page.isHidden('#chair-card'));
  const ended = await until('the patient told', () => patient.isVisible('#message'), 15_000).then(() => true, () => false);
  check("the patient's page says the meeting is over", ended);
  await page.goto(`${ORIGIN}/`);
  await page.waitForSelector('#meetings-past li[data-meeting]', { timeout: 10_000 });
  check('the start page now lists it under "Tidigare"', /Uppföljning hjärta/.test(await page.textContent('#meetings-past')));
  check('on a phone the start page fits the screen', (await overflow(page)) <= 0);
  await checkAccessible(check, page, 'the start page with a past meeting (phone)');
  await shot(page, 'start-phone');

  // The trail: both new links under the nurse's id, never a token.
  const entries = execFileSync(bin, ['audit', 'export', '--config', config, '--reader', 'meetings-test'])
    .toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const nurseId = entries.find((e) => e.event === 'staff_enrolled')?.subject;
  const reissued = entries.filter((e) => e.event === 'invitation_reissued' && e.actor === nurseId);
  check('each new link is in the audit trail under the nurse, with the role (chair, relative)',
    reissued.map((e) => e.details.role).join(',') === 'chair,relative', JSON.stringify(reissued.map((e) => e.details)));
  const token = renewed.split('#')[1];
  check('no link token is in the trail', !JSON.stringify(entries).includes(token));
  check('the cancellation is in the trail under the nurse', entries.some((e) => e.event === 'meeting_cancelled' && e.actor === nurseId));
}

const watchdog = setTimeout(() => { console.log('FAIL the meetings test ran out of time'); process.exit(1); }, 170_000);
try {
  await main();
} catch (e) {
  check('meetings test', false, e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await sluss?.stop();
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
