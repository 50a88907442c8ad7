// The meeting pages as people use them, in headless Chromium: a patient on a phone-sized
// screen (390x844) and a nurse chairing at a desk (1280x800), with two relatives and a
// colleague. Checks what a page shows and where: the join button in sight on a phone, a name
// error in words, the microphone meter and the camera preview before going in and in the
// lobby, the phone room (the speaker large, one's own picture in the corner, the others in a
// strip that scrolls, one bar of controls that nothing overlaps; the chair too), chair controls never over a
// video on the desktop, chat as a panel with an unread badge, a keyboard-only walk through
// joining and chairing, and what screen readers are told (knock, admitted, denied, chat on,
// meeting ended). axe-core runs on every state; screenshots of each go to
// target/screenshots/room-*.png. Run inside a loopback-only network namespace.
import { chromium } from 'playwright-core';
import { checks, waiter, sleep, chromiumArgs, Sluss, totp, checkAccessible, openTileMenu } from './lib.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-room-'));
const shots = path.join(repo, 'target', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const PORT = 18470;
const ORIGIN = `https://127.0.0.1:${PORT}`;
const deadlineAll = Date.now() + 170_000;
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1280, height: 800 };

const { check, counts } = checks();
const until = waiter(deadlineAll);
let sluss;
const browsers = [];
const pages = {};

const shot = (page, name) => page.screenshot({ path: path.join(shots, `room-${name}.png`) }).catch(() => {});

/// The boxes of what a page shows, for layout checks.
const boxes = (page, selector) => page.$$eval(selector, (els) => els
  .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => { const r = e.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height, what: e.className || e.id || e.tagName }; }));
/// The part of each video one can see: clipped to the area its tiles scroll in.
const videoBoxes = (page) => page.$$eval('li.tile video, #screen-video', (els) => els
  .filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => {
    const r = e.getBoundingClientRect();
    const c = (e.closest('.tiles, .stage, .screen-area') ?? document.body).getBoundingClientRect();
    const x = Math.max(r.left, c.left, 0);
    const y = Math.max(r.top, c.top, 0);
    const w = Math.min(r.right, c.right, innerWidth) - x;
    const h = Math.min(r.bottom, c.bottom, innerHeight) - y;
    return { x, y, w, h, what: e.closest('li')?.dataset.participantId ?? e.id };
  }));
const overlaps = (a, b) => a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;

/// Presses Tab until `selector` has the focus (at most `max` times); true when it did.
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return true;
  }
  return false;
}

async function enrol(page, link) {
  await page.goto(link);
  await page.waitForSelector('#enroll:not([hidden])', { timeout: 20_000 });
  const secret = await page.textContent('#totp-secret');
  await page.fill('#username', 'karin.lind');
  await page.fill('#display-name', 'Karin Lind');
  await page.fill('#password', 'ett långt och bra lösenord');
  await page.fill('#code', totp(secret));
  await page.click('#enroll button[type=submit]');
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 20_000 });
}

async function main() {
  const config = path.join(tmp, 'sluss.toml');
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41400', 'workers = 1', 'announce_ip = "127.0.0.1"', 'start_bitrate_kbps = 0',
    '[ops]', 'listen = "127.0.0.1:18479"',
    '[log]', 'level = "info"', '',
  ].join('\n'));
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  browsers.push(browser);
  const context = (viewport) => browser.newContext({ ignoreHTTPSErrors: true, viewport });

  // The nurse (the first administrator here) books a meeting through the booking API.
  const chair = await (await context(DESK)).newPage();
  pages.chair = chair;
  await enrol(chair, setupUrl);
  const created = await chair.evaluate(async () => (await fetch('/api/v1/meetings', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Uppföljning', sensitive: true, invitations: [{ role: 'patient' }, { role: 'relative' }, { role: 'relative' }, { role: 'professional' }] }),
  })).json());
  const [patientLink, relativeLink, deniedLink, colleagueLink] = created.invitations.map((i) => i.link);

  // The chair's join page: her name is filled in from her login.
  await chair.goto(created.chair_link);
  await chair.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  const filled = await until('her name filled in', async () => chair.inputValue('#name'), 10_000).catch(() => '');
  check('a logged-in nurse finds her name filled in on the join page', filled === 'Karin Lind', filled);
  await until('the preview', () => chair.evaluate(() => document.getElementById('preview').videoWidth > 0), 10_000).catch(() => false);
  await shot(chair, 'join-desktop');
  await chair.click('#join-button');
  await chair.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });

  // The patient, on a phone, with the keyboard only.
  const patient = await (await context(PHONE)).newPage();
  pages.patient = patient;
  await patient.goto(patientLink);
  await patient.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  // Measured once the preview has its picture, so that the layout no longer moves.
  const previewed = await until('the camera preview', () => patient.evaluate(() => document.getElementById('preview').videoWidth > 0), 10_000).catch(() => false);
  const join = (await boxes(patient, '#join-button'))[0];
  check('on a phone the join button is in sight without scrolling', join && join.y + join.h <= PHONE.height, JSON.stringify(join));
  const heard = await until('the meter to hear the test tone', async () => (await patient.textContent('#mic-level-text')).includes('hörs'), 10_000).catch(() => false);
  const level = await patient.evaluate(() => document.getElementById('mic-level').value);
  check('the join page shows the microphone level, and says in words that the voice is heard', Boolean(heard), `meter ${level}`);
  check('the join page previews the camera', previewed);
  await shot(patient, 'join-phone');
  await checkAccessible(check, patient, 'the join page on a phone');
  // An empty name: an error in words, tied to the field.
  check('the name field has the focus when the page opens', await patient.evaluate(() => document.activeElement?.id === 'name'));
  await tabTo(patient, '#join-button');
  await patient.keyboard.press('Enter');
  const nameError = await patient.evaluate(() => {
    const e = document.getElementById('name-error');
    const described = document.getElementById('name').getAttribute('aria-describedby') === 'name-error';
    return !e.hidden && described && document.activeElement?.id === 'name' ? e.textContent : '';
  });
  check('an empty name gets an error in words, read with the field', /Skriv ditt namn/.test(nameError), nameError);
  await shot(patient, 'join-phone-error');
  await patient.keyboard.type('Bertil Ek');
  const walked = await tabTo(patient, '#join-button');
  await patient.keyboard.press('Enter');
  check('keyboard only: name, Tab to "Gå med", Enter', walked);
  await patient.waitForSelector('#lobby:not([hidden])', { timeout: 20_000 });
  const lobbyHeard = await until('the lobby meter', async () => (await patient.textContent('#lobby-level-text')).includes('hörs'), 10_000).catch(() => false);
  check('in the lobby one sees one\'s own picture and the microphone level', Boolean(lobbyHeard)
    && await until('the lobby preview', () => patient.evaluate(() => document.getElementById('lobby-preview').videoWidth > 0), 5_000).catch(() => false));
  await shot(patient, 'lobby-phone');
  await checkAccessible(check, patient, 'the lobby on a phone');

  // The chair hears the knock (a screen reader is told) and admits with the keyboard.
  const knock = await until('the knock announced', async () => chair.textContent('#knock-announce'), 15_000).catch(() => '');
  check('a knock is announced to screen readers, with the name', /Bertil Ek väntar/.test(knock), knock);
  await shot(chair, 'chair-knock-desktop');
  await chair.evaluate(() => document.activeElement?.blur());
  const toAdmit = await tabTo(chair, '#lobby-list li button.primary', 60);
  await chair.keyboard.press('Enter');
  check('keyboard only: the chair reaches "Släpp in" with Tab and admits with Enter', toAdmit);
  const admitted = await until('the patient told', async () => (await patient.textContent('#status')).includes('släppt in dig'), 20_000).catch(() => false);
  check('the admitted patient is told in words, in the status line screen readers announce', Boolean(admitted)
    && (await patient.getAttribute('#status', 'role')) === 'status');

  // More people: a relative (camera off), a colleague, and a relative the chair turns away.
  const join3 = async (link, name, cameraOff, viewport = DESK) => {
    const page = await (await context(viewport)).newPage();
    await page.goto(link);
    await page.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
    if (cameraOff) await page.check('#camera-off');
    await page.fill('#name', name);
    await page.click('#join-button');
    await page.waitForSelector('#lobby:not([hidden])', { timeout: 20_000 });
    return page;
  };
  pages.relative = await join3(relativeLink, 'Cecilia Ek', true);
  await chair.click('#lobby-list li:has-text("Cecilia") button.primary');
  pages.colleague = await join3(colleagueLink, 'Doktor Dahl', false);
  await until('the lobby preview', () => pages.colleague.evaluate(() => document.getElementById('lobby-preview').videoWidth > 0), 10_000).catch(() => false);
  await shot(pages.colleague, 'lobby-desktop');
  await checkAccessible(check, pages.colleague, 'the lobby on a desktop');
  await chair.click('#lobby-list li:has-text("Dahl") button.primary');
  pages.denied = await join3(deniedLink, 'Okänd', true, PHONE);
  await chair.click('#lobby-list li:has-text("Okänd") button.secondary');
  const denied = await until('the denial', async () => (await pages.denied.isVisible('#message')) && pages.denied.textContent('#message-text'), 15_000).catch(() => '');
  check('a denied guest is told in words, in an alert', /inte in/.test(denied) && (await pages.denied.getAttribute('#message-text', 'role')) === 'alert', denied);

  // The phone room: the one featured large, one's own picture in the stage's corner, the others
  // in a strip, and the bar at the bottom that no tile overlaps.
  await until('three others on the phone', async () => (await patient.$$('li.tile[data-participant-id]')).length === 3, 20_000);
  await sleep(1500);
  await shot(patient, 'room-phone');
  const stage = await patient.evaluate(() => ({
    featured: document.querySelectorAll('#stage li.tile.featured[data-participant-id]').length,
    self: document.querySelectorAll('#stage li.tile.self').length,
    strip: document.querySelectorAll('#tiles li.tile[data-participant-id]').length,
  }));
  check('phone: one person large on the stage, one\'s own picture on it, the other two in the strip', stage.featured === 1 && stage.self === 1 && stage.strip === 2, JSON.stringify(stage));
  const bar = (await boxes(patient, '#controls'))[0];
  check('phone: the control bar is one row at the bottom of the screen', bar && bar.y + bar.h <= PHONE.height + 0.5 && bar.h < 90, JSON.stringify(bar));
  const tilesOnPhone = await boxes(patient, 'li.tile');
  const under = tilesOnPhone.filter((t) => overlaps(t, bar));
  check('phone: no tile overlaps the control bar', under.length === 0, JSON.stringify(under));
  const labels = await patient.$$eval('#controls button', (els) => els.filter((e) => e.offsetParent).map((e) => e.textContent.trim()));
  check('phone: the bar has microphone, camera, more and leave, with words', labels.length === 4 && /mikrofon/i.test(labels[0]) && /kamera/i.test(labels[1]) && labels[2] === 'Mer' && labels[3] === 'Lämna mötet', JSON.stringify(labels));
  // Every participant can be brought into view.
  const reachable = [];
  for (const id of await patient.$$eval('li.tile[data-participant-id]', (els) => els.map((e) => e.dataset.participantId))) {
    await patient.$eval(`li.tile[data-participant-id="${id}"]`, (e) => e.scrollIntoView({ inline: 'nearest', block: 'nearest' }));
    await sleep(300);
    const [r] = await boxes(patient, `li.tile[data-participant-id="${id}"]`);
    reachable.push(r && r.x >= -0.5 && r.x + r.w <= PHONE.width + 0.5 && r.y >= -0.5 && r.y + r.h <= bar.y + 0.5);
  }
  check('phone: every participant\'s tile can be brought into view, above the bar', reachable.length === 3 && reachable.every(Boolean), JSON.stringify(reachable));
  check('phone: nothing scrolls sideways but the strip', await patient.evaluate(() => document.scrollingElement.scrollWidth <= innerWidth));
  const offText = await patient.evaluate(() => [...document.querySelectorAll('li.tile.camera-off .off-card')].map((e) => e.textContent).join('|'));
  check('phone: the relative with the camera off shows as initials and "Kameran är avstängd"', offText.includes('CEKameran är avstängd'), offText);
  await checkAccessible(check, patient, 'the room on a phone');
  // Text over or beside a picture has a solid background of its own that meets contrast (axe
  // cannot judge text over video): 4.5:1 at least.
  const contrasts = await patient.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; })
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    return [...document.querySelectorAll('li.tile .id-state, li.tile .caption, li.tile .off-text, li.tile .stalled, li.tile .link-state')]
      .filter((e) => e.getClientRects().length > 0)
      .map((e) => {
        let bg = e;
        while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] ?? 1) < 0.7) bg = bg.parentElement;
        const [fg, back] = [rgb(getComputedStyle(e).color), rgb(getComputedStyle(bg ?? document.body).backgroundColor)];
        const [l1, l2] = [lum(fg), lum(back)].sort((a, b) => b - a);
        return { what: e.className, ratio: Math.round(((l1 + 0.05) / (l2 + 0.05)) * 10) / 10, video: bg?.classList.contains('frame') };
      });
  });
  const weak = contrasts.filter((c) => c.ratio < 4.5 || c.video);
  check('phone: every word on a tile has a solid background with contrast of at least 4.5:1', contrasts.length >= 6 && weak.length === 0, JSON.stringify(weak.length ? weak : contrasts.slice(0, 4)));
  // A tap on a strip tile brings that person to the stage.
  const stripId = await patient.$eval('#tiles li.tile[data-participant-id]', (e) => e.dataset.participantId);
  await patient.click(`li.tile[data-participant-id="${stripId}"] .frame`);
  const pinned = await until('the pinned one on the stage', () => patient.evaluate((id) => Boolean(document.querySelector(`#stage li.tile[data-participant-id="${id}"]`)), stripId), 5_000).catch(() => false);
  check('phone: a tap on someone in the strip brings them to the stage', pinned);
  // The same by keyboard: a button covers each picture in the strip; Enter brings that person up.
  const keyId = await patient.$eval('#tiles li.tile[data-participant-id]', (e) => e.dataset.participantId);
  await patient.focus(`li.tile[data-participant-id="${keyId}"] .pin`);
  await patient.keyboard.press('Enter');
  const keyPinned = await until('the one chosen by keyboard on the stage', () => patient.evaluate((id) => Boolean(document.querySelector(`#stage li.tile[data-participant-id="${id}"] .pin[aria-pressed=true]`)), keyId), 5_000).catch(() => false);
  check('phone: each picture in the strip is a button: Enter brings that person to the stage', keyPinned);
  await patient.click('#more');
  await patient.waitForSelector('#side.open', { timeout: 5_000 });
  const people = await patient.textContent('#people-list');
  check('phone: "Mer" opens the list of people with their state in words', /Karin Lind/.test(people) && /Ej identifierad/.test(people) && /Cecilia Ek/.test(people), people);
  await shot(patient, 'people-phone');
  await checkAccessible(check, patient, 'the people sheet on a phone');
  await patient.keyboard.press('Escape');
  check('phone: Escape closes the sheet and gives the focus back to "Mer"', await patient.evaluate(() => !document.getElementById('side').classList.contains('open') && document.activeElement?.id === 'more'));

  // The desktop chair: her tools in the side panel, per-person actions in a menu under each
  // picture; nothing of hers over a video.
  await until('three others at the chair', async () => (await chair.$$('li.tile[data-participant-id]')).length === 3, 20_000);
  const patientId = await patient.evaluate(() => window.sluss.participantId);
  await openTileMenu(chair, patientId);
  await sleep(500);
  await shot(chair, 'room-chair-desktop');
  const videos = (await videoBoxes(chair)).filter((v) => v.w > 0 && v.h > 0);
  const controls = await boxes(chair, '#side button, #side select, #side input, .tile-menu, .tile-actions button, .tile-actions select, #controls button');
  const covering = controls.filter((c) => videos.some((v) => overlaps(c, v)));
  check('desktop: no chair control overlaps a video (tile menus open too)', videos.length >= 3 && controls.length > 8 && covering.length === 0, `${videos.length} videos, ${controls.length} controls, over: ${JSON.stringify(covering.slice(0, 3))}`);
  const inPanel = await chair.evaluate(() => ['lock', 'chat-toggle', 'consent', 'end', 'lobby-list'].every((id) => document.getElementById(id)?.closest('#side')));
  check('desktop: the lobby, lock, chat, consent and end are in the side panel', inPanel);
  await checkAccessible(check, chair, "the chair's room with a tile menu open (desktop)");
  // Chairing by keyboard: Tab to the patient's "Åtgärder", Enter opens it, Tab to how she was
  // identified, an arrow key records it; Escape closes the menu and the focus goes back to it.
  const patientTile = `li.tile[data-participant-id="${patientId}"]`;
  await chair.click(`${patientTile} .tile-menu`); // shut again
  await chair.evaluate(() => document.activeElement?.blur());
  const toMenu = await tabTo(chair, `${patientTile} .tile-menu`, 80);
  await chair.keyboard.press('Enter');
  await chair.keyboard.press('Tab');
  const onSelect = await chair.evaluate((t) => document.activeElement === document.querySelector(`${t} select.identify`), patientTile);
  await chair.keyboard.press('ArrowDown');
  const recorded = await until('the identification recorded', async () => (await chair.textContent(`${patientTile} .id-state`)).startsWith('Identifierad'), 10_000).catch(() => false);
  check('keyboard only: the chair opens a person\'s actions and records how they were identified', toMenu && onSelect && Boolean(recorded),
    JSON.stringify({ toMenu, onSelect, state: await chair.textContent(`${patientTile} .id-state`) }));
  await chair.keyboard.press('Escape');
  check('desktop: Escape closes a tile menu and returns the focus to it', await chair.evaluate((t) => {
    const tile = document.querySelector(t);
    return tile.querySelector('.tile-actions').hidden && document.activeElement === tile.querySelector('.tile-menu');
  }, patientTile));
  const seen = await until('the patient to see it', async () => (await patient.textContent('#people-list')).includes('(Du)Identifierad: visade legitimation'), 10_000).catch(() => false);
  check('the patient sees, in words, how she herself was identified (the people list)', Boolean(seen), await patient.textContent('#people-list'));

  // Chat: the chair turns it on; the patient is told, and a message shows as a badge.
  await chair.click('#chat-toggle');
  const told = await until('chat on announced', async () => (await patient.textContent('#status')).includes('slagit på chatten'), 10_000).catch(() => false);
  check('phone: chat turned on is said in the status line (announced)', Boolean(told));
  check('phone: the bar gets a chat button', await patient.isVisible('#chat-open'));
  await chair.fill('#chat-text', 'Välkomna');
  await chair.press('#chat-text', 'Enter');
  const badge = await until('the unread badge', async () => (await patient.isVisible('#chat-open .badge')) && patient.textContent('#chat-open .badge'), 10_000).catch(() => '');
  check('phone: a message while the chat is shut shows as an unread badge', badge === '1', badge);
  const spoken = await patient.textContent('#chat-open');
  check('phone: the badge has words for screen readers', /1 olästa/.test(spoken), spoken);
  await shot(patient, 'chat-badge-phone');
  await patient.click('#chat-open');
  await patient.waitForSelector('#chat.open', { timeout: 5_000 });
  const chatBox = (await boxes(patient, '#chat'))[0];
  const barNow = (await boxes(patient, '#controls'))[0];
  check('phone: the chat opens as a panel above the bar, the message in it, the badge gone',
    /Välkomna/.test(await patient.textContent('#chat-log')) && !(await patient.isVisible('#chat-open .badge')) && !overlaps(chatBox, barNow),
    JSON.stringify({ chatBox, barNow }));
  await shot(patient, 'chat-phone');
  await checkAccessible(check, patient, 'the chat panel on a phone');

  // The chair on a phone-sized screen: the same room, her lobby and tools in the "Mer" sheet,
  // and no tile under the bar.
  await chair.setViewportSize(PHONE);
  await sleep(800);
  const chairBar = (await boxes(chair, '#controls'))[0];
  const chairTiles = (await boxes(chair, 'li.tile')).filter((t) => overlaps(t, chairBar));
  check('the chair on a phone: the bar at the bottom, no tile over it', chairBar && chairBar.y + chairBar.h <= PHONE.height + 0.5 && chairTiles.length === 0, JSON.stringify({ chairBar, chairTiles }));
  await checkAccessible(check, chair, "the chair's room on a phone");
  await chair.click('#more');
  await chair.waitForSelector('#side.open', { timeout: 5_000 });
  const tools = await chair.evaluate(() => ['lobby-list', 'lock', 'chat-toggle', 'consent', 'end'].every((id) => {
    const r = document.getElementById(id).getBoundingClientRect();
    return r.width > 0 && document.getElementById(id).closest('#side.open');
  }));
  check('the chair on a phone: "Mer" opens her lobby and tools', tools);
  await shot(chair, 'chair-tools-phone');
  await checkAccessible(check, chair, "the chair's tools sheet on a phone");
  await chair.keyboard.press('Escape');
  await chair.setViewportSize(DESK);

  // The end: everyone is told, in an alert.
  await chair.click('#end');
  await chair.click('#end-yes');
  const ended = await until('the end at the patient', async () => (await patient.isVisible('#message')) && patient.textContent('#message-text'), 15_000).catch(() => '');
  check('the meeting ended is told to the patient in an alert', /avslutat/.test(ended) && (await patient.getAttribute('#message-text', 'role')) === 'alert', ended);
  await shot(patient, 'ended-phone');
}

async function cleanup() {
  for (const b of browsers) await b.close().catch(() => {});
  if (sluss && sluss.process.exitCode === null) await sluss.stop();
}

const watchdog = setTimeout(() => { console.log('FAIL the room test ran out of time'); process.exit(1); }, 185_000);
try {
  await main();
} catch (e) {
  check('room test', false, e.stack || String(e));
  for (const [who, page] of Object.entries(pages)) await shot(page, `failed-${who}`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
  if (counts.failed > 0) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-30).join('\n')}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed > 0 ? 1 : 0);
}
