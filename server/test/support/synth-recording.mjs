// Writes a synthetic recording quickly (tests and the post-mortem benchmark): DNS flows at a steady rate through
// a kube-dns ClusterIP, with incidents where the service's rules vanish, so flows created then are no-dnat and
// kept alive by suspect polls until the "operator" deletes some of them. Deterministic for a given seed.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { parseIptablesSave } from '@ctscope/shared';

const RULES = (endpoints) => `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-DNS - [0:0]
${endpoints.map((_, i) => `:KUBE-SEP-${i} - [0:0]`).join('\n')}
-A KUBE-SERVICES -d 10.43.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-DNS
${endpoints.map((_, i) => `-A KUBE-SVC-DNS -j KUBE-SEP-${i}`).join('\n')}
${endpoints.map((e, i) => `-A KUBE-SEP-${i} -p udp -m udp -j DNAT --to-destination ${e}:53`).join('\n')}
COMMIT
`;

/** NAT with the DNS endpoints, and during an incident with none (the rules for the service are gone). */
export const NAT_UP = parseIptablesSave(RULES(['10.42.0.5', '10.42.0.6']));
export const NAT_DOWN = parseIptablesSave(`*nat
:KUBE-SERVICES - [0:0]
COMMIT
`);

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tuple(id) {
  const src = `10.42.${1 + ((id >> 16) & 127)}.${(id >> 8) & 255}`;
  const sport = 1024 + (id % 60000);
  return { src, sport };
}

function body(id, timeout, reply, unreplied) {
  const { src, sport } = tuple(id);
  return `udp      17 ${timeout} src=${src} dst=10.43.0.10 sport=${sport} dport=53 ${unreplied ? '[UNREPLIED] ' : ''}src=${reply} dst=${src} sport=53 dport=${sport}`;
}

/**
 * Write a recording into `dir` and return what it holds.
 * Options: start (ms), durationMs, rate (new flows/s), gzip, segmentBytes (uncompressed), seed,
 * incidents: [{ at, durationMs, deleteAfterMs }] relative to start, dumpEveryMs (full dumps), gapEveryMs,
 * unansweredShare (flows that never get a reply, default 0.05).
 */
export async function writeSyntheticRecording(dir, o = {}) {
  const start = o.start ?? Date.UTC(2026, 10, 1, 0, 0, 0);
  const durationMs = o.durationMs ?? 180_000;
  const rate = o.rate ?? 50;
  const gzip = o.gzip ?? false;
  const segmentBytes = o.segmentBytes ?? 64 * 1024 * 1024;
  const rnd = mulberry32(o.seed ?? 1);
  const incidents = o.incidents ?? [{ at: 60_000, durationMs: 20_000, deleteAfterMs: 60_000 }];
  const dumpEveryMs = o.dumpEveryMs ?? 300_000;
  const gapEveryMs = o.gapEveryMs ?? 0;
  const unansweredShare = o.unansweredShare ?? 0.05;
  await mkdir(dir, { recursive: true });

  let seq = 0;
  let out;
  let segBytes = 0;
  let totalBytes = 0;
  let records = 0;
  const files = [];
  async function openSegment(t) {
    if (out) {
      out.end();
      await once(out.file ?? out, 'finish').catch(() => {});
    }
    const stamp = new Date(t)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const name = `ctscope-${stamp}-${seq++}.ndjson${gzip ? '.gz' : ''}`;
    const file = createWriteStream(join(dir, name));
    if (gzip) {
      const gz = createGzip({ level: 1 });
      gz.pipe(file);
      out = gz;
      out.file = file;
    } else out = file;
    files.push(name);
    segBytes = 0;
    await write({ k: 'header', t, v: 1, node: 'synth', writer: 'synth-recording' });
  }
  let buf = [];
  let bufBytes = 0;
  async function flushBuf() {
    if (buf.length === 0) return;
    const chunk = buf.join('');
    buf = [];
    bufBytes = 0;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  async function write(rec) {
    const line = `${JSON.stringify(rec)}\n`;
    buf.push(line);
    bufBytes += line.length;
    segBytes += line.length;
    totalBytes += line.length;
    records++;
    if (bufBytes > 1 << 20) await flushBuf();
  }
  async function put(r) {
    if (segBytes >= segmentBytes) {
      await flushBuf();
      await openSegment(r.t);
    }
    await write(r);
  }
  // Records of one 100 ms step, written sorted by time so the file is in time order like a real recording.
  let step = [];
  const rec = (r) => {
    step.push(r);
  };
  async function endStep() {
    step.sort((a, b) => a.t - b.t);
    for (const r of step) await put(r);
    step = [];
  }

  await openSegment(start);
  // Pending future events, kept ordered by time in small per-ms buckets.
  const future = new Map();
  const later = (t, fn) => {
    const k = Math.floor(t);
    const l = future.get(k);
    if (l) l.push(fn);
    else future.set(k, [fn]);
  };
  const inIncident = (rel) => incidents.some((i) => rel >= i.at && rel < i.at + i.durationMs);
  const live = new Map(); // id -> { reply, unreplied, bad }
  const bad = new Set();
  let natUp = true;
  rec({ k: 'nat', t: start, snapshot: NAT_UP });
  let nextId = 1;
  const truth = { badFlows: [], firstBad: null, natChanges: [] };
  const ts = (t) => `[${(t / 1000).toFixed(6)}]\t`;
  const event = (t, type, id, timeout, reply, unreplied) =>
    rec({
      k: 'line',
      t,
      src: 'events',
      line: `${ts(t)}${type.padStart(9)} ipv4     2 ${body(id, timeout, reply, unreplied)} id=${id}`,
    });
  const stepMs = 100;
  const perStep = rate / (1000 / stepMs);
  let carry = 0;
  let lastDump = start;
  let lastGap = start;
  for (let t = start; t < start + durationMs; t += stepMs) {
    const rel = t - start;
    const down = inIncident(rel);
    if (down === natUp) {
      natUp = !down;
      rec({ k: 'nat', t, snapshot: natUp ? NAT_UP : NAT_DOWN });
      truth.natChanges.push(t);
    }
    carry += perStep;
    while (carry >= 1) {
      carry--;
      const id = nextId++;
      const at = t - Math.floor(rnd() * stepMs);
      if (down) {
        // Created with no rules: the reply comes "from" the ClusterIP and nothing answers; kept alive.
        event(at, '[NEW]', id, 30, '10.43.0.10', true);
        live.set(id, { reply: '10.43.0.10', unreplied: true });
        if (bad.size < 64) {
          bad.add(id);
          truth.badFlows.push({ id, at });
          truth.firstBad ??= at;
        } else {
          later(at + 30_000, (tt) => {
            event(tt, '[DESTROY]', id, 0, '10.43.0.10', true);
            live.delete(id);
          });
        }
      } else {
        const ep = rnd() < 0.5 ? '10.42.0.5' : '10.42.0.6';
        event(at, '[NEW]', id, 30, ep, true);
        live.set(id, { reply: ep, unreplied: true });
        // A few never get an answer (the endpoint is slow or gone): they age into `unanswered`.
        if (rnd() >= unansweredShare)
          later(at + 5 + Math.floor(rnd() * 40), (tt) => {
            live.get(id).unreplied = false;
            event(tt, '[UPDATE]', id, 30, ep, false);
          });
        later(at + 30_000 + Math.floor(rnd() * 2000), (tt) => {
          event(tt, '[DESTROY]', id, 0, ep, false);
          live.delete(id);
        });
      }
    }
    // Due events (new flows above may have added some inside this step).
    for (let k = t - stepMs + 1; k <= t; k++) {
      const l = future.get(k);
      if (!l) continue;
      future.delete(k);
      for (const fn of l) fn(k);
    }
    // Suspect poll every 2 s: bad flows' timeouts keep being reset.
    if (rel % 2000 === 0 && bad.size > 0) {
      rec({ k: 'dump', t: t - 2, phase: 'begin', scope: 'poll' });
      for (const id of bad)
        rec({
          k: 'line',
          t: t - 1,
          src: 'poll',
          line: `ipv4     2 ${body(id, 29 + (rel % 4000 === 0 ? 1 : 0), '10.43.0.10', true)} mark=0 use=1 id=${id}`,
        });
      rec({ k: 'dump', t, phase: 'end', scope: 'poll' });
    }
    // The operator deletes the bad flows some time after each incident.
    for (const inc of incidents) {
      if (rel === inc.at + inc.durationMs + inc.deleteAfterMs) {
        for (const id of bad) {
          event(t, '[DESTROY]', id, 0, '10.43.0.10', true);
          live.delete(id);
        }
        bad.clear();
      }
    }
    if (rel % 2000 === 0)
      rec({ k: 'counters', t, count: live.size, max: 262144, stats: { insert_failed: 0, drop: 0 } });
    if (gapEveryMs && t - lastGap >= gapEveryMs) {
      lastGap = t;
      rec({ k: 'gap', t, reason: 'enobufs', detail: 'synthetic' });
      lastDump = -Infinity;
    }
    if (t - lastDump >= dumpEveryMs) {
      lastDump = t;
      rec({ k: 'dump', t: t - 5, phase: 'begin', scope: 'full' });
      for (const [id, f] of live)
        rec({
          k: 'line',
          t: t - 4,
          src: 'dump',
          line: `ipv4     2 ${body(id, 20, f.reply, f.unreplied)} mark=0 use=1 id=${id}`,
        });
      rec({ k: 'dump', t, phase: 'end', scope: 'full' });
    }
    await endStep();
  }
  await flushBuf();
  out.end();
  await once(out.file ?? out, 'finish');
  return { dir, files, start, end: start + durationMs, records, bytes: totalBytes, flows: nextId - 1, truth };
}
