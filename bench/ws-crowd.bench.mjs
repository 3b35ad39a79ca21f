// Benchmark for the WebSocket admission and memory budgets (issue 14): a real `ctscope serve` (child process, fake
// node tools on PATH, 50k flows in the table), real clients over real loopback sockets, each scenario beside a
// single-client baseline from the same run. Run with `npm run bench` (or alone: node bench/ws-crowd.bench.mjs).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { NODE_START_FLAGS } from '../server/dist/config.js';
import { NAT_TEXT } from './bench-nat.mjs';

const REPO = join(import.meta.dirname, '..');
const CLI = join(REPO, 'server', 'dist', 'cli.js');
const FAKE_BINS = [join(REPO, 'server', 'test', 'fake-bin'), join(REPO, 'server', 'test', 'fake-bin-nat')];
const FLOWS = Number(process.env.BENCH_CROWD_FLOWS ?? 50_000);
const CROWD = Number(process.env.BENCH_CROWD_CLIENTS ?? 200);
const JUNK_SECONDS = Number(process.env.BENCH_JUNK_SECONDS ?? 20);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 1000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

/**
 * Flow i as a `conntrack -L -o extended,id` entry and a `-E -o timestamp,extended,id` NEW event: 1/20 never
 * DNATed and unanswered (no-dnat, critical), the rest answered by an endpoint, so the table is steady (no mass
 * turn to `unanswered` in the middle of a run).
 */
function tuple(i) {
  const src = `10.42.${(i >> 16) & 255}.${(i >> 8) & 255}`;
  const sport = 1024 + ((i & 0xffff) % 60000);
  if (i % 20 === 0)
    return `src=${src} dst=10.43.0.10 sport=${sport} dport=53 [UNREPLIED] src=10.43.0.10 dst=${src} sport=53 dport=${sport}`;
  const ep = i % 2 ? '10.42.0.5' : '10.42.0.6';
  return `src=${src} dst=10.43.0.10 sport=${sport} dport=53 src=${ep} dst=${src} sport=53 dport=${sport}`;
}

function fixtures() {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-crowd-'));
  for (const d of ['state', 'list', 'nat', 'data']) mkdirSync(join(dir, d));
  const ts = Date.now() / 1000;
  const events = [];
  const list = [];
  for (let i = 0; i < FLOWS; i++) {
    events.push(`[${ts.toFixed(6)}]\t    [NEW] ipv4     2 udp      17 30 ${tuple(i)} id=${i + 1}`);
    list.push(`ipv4     2 udp      17 29 ${tuple(i)} mark=0 use=1 id=${i + 1}`);
  }
  writeFileSync(join(dir, 'events.txt'), `${events.join('\n')}\n`);
  writeFileSync(join(dir, 'list', '0.txt'), `${list.join('\n')}\n`);
  writeFileSync(join(dir, 'nat', '0.txt'), NAT_TEXT);
  return dir;
}

/** A fresh `ctscope serve` on the fake tools, resolved once it holds every flow. */
async function startServer(dir) {
  const env = {
    ...process.env,
    PATH: `${FAKE_BINS.join(':')}:${process.env.PATH}`,
    FAKE_CT_STATE_DIR: join(dir, 'state'),
    FAKE_STATE_DIR: join(dir, 'state'),
    FAKE_CT_EVENTS: join(dir, 'events.txt'),
    FAKE_CT_EVENTS_AFTER: 'stay',
    FAKE_CT_LIST: join(dir, 'list'),
    FAKE_CT_COUNT: String(FLOWS),
    FAKE_IPTABLES_NAT: join(dir, 'nat'),
    FAKE_IPTABLES_FILTER: '',
  };
  rmSync(join(dir, 'state'), { recursive: true, force: true });
  mkdirSync(join(dir, 'state'));
  const child = spawn(
    process.execPath,
    [
      ...NODE_START_FLAGS,
      CLI,
      'serve',
      '--port',
      '0',
      '--skip-preflight',
      '--no-record',
      '--data-dir',
      join(dir, 'data'),
      '--nat-source',
      'iptables',
      // The fake `conntrack -L` prints the whole table whatever it is asked: keep suspect polls out of the way.
      '--suspect-poll',
      '600000',
      '--web-root',
      join(dir, 'no-web'),
      '--node-name',
      'bench',
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = await getJson(`${url}/api/stats`);
    if (s.flows.live >= FLOWS) break;
    if (Date.now() > deadline) throw new Error(`only ${s.flows.live} flows after 120 s`);
    await sleep(250);
  }
  await sleep(1500);
  return { child, url, pid: child.pid };
}

async function stopServer(s) {
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

/** kB of resident memory of a process. */
function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Samples the server's RSS and /healthz latency until stopped. */
function monitor(s, healthEveryMs = 100) {
  const lat = [];
  let failures = 0;
  let peak = rssKb(s.pid);
  let running = true;
  const rssTimer = setInterval(() => {
    peak = Math.max(peak, rssKb(s.pid));
  }, 50);
  const health = (async () => {
    while (running) {
      const t0 = performance.now();
      const ok = await new Promise((resolve) => {
        const req = http.get(`${s.url}/healthz`, { agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        });
        req.on('timeout', () => {
          req.destroy();
          resolve(false);
        });
        req.on('error', () => resolve(false));
      });
      const ms = performance.now() - t0;
      lat.push(ms);
      if (!ok) failures++;
      await sleep(Math.max(0, healthEveryMs - ms));
    }
  })();
  return {
    async stop() {
      running = false;
      clearInterval(rssTimer);
      await health;
      peak = Math.max(peak, rssKb(s.pid));
      const sorted = [...lat].sort((a, b) => a - b);
      const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
      return {
        peakKb: peak,
        checks: lat.length,
        failures,
        p50: q(0.5),
        p99: q(0.99),
        max: sorted.at(-1) ?? 0,
      };
    },
  };
}

/** One client: resolves with ms until its sync was received and parsed, or rejects with the close reason. */
function syncedClient(url, localAddress) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { localAddress });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'sync')
        resolve({ ws, ms: performance.now() - t0, rows: m.flows.length, total: m.total });
    });
    ws.on('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
    ws.on('error', (err) => reject(err));
  });
}

/** The i-th client address in 127.block.0.0/16 (host part 1-254, never .0 or .255). */
const addr = (block, i) => `127.${block}.${Math.floor(i / 254) & 255}.${(i % 254) + 1}`;
const fmt = (h) =>
  `/healthz ${h.checks} checks, ${h.failures} failed, p50 ${h.p50.toFixed(0)} ms, p99 ${h.p99.toFixed(0)} ms, max ${h.max.toFixed(0)} ms`;

async function crowd(s, n) {
  const before = rssKb(s.pid);
  const cpu0 = readCpu(s.pid);
  const mon = monitor(s);
  const t0 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => syncedClient(s.url, addr(1, i))),
  );
  const allMs = performance.now() - t0;
  const cpuMs = (readCpu(s.pid) - cpu0) * 10;
  const h = await mon.stop();
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  for (const c of ok) c.ws.terminate();
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  await sleep(500);
  return { n, synced: ok.length, failed, allMs, cpuMs, rows: ok[0]?.rows, total: ok[0]?.total, before, h };
}

/** Clients that never read and send junk: `frameBytes` per message, `perSecond` messages, reconnecting when cut off. */
async function junk(s, { clients, frameBytes, perSecond, seconds }) {
  const before = rssKb(s.pid);
  const mon = monitor(s);
  const payload = 'j'.repeat(frameBytes);
  const end = Date.now() + seconds * 1000;
  let connects = 0;
  let closes = 0;
  const reasons = new Map();
  const sockets = new Set();
  const one = (i) =>
    new Promise((resolve) => {
      if (Date.now() >= end) return resolve();
      connects++;
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`, { localAddress: addr(2, i) });
      sockets.add(ws);
      let timer;
      ws.on('open', () => {
        // Never read: the server's frames pile up in the kernel, then in its own send queue.
        ws._socket.pause();
        timer = setInterval(() => {
          if (Date.now() >= end) {
            clearInterval(timer);
            return;
          }
          if (ws.readyState === WebSocket.OPEN) ws.send(payload);
        }, 1000 / perSecond);
      });
      ws.on('error', () => undefined);
      ws.on('close', (code, reason) => {
        clearInterval(timer);
        closes++;
        const k = `${code} ${String(reason).slice(0, 60)}`;
        reasons.set(k, (reasons.get(k) ?? 0) + 1);
        sockets.delete(ws);
        setTimeout(() => resolve(one(i)), 50);
      });
      setTimeout(() => resolve(), Math.max(0, end - Date.now()) + 10).unref?.();
    });
  await Promise.all(Array.from({ length: clients }, (_, i) => one(i)));
  await sleep(Math.max(0, end - Date.now()));
  const stats = await getJson(`${s.url}/api/stats`);
  for (const ws of sockets) ws.terminate();
  const h = await mon.stop();
  await sleep(500);
  return { before, h, connects, closes, reasons: [...reasons.entries()], hub: stats.websocket };
}

async function churn(s, cycles, concurrency) {
  const mon = monitor(s, 50);
  const t0 = performance.now();
  let done = 0;
  let failed = 0;
  const reasons = new Map();
  const cpu0 = readCpu(s.pid);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (done + failed < cycles) {
        const i = done + failed;
        done++;
        try {
          const c = await syncedClient(s.url, addr(3, (w * 97 + i) % 4000));
          c.ws.close();
        } catch (err) {
          done--;
          failed++;
          const why = String(err?.message ?? err);
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpuMs = (readCpu(s.pid) - cpu0) * 10;
  const h = await mon.stop();
  return { cycles, failed, reasons: [...reasons.entries()], wallMs, cpuMs, h };
}

/** utime+stime of a process, in clock ticks (10 ms). */
function readCpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const dir = fixtures();
console.log(
  `ws benches: load average ${load()} on this machine (wall-clock figures scale with it; CPU figures do not)`,
);
try {
  // Baseline: one client on a fresh server.
  let s = await startServer(dir);
  const idle = rssKb(s.pid);
  const base = await crowd(s, 1);
  console.log(
    `ws baseline (1 client, ${FLOWS} flows): synced in ${base.allMs.toFixed(0)} ms (${base.rows} window rows of ${base.total}; server CPU ${base.cpuMs} ms); peak RSS ${mb(base.h.peakKb)} (idle ${mb(idle)}); ${fmt(base.h)}`,
  );
  const crowdRun = await crowd(s, CROWD);
  console.log(
    `ws crowd (${CROWD} clients at once): ${crowdRun.synced}/${CROWD} synced, the last after ${crowdRun.allMs.toFixed(0)} ms (baseline ${base.allMs.toFixed(0)} ms); server CPU ${crowdRun.cpuMs} ms (${(crowdRun.cpuMs / CROWD).toFixed(1)} ms per client); peak RSS ${mb(crowdRun.h.peakKb)}; ${fmt(crowdRun.h)} — budget: all <= 5 s, /healthz never fails or > 1 s, peak RSS <= 500 MB${crowdRun.failed.length ? `; failures: ${crowdRun.failed.slice(0, 3).join('; ')}` : ''}`,
  );
  await stopServer(s);

  s = await startServer(dir);
  for (const variant of [
    { name: '60 KB junk frames', clients: 20, frameBytes: 60 * 1024, perSecond: 10, seconds: JUNK_SECONDS },
    {
      name: '60 KB/s of 4 KB junk frames',
      clients: 20,
      frameBytes: 4096,
      perSecond: 15,
      seconds: JUNK_SECONDS,
    },
  ]) {
    const j = await junk(s, variant);
    console.log(
      `ws junk (${variant.clients} non-reading clients, ${variant.name}, ${variant.seconds} s): RSS ${mb(j.before)} → peak ${mb(j.h.peakKb)} (growth ${mb(j.h.peakKb - j.before)}; budget <= 50 MB); most queued for one client ${(j.hub.maxQueuedBytes / 1048576).toFixed(2)} MB (budget ${(4).toFixed(0)} MB); ${j.connects} connects, closes: ${j.reasons.map(([k, v]) => `${v}× ${k}`).join(', ')}; cut off ${j.hub.cutOff}; ${fmt(j.h)}`,
    );
  }
  await stopServer(s);

  s = await startServer(dir);
  const one = await churn(s, 20, 1);
  const many = await churn(s, CYCLES, 10);
  console.log(
    `ws churn (${CYCLES} connect/sync/close cycles, 10 at a time): ${many.wallMs.toFixed(0)} ms wall, server CPU ${(many.cpuMs / 1000).toFixed(1)} s (${(many.cpuMs / CYCLES).toFixed(1)} ms per cycle vs ${(one.cpuMs / 20).toFixed(1)} ms baseline, one at a time); ${fmt(many.h)} (baseline p99 ${one.h.p99.toFixed(0)} ms) — budget: /healthz p99 <= 200 ms${many.failed ? `; ${many.failed} cycles failed (${many.reasons.map(([w, n]) => `${n}× ${w}`).join('; ')})` : ''}`,
  );
  await stopServer(s);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
