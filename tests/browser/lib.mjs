// What the browser tests share: checks that count, bounded waiting, the server's health, and
// the Chromium flags this machine needs.
import http from 'node:http';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// `check(name, ok, detail)` prints one line and counts it; `results()` gives the counts.
export function checks() {
  const counts = { passed: 0, failed: 0 };
  const check = (name, ok, detail = '') => {
    if (ok) counts.passed += 1; else counts.failed += 1;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  };
  return { check, counts };
}

/// `until(what, fn, timeoutMs)`: polls `fn` until it gives something truthy, never past
/// `deadline` (epoch ms) for the whole test.
export function waiter(deadline) {
  return async (what, fn, timeoutMs) => {
    const end = Math.min(Date.now() + timeoutMs, deadline);
    let last;
    while (Date.now() < end) {
      try { last = await fn(); if (last) return last; } catch (e) { last = e; }
      await sleep(200);
    }
    throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
  };
}

/// Whether the server at `origin` answers on its public port (a cheap API read; health and
/// readiness are on the operations listener, see `opsText`).
export function healthy(origin) {
  return new Promise((resolve) => {
    const req = https.get(`${origin}/api/v1/login/methods`, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

/// A page of the operations listener (`/metrics`, `/readyz`; 127.0.0.1:9464 unless the
/// test's configuration moved it), as text.
export function opsText(path, ops = 'http://127.0.0.1:9464') {
  return new Promise((resolve, reject) => {
    const req = http.get(`${ops}${path}`, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(); reject(new Error(`${path}: no answer`)); });
  });
}

/// The sum of a metric family's samples, only those whose labels include `match` if given.
export function metricSum(text, family, match = '') {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [name, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    const base = name.split('{')[0];
    if (base !== family || (match && !name.includes(match))) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(value);
  }
  return sum;
}

/// Headless Chromium on a machine without internet: no background networking, fake camera
/// and microphone, loopback ICE allowed.
export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
];

/// The page's media path as its peer connection reports it: the selected local candidate's
/// type and protocol, and how many video frames it has decoded in all.
export function mediaPath(page) {
  return page.evaluate(async () => {
    const pc = window.sluss?.pc;
    if (!pc) return null;
    const report = await pc.getStats();
    let pair = null;
    let frames = 0;
    report.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
    });
    const local = pair && report.get(pair.localCandidateId);
    return { type: local?.candidateType ?? null, protocol: local?.protocol ?? null, frames };
  });
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it.
export function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

/// A `sluss serve` process: what it printed, and its log (stderr).
export class Sluss {
  constructor(bin, config, env = process.env) {
    this.process = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.stdout = '';
    this.log = '';
    this.process.stdout.on('data', (d) => { this.stdout += d; });
    this.process.stderr.on('data', (d) => { this.log += d; });
  }

  /// Waits for the one-time setup link it prints on a fresh start, then for /healthz.
  async setupLink(origin, until) {
    const link = await until('the setup link', () => this.stdout.match(/https:\/\/\S+\/setup#[A-Za-z0-9_-]+/)?.[0], 60_000);
    await until('healthz', () => healthy(origin), 30_000);
    return link;
  }

  /// SIGTERM, then waits (at most `ms`) for the exit; gives the exit code.
  async stop(ms = 10_000) {
    if (this.process.exitCode === null) {
      this.process.kill('SIGTERM');
      await Promise.race([new Promise((r) => this.process.once('exit', r)), sleep(ms)]);
    }
    return this.process.exitCode;
  }
}

/// On a meeting link: the pre-join page, a name, "join". `open` loads the page.
export async function joinMeeting(page, link, name, open = (p, url) => p.goto(url)) {
  await open(page, link);
  await page.waitForSelector('#prejoin:not([hidden])', { timeout: 20_000 });
  await page.fill('#name', name);
  await page.click('#join-button');
}

/// Opens the chair's menu on someone's tile (when it is shut) and gives the selector of the
/// actions it shows. The actions unfold below the picture, never over it.
export async function openTileMenu(page, id) {
  const tile = `li.tile[data-participant-id="${id}"]`;
  await page.waitForSelector(`${tile} .tile-menu`, { timeout: 15_000 });
  if ((await page.getAttribute(`${tile} .tile-menu`, 'aria-expanded')) !== 'true') await page.click(`${tile} .tile-menu`);
  await page.waitForSelector(`${tile} .tile-actions`, { timeout: 5_000 });
  return `${tile} .tile-actions`;
}

/// The chair lets the first person waiting in the lobby in.
export async function admitNext(chair) {
  await chair.waitForSelector('#lobby-list li button.primary', { timeout: 20_000 });
  await chair.click('#lobby-list li button.primary');
}

/// axe-core's WCAG 2.1 A and AA rules on the page as it is now; gives the violations, each as
/// "rule: how many elements (first element's selector)". Evaluated over the DevTools protocol,
/// so the page's Content-Security-Policy needs no exception for it.
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export async function axeViolations(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.length} (${v.nodes[0]?.target?.join(' ')})`);
  });
  return violations;
}

/// One check per page state: no WCAG 2.1 A/AA violation that axe-core finds.
export async function checkAccessible(check, page, state) {
  const violations = await axeViolations(page).catch((e) => [`axe did not run: ${e.message}`]);
  return check(`axe-core: ${state} has no WCAG 2.1 A/AA violation`, violations.length === 0, violations.join('; '));
}
