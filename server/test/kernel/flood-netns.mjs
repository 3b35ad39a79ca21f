/**
 * A UDP flood on the real kernel, for `npm run bench:kernel` and the kernel ingest test: a throwaway network
 * namespace with kube-proxy's nat rules for one ClusterIP, the C flood generator (compiled with the system gcc),
 * and a plain `conntrack -E` listener to compare ctscope with. Every namespace name is the caller's.
 *
 * Traffic never leaves the namespace: destinations are routed into a veth whose peer is down, so every packet
 * is tracked (conntrack confirms locally generated packets at POSTROUTING) and then dropped by the device.
 */
import { createReadStream, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { renderKubeProxyNat } from '../../dist/lab/kube-proxy-rules.js';

export const FLOOD_SOURCE = join(import.meta.dirname, 'udp-flood.c');
/** The DNATed service: kube-system/kube-dns:dns, two endpoints. */
export const CLUSTER_IP = '10.96.0.10';
export const CLUSTER_PORT = 53;
export const ENDPOINTS = [
  { ip: '10.244.0.5', port: 53 },
  { ip: '10.244.0.6', port: 53 },
];
/** The plain (never translated) destination. */
export const PLAIN_IP = '10.97.0.1';
export const PLAIN_PORT = 9999;

const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
const ENV = { PATH: SBIN_PATH };

function onPath(name) {
  return SBIN_PATH.split(':').some((d) => d !== '' && existsSync(join(d, name)));
}

/** Why a flood cannot run here, or undefined when it can. */
export function floodSkipReason() {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'needs root: it creates network namespaces, iptables rules and raw sockets';
  const missing = ['ip', 'conntrack', 'iptables-restore', 'gcc', 'chrt'].filter((t) => !onPath(t));
  if (missing.length)
    return `needs ${missing.join(', ')} (apt-get install iproute2 iptables conntrack gcc util-linux)`;
  return undefined;
}

/** Compile the generator into a fresh temp dir; returns the binary's path. */
export async function compileFlood() {
  const out = join(mkdtempSync(join(tmpdir(), 'ctscope-flood-')), 'udp-flood');
  const r = await execa('gcc', ['-O2', '-Wall', '-o', out, FLOOD_SOURCE], { reject: false, env: ENV });
  if (r.exitCode !== 0) throw new Error(`gcc failed to build ${FLOOD_SOURCE}: ${r.stderr}`);
  return out;
}

async function run(file, args, opts = {}) {
  const r = await execa(file, args, { reject: false, env: ENV, ...opts });
  if (r.exitCode !== 0)
    throw new Error(`${[file, ...args].join(' ')}: ${String(r.stderr || r.stdout).trim()}`);
  return String(r.stdout);
}

/** Create namespace `name` with the service's nat rules and the drop device. Deletes it again on failure. */
export async function createFloodNetns(name) {
  await run('ip', ['netns', 'add', name]);
  try {
    const ip = (args) => run('ip', ['-n', name, ...args]);
    await ip(['link', 'set', 'lo', 'up']);
    // The peer stays down: the device drops what is routed into it, after conntrack has confirmed it.
    await ip(['link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', 'sink1']);
    await ip(['link', 'set', 'sink0', 'arp', 'off', 'up']);
    await ip(['route', 'add', '10.96.0.0/12', 'dev', 'sink0']);
    await ip(['route', 'add', '10.244.0.0/16', 'dev', 'sink0']);
    const rules = renderKubeProxyNat(
      [
        {
          namespace: 'kube-system',
          name: 'kube-dns',
          portName: 'dns',
          proto: 'udp',
          clusterIp: CLUSTER_IP,
          port: CLUSTER_PORT,
          endpoints: ENDPOINTS,
        },
      ],
      { podCidr: '10.244.0.0/16' },
    );
    await run('ip', ['netns', 'exec', name, 'iptables-restore'], { input: rules });
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
}

/** Delete a namespace; never throws (it may not exist). */
export async function deleteNetns(name) {
  await execa('ip', ['netns', 'delete', name], { reject: false, env: ENV });
}

/** Namespaces whose names start with `prefix` (leftovers of an interrupted run). */
export async function listNetns(prefix) {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n?.startsWith(prefix));
}

/**
 * Send `count` packets, each a new flow, at `rate`/s (0: as fast as possible); `srcBase` is a /16 the source
 * addresses come from (use a different one per flood in one namespace). Resolves with what the generator measured.
 */
export async function runFlood(bin, netns, { count, rate, srcBase = '10.200.0.0' }) {
  const out = await run('ip', [
    'netns',
    'exec',
    netns,
    bin,
    String(count),
    String(rate),
    srcBase,
    CLUSTER_IP,
    String(CLUSTER_PORT),
    PLAIN_IP,
    String(PLAIN_PORT),
  ]);
  const m = /sent=(\d+) seconds=([\d.]+) rate=(\d+)/.exec(out);
  if (!m) throw new Error(`udp-flood printed no summary: ${out}`);
  return { sent: Number(m[1]), seconds: Number(m[2]), rate: Number(m[3]) };
}

/** Number of entries in the namespace's conntrack table (`conntrack -C`). */
export async function conntrackCount(netns) {
  return Number((await run('ip', ['netns', 'exec', netns, 'conntrack', '-C'])).trim());
}

/** Whether this process may use SCHED_FIFO (CAP_SYS_NICE and an RT budget). */
export async function canUseFifo() {
  const r = await execa('chrt', ['-f', '10', 'true'], { reject: false, env: ENV });
  return r.exitCode === 0;
}

/**
 * Start `conntrack -E -p udp -o timestamp,extended,id -b 64MiB` in `netns` writing to `file`, under
 * `chrt -f 10` when `prioritised`. `ready` resolves once its netlink socket is set up.
 */
export function startListener(netns, file, { prioritised = true } = {}) {
  const ct = ['conntrack', '-E', '-p', 'udp', '-o', 'timestamp,extended,id', '-b', String(64 * 1024 * 1024)];
  const argv = ['netns', 'exec', netns, ...(prioritised ? ['chrt', '-f', '10'] : []), ...ct];
  const child = execa('ip', argv, {
    reject: false,
    env: ENV,
    stdin: 'ignore',
    stdout: { file },
    buffer: { stderr: true },
  });
  let stderr = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr?.on('data', (c) => {
      stderr += String(c);
      if (stderr.includes('Netlink socket buffer size')) resolve();
    });
    child.then((r) => reject(new Error(`conntrack -E exited early: ${String(r.stderr).trim()}`)));
  });
  ready.catch(() => {});
  return {
    ready,
    /** `ip netns exec` and `chrt` exec, so this is conntrack's own pid. */
    pid: child.pid,
    /** Stop it; resolves with its stderr (ENOBUFS warnings show there). */
    async stop() {
      child.kill('SIGTERM');
      await child;
      return stderr;
    },
  };
}

/** Count `[NEW]` lines in a `conntrack -E` output file. */
export async function countNewInFile(file) {
  let n = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line.includes('[NEW]')) n++;
  return n;
}

/** Poll `read()` every `everyMs` until it returns the same value `stableReads` times in a row or `maxMs` passes. */
export async function untilStable(read, { everyMs = 250, stableReads = 3, maxMs = 20_000 } = {}) {
  const end = Date.now() + maxMs;
  let last = await read();
  let same = 1;
  while (same < stableReads && Date.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    const v = await read();
    same = v === last ? same + 1 : 1;
    last = v;
  }
  return last;
}

/**
 * The URL a spawned `ctscope serve` (stderr piped) prints once listening; rejects when it exits first or says
 * nothing within `timeoutMs`. `stderr()` is everything it printed so far.
 */
export function serveListening(child, timeoutMs = 30_000) {
  let text = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ctscope serve did not start: ${text}`)), timeoutMs);
    child.stderr.on('data', (c) => {
      text += String(c);
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ctscope serve exited (${code}): ${text}`));
    });
  });
  return { url, stderr: () => text };
}
