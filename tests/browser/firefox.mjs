// A patient in Firefox ESR (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi)
// goes through the join page, the lobby and the room of a meeting that a nurse chairs in
// Chromium (playwright-core): each decodes the other's camera and receives the other's voice,
// and axe-core runs on the patient's pages. Firefox sends its camera in three simulcast layers
// but ignores the L1T3 the page asks for: each layer comes in two temporal layers, not three.
// The relay builds its ladder from what it measures, so a viewer whose link is too weak for the
// larger layers is moved to a smaller one at the full frame rate, and only below the smallest
// in full gets it at half the frame rate (T0), never less. The chair is that viewer here: her
// Chromium runs in a network namespace of its own, joined to the test's by a veth pair whose
// gateway side is squeezed with a token bucket filter (tbf). Run inside a loopback-only
// namespace (run-in-netns.sh), as root.
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { checks, waiter, sleep, chromiumArgs, totp, Sluss, admitNext, checkAccessible, opsText, metricSum } from './lib.mjs';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-firefox-'));
const shots = path.join(repo, 'target', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const PORT = 18490;
const OPS = 'http://127.0.0.1:18499';
const GATEWAY_IP = '10.78.0.1';
const CHAIR_IP = '10.78.0.2';
const ORIGIN = `https://${GATEWAY_IP}:${PORT}`;
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1280, height: 720 };
const deadlineAll = Date.now() + 165_000;
// The chair's downlink when squeezed: too narrow for the larger layers of the Firefox camera.
const SQUEEZE = process.env.FF_SQUEEZE || '250kbit';
// The relay numbers peers as their media connects: the chair first, then the patient.
const CHAIR_PEER = 'peer#1';
const PATIENT_PEER = 'peer#2';

const { check, counts } = checks();
const until = waiter(deadlineAll);
const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

let sluss;
let holder;
let chromiumBrowser;
let firefox;
const pages = {};

/// `promise`, or an error once `ms` have passed: puppeteer's `evaluate` has no timeout of its
/// own, and a page that hangs must not hang the test.
function within(ms, promise, what = 'the page') {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/// Firefox's page with every `evaluate` bounded (for the checks in lib.mjs, which call it).
const bounded = (page, ms = 20_000) => ({ evaluate: (fn, ...args) => within(ms, page.evaluate(fn, ...args), 'evaluate') });

/// Firefox ESR with a fake camera and microphone, allowed without asking, and ICE over
/// loopback. (`media.navigator.permission.disabled` is not used: with it Firefox gathers only
/// the default route's address, which a namespace without a route does not have.)
function launchFirefox() {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    acceptInsecureCerts: true,
    protocolTimeout: 30_000,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'permissions.default.camera': 1,
      'permissions.default.microphone': 1,
      'media.peerconnection.ice.loopback': true,
      'media.autoplay.default': 0,
      // No sound card here: without a mock audio output, Firefox's AudioContext stays
      // suspended, and the page's microphone meter reads nothing.
      'media.cubeb.force_mock_context': true,
    },
  });
}

/// A network namespace for the chair's Chromium, held open by a sleeping process and joined to
/// ours by a veth pair; gives the path of a wrapper that starts Chromium inside it.
function chairNetwork() {
  holder = spawn('unshare', ['-n', 'sleep', '300'], { stdio: 'ignore' });
  const mine = fs.readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 50; i++) {
    try { if (fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== mine) break; } catch { /* not yet */ }
    execFileSync('sleep', ['0.1']);
  }
  const inChair = (...args) => sh('nsenter', '-t', String(holder.pid), '-n', ...args);
  // IPv4 only: an IPv6 address settling on the new link makes Chromium abort a page load.
  for (const run of [sh, inChair]) {
    try { run('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'); } catch { /* no IPv6 */ }
  }
  sh('ip', 'link', 'add', 'ff0', 'type', 'veth', 'peer', 'name', 'ff1');
  sh('ip', 'link', 'set', 'ff1', 'netns', String(holder.pid));
  sh('ip', 'addr', 'add', `${GATEWAY_IP}/24`, 'dev', 'ff0');
  sh('ip', 'link', 'set', 'ff0', 'up');
  inChair('ip', 'link', 'set', 'lo', 'up');
  inChair('ip', 'addr', 'add', `${CHAIR_IP}/24`, 'dev', 'ff1');
  inChair('ip', 'link', 'set', 'ff1', 'up');
  const wrapper = path.join(tmp, 'chromium-in-chair-ns');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${holder.pid} -n /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/// The chair's downlink squeezed to `rate` (a bucket of two packets, as on a narrow link).
const squeeze = (rate) => sh('tc', 'qdisc', 'add', 'dev', 'ff0', 'root', 'tbf', 'rate', rate, 'burst', '3000', 'latency', '250ms');

/// Opens `url`, again if Chromium saw the network change under it (the new veth link).
async function open(page, url) {
  for (let i = 0; ; i++) {
    try { return await page.goto(url); } catch (e) {
      if (i >= 2 || !/ERR_NETWORK_CHANGED/.test(e.message)) throw e;
      await sleep(500);
    }
  }
}

/// What a page receives and sends, from its peer connection: per inbound video stream the
/// frames decoded and the height, per inbound audio the samples, and the simulcast layers it
/// sends (rid, height, frames encoded). Runs in either browser.
async function media() {
  const pc = window.sluss?.pc;
  if (!pc) return null;
  const out = { video: {}, audio: {}, sent: {}, dtls: null };
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.video[r.ssrc] = { frames: r.framesDecoded || 0, height: r.frameHeight || 0, track: r.trackIdentifier };
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio[r.ssrc] = { samples: r.totalSamplesReceived || r.packetsReceived || 0 };
    if (r.type === 'outbound-rtp' && r.kind === 'video' && (r.framesEncoded || 0) > 0) out.sent[r.rid ?? r.ssrc] = { height: r.frameHeight || 0, frames: r.framesEncoded || 0, bytes: r.bytesSent || 0 };
    if (r.type === 'transport' && r.dtlsState) out.dtls = r.dtlsState;
  });
  return out;
}
const chairMedia = () => pages.chair.evaluate(media);
const patientMedia = () => within(10_000, pages.patient.evaluate(media), "Firefox's stats");

/// Whether some inbound video and some inbound audio rose between two samples `gap` ms apart.
async function flowing(read, gap = 1500) {
  const a = await read();
  await sleep(gap);
  const b = await read();
  if (!a || !b) return null;
  const video = Object.keys(b.video).filter((s) => b.video[s].frames > (a.video[s]?.frames ?? 0)).length;
  const audio = Object.keys(b.audio).filter((s) => b.audio[s].samples > (a.audio[s]?.samples ?? 0)).length;
  return video > 0 && audio > 0 ? { video, audio, b } : null;
}

/// What the chair's page shows of the patient's camera: its height and frames decoded so far.
const picture = (id) => pages.chair.evaluate(async (pid) => {
  const v = document.querySelector(`[data-participant-id="${pid}"] video`);
  const track = v?.srcObject?.getVideoTracks()[0];
  let frames = 0;
  (await window.sluss.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.trackIdentifier === track?.id) frames = r.framesDecoded || 0;
  });
  return { height: v?.videoHeight ?? 0, frames };
}, id);

/// Watches the patient's camera at the chair for `ms`: the heights seen, the longest time
/// without a new decoded frame, and the frame rate over the last `rateMs`.
async function watch(id, ms, rateMs = Math.min(ms, 6000)) {
  const heights = [];
  let last = await picture(id);
  let rateFrom = null;
  let lastNew = Date.now();
  let longestStall = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(250);
    const now = await picture(id);
    if (now.frames > last.frames) lastNew = Date.now();
    longestStall = Math.max(longestStall, Date.now() - lastNew);
    last = now;
    if (heights[heights.length - 1] !== last.height) heights.push(last.height);
    if (!rateFrom && Date.now() >= end - rateMs) rateFrom = { at: Date.now(), frames: last.frames };
  }
  const fps = rateFrom ? (last.frames - rateFrom.frames) / ((Date.now() - rateFrom.at) / 1000) : 0;
  return { heights, final: last.height, fps, longestStall };
}

const thinned = async () => metricSum((await opsText('/metrics', OPS)).body, 'sluss_relay_withheld_packets_total', 'reason="video_thinned"');

async function enrolChair(page, link) {
  await open(page, link);
  await page.waitForSelector('#enroll:not([hidden])', { timeout: 20_000 });
  const secret = await page.textContent('#totp-secret');
  await page.fill('#username', 'karin.lind');
  await page.fill('#display-name', 'Karin Lind');
  await page.fill('#password', 'ett långt och bra lösenord');
  await page.fill('#code', totp(secret));
  await page.click('#enroll button[type=submit]');
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 20_000 });
}

/// The patient, in Firefox on a phone-sized window: the join page, the lobby, and in.
async function patientJoins(link) {
  const page = pages.patient;
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.setViewport(PHONE);
  await within(30_000, page.goto(link), 'the join page');
  await page.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  check('Firefox: the join page opens, the token gone from the address bar', !page.url().includes('#'), page.url());
  const preview = await until('the camera preview in Firefox', () => within(5_000, page.evaluate(() => document.getElementById('preview')?.videoWidth ?? 0)), 15_000).catch(() => 0);
  check('Firefox: the join page previews the camera', preview > 0, `${preview} px wide`);
  // The patient taps the name field first, as one does: a page not yet touched may keep its
  // audio suspended until then (Firefox does), and the meter starts with the tap.
  await page.click('#name');
  const meter = () => within(5_000, page.evaluate(() => `${document.getElementById('mic-level-text')?.textContent} (${document.getElementById('mic-level')?.value})`));
  const heard = await until('the meter in Firefox', async () => (await meter()).includes('hörs'), 10_000).catch(() => false);
  check('Firefox: the join page says in words that the microphone is heard', Boolean(heard), await meter());
  const join = await within(5_000, page.evaluate(() => { const r = document.getElementById('join-button').getBoundingClientRect(); return { y: r.top, h: r.height }; }));
  check('Firefox: on a phone the join button is in sight without scrolling', join.y + join.h <= PHONE.height, JSON.stringify(join));
  await page.screenshot({ path: path.join(shots, 'firefox-join-phone.png') }).catch(() => {});
  await checkAccessible(check, bounded(page), 'the join page in Firefox');
  // With the keyboard: the name, Tab to "Gå med", Enter.
  await page.keyboard.type('Bertil Ek');
  let walked = false;
  for (let i = 0; i < 20 && !walked; i += 1) {
    await page.keyboard.press('Tab');
    walked = await within(5_000, page.evaluate(() => document.activeElement?.id === 'join-button'));
  }
  check('Firefox, keyboard only: the name, Tab to "Gå med", Enter', walked);
  if (walked) await page.keyboard.press('Enter'); else await page.click('#join-button');
  await page.waitForSelector('#lobby:not([hidden])', { timeout: 20_000 });
  const lobbyHeard = await until('the lobby meter in Firefox', async () => (await within(5_000, page.evaluate(() => document.getElementById('lobby-level-text')?.textContent ?? ''))).includes('hörs'), 10_000).catch(() => false);
  const lobbyPreview = await until('the lobby preview in Firefox', () => within(5_000, page.evaluate(() => document.getElementById('lobby-preview')?.videoWidth ?? 0)), 10_000).catch(() => 0);
  check('Firefox: in the lobby one sees one\'s own picture and the microphone level', Boolean(lobbyHeard) && lobbyPreview > 0, `preview ${lobbyPreview} px wide`);
  const lobby = await within(5_000, page.evaluate(() => document.getElementById('lobby').textContent));
  check('Firefox: the lobby says the chair has been told', /Ordföranden har fått veta/.test(lobby), lobby.replace(/\s+/g, ' ').trim().slice(0, 100));
  await page.screenshot({ path: path.join(shots, 'firefox-lobby-phone.png') }).catch(() => {});
  await checkAccessible(check, bounded(page), 'the lobby in Firefox');
  return errors;
}

async function main() {
  const chromiumInChairNs = chairNetwork();
  const config = path.join(tmp, 'sluss.toml');
  fs.writeFileSync(config, [
    '[server]', `listen = "0.0.0.0:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41600', 'workers = 1', `announce_ip = "${GATEWAY_IP}"`,
    '[ops]', `listen = "${OPS.replace('http://', '')}"`,
    '[log]', 'level = "info,sluss_relay::relay::adapt=debug"', '',
  ].join('\n'));
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);

  // The nurse enrols (password and authenticator) and books a meeting with one patient.
  chromiumBrowser = await chromium.launch({ executablePath: chromiumInChairNs, headless: true, args: chromiumArgs });
  const chair = await (await chromiumBrowser.newContext({ ignoreHTTPSErrors: true, viewport: DESK })).newPage();
  pages.chair = chair;
  await enrolChair(chair, setupUrl);
  const created = await chair.evaluate(async () => (await fetch('/api/v1/meetings', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Uppföljning', invitations: [{ role: 'patient' }] }),
  })).json());
  await open(chair, created.chair_link);
  await chair.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  await chair.click('#join-button');
  await chair.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });

  firefox = await launchFirefox();
  pages.patient = await firefox.newPage();
  const errors = await patientJoins(created.invitations[0].link);
  await admitNext(chair);
  const patient = pages.patient;
  await patient.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const admitted = await within(5_000, patient.evaluate(() => document.getElementById('status').textContent));
  check('Firefox: the admitted patient is told in words', /släppt in dig/.test(admitted), admitted);

  // Both ways: Firefox decodes the chair's camera and hears her; the chair decodes Firefox's.
  const atPatient = await until('Firefox decoding the chair', () => flowing(patientMedia), 30_000).catch((e) => ({ error: e.message }));
  check('Firefox decodes the chair\'s camera and receives her voice', !atPatient.error, atPatient.error ?? `video ${atPatient.video}, audio ${atPatient.audio}, DTLS ${atPatient.b.dtls}`);
  const atChair = await until('the chair decoding Firefox', () => flowing(chairMedia), 30_000).catch((e) => ({ error: e.message }));
  check('the Chromium chair decodes the Firefox camera and receives its voice', !atChair.error, atChair.error ?? `video ${atChair.video}, audio ${atChair.audio}`);
  const sent = await until('three layers from Firefox', async () => {
    const m = await patientMedia();
    return m && Object.keys(m.sent).length >= 3 ? m.sent : null;
  }, 20_000).catch(async () => (await patientMedia())?.sent ?? {});
  check('Firefox sends its camera in three simulcast layers', Object.keys(sent).length === 3, JSON.stringify(sent));
  await sleep(1000);
  await patient.screenshot({ path: path.join(shots, 'firefox-room-phone.png') }).catch(() => {});
  await checkAccessible(check, bounded(patient), 'the room in Firefox');
  const patientId = await within(5_000, patient.evaluate(() => window.sluss.participantId));
  const tiles = await within(5_000, patient.evaluate(() => document.querySelectorAll('li.tile[data-participant-id]').length));
  check('Firefox: the room shows the chair\'s tile', tiles === 1, `${tiles} tiles`);
  // The phone room's layout in Firefox as in Chromium (room.mjs): one bar of controls at the
  // bottom that no tile overlaps, and nothing that scrolls sideways.
  const layout = await within(5_000, patient.evaluate(() => {
    const box = (e) => { const r = e.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; };
    const bar = box(document.getElementById('controls'));
    const over = [...document.querySelectorAll('li.tile')].filter((t) => t.getClientRects().length > 0).map(box)
      .filter((t) => t.x < bar.x + bar.w - 0.5 && bar.x < t.x + t.w - 0.5 && t.y < bar.y + bar.h - 0.5 && bar.y < t.y + t.h - 0.5);
    return { bar, over: over.length, sideways: document.scrollingElement.scrollWidth > innerWidth, viewport: innerHeight };
  }));
  check('Firefox: the control bar is one row at the bottom, no tile over it, nothing scrolls sideways',
    layout.bar.y + layout.bar.h <= layout.viewport + 0.5 && layout.bar.h < 90 && layout.over === 0 && !layout.sideways, JSON.stringify(layout));
  check('Firefox: no script errors on the patient\'s pages', errors.length === 0, errors.slice(0, 3).join(' | '));

  // The chair as a weak viewer of the Firefox camera. On the free link first, her estimate
  // grows until a larger layer than the smallest fits (two browsers and the server share two
  // cores here, and the estimator reads that as a busy link: it can take a while).
  const larger = await until('a larger layer of the Firefox camera at the chair', async () => (await picture(patientId)).height >= 270, 40_000).catch(() => false);
  check('on the free link the chair gets a larger layer of the Firefox camera', larger, `${(await picture(patientId)).height} px`);
  const free = await watch(patientId, 5_000);
  console.log(`   free link: heights ${free.heights.join(' → ')}, ${free.fps.toFixed(1)} fps; Firefox sends ${JSON.stringify((await patientMedia())?.sent)}`);
  const [chromiumLayers, firefoxLayers] = [temporalLayers(CHAIR_PEER), temporalLayers(PATIENT_PEER)];
  check('Chromium sends the L1T3 the page asks for: three temporal layers', chromiumLayers === 3, `${chromiumLayers}`);
  check('Firefox ignores L1T3: fewer than three temporal layers', firefoxLayers < 3, `${firefoxLayers} seen by the relay`);
  await weakViewer(patientId, free);
}

/// The relay's choices for the chair's view of the Firefox camera (its debug log, from
/// `from`): each as {layer, temporal}, temporal null for the full frame rate.
const choices = (from) => sluss.log.slice(from).split('\n')
  .filter((l) => l.includes('layer chosen') && l.includes(`subscriber=${CHAIR_PEER}`))
  .map((l) => ({ layer: Number(l.match(/ layer=(\d+)/)?.[1]), temporal: l.match(/temporal=Some\((\d+)\)/)?.[1] ?? null, rates: l.match(/rates=(\[[^\]]*\])/)?.[1] }));

/// How many temporal layers the relay saw in `peer`'s camera (the most, over its layers).
const temporalLayers = (peer) => Math.max(0, ...[...sluss.log.matchAll(new RegExp(`temporal layers seen publisher=${peer} layer=\\d temporal_layers=(\\d)`, 'g'))].map((m) => Number(m[1])));

async function weakViewer(patientId, free) {
  const before = await thinned();
  const logFrom = sluss.log.length;
  squeeze(SQUEEZE);
  const weak = await watch(patientId, 20_000);
  const during = (await thinned()) - before;
  const chosen = choices(logFrom);
  console.log(`   squeezed to ${SQUEEZE}: heights ${weak.heights.join(' → ')}, ${weak.fps.toFixed(1)} fps, ${during} packets thinned; the relay chose ${chosen.map((c) => `${c.layer}${c.temporal === null ? '' : `/T${c.temporal}`}`).join(' ') || 'nothing new'}; rates ${chosen[chosen.length - 1]?.rates}`);
  const shown = weak.heights.filter((h) => h > 0);
  // (Its smallest layer is a quarter of the full size: 135 px of 540.)
  const smallest = Math.min(...Object.values((await patientMedia())?.sent ?? {}).map((l) => l.height).filter((h) => h > 0));
  check(`squeezed to ${SQUEEZE}, the chair (a weak viewer of the Firefox camera) is moved to its smallest simulcast layer`, shown.length > 0 && Math.min(...shown) === smallest && smallest < free.final, `heights ${weak.heights.join(' → ')} (free link ${free.heights.join(' → ')}, smallest layer ${smallest} px)`);
  const slower = chosen.filter((c) => c.temporal !== null);
  check('a lower frame rate only on the smallest layer, and no lower than half (T0 of two)', slower.every((c) => c.layer === 0 && c.temporal === '0'), JSON.stringify(slower.slice(0, 3)));
  // (Half the frame rate on the smallest layer, less what a shaper's drops cost.)
  check('the Firefox picture keeps moving: no 3 s without a new frame, a third of the free frame rate or more',
    weak.longestStall < 3000 && weak.fps >= free.fps / 3, `${weak.fps.toFixed(1)} fps (free link ${free.fps.toFixed(1)}), longest stall ${weak.longestStall} ms`);
}

async function cleanup() {
  await firefox?.close().catch(() => {});
  await chromiumBrowser?.close().catch(() => {});
  await sluss?.stop();
  try { sh('ip', 'link', 'del', 'ff0'); } catch { /* gone with the namespace */ }
  holder?.kill();
}

const watchdog = setTimeout(() => { console.log('FAIL the Firefox test ran out of time'); process.exit(1); }, 175_000);
try {
  await main();
} catch (e) {
  check('Firefox test', false, e.stack || String(e));
  if (pages.patient) await within(5_000, pages.patient.screenshot({ path: path.join(shots, 'firefox-failed-patient.png') })).catch(() => {});
  if (pages.chair) await pages.chair.screenshot({ path: path.join(shots, 'firefox-failed-chair.png') }).catch(() => {});
} finally {
  await within(20_000, cleanup(), 'cleanup').catch(() => {});
  clearTimeout(watchdog);
  if (process.env.SLUSS_SERVER_LOG) fs.writeFileSync(process.env.SLUSS_SERVER_LOG, sluss?.log ?? '');
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed ? 1 : 0);
}
