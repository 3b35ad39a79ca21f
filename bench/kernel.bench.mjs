// Real-kernel benchmark (issue 10): a UDP flood in a network namespace, measured per rate for the ceiling
// (`chrt -f 10 conntrack -E` alone, to a file) and for `ctscope serve --netns` with its defaults, in the same run.
// Root only; prints a skip message and exits 0 otherwise. Run with `npm run bench:kernel`.
// BENCH_KERNEL_RATES=1k,10k limits the rates; BENCH_KERNEL_NODE_ARGS adds node flags (e.g. --cpu-prof) to the build's NODE_START_FLAGS (BENCH_KERNEL_NO_START_FLAGS=1 drops these); BENCH_KERNEL_SERVE_ARGS adds serve options (e.g. --no-record); BENCH_KERNEL_TRACE=1 prints each convergence poll and, once a second during the flood, ctscope's memory, event backlog and recorder queue; BENCH_KERNEL_STDOUT=FILE appends ctscope's stdout to FILE (e.g. with --trace-gc); every namespace is `<BENCH_KERNEL_NETNS_PREFIX, default kbb->-<pid>-…` and is always deleted.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readRecording } from '../server/dist/recording/recording-reader.js';
import {
  canUseFifo,
  compileFlood,
  conntrackCount,
  countNewInFile,
  createFloodNetns,
  deleteNetns,
  floodSkipReason,
  listNetns,
  runFlood,
  serveListening,
  startListener,
  untilStable,
} from '../server/test/kernel/flood-netns.mjs';

// BENCH_KERNEL_CLI runs another build's CLI (e.g. a baseline checkout) through the same flood.
const CLI = process.env.BENCH_KERNEL_CLI || join(import.meta.dirname, '..', 'server', 'dist', 'cli.js');
/**
 * The node flags that build's bin (server/bin/ctscope.js, as users start it) gives node (its NODE_START_FLAGS; none
 * for builds before them): serve runs with them, plus BENCH_KERNEL_NODE_ARGS. BENCH_KERNEL_NO_START_FLAGS=1 leaves
 * them out, to measure what they are worth.
 */
const START_FLAGS = process.env.BENCH_KERNEL_NO_START_FLAGS
  ? []
  : ((await import(pathToFileURL(join(dirname(CLI), 'config.js')).href)).NODE_START_FLAGS ?? []);
/** Engineers sharing a machine each pass their own prefix: leftovers are cleaned up under it only. */
const NS_PREFIX = process.env.BENCH_KERNEL_NETNS_PREFIX || 'kbb-';
const PREFIX = `${NS_PREFIX}${process.pid}-`;
const ALL_RATES = [
  { label: '1k', rate: 1000, count: 10_000 },
  { label: '10k', rate: 10_000, count: 100_000 },
  { label: '50k', rate: 50_000, count: 250_000 },
  { label: 'max', rate: 0, count: 250_000 },
];
const CONVERGE_MAX_MS = 20_000;
/** Quiet time before each flood, to measure the idle CPU of polls and NAT reads. */
const IDLE_MS = 5000;
const CLK_TCK = 100;

const skip = floodSkipReason();
if (skip) {
  console.log(`bench:kernel skipped: ${skip}`);
  process.exit(0);
}
const wanted = process.env.BENCH_KERNEL_RATES?.split(',');
const RATES = wanted ? ALL_RATES.filter((r) => wanted.includes(r.label)) : ALL_RATES;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let nsSeq = 0;
const created = new Set();

async function withNetns(fn) {
  const ns = `${PREFIX}${nsSeq++}`;
  created.add(ns);
  await createFloodNetns(ns);
  try {
    return await fn(ns);
  } finally {
    await deleteNetns(ns);
    created.delete(ns);
  }
}

/** CPU seconds of a process (all its threads) and, apart, of its children (live ones read directly, reaped ones through cutime/cstime). */
function cpuSplit(pid) {
  const ticks = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const v = f
        .slice(f.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      // fields 14-17 of stat: utime, stime, cutime, cstime (index 11.. after pid and comm)
      return { self: v[11] + v[12], reaped: v[13] + v[14] };
    } catch {
      return { self: 0, reaped: 0 };
    }
  };
  const own = ticks(pid);
  let children = own.reaped;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {}
    for (const k of kids.split(' ').filter(Boolean)) {
      const t = ticks(k);
      children += t.self + t.reaped;
    }
  }
  return { self: own.self / CLK_TCK, children: children / CLK_TCK };
}

const cpuDiff = (a, b) => ({
  self: b.self - a.self,
  children: b.children - a.children,
  total: b.self + b.children - a.self - a.children,
});

function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function dirBytes(dir) {
  return readdirSync(dir)
    .filter((n) => n.startsWith('ctscope-'))
    .reduce((s, n) => s + statSync(join(dir, n)).size, 0);
}

async function recordingCounts(dir) {
  let news = 0;
  let gaps = 0;
  const reasons = {};
  for (const name of readdirSync(dir).filter((n) => n.startsWith('ctscope-'))) {
    for await (const r of readRecording(join(dir, name))) {
      if ('error' in r) continue;
      if (r.k === 'line' && r.src === 'events' && r.line.includes('[NEW]')) news++;
      else if (r.k === 'gap' && ['enobufs', 'source-restart', 'backlog'].includes(r.reason)) {
        gaps++;
        reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
      } else if (r.k === 'gap' && r.reason === 'recording-resumed') {
        // Records the recorder itself dropped (queue full or write errors).
        reasons.recordingDropped = (reasons.recordingDropped ?? 0) + (r.dropped ?? 0);
      }
    }
  }
  return { news, gaps, reasons };
}

/** The ceiling: the prioritised plain listener alone, to a file. */
async function ceiling(bin, spec) {
  return withNetns(async (ns) => {
    // tmpfs: on this VM's disk, writeback stalls alone made the plain listener lose events.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ctscope-bench-ceiling-'));
    const file = join(dir, 'events.txt');
    const listener = startListener(ns, file, { prioritised: true });
    try {
      await listener.ready;
      const cpu0 = cpuSplit(listener.pid);
      const flood = await runFlood(bin, ns, spec);
      const kernel = await conntrackCount(ns);
      const seen = await untilStable(() => countNewInFile(file), { everyMs: 300, maxMs: 15_000 });
      const cpu = cpuDiff(cpu0, cpuSplit(listener.pid)).total;
      const stderr = await listener.stop();
      return { flood, kernel, seen, cpu, enobufs: (stderr.match(/ENOBUFS/g) ?? []).length };
    } finally {
      await listener.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function startServe(ns, dataDir) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CTSCOPE_')));
  const child = spawn(
    process.execPath,
    [
      ...START_FLAGS,
      ...(process.env.BENCH_KERNEL_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      CLI,
      'serve',
      '--netns',
      ns,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--node-name',
      'bench',
      ...(process.env.BENCH_KERNEL_SERVE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    {
      env,
      stdio: [
        'ignore',
        process.env.BENCH_KERNEL_STDOUT ? openSync(process.env.BENCH_KERNEL_STDOUT, 'a') : 'ignore',
        'pipe',
      ],
    },
  );
  const listening = serveListening(child);
  const url = await listening.url;
  const exited = new Promise((r) => child.on('exit', r));
  return { child, url, exited, stderr: listening.stderr };
}

async function stats(url) {
  const r = await fetch(`${url}/api/stats`);
  return r.json();
}

/** ctscope serve with its defaults, following the same flood. */
async function ctscope(bin, spec) {
  return withNetns(async (ns) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ctscope-bench-rec-'));
    const serve = await startServe(ns, dataDir);
    try {
      // Ready: the event tail runs and the first dump is in.
      const t0 = Date.now();
      for (;;) {
        const s = await stats(serve.url);
        const ev = s.sources.find((x) => x.name === 'events');
        if (ev?.state === 'running' && s.dump?.dumps >= 1) break;
        if (Date.now() - t0 > 30_000) throw new Error('ctscope serve sources never became ready');
        await sleep(100);
      }
      // Idle cost first (polls, NAT reads, counters), so the flood's share can be told apart.
      const idle0 = cpuSplit(serve.child.pid);
      await sleep(IDLE_MS);
      const idle = cpuDiff(idle0, cpuSplit(serve.child.pid));
      const cpu0 = cpuSplit(serve.child.pid);
      // Traced: when the RSS peak happens (during the flood, or in the resync after it).
      const floodStart = Date.now();
      let rssPeak = { mb: 0, at: 0 };
      const rssSampler = process.env.BENCH_KERNEL_TRACE
        ? setInterval(() => {
            const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${serve.child.pid}/status`, 'utf8'));
            const mb = m ? Number(m[1]) / 1024 : 0;
            if (mb > rssPeak.mb) rssPeak = { mb, at: Date.now() };
          }, 100)
        : undefined;
      // Traced: memory during the flood, once a second.
      const floodTrace = process.env.BENCH_KERNEL_TRACE
        ? setInterval(() => {
            stats(serve.url)
              .then((st) =>
                console.log(
                  `    flood +${Date.now() - floodStart} ms: live ${st.flows.live}, RSS ${fmt(st.process?.rssBytes / 1048576)} MB, heap ${fmt(st.process?.heapUsedBytes / 1048576)} of ${fmt(st.process?.heapTotalBytes / 1048576)} MB, backlog ${fmt(st.eventBacklog?.chars / 1048576, 1)} Mi chars, recorder queue ${fmt(st.recording?.queuedBytes / 1048576, 1)} MiB`,
                ),
              )
              .catch(() => {});
          }, 1000)
        : undefined;
      const flood = await runFlood(bin, ns, spec).finally(() => clearInterval(floodTrace));
      const floodEnd = Date.now();
      const kernel = await conntrackCount(ns);
      let convergedMs = Number.NaN;
      let live = 0;
      let ct = 0;
      while (Date.now() - floodEnd < CONVERGE_MAX_MS) {
        let st;
        [st, ct] = await Promise.all([stats(serve.url), conntrackCount(ns)]);
        live = st.flows.live;
        if (process.env.BENCH_KERNEL_TRACE)
          console.log(
            `    +${Date.now() - floodEnd} ms: live ${live}, kernel ${ct}, dump ${JSON.stringify({ inFlight: st.dump?.inFlight, pending: st.dump?.pendingResync, dumps: st.dump?.dumps, lastMs: st.dump?.lastDurationMs, ingestMs: st.dump?.lastIngestMs, lastEntries: st.dump?.lastEntries })}, events ${JSON.stringify(st.flows?.events)}, RSS ${fmt(st.process?.rssBytes / 1048576)} MB, heap ${fmt(st.process?.heapUsedBytes / 1048576)} of ${fmt(st.process?.heapTotalBytes / 1048576)} MB, backlog ${fmt(st.eventBacklog?.chars / 1048576, 1)} Mi chars, recorder queue ${fmt(st.recording?.queuedBytes / 1048576, 1)} MiB`,
          );
        if (live === ct) {
          convergedMs = Date.now() - floodEnd;
          break;
        }
        await sleep(250);
      }
      const cpu = cpuDiff(cpu0, cpuSplit(serve.child.pid));
      const rss = peakRssMb(serve.child.pid);
      if (rssSampler) {
        clearInterval(rssSampler);
        console.log(
          `    RSS peak ${fmt(rssPeak.mb)} MB at ${rssPeak.at <= floodEnd ? `${fmt((rssPeak.at - floodStart) / 1000, 1)} s into the ${fmt((floodEnd - floodStart) / 1000, 1)} s flood` : `+${rssPeak.at - floodEnd} ms after the flood`}`,
        );
      }
      const s = await stats(serve.url);
      serve.child.kill('SIGTERM');
      await serve.exited;
      const rec = await recordingCounts(dataDir);
      return {
        flood,
        kernel,
        convergedMs,
        live,
        ct,
        cpu,
        idle,
        rss,
        recBytes: dirBytes(dataDir),
        ...rec,
        listener: s.listener
          ? `${s.listener.text}, reader ${s.listener.reader}, ${s.listener.pipe ?? '?'} pipe`
          : '?',
        backlogPeakMiB: (s.eventBacklog?.peakChars ?? Number.NaN) / 1048576,
        // The recorder's own account, to tell a writer's drop from a reader's loss if the recorded NEW count is short.
        recorder: s.recording
          ? `recorder wrote ${s.recording.written} records, dropped ${s.recording.dropped}${s.recording.paused ? ', paused' : ''}`
          : 'recording off',
        endMemory: s.process
          ? `RSS ${fmt(s.process.rssBytes / 1048576)} MB, heap ${fmt(s.process.heapUsedBytes / 1048576)} of ${fmt(s.process.heapTotalBytes / 1048576)} MB at the end`
          : '?',
        engineNew: s.flows?.events?.NEW,
        dumps: s.dump?.dumps,
        dumpCost: `last dump ${s.dump?.lastDurationMs} ms + ingest ${s.dump?.lastIngestMs} ms, ${s.dump?.staleAborted ?? 0} killed as stale`,
      };
    } finally {
      serve.child.kill('SIGKILL');
      if (process.env.BENCH_KERNEL_KEEP) console.log(`  kept recording: ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

const fmt = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : '–';

async function main() {
  for (const ns of await listNetns(NS_PREFIX)) await deleteNetns(ns);
  const bin = await compileFlood();
  const fifo = await canUseFifo();
  console.log(
    `bench:kernel: ${RATES.map((r) => r.label).join(', ')}; ceiling = ${fifo ? 'chrt -f 10 ' : ''}conntrack -E alone; ctscope serve --netns with defaults (node ${START_FLAGS.join(' ') || 'without start flags'})`,
  );
  const rows = [];
  for (const spec of RATES) {
    const c = await ceiling(bin, spec);
    const s = await ctscope(bin, spec);
    const row = { spec, c, s };
    rows.push(row);
    console.log(
      `  ${spec.label}: ceiling sent ${c.flood.sent} at ${fmt(c.flood.rate)}/s, kernel ${c.kernel}, NEW ${c.seen} (${c.enobufs} ENOBUFS); ` +
        `ctscope sent ${s.flood.sent} at ${fmt(s.flood.rate)}/s, kernel ${s.kernel}, NEW ${s.news} (engine ${s.engineNew}), gaps ${s.gaps} ${JSON.stringify(s.reasons)}, dumps ${s.dumps} (${s.dumpCost}), ` +
        `converged ${Number.isFinite(s.convergedMs) ? `${s.convergedMs} ms` : `no (live ${s.live} vs ${s.ct})`}, RSS ${fmt(s.rss)} MB, CPU ${fmt(s.cpu.total, 2)} s (node ${fmt(s.cpu.self, 2)}, children ${fmt(s.cpu.children, 2)}; idle ${fmt((100 * s.idle.total) / (IDLE_MS / 1000))} % of a core; plain listener ${fmt(c.cpu, 2)} s), ` +
        `${fmt(s.recBytes / s.flood.sent)} B/flow, event backlog peak ${fmt(s.backlogPeakMiB, 1)} MiB, ${s.endMemory}, ${s.recorder}, listener: ${s.listener}`,
    );
  }
  console.log('');
  console.log(
    '| rate | sent/s (ceiling; ctscope) | kernel entries | tool alone NEW | ctscope NEW | ratio | loss gaps | converged | peak RSS | CPU s: ctscope (node; its children) | CPU s: plain listener | % of a core while flooding: ctscope; over the plain listener | idle CPU | recording B/flow |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { spec, c, s } of rows) {
    // The two floods are separate runs of the same generator sending the same flows: compare the shares of them
    // each listener saw (the kernel's count at the end is lower when a slow flood outlived the 30 s UDP timeout).
    const ratio = s.news / s.flood.sent / (c.seen / c.flood.sent);
    const pct = (sec) => (100 * sec) / Math.max(s.flood.seconds, 1e-3);
    console.log(
      `| ${spec.label} | ${fmt(c.flood.rate)}; ${fmt(s.flood.rate)} | ${fmt(c.kernel)}; ${fmt(s.kernel)} | ${fmt(c.seen)} | ${fmt(s.news)} | ${fmt(ratio, 4)} | ${s.gaps} | ${Number.isFinite(s.convergedMs) ? `${fmt(s.convergedMs / 1000, 1)} s` : 'no'} | ${fmt(s.rss)} MB | ${fmt(s.cpu.total, 1)} (${fmt(s.cpu.self, 1)}; ${fmt(s.cpu.children, 1)}) | ${fmt(c.cpu, 1)} | ${fmt(pct(s.cpu.total))} %; ${fmt(pct(s.cpu.total - c.cpu))} % | ${fmt((100 * s.idle.total) / (IDLE_MS / 1000))} % | ${fmt(s.recBytes / s.flood.sent)} |`,
    );
  }
}

const cleanup = async () => {
  for (const ns of created) await deleteNetns(ns);
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));
const watchdog = setTimeout(() => {
  console.error('bench:kernel: gave up after 12 minutes');
  cleanup().then(() => process.exit(1));
}, 12 * 60_000);
watchdog.unref();
try {
  await main();
} catch (err) {
  console.error(`bench:kernel failed: ${err instanceof Error ? err.stack : err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
