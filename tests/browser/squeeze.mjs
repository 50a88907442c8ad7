// A viewer on a weak link: its downlink is squeezed by a token bucket filter (tbf) and freed
// again. The relay's bandwidth estimate (from the browser's TWCC feedback) must move it down to
// smaller simulcast layers without its picture freezing, and back up when the link recovers.
//
// The viewer's Chromium runs in its own network namespace, joined to the test's namespace by a
// veth pair; the squeeze is a tbf on the gateway's side of that pair. Run inside a
// loopback-only namespace (run-in-netns.sh), as root.
import { chromium } from 'playwright-core';
import { checks, waiter, sleep, chromiumArgs, totp, Sluss, joinMeeting, admitNext, opsText, metricSum } from './lib.mjs';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.SLUSS_BIN || path.join(repo, 'target/release/sluss');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluss-squeeze-'));
const PORT = 18445;
const GATEWAY_IP = '10.77.0.1';
const VIEWER_IP = '10.77.0.2';
const ORIGIN = `https://${GATEWAY_IP}:${PORT}`;
const SQUEEZE = '500kbit';
// A weak mobile link: too narrow for both cameras in full even at their smallest size.
const WEAK = '300kbit';
// Too narrow for both cameras even at their slowest: the voices must still get through.
const WEAKEST = '200kbit';
const deadlineAll = Date.now() + 290_000;

const { check, counts } = checks();
const until = waiter(deadlineAll);
const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

let sluss;
let holder;
const browsers = [];

/// A network namespace for the viewer, held open by a sleeping process, joined to ours by a
/// veth pair: the gateway is GATEWAY_IP on our side, the viewer VIEWER_IP on its side.
function viewerNetwork() {
  holder = spawn('unshare', ['-n', 'sleep', '300'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      const mine = fs.readlinkSync('/proc/self/ns/net');
      if (fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== mine) break;
    } catch { /* not started yet */ }
    execFileSync('sleep', ['0.1']);
  }
  const inViewer = (...args) => sh('nsenter', '-t', String(holder.pid), '-n', ...args);
  // IPv4 only: an IPv6 address settling on the new link later makes Chromium abort a page
  // load with ERR_NETWORK_CHANGED. (Both namespaces are the test's own.)
  for (const run of [sh, inViewer]) {
    try { run('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'); } catch { /* no IPv6 at all */ }
  }
  sh('ip', 'link', 'add', 'sq0', 'type', 'veth', 'peer', 'name', 'sq1');
  sh('ip', 'link', 'set', 'sq1', 'netns', String(holder.pid));
  sh('ip', 'addr', 'add', `${GATEWAY_IP}/24`, 'dev', 'sq0');
  sh('ip', 'link', 'set', 'sq0', 'up');
  inViewer('ip', 'link', 'set', 'lo', 'up');
  inViewer('ip', 'addr', 'add', `${VIEWER_IP}/24`, 'dev', 'sq1');
  inViewer('ip', 'link', 'set', 'sq1', 'up');
  // Chromium for the viewer starts inside that namespace.
  const wrapper = path.join(tmp, 'chromium-in-viewer-ns');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${holder.pid} -n /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/// Opens `url`, again if Chromium saw the network change under it (the new veth link).
async function open(page, url) {
  for (let i = 0; ; i++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (i >= 2 || !/ERR_NETWORK_CHANGED/.test(e.message)) throw e;
      await sleep(500);
    }
  }
}

// The bucket holds two packets (3000 bytes), so the rate holds from packet to packet, as on a
// narrow link. With 16 KB (640 ms at 200 kbit/s) the estimator's short probes passed whole at
// the veth's speed while the link was not full: the estimate read 500 kbit/s on a 200 kbit/s
// link for seconds, a step up followed, and the loss it caused froze the picture (half the
// runs on a 2-core machine).
const squeeze = (rate, verb = 'add') => console.log(`${verb === 'add' ? '' : `   ${shaped()}\n`}   ${rate} at ${new Date().toISOString()}`) || sh('tc', 'qdisc', verb, 'dev', 'sq0', 'root', 'tbf', 'rate', rate, 'burst', '3000', 'latency', '250ms');
/// What the squeeze did so far: bytes and packets the shaper sent and dropped (printed).
const shaped = () => {
  const text = sh('tc', '-s', 'qdisc', 'show', 'dev', 'sq0');
  const m = text.match(/Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/);
  return m ? `shaper sent ${m[1]} bytes, ${m[2]} packets, dropped ${m[3]}` : 'shaper: no figures';
};
const release = () => console.log(`   ${shaped()}\n   release at ${new Date().toISOString()}`) || sh('tc', 'qdisc', 'del', 'dev', 'sq0', 'root');

/// What the viewer's page shows of `id`: the picture height and the frames decoded so far.
const picture = (page, id) => page.evaluate(async (pid) => {
  const v = document.querySelector(`[data-participant-id="${pid}"] video`);
  const track = v?.srcObject?.getVideoTracks()[0];
  let frames = 0;
  let repair = {};
  (await window.sluss.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.trackIdentifier === track?.id) {
      frames = r.framesDecoded || 0;
      repair = { lost: r.packetsLost, nacks: r.nackCount, plis: r.pliCount, keyframes: r.keyFramesDecoded, retransmitted: r.retransmittedPacketsReceived };
    }
  });
  return { height: v?.videoHeight ?? 0, frames, repair };
}, id);

/// The viewer's count of `id`'s audio packets received and lost.
const voice = (page, id) => page.evaluate(async (pid) => {
  const v = document.querySelector(`[data-participant-id="${pid}"] video`);
  const track = v?.srcObject?.getAudioTracks()[0];
  let received = 0;
  let lost = 0;
  (await window.sluss.pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.trackIdentifier === track?.id) {
      received = r.packetsReceived || 0;
      lost = r.packetsLost || 0;
    }
  });
  return { received, lost };
}, id);

/// Watches `id` on the viewer's page for `ms`: the heights seen, the longest time without a
/// new decoded frame, and the frame rate over the last `rateMs` of it.
async function watch(page, id, ms, rateMs = Math.min(ms, 8000)) {
  const heights = [];
  const first = await picture(page, id);
  let last = first;
  let lastNew = Date.now();
  let longestStall = 0;
  let rateFrom = null;
  let stallAt = null;
  const start = Date.now();
  const end = start + ms;
  while (Date.now() < end) {
    await sleep(250);
    const now = await picture(page, id);
    if (now.frames > last.frames) lastNew = Date.now();
    if (Date.now() - lastNew > longestStall) {
      longestStall = Date.now() - lastNew;
      stallAt = ((lastNew - start) / 1000).toFixed(1);
    }
    if (heights[heights.length - 1] !== now.height) heights.push(now.height);
    if (!rateFrom && Date.now() >= end - rateMs) rateFrom = { at: Date.now(), frames: now.frames };
    last = now;
  }
  const fps = rateFrom ? (last.frames - rateFrom.frames) / ((Date.now() - rateFrom.at) / 1000) : 0;
  // What the viewer's receiver did to repair the picture meanwhile (printed with the checks).
  const repair = Object.entries(last.repair).map(([k, v]) => `${k} +${(v ?? 0) - (first.repair[k] ?? 0)}`).join(', ');
  return { heights, longestStall, stallAt, final: last.height, fps, repair };
}

/// What the chair's browser sends (a browser short of CPU drops or shrinks its top layer).
const chairSends = (chair) => chair.evaluate(async () => {
  const out = [];
  (await window.sluss.pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid) out.push(`${r.rid} ${r.frameHeight ?? 0}p ${r.qualityLimitationReason ?? ''}`);
  });
  return out.join(', ');
});

async function main() {
  const chromiumInViewerNs = viewerNetwork();
  const config = path.join(tmp, 'sluss.toml');
  fs.writeFileSync(config, [
    '[server]', `listen = "0.0.0.0:${PORT}"`, 'http_redirect_listen = ""',
    `public_url = "${ORIGIN}"`, `data_dir = "${path.join(tmp, 'data')}"`,
    '[media]', 'port = 41200', 'workers = 1', `announce_ip = "${GATEWAY_IP}"`,
    '[log]', `level = "${process.env.SLUSS_LOG__LEVEL || 'info,sluss_relay::relay::adapt=debug'}"`, '',
  ].join('\n'));
  sluss = new Sluss(bin, config);
  const setupUrl = await sluss.setupLink(ORIGIN, until);

  const local = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const remote = await chromium.launch({ executablePath: chromiumInViewerNs, headless: true, args: chromiumArgs });
  browsers.push(local, remote);
  const context = (browser) => browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });

  // The chair enrols through the API, as the setup page does, and makes the meeting.
  const chairContext = await context(local);
  const chair = await chairContext.newPage();
  await open(chair, `${ORIGIN}/api/v1/login/methods`); // a page that stays put while the API is called
  const token = setupUrl.split('#')[1];
  const api = (p, body) => chair.evaluate(async ([url, b]) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [p, body]);
  const begin = await api('/api/v1/enroll/begin', { token });
  const enrolled = await api('/api/v1/enroll/complete', {
    token, username: 'sara.chair', display_name: 'Sara', password: 'ett långt och bra lösenord', code: totp(begin.body.secret),
  });
  check("the chair enrols", enrolled.status >= 200 && enrolled.status < 300, `${enrolled.status}`);
  const meeting = await api('/api/v1/meetings', { title: 'Uppföljning', invitations: [{ role: 'relative' }, { role: 'patient' }] });
  const [relativeLink, viewerLink] = meeting.body.guest_links;

  const join = (page, link, name) => joinMeeting(page, link, name, open);
  await join(chair, meeting.body.chair_link, 'Sara');
  await chair.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const relative = await (await context(local)).newPage();
  const viewer = await (await context(remote)).newPage();
  await join(relative, relativeLink, 'Rut');
  await join(viewer, viewerLink, 'Vera');
  await admitNext(chair);
  await admitNext(chair);
  await viewer.waitForSelector('#meeting:not([hidden])', { timeout: 20_000 });
  const chairId = await chair.evaluate(() => window.sluss.participantId);
  const route = await until("the viewer's media path", async () => {
    const report = await viewer.evaluate(async () => {
      let pair = null;
      const r = await window.sluss.pc.getStats();
      r.forEach((x) => { if (x.type === 'transport' && x.selectedCandidatePairId) pair = r.get(x.selectedCandidatePairId); });
      return pair ? r.get(pair.localCandidateId)?.address : null;
    });
    return report;
  }, 30_000).catch(() => null);
  check("the viewer's media crosses the veth pair", route === VIEWER_IP, `${route}`);

  // The viewer shows the chair large (speaker view, pinned): that tile wants the top layer.
  await viewer.click('#layout');
  await viewer.waitForSelector(`[data-participant-id="${chairId}"] video`, { timeout: 20_000 });
  await viewer.click(`[data-participant-id="${chairId}"] video`);
  const top = await until('the top layer on a free link', async () => (await picture(viewer, chairId)).height === 540, 40_000).catch(() => false);
  check('on a free link the large tile gets the top layer (540 px)', top, `${(await picture(viewer, chairId)).height} px; the chair sends ${await chairSends(chair)}`);
  const free = await watch(viewer, chairId, 4000);

  // Squeezed: smaller layers, and the picture keeps moving.
  squeeze(SQUEEZE);
  const squeezed = await watch(viewer, chairId, 25_000);
  // (Whether it stays down depends on what the camera's top layer costs at the moment: a
  // still picture can take the top layer back even here.)
  check(`squeezed to ${SQUEEZE}, the viewer is stepped down to a smaller layer`, squeezed.heights.some((h) => h > 0 && h <= 270), `heights ${squeezed.heights.join(' → ')}`);
  check('and the picture never freezes (no 3 s without a new frame)', squeezed.longestStall < 3000, `longest stall ${squeezed.longestStall} ms (from ${squeezed.stallAt} s); ${squeezed.repair}`);

  // Narrower still, as on a weak mobile link: the smallest layer at a lower frame rate
  // (its upper temporal layers left out), still moving.
  const thinned = async () => {
    const { body } = await opsText('/metrics');
    return metricSum(body, 'sluss_relay_withheld_packets_total', 'reason="video_thinned"');
  };
  const thinnedBefore = await thinned();
  squeeze(WEAK, 'change');
  const weak = await watch(viewer, chairId, 25_000);
  const thinnedDuring = (await thinned()) - thinnedBefore;
  check(`at ${WEAK} the viewer gets the smallest layer`, weak.final > 0 && weak.final <= 135, `heights ${weak.heights.join(' → ')}`);
  check('at a lower frame rate', weak.fps > 0 && weak.fps <= free.fps * 0.7, `${weak.fps.toFixed(1)} fps (free link ${free.fps.toFixed(1)})`);
  check('because the relay leaves out upper temporal layers (/metrics)', thinnedDuring > 100, `${thinnedDuring} packets thinned`);
  check('and still never frozen', weak.longestStall < 3000, `longest stall ${weak.longestStall} ms (from ${weak.stallAt} s); ${weak.repair}`);

  // Narrower than both cameras' slowest pictures: the thumbnail goes dark, the speaker keeps
  // moving, and the voices get through.
  const relativeId = await relative.evaluate(() => window.sluss.participantId);
  const voiceBefore = await voice(viewer, chairId);
  const thumbBefore = await picture(viewer, relativeId);
  squeeze(WEAKEST, 'change');
  const weakest = await watch(viewer, chairId, 20_000);
  const voiceAfter = await voice(viewer, chairId);
  const thumbAfter = await picture(viewer, relativeId);
  const heard = voiceAfter.received - voiceBefore.received;
  const lostShare = (voiceAfter.lost - voiceBefore.lost) / Math.max(1, heard + voiceAfter.lost - voiceBefore.lost);
  check(`at ${WEAKEST} the chair's voice gets through (under 5% lost)`, heard > 0 && lostShare < 0.05, `${heard} packets, ${(lostShare * 100).toFixed(1)}% lost`);
  // At the edge of what the link carries: the same bound as on the wider links.
  check('the speaker\'s picture keeps moving (no 3 s without a new frame)', weakest.longestStall < 3000 && weakest.fps > 0, `${weakest.fps.toFixed(1)} fps, longest stall ${weakest.longestStall} ms (from ${weakest.stallAt} s); ${weakest.repair}`);
  check('and the thumbnail goes dark to make room', thumbAfter.frames - thumbBefore.frames < 20, `thumbnail frames +${thumbAfter.frames - thumbBefore.frames} in 20 s`);
  const label = await viewer.evaluate((pid) => {
    const el = document.querySelector(`[data-participant-id="${pid}"] .stalled`);
    return el && !el.hidden ? el.textContent : null;
  }, relativeId);
  // (Checked when it showed nothing new for the whole 20 s: then it has been still for 3 s.)
  const dark = thumbAfter.frames === thumbBefore.frames;
  if (dark) {
    check('the dark thumbnail says why on the tile', Boolean(label), label ?? 'no label');
    const told = await viewer.evaluate((pid) => document.querySelector(`[data-participant-id="${pid}"]`)?.hasAttribute('data-paused-for-link'), relativeId);
    check('because the relay told the page it stopped that camera for the weak link', told);
  }
  else console.log('   (the thumbnail was not dark throughout: its label is not checked)');

  // Freed: the estimate grows and the top layer comes back. Usually within 20 s; a machine
  // short of CPU makes the viewer's arrival times uneven, the estimate wavers, and each step
  // down it causes restarts the pause before the next step up (up to 16 s): once in CI that
  // took over 60 s, so the bound is 90 s.
  release();
  const start = Date.now();
  const back = await until('the top layer again', async () => (await picture(viewer, chairId)).height === 540, 90_000).catch(() => false);
  check('when the link recovers, the viewer climbs back to the top layer', back, back ? `after ${((Date.now() - start) / 1000).toFixed(1)} s` : `${(await picture(viewer, chairId)).height} px; the chair sends ${await chairSends(chair)}`);
}

const watchdog = setTimeout(() => { console.log('FAIL the squeeze test ran out of time'); process.exit(1); }, 300_000);
try {
  await main();
} catch (e) {
  check('squeeze test', false, e.stack || String(e));
} finally {
  clearTimeout(watchdog);
  for (const b of browsers) await b.close().catch(() => {});
  await sluss?.stop();
  try { sh('ip', 'link', 'del', 'sq0'); } catch { /* gone with the namespace */ }
  holder?.kill();
  if (process.env.SLUSS_SERVER_LOG) fs.writeFileSync(process.env.SLUSS_SERVER_LOG, sluss?.log ?? '');
  if (counts.failed) console.log(`--- last server log lines ---\n${(sluss?.log ?? '').split('\n').slice(-25).join('\n')}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(counts.failed ? 1 : 0);
}
