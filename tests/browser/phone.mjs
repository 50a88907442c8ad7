// R14 as the nurse and the patient do it: the chair, in Chromium, moves a patient's voice to
// their phone from the patient's tile; Sluss calls the number through its SIP trunk (here
// baresip on loopback, answering by itself over TLS with SRTP and saying a 440 Hz tone); the
// tile says "Ljud via telefon", the patient's own page says their voice goes by phone, no
// audio flows to or from the patient's browser while their video goes on, and the chair hears
// the phone as the patient. Then the patient takes the voice back to the browser.
// Dial-in: the phone rings Sluss, types the relative's invitation PIN, waits in the lobby (the
// chair sees the masked number), is admitted in Chromium and heard by the chair, and is hung
// up when the chair removes them.
// Run inside a loopback-only namespace (run-in-netns.sh). Skipped when baresip is missing.
import { chromium } from 'playwright-core';
import { checks, waiter, sleep, chromiumArgs, totp, Sluss, joinMeeting, admitNext, openTileMenu } from './lib.mjs';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-phone-'));
const PORT = 18447;
const ORIGIN = `https://127.0.0.1:${PORT}`;
const SIP_PORT = 15061; // ours
const PHONE_PORT = 15070; // baresip's UDP/TCP; its TLS is one above
const CTRL_PORT = 15090; // baresip's control socket
const DIAL_IN = '010-123 45 67';
const NUMBER = '+46701234567';
const { check, counts } = checks();
const until = waiter(Date.now() + 240_000);
let sluss;
let baresip;
const browsers = [];

function hasBaresip() {
  try { execFileSync('sh', ['-c', 'command -v baresip'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/// baresip as the patient's phone: TLS with Sluss's own certificate (Sluss trusts it as the
/// trunk's), auto-answer for the number, SRTP required, a 440 Hz tone as its microphone.
function startPhone(certDir) {
  const dir = path.join(tmp, 'baresip');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'certkey.pem'),
    fs.readFileSync(path.join(certDir, 'cert.pem'), 'utf8') + fs.readFileSync(path.join(certDir, 'key.pem'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config'), [
    'poll_method epoll', `sip_listen 127.0.0.1:${PHONE_PORT}`, `sip_certificate ${path.join(dir, 'certkey.pem')}`,
    'call_local_timeout 30', 'audio_player aubridge,nil', 'audio_alert aubridge,nil', 'audio_source ausine,440',
    'ausrc_srate 48000', 'ausrc_channels 2', 'rtp_ports 15100-15140', 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module aubridge.so', 'module ausine.so', 'module srtp.so', 'module_tmp account.so',
    'module_app menu.so', 'module_app ctrl_tcp.so', `ctrl_tcp_listen 127.0.0.1:${CTRL_PORT}`, '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'),
    `<sip:${NUMBER}@127.0.0.1;transport=tls>;regint=0;answermode=auto;mediaenc=srtp-mand;audio_codecs=PCMA\n`);
  baresip = spawn('baresip', ['-f', dir, '-n', '127.0.0.1', '-v', ...(process.env.PHONE_LOG ? ['-s'] : [])], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  baresip.log = '';
  baresip.stdout.on('data', (d) => { baresip.log += d; });
  baresip.stderr.on('data', (d) => { baresip.log += d; });
}

/// Sends baresip a command line (`dial <uri>`) on its control socket, as a JSON netstring.
async function phoneCommand(line) {
  const [command, ...rest] = line.split(' ');
  const json = JSON.stringify({ command, params: rest.join(' '), token: 't' });
  await new Promise((resolve, reject) => {
    const s = net.connect(CTRL_PORT, '127.0.0.1', () => s.end(`${Buffer.byteLength(json)}:${json},`, resolve));
    s.on('error', reject);
  });
}

/// How often `pattern` is in baresip's log.
const phoneSaid = (pattern) => (baresip.log.match(pattern) || []).length;

const tlsOpen = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
  s.on('error', () => resolve(false));
});

/// Audio packets this page has received in all, and sent in all.
const audioCounts = (page) => page.evaluate(async () => {
  let received = 0;
  let sent = 0;
  (await window.sluss.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') received += r.packetsReceived || 0;
    if (r.type === 'outbound-rtp' && r.kind === 'audio') sent += r.packetsSent || 0;
  });
  return { received, sent };
});

/// The caption of `id`'s tile on `page`.
const caption = (page, id) => page.evaluate((pid) => document.querySelector(`[data-participant-id="${pid}"] .caption`)?.textContent ?? '', id);

async function main() {
  const config = path.join(tmp, 'sluss.toml');
  const data = path.join(tmp, 'data');
  fs.writeFileSync(config, [
    '[server]', `listen = "127.0.0.1:${PORT}"`, 'http_redirect_listen = ""', `public_url = "${ORIGIN}"`, `data_dir = "${data}"`,
    '[media]', 'port = 41300', 'workers = 1', 'announce_ip = "127.0.0.1"',
    '[sip]', 'trunk_host = "127.0.0.1"', `trunk_port = ${PHONE_PORT + 1}`, `listen = "127.0.0.1:${SIP_PORT}"`,
    'allowed_numbers = ["+4670*"]', `dial_in_number = "${DIAL_IN}"`, `trunk_ca_file = "${path.join(data, 'tls', 'cert.pem')}"`,
    '[log]', 'level = "info"', '',
  ].join('\n'));
  // Sluss makes its certificate before it reads the trunk's CA: one start to make it.
  fs.mkdirSync(path.join(data, 'tls'), { recursive: true });
  const first = new Sluss(bin, config);
  await until('the certificate', () => fs.existsSync(path.join(data, 'tls', 'key.pem')), 30_000);
  await first.stop();
  startPhone(path.join(data, 'tls'));
  await until("the phone's TLS port", () => tlsOpen(PHONE_PORT + 1), 15_000);
  sluss = new Sluss(bin, config);
  // (Nobody has enrolled yet, so this start prints a fresh setup link.)
  const setupUrl = await sluss.setupLink(ORIGIN, until);

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  browsers.push(browser);
  const context = () => browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const chair = await (await context()).newPage();
  await chair.goto(`${ORIGIN}/api/v1/login/methods`);
  const api = (p, body) => chair.evaluate(async ([url, b]) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [p, body]);
  const token = setupUrl.split('#')[1];
  const begin = await api('/api/v1/enroll/begin', { token });
  const enrolled = await api('/api/v1/enroll/complete', {
    token, username: 'sara.chair', display_name: 'Sara', password: 'ett långt och bra lösenord', code: totp(begin.body.secret),
  });
  check('the chair enrols', enrolled.status >= 200 && enrolled.status < 300, `${enrolled.status}`);
  const meeting = await api('/api/v1/meetings', { title: 'Uppföljning', invitations: [{ role: 'patient' }, { role: 'relative' }] });
  const dialIn = meeting.body.invitations?.[1]?.dial_in;
  check('the invitation says the number to ring and its PIN', dialIn?.number === DIAL_IN && /^\d{9}$/.test(dialIn?.pin ?? ''), JSON.stringify(dialIn));
  await joinMeeting(chair, meeting.body.chair_link, 'Sara');
  await chair.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const patient = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 } })).newPage();
  await joinMeeting(patient, meeting.body.guest_links[0], 'Pia');
  await admitNext(chair);
  await patient.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const pid = await patient.evaluate(() => window.sluss.participantId);
  await until("the patient's voice at the chair", async () => (await audioCounts(chair)).received > 50, 20_000);

  // The chair moves the patient's voice to the phone, from the patient's tile.
  const tile = `[data-participant-id="${pid}"]`;
  await openTileMenu(chair, pid);
  await chair.click(`${tile} .to-phone`);
  await chair.fill(`${tile} .phone-number`, '070-123 45 67');
  await chair.click(`${tile} .phone-form button[type=submit]`);
  const moved = await until('"Ljud via telefon" on the tile', async () => (await caption(chair, pid)).includes('Ljud via telefon'), 20_000).catch(() => false);
  check('the patient\'s tile says "Ljud via telefon" once the phone answers', moved, await caption(chair, pid));
  const banner = await patient.evaluate(() => !document.getElementById('phone-banner').hidden && document.getElementById('phone-banner-text').textContent);
  check("the patient's own page says the voice goes by phone", Boolean(banner && banner.includes('telefon')), `${banner}`);
  fs.mkdirSync(path.join(repo, 'target', 'screenshots'), { recursive: true });
  await patient.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-patient-390.png') });
  await chair.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-chair-1280.png') });

  // No audio to or from the patient's browser now, while the chair hears the phone.
  await sleep(1500);
  const before = { patient: await audioCounts(patient), chair: await audioCounts(chair) };
  await sleep(3000);
  const after = { patient: await audioCounts(patient), chair: await audioCounts(chair) };
  check("no voice reaches the patient's browser", after.patient.received - before.patient.received < 5,
    `+${after.patient.received - before.patient.received} audio packets in 3 s`);
  check('the chair keeps hearing the patient, now by phone', after.chair.received - before.chair.received > 100,
    `+${after.chair.received - before.chair.received} audio packets in 3 s`);
  const frames = await chair.evaluate(async () => {
    let f = 0;
    (await window.sluss.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') f += r.framesDecoded || 0; });
    return f;
  });
  check("the patient's video goes on", frames > 30, `${frames} frames decoded`);

  // The patient takes the voice back: the call is hung up, audio flows again both ways.
  await patient.click('#audio-back');
  const back = await until('the banner gone', () => patient.evaluate(() => document.getElementById('phone-banner').hidden), 15_000).catch(() => false);
  check('"Ljudet tillbaka till webbläsaren" brings the voice back', back);
  await until('the phone hung up', () => /terminated|closed/i.test(baresip.log), 15_000).catch(() => null);
  await sleep(1500);
  const p1 = await audioCounts(patient);
  await sleep(2000);
  const p2 = await audioCounts(patient);
  check("the patient's browser hears the meeting again", p2.received - p1.received > 40, `+${p2.received - p1.received} audio packets in 2 s`);
  check('the tile no longer says "Ljud via telefon"', !(await caption(chair, pid)).includes('telefon'), await caption(chair, pid));

  await dialInWalk(chair, dialIn.pin);
  await callInWalk(chair);
}

/// The chair calls someone in from the chair's panel; they answer, knock and are let in.
async function callInWalk(chair) {
  const ended = phoneSaid(/terminated|session closed/g);
  await chair.fill('#call-in-number', '070-123 45 67');
  await chair.click('#call-in button[type=submit]');
  const knocked = await until('the called-in person in the lobby', () => chair.evaluate(() => document.querySelector('#lobby-list .lobby-phone') !== null), 20_000).catch(() => false);
  check('"Ring in någon per telefon": whoever answers knocks in the lobby', knocked);
  if (!knocked) return;
  await chair.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-call-in-lobby-1280.png') });
  await admitNext(chair);
  const id = await until('their tile', () => chair.evaluate(() => {
    for (const li of document.querySelectorAll('#tiles [data-participant-id]')) {
      if (li.querySelector('.caption')?.textContent.includes('Deltar per telefon')) return li.dataset.participantId;
    }
    return null;
  }), 15_000).catch(() => null);
  check('admitted, the called-in person is in the room by phone', Boolean(id));
  if (!id) return;
  // The chair presses keys toward the phone (a reception's menu): they arrive as DTMF.
  // baresip says "received event: '1' (end=0)" as a press starts.
  const pressStart = /received event: '(.)' \(end=0\)/g;
  const before = phoneSaid(pressStart);
  await chair.click(`${await openTileMenu(chair, id)} button.keypad`);
  await chair.fill(`[data-participant-id="${id}"] .keys-form input`, '12#');
  await chair.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-keypad-1280.png') });
  await chair.click(`[data-participant-id="${id}"] .keys-form button[type=submit]`);
  const pressed = await until('the keys at the phone', () => phoneSaid(pressStart) >= before + 3, 10_000).catch(() => false);
  const keys = [...baresip.log.matchAll(pressStart)].slice(before).map((m) => m[1]).join('');
  check('"Knappval": the keys the chair presses reach the phone as DTMF, in order', pressed && keys === '12#', keys);
  chair.once('dialog', (d) => d.accept());
  await chair.click(`${await openTileMenu(chair, id)} button:has-text("Ta bort")`);
  const hungUp = await until('the call hung up', () => phoneSaid(/terminated|session closed/g) > ended, 15_000).catch(() => false);
  check("the chair's removal hangs up the called-in phone", hungUp);
}

/// The relative rings in, types the PIN, waits in the lobby and is let in by the chair.
async function dialInWalk(chair, pin) {
  const established = phoneSaid(/Call established/g);
  const ended = phoneSaid(/terminated|session closed/g);
  await phoneCommand(`dial sip:dialin@127.0.0.1:${SIP_PORT};transport=tls`);
  await until('the dial-in answered', () => phoneSaid(/Call established/g) > established, 15_000);
  await sleep(500);
  await phoneCommand(`sndcode ${pin}#`);
  const knocked = await until('the caller in the lobby', () => chair.evaluate(() => document.querySelector('#lobby-list .lobby-phone') !== null), 20_000).catch(() => false);
  const lobby = await chair.evaluate(() => document.getElementById('lobby-list').textContent);
  check('the caller waits in the lobby, named by a masked number', knocked && lobby.includes('Telefon +46 70*** **67'), lobby);
  check('the number is never shown whole', !lobby.includes('701234567'), lobby);
  await chair.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-dial-in-lobby-1280.png') });
  await admitNext(chair);
  const callerId = await until('a tile that says "Deltar per telefon"', () => chair.evaluate(() => {
    for (const li of document.querySelectorAll('#tiles [data-participant-id]')) {
      if (li.querySelector('.caption')?.textContent.includes('Deltar per telefon')) return li.dataset.participantId;
    }
    return null;
  }), 15_000).catch(() => null);
  check('admitted, the caller is in the room and the tile says "Deltar per telefon"', Boolean(callerId));
  if (!callerId) return;
  // The chair hears the caller: packets on the caller's own audio track.
  const heard = () => chair.evaluate(async (id) => {
    const video = document.querySelector(`[data-participant-id="${id}"] video`);
    const track = video?.srcObject?.getAudioTracks()[0];
    if (!track) return 0;
    let n = 0;
    (await window.sluss.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.trackIdentifier === track.id) n += r.packetsReceived || 0;
    });
    return n;
  }, callerId);
  await until("the caller's voice at the chair", async () => (await heard()) > 0, 15_000).catch(() => null);
  const h1 = await heard();
  await sleep(2000);
  const h2 = await heard();
  check('the chair hears the caller', h2 - h1 > 60, `+${h2 - h1} packets of the caller's voice in 2 s`);
  await chair.screenshot({ path: path.join(repo, 'target', 'screenshots', 'phone-dial-in-room-1280.png') });
  // "*6" on the phone mutes the caller at the gateway, and again unmutes: the room sees it.
  const caption = () => chair.evaluate((id) => document.querySelector(`[data-participant-id="${id}"] .caption`)?.textContent ?? '', callerId);
  await phoneCommand('sndcode *6');
  const muted = await until('the caller muted', async () => (await caption()).includes('mikrofon av'), 10_000).catch(() => false);
  check('"*6" on the phone mutes the caller, and the tile says so', muted, await caption());
  await phoneCommand('sndcode *6');
  const unmuted = await until('the caller unmuted', async () => !(await caption()).includes('mikrofon av'), 10_000).catch(() => false);
  check('"*6" again unmutes them', unmuted, await caption());
  // Removed by the chair: the phone is hung up.
  chair.once('dialog', (d) => d.accept());
  await chair.click(`${await openTileMenu(chair, callerId)} button:has-text("Ta bort")`);
  const hungUp = await until('the caller hung up', () => phoneSaid(/terminated|session closed/g) > ended, 15_000).catch(() => false);
  check("the chair's removal hangs up the caller's phone", hungUp);
}

const watchdog = setTimeout(() => { console.log('FAIL the phone test ran out of time'); process.exit(1); }, 250_000);
try {
  if (!hasBaresip()) console.log('SKIPPED: baresip is not installed');
  else await main();
} catch (e) {
  check('phone test', false, e.stack || String(e));
} finally {
  clearTimeout(watchdog);
  for (const b of browsers) await b.close().catch(() => {});
  await sluss?.stop();
  if (baresip) { try { process.kill(-baresip.pid, 'SIGKILL'); } catch { /* gone */ } }
  if (baresip && process.env.PHONE_LOG) fs.writeFileSync(process.env.PHONE_LOG, baresip.log);
  if (counts.failed) {
    console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
    console.log(`--- baresip ---\n${(baresip?.log ?? '').split('\n').slice(-25).join('\n')}`);
  }
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
