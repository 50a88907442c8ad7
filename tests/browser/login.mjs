// Staff login (R2) and citizen e-identification (R5) against a real OpenID Connect provider,
// driven through Sluss's real pages in headless Chromium. Run inside a loopback-only network
// namespace (run-in-netns.sh).
import { chromium } from 'playwright-core';
import { checks, waiter, healthy, chromiumArgs, mediaPath, Sluss, joinMeeting, admitNext } from './lib.mjs';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIdp, CLIENTS } from './idp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-login-'));
const PORT = 18444;
const IDP_PORT = 18600;
const TURN_PORT = 18478;
const TURN_SECRET = 'turn-test-hemlighet';
const ORIGIN = `https://127.0.0.1:${PORT}`;
const deadlineAll = Date.now() + 150_000;

const { check, counts } = checks();
const until = waiter(deadlineAll);
const healthyNow = () => healthy(ORIGIN);


let sluss;
let turn;
let turnLog = '';
let idp;
let browser;

/// Logs in at the test IdP as `who`, from a page that is on its way there.
async function idpLogin(page, who) {
  await page.waitForSelector('#idp-login', { timeout: 15_000 });
  await page.fill('#idp-login', who);
  await page.click('#idp-submit');
}

async function main() {
  idp = await startIdp(IDP_PORT, ORIGIN);
  const discovery = await fetch(`${idp.issuer}/.well-known/openid-configuration`).then((r) => r.json()).catch(() => ({}));
  check('the OpenID Connect provider runs on loopback and publishes its discovery document', discovery.issuer === idp.issuer, idp.issuer);
  const config = path.join(tmp, 'sluss.toml');
  const provider = (section, client, scopes) => [
    `[${section}]`, `issuer = "${idp.issuer}"`, `client_id = "${client.id}"`, `scopes = ${JSON.stringify(scopes)}`,
  ];
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41100', 'workers = 1', 'announce_ip = "127.0.0.1"',
    ...provider('staff_oidc', CLIENTS.staff, ['profile', 'roles']),
    ...provider('citizen_eid', CLIENTS.eid, ['profile', 'https://id.oidc.se/scope/naturalPersonNumber']),
    '[turn]', `urls = ["turn:127.0.0.1:${TURN_PORT}?transport=udp"]`, 'credential_ttl_secs = 600',
    '[log]', 'level = "info,sluss_signaling=debug"', '',
  ].join('\n'));
  // Client secrets come from the environment, as the sample config advises.
  const env = {
    ...process.env,
    SLUSS_STAFF_OIDC__CLIENT_SECRET: CLIENTS.staff.secret,
    SLUSS_CITIZEN_EID__CLIENT_SECRET: CLIENTS.eid.secret,
    SLUSS_TURN__SHARED_SECRET: TURN_SECRET,
  };
  // coturn, as a region would run it, checking Sluss's short-lived credentials.
  turn = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', `--listening-port=${TURN_PORT}`,
    '--relay-ip=127.0.0.1', '--min-port=49160', '--max-port=49260', '--use-auth-secret',
    `--static-auth-secret=${TURN_SECRET}`, '--realm=sluss.test', '--allow-loopback-peers',
    '--no-tls', '--no-dtls', '--no-cli', '--fingerprint', '--simple-log', '--log-file=stdout'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout.on('data', (d) => { turnLog += d; });
  turn.stderr.on('data', (d) => { turnLog += d; });
  sluss = new Sluss(bin, config, env);
  await until('healthz', healthyNow, 60_000);

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const context = () => browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });

  // R2: a nurse logs in with LoA3 through the provider and lands on the start page, logged in.
  const sara = await (await context()).newPage();
  await sara.goto(`${ORIGIN}/login`);
  await sara.waitForSelector('#oidc:not([hidden])', { timeout: 10_000 });
  await sara.click('#oidc-link');
  await idpLogin(sara, 'sara');
  await sara.waitForURL(`${ORIGIN}/`, { timeout: 15_000 });
  await sara.waitForSelector('#whoami:not([hidden])', { timeout: 10_000 });
  check('a nurse logs in through the identity provider at LoA3', (await sara.textContent('#whoami-name')) === 'Sara Sjuksköterska');
  const session = await sara.evaluate(() => fetch('/api/v1/session').then((r) => r.json()));
  check('her roles come from the roles claim', JSON.stringify(session.roles) === '["staff"]', JSON.stringify(session.roles));
  const cookies = await sara.context().cookies(ORIGIN);
  const sessionCookie = cookies.find((c) => c.name === 'sluss_session');
  check('the session cookie is Secure, HttpOnly and SameSite=Strict', sessionCookie?.secure && sessionCookie?.httpOnly && sessionCookie?.sameSite === 'Strict');

  // R2: a login at LoA2 is refused with a page that says why, and opens no session.
  for (const [who, expect, label] of [['lars', /För låg tillitsnivå/, 'a login below LoA3 is refused with a clear page'], ['olle', /Ingen behörighet/, 'an account without a Sluss role is refused']]) {
    const page = await (await context()).newPage();
    await page.goto(`${ORIGIN}/auth/login`);
    await idpLogin(page, who);
    await page.waitForSelector('#refusal', { timeout: 15_000 });
    const text = await page.textContent('#refusal');
    const status = await page.evaluate(() => fetch('/api/v1/session').then((r) => r.status));
    check(label, expect.test(text) && status === 401, `session ${status}`);
    await page.context().close();
  }
  // A callback that this browser did not start is refused (login CSRF).
  const forged = await (await context()).newPage();
  const forgedResponse = await forged.goto(`${ORIGIN}/auth/callback?code=abc&state=xyz`);
  check('a callback this browser did not start is refused', forgedResponse.status() === 403);
  await forged.context().close();

  // R5: a meeting that requires e-identification of its guests.
  // Made on the start page, as a nurse would: the e-identification choice is offered because
  // the server has an e-identification provider.
  await sara.goto(`${ORIGIN}/`);
  await sara.waitForSelector('#require-eid-row:not([hidden])', { timeout: 10_000 });
  await sara.fill('#title', 'Uppföljning');
  await sara.fill('#count-patient', '1');
  await sara.fill('#count-relative', '1');
  await sara.check('#require-eid');
  await sara.click('#new-meeting button[type=submit]');
  await sara.waitForSelector('#created:not([hidden])', { timeout: 10_000 });
  const created = {
    chair_link: await sara.inputValue('[data-link=chair]'),
    guest_links: [await sara.inputValue('[data-link=guest-0]'), await sara.inputValue('[data-link=guest-1]')],
  };
  check('staff create a meeting that requires e-identification on the start page', created.guest_links.every((l) => /\/join#/.test(l)));
  await joinMeeting(sara, created.chair_link, 'Sara');
  await sara.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });

  // A raw WebSocket without e-identification is refused, before the lobby.
  const raw = await (await context()).newPage();
  await raw.goto(`${ORIGIN}/api/v1/login/methods`);
  const relativeToken = created.guest_links[1].split('#')[1];
  const refusal = await raw.evaluate((token) => new Promise((resolve) => {
    const ws = new WebSocket(`wss://${location.host}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', v: 1, token, display_name: 'Okänd' }));
    ws.onmessage = (e) => resolve(JSON.parse(e.data));
    setTimeout(() => resolve(null), 5000);
  }), relativeToken);
  check('a guest who has not identified cannot knock', refusal?.code === 'eid_required', JSON.stringify(refusal));
  await raw.context().close();

  // The patient opens the link, identifies at LoA3, comes back and knocks.
  const patient = await (await context()).newPage();
  await patient.goto(created.guest_links[0]);
  await patient.waitForSelector('#eid:not([hidden])', { timeout: 15_000 });
  check('the join page asks the patient to identify first', !(await patient.isVisible('#join-form')));
  await patient.click('#eid-start');
  await idpLogin(patient, 'tolvan');
  await patient.waitForSelector('#eid-done:not([hidden])', { timeout: 15_000 });
  check('back from e-identification, the page says who she proved to be', (await patient.textContent('#eid-done')).includes('Tolvan Tolvansson'));
  check('the invitation token never reached the address bar', !patient.url().includes('#'), patient.url());
  await patient.click('#join-button');
  await sara.waitForSelector('#lobby-list li .verified', { timeout: 15_000 });
  const lobbyNote = await sara.textContent('#lobby-list li .verified');
  check('the chair sees the verified name and personal identity number in the lobby', lobbyNote.includes('Tolvan Tolvansson') && lobbyNote.includes('191212121212'), lobbyNote);
  check('e-identification does not let anyone in by itself (R4)', await patient.isVisible('#lobby'));
  await sara.click('#lobby-list li button.primary');
  await patient.waitForSelector('#meeting:not([hidden])', { timeout: 15_000 });
  const patientId = await patient.evaluate(() => window.sluss.participantId);
  const tileState = await until('the chair to see the tile', () => sara.textContent(`[data-participant-id="${patientId}"] .id-state`), 10_000).catch(() => '');
  check('the tile shows she is identified by e-identification', tileState === 'Identifierad med e-legitimation', tileState);
  const patientSees = await patient.content();
  check('no one but the chair is sent the personal identity number', !patientSees.includes('191212121212'));
  // The audit trail names who took part (R15), but the number is never stored or logged.
  const dataDir = path.join(tmp, 'data');
  const stored = fs.readdirSync(dataDir).filter((f) => f.startsWith('sluss.db'))
    .map((f) => fs.readFileSync(path.join(dataDir, f)).toString('latin1')).join('');
  check('the personal identity number is in neither the database nor the log', !stored.includes('191212121212') && !sluss.log.includes('191212121212'));
  check('the log carries no names', !sluss.log.includes('Tolvansson') && !sluss.log.includes('Sjuksköterska'));

  // A citizen at LoA2 is refused.
  const weak = await (await context()).newPage();
  await weak.goto(created.guest_links[1]);
  await weak.waitForSelector('#eid:not([hidden])', { timeout: 15_000 });
  await weak.click('#eid-start');
  await idpLogin(weak, 'svag');
  await weak.waitForSelector('#refusal', { timeout: 15_000 });
  check('an e-identification below LoA3 is refused with a clear page', /tillitsnivå/.test(await weak.textContent('#refusal')));

  // A relative behind a network that lets only TURN through: all her media goes via coturn,
  // with the credential Sluss handed out, and both sides see each other.
  const second = await sara.evaluate(async () => {
    const r = await fetch('/api/v1/meetings', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Anhörigsamtal', invitations: [{ role: 'relative' }, { role: 'relative' }] }),
    });
    return r.json();
  });
  const chair2 = await sara.context().newPage();
  await joinMeeting(chair2, second.chair_link, 'Sara');
  await chair2.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const relative = await (await context()).newPage();
  await joinMeeting(relative, second.guest_links[0].replace('/join#', '/join?relay=only#'), 'Rut');
  await admitNext(chair2);
  const relayed = await until('media through TURN', async () => {
    const path = await mediaPath(relative);
    return path?.type === 'relay' && path.frames > 10 ? path : null;
  }, 30_000).catch((e) => ({ error: e.message }));
  check('a relative whose network allows only TURN gets media through coturn', relayed?.type === 'relay', JSON.stringify(relayed));
  const chairSees = await until('the chair to decode the relative', async () => {
    const frames = (await mediaPath(chair2))?.frames ?? 0;
    return frames > 10 ? frames : null;
  }, 20_000).catch(() => 0);
  check('and the chair sees her', chairSees > 10, `${chairSees} frames`);

  // A relative whose network lets no UDP through to the gateway (`?ice=tcp` keeps only its TCP
  // candidates) connects over ICE-TCP to the gateway's TCP port, and the media flows.
  const ture = await (await context()).newPage();
  await joinMeeting(ture, second.guest_links[1].replace('/join#', '/join?ice=tcp#'), 'Ture');
  await admitNext(chair2);
  const overTcp = await until('media over TCP', async () => {
    const path = await mediaPath(ture);
    return path?.protocol === 'tcp' && path.frames > 10 ? path : null;
  }, 30_000).catch((e) => ({ error: e.message }));
  check('a relative whose network blocks UDP connects over ICE-TCP', overTcp?.protocol === 'tcp', JSON.stringify(overTcp));

  // The audit trail has the login with its level, and the refusals.
  const entries = execFileSync(bin, ['audit', 'export', '--config', config, '--reader', 'login-test'], { env })
    .toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const login = entries.find((e) => e.event === 'login' && e.details?.method === 'oidc');
  check('the trail records the login and its assurance level', login?.details?.acr === 'http://id.elegnamnden.se/loa/1.0/loa3', JSON.stringify(login?.details));
  const refusals = entries.filter((e) => e.event === 'login_refused').map((e) => e.details.reason);
  check('the trail records why logins were refused', refusals.includes('assurance_too_low') && refusals.includes('no_role'), refusals.join(','));
}

const watchdog = setTimeout(() => { console.log('FAIL the login test ran out of time'); process.exit(1); }, 160_000);
try {
  await main();
} catch (e) {
  check('login test', false, e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await sluss?.stop();
  await idp?.close().catch(() => {});
  turn?.kill('SIGTERM');
  if (counts.failed) console.log(`--- coturn ---\n${turnLog.split('\n').slice(-15).join('\n')}`);
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
