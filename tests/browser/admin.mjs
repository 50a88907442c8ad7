// Staff administration as an administrator does it, through the start page in headless
// Chromium, with the person on the other end in a browser of her own: invite, disable (her
// session ends at once), enable, a lock from wrong passwords shown and lifted, new roles, and a
// new login for a lost phone that keeps the account. Every change is checked where it takes
// effect (her page, her login) and in the audit trail. Run inside a loopback-only network
// namespace (run-in-netns.sh).
import { chromium } from 'playwright-core';
import { checks, waiter, chromiumArgs, Sluss, totp, checkAccessible, axeViolations } from './lib.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-admin-'));
const PORT = 18460;
const ORIGIN = `https://127.0.0.1:${PORT}`;
const deadlineAll = Date.now() + 110_000;
const PASSWORD = 'ett långt lösenord för Berit';

const { check, counts } = checks();
const until = waiter(deadlineAll);
const config = path.join(tmp, 'sluss.toml');
let sluss;
let browser;

/// Enrols on a setup page (`link`); gives the TOTP secret it showed.
async function enrol(page, link, fields) {
  await page.goto(link);
  await page.waitForSelector('#enroll:not([hidden])', { timeout: 20_000 });
  if (fields.a11y) await checkAccessible(check, page, fields.a11y);
  delete fields.a11y;
  const secret = await page.textContent('#totp-secret');
  for (const [id, value] of Object.entries(fields)) {
    if (!(await page.getAttribute(`#${id}`, 'readonly'))) await page.fill(`#${id}`, value);
  }
  await page.fill('#code', totp(secret));
  await page.click('#enroll button[type=submit]');
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 20_000 });
  return secret;
}

/// Logs in on the login page; true when the start page came.
async function login(page, password, code) {
  await page.goto(`${ORIGIN}/login`);
  await page.waitForSelector('#login', { timeout: 10_000 });
  await page.fill('#username', 'berit.sjuksk');
  await page.fill('#password', password);
  await page.fill('#code', code);
  await page.click('#login button[type=submit]');
  const outcome = await until('the login outcome', async () => {
    if (new URL(page.url()).pathname === '/' && await page.isVisible('#whoami')) return 'in';
    if (await page.isVisible('#error').catch(() => false)) return 'refused';
    return null;
  }, 15_000);
  return outcome === 'in';
}

/// Berit's row on the administrator's start page, after a fresh load.
async function beritRow(admin) {
  await admin.reload();
  await admin.waitForSelector('#accounts-table:not([hidden]) tr[data-user="berit.sjuksk"]', { timeout: 10_000 });
  return admin.textContent('tr[data-user="berit.sjuksk"]');
}

const sessionStatus = (page) => page.evaluate(async () => (await fetch('/api/v1/session')).status);

async function main() {
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41300', 'workers = 1', 'announce_ip = "127.0.0.1"',
    '[ops]', 'listen = "127.0.0.1:18469"',
    '[log]', 'level = "info"', '',
  ].join('\n'));
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const context = (viewport = { width: 1280, height: 800 }) => browser.newContext({ ignoreHTTPSErrors: true, viewport });

  const admin = await (await context()).newPage();
  await enrol(admin, setupUrl, { username: 'anna.admin', 'display-name': 'Anna Administratör', password: 'ett långt och bra lösenord', a11y: 'the enrolment page' });

  // Invite: the form gives a one-time link; Berit enrols with it in her own browser.
  await admin.waitForSelector('#admin:not([hidden])', { timeout: 10_000 });
  await admin.fill('#new-username', 'berit.sjuksk');
  await admin.fill('#new-name', 'Berit Sjuksköterska');
  await admin.click('#new-user button[type=submit]');
  await admin.waitForSelector('#user-result:not([hidden])', { timeout: 10_000 });
  const invite = await admin.inputValue('#user-link');
  check('the administrator invites a nurse and gets her one-time link', /\/setup#[A-Za-z0-9_-]{43}$/.test(invite), invite);
  const berit = await (await context()).newPage();
  secretOf.berit = await enrol(berit, invite, { password: PASSWORD });
  check('the nurse enrols with it and is logged in under the name the administrator gave', (await berit.textContent('#whoami-name')) === 'Berit Sjuksköterska');
  let row = await beritRow(admin);
  await checkAccessible(check, admin, "the administrator's start page (desktop)");
  check('her account is listed: staff, active, logged in', /personal/.test(row) && /aktivt/.test(row) && !/aldrig/.test(row), row);
  // Her next login uses the next 30-second code of her authenticator: the enrolment used this one.
  const nextCode = () => totp(secretOf.berit, Date.now() + 30_000);

  // Disable: confirmed; her open page loses its session at once, and she cannot log in.
  admin.once('dialog', (d) => d.accept());
  await admin.click('tr[data-user="berit.sjuksk"] button.danger');
  await admin.waitForSelector('#accounts-status:not([hidden])', { timeout: 10_000 });
  check('disabling says so in Swedish', /avstängd och utloggad/.test(await admin.textContent('#accounts-status')));
  row = await admin.textContent('tr[data-user="berit.sjuksk"]');
  check('her row says disabled', /avstängt/.test(row), row);
  check('her open page has lost its session at once', (await sessionStatus(berit)) === 401);
  check('a disabled account cannot log in, even with the right password and code', !(await login(berit, PASSWORD, nextCode())));
  await checkAccessible(check, berit, 'the login page with its error');

  // Enable again.
  await admin.click('tr[data-user="berit.sjuksk"] button:has-text("Aktivera")');
  const enabled = await until('enabled', async () => /aktivt/.test(await admin.textContent('tr[data-user="berit.sjuksk"]')), 10_000).then(() => true, () => false);
  check('the administrator enables her again', enabled);

  // Five wrong passwords lock her address; the administrator sees it and lifts it.
  for (let i = 0; i < 5; i += 1) await login(berit, 'fel lösenord', '000000');
  check('after five wrong passwords even the right ones are refused for a while', !(await login(berit, PASSWORD, nextCode())));
  row = await beritRow(admin);
  check('the administrator sees the account locked after failed logins', /låst efter felaktiga inloggningar/.test(row), row);
  await admin.click('tr[data-user="berit.sjuksk"] button:has-text("Lås upp")');
  await admin.waitForSelector('#accounts-status:not([hidden])', { timeout: 10_000 });
  row = await admin.textContent('tr[data-user="berit.sjuksk"]');
  check('"Lås upp" makes the account active', /aktivt/.test(row) && !/låst/.test(row), row);
  check('and she logs in at once', await login(berit, PASSWORD, nextCode()));

  // New roles: her session ends, and the new role is hers at the next login.
  await admin.click('tr[data-user="berit.sjuksk"] details summary');
  await admin.check('tr[data-user="berit.sjuksk"] input[value="auditor"]');
  await admin.click('tr[data-user="berit.sjuksk"] button:has-text("Spara roller")');
  // The roles cell alone: the row's open editor has a box labelled "granskare" from the start,
  // which let this wait end before the change was saved (a flake: her session was still open).
  const auditor = await until('the roles', async () => /granskare/.test(await admin.textContent('tr[data-user="berit.sjuksk"] td:nth-child(3)')), 10_000).then(() => true, () => false);
  check('the administrator gives her the auditor role', auditor);
  check('a change of roles ends her session', (await sessionStatus(berit)) === 401);

  // A lost phone: a new login link for the same account; the old session is over.
  admin.once('dialog', (d) => d.accept());
  await admin.click('tr[data-user="berit.sjuksk"] button:has-text("Ny inloggning")');
  await admin.waitForSelector('#accounts-link:not([hidden]), p:not([hidden]) > #accounts-link', { timeout: 10_000 });
  const resetLink = await admin.inputValue('#accounts-link');
  check('"Ny inloggning" gives a one-time link', /\/setup#[A-Za-z0-9_-]{43}$/.test(resetLink), resetLink);
  const phone = await (await context({ width: 390, height: 844 })).newPage();
  await enrol(phone, resetLink, { password: 'ett nytt lösenord efter tappad telefon' });
  check('she enrols a new authenticator on the same account: her name, and the auditor role kept',
    (await phone.textContent('#whoami-name')) === 'Berit Sjuksköterska' && await phone.isVisible('#auditor'));
  await checkAccessible(check, phone, "an auditor's start page (phone)");
  check('the old password no longer works', !(await login(berit, PASSWORD, nextCode())));

  // The trail names the administrator for each change, and Berit as its subject.
  const entries = execFileSync(bin, ['audit', 'export', '--config', config, '--reader', 'admin-test'])
    .toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const [adminId, beritId] = entries.filter((e) => e.event === 'staff_enrolled').map((e) => e.subject);
  const changes = ['staff_disabled', 'staff_enabled', 'staff_unlocked', 'staff_roles_changed', 'staff_authenticator_reset'];
  const missing = changes.filter((ev) => !entries.some((e) => e.event === ev && e.actor === adminId && e.subject === beritId));
  check('every change is in the audit trail with the administrator and the account', beritId && missing.length === 0, `missing: ${missing.join(',')}`);

  // On a phone the accounts are cards: nothing runs off the side of the screen.
  const adminPhone = admin;
  await adminPhone.setViewportSize({ width: 390, height: 844 });
  await adminPhone.reload();
  await adminPhone.waitForSelector('#accounts-table:not([hidden]) tr[data-user="berit.sjuksk"]', { timeout: 10_000 });
  const overflow = await adminPhone.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  await checkAccessible(check, adminPhone, "the administrator's start page (phone)");
  check('on a phone the staff accounts fit the screen', overflow <= 0, `${overflow}px too wide`);
  // The accessibility check can fail: a field without a label is found.
  await adminPhone.evaluate(() => document.body.append(Object.assign(document.createElement('input'), { id: 'unlabelled' })));
  const canary = await axeViolations(adminPhone);
  check('axe-core finds a field without a label (the check itself works)', canary.some((v) => v.startsWith('label:')), canary.join('; '));
  await adminPhone.evaluate(() => document.getElementById('unlabelled').remove());
  fs.mkdirSync(path.join(repo, 'target/screenshots'), { recursive: true });
  await adminPhone.locator('#admin').screenshot({ path: path.join(repo, 'target/screenshots/admin-accounts-phone.png') });
}

const secretOf = {};
const watchdog = setTimeout(() => { console.log('FAIL the administration test ran out of time'); process.exit(1); }, 120_000);
try {
  await main();
} catch (e) {
  check('administration test', false, e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await sluss?.stop();
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
