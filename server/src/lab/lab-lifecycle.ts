/** `ctscope lab up | down | status`: build the lab in network namespaces, tear it down, report on it. */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { joinHostPort } from './kube-proxy-rules.js';
import {
  addNetns,
  addRoutedVeth,
  addUplink,
  deleteNetns,
  type IptablesBackend,
  listNetns,
  netnsPids,
  readSysctl,
  writeSysctl,
} from './lab-netns.js';
import { labPreflight } from './lab-preflight.js';
import { killAll, processArgv, spawnDetached, stopProcess } from './lab-process.js';
import { applyLabRules } from './lab-rules.js';
import { startServe, stopServe } from './lab-serve.js';
import {
  type LabProcess,
  type LabState,
  labDir,
  noteHistory,
  readState,
  removeState,
  stateFile,
  writeState,
} from './lab-state.js';
import {
  clientEndpoints,
  findApp,
  type LabTopology,
  labNamespaces,
  labTopology,
  NODE_GATEWAY,
  NODE_GATEWAY_MAC,
  NODE_GATEWAY6,
  NODE_IP,
  NODE_IP6,
  NODE_PREFIX,
  NODE_PREFIX6,
  POD_GATEWAY,
  POD_GATEWAY6,
} from './lab-topology.js';
import { type ClientLogLine, parseClientLog, responderReadyAt } from './udp-wire.js';

export interface LabContext {
  name: string;
  stateDir: string;
  /** Progress lines for people (stderr). */
  say: (line: string) => void;
}

export interface UpOptions extends LabContext {
  iptables: IptablesBackend;
  /** Start ctscope serve on the node namespace (default true). */
  serve: boolean;
  port: number;
  suspectPollMs: number;
  natPollMs: number;
  /** ctscope serve's auto-remedy mode (default off). */
  autoRemedy?: 'off' | 'on' | 'dry-run';
}

export class LabError extends Error {}

const RESPONDER = join(import.meta.dirname, 'udp-responder.js');
const CLIENT = join(import.meta.dirname, 'udp-client.js');

/** Build the lab. On any failure everything made so far is removed again. */
export async function labUp(opts: UpOptions): Promise<{ state: LabState; notes: string[] }> {
  await labPreflight(opts.iptables);
  const topology = labTopology(opts.name);
  if (await readState(opts.stateDir, opts.name)) {
    throw new LabError(
      `lab "${opts.name}" is already up (${stateFile(opts.stateDir, opts.name)}); run \`ctscope lab down --name ${opts.name}\` first`,
    );
  }
  const existing = new Set(await listNetns());
  const clash = labNamespaces(topology).filter((n) => existing.has(n));
  if (clash.length > 0) {
    throw new LabError(
      `network namespaces ${clash.join(', ')} already exist (a lab that was not torn down?); run \`ctscope lab down --name ${opts.name}\` to remove them`,
    );
  }
  const dir = labDir(opts.stateDir, opts.name);
  await mkdir(join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const state: LabState = {
    version: 1,
    name: opts.name,
    createdAt: new Date().toISOString(),
    iptables: opts.iptables,
    dir,
    topology,
    podIps: Object.fromEntries(topology.pods.map((p) => [p.key, p.ip])),
    servicesWithoutRules: [],
    processes: [],
    history: [],
  };
  // Written first, so `lab down` can clean up after a failed or interrupted `up`.
  await writeState(opts.stateDir, state);
  try {
    const notes = await build(state, opts);
    noteHistory(state, `up (iptables ${opts.iptables})`);
    await writeState(opts.stateDir, state);
    return { state, notes };
  } catch (err) {
    opts.say(`lab up failed: ${(err as Error).message}; removing what was made`);
    await labDown(opts).catch((e) => opts.say(`clean-up failed too: ${(e as Error).message}`));
    throw err;
  }
}

async function build(state: LabState, opts: UpOptions): Promise<string[]> {
  const t = state.topology;
  const notes: string[] = [];
  opts.say(`creating namespaces ${labNamespaces(t).join(', ')}`);
  for (const ns of labNamespaces(t)) await addNetns(ns);

  await writeSysctl(t.node, 'net/ipv4/ip_forward', '1');
  await writeSysctl(t.node, 'net/ipv6/conf/all/forwarding', '1');
  await addUplink(t.node, t.upstream, `${NODE_IP}/${NODE_PREFIX}`, NODE_GATEWAY, NODE_GATEWAY_MAC, {
    cidr: `${NODE_IP6}/${NODE_PREFIX6}`,
    gateway: NODE_GATEWAY6,
  });
  for (const host of [...t.pods, ...t.apps]) await addRoutedVeth(t.node, host, POD_GATEWAY, POD_GATEWAY6);

  opts.say(
    `loading kube-proxy-style nat rules with iptables-${state.iptables}-restore and ip6tables-${state.iptables}-restore`,
  );
  await applyLabRules(state);
  notes.push(await checkEvents(t.node));

  const logs = join(state.dir, 'logs');
  for (const pod of t.pods) {
    const marker = ['--lab', state.name, '--pod', pod.key];
    const log = join(logs, `${pod.key}.log`);
    const argv = [
      'ip',
      'netns',
      'exec',
      pod.netns,
      process.execPath,
      RESPONDER,
      ...marker,
      '--port',
      String(pod.port),
    ];
    state.processes.push(
      await started({ key: pod.key, role: 'responder', netns: pod.netns, marker, log }, argv),
    );
  }
  await writeState(opts.stateDir, state);
  // A client started before its endpoints listen gets its first queries refused: those conntrack entries stay
  // unreplied for the UDP timeout (30 s) and read as `unanswered` on a lab that is in fact healthy.
  opts.say('waiting for every responder to listen');
  await waitResponders(state, 10_000);
  for (const c of t.clients) {
    const app = findApp(t, c.app);
    const ends = clientEndpoints(t, c);
    const marker = ['--lab', state.name, '--client', c.key];
    const log = join(logs, `${c.key}.log`);
    const argv = ['ip', 'netns', 'exec', app.netns, process.execPath, CLIENT, ...marker];
    argv.push('--target', joinHostPort(ends.vip, ends.port));
    if (c.mode === 'fixed') argv.push('--sport', String(c.sport));
    state.processes.push(await started({ key: c.key, role: 'client', netns: app.netns, marker, log }, argv));
  }
  await writeState(opts.stateDir, state);
  opts.say('waiting for every client to get an answer through the service VIPs');
  await waitHealthy(state, 10_000);

  if (opts.serve) {
    opts.say(`starting ctscope serve --netns ${t.node}`);
    state.serve = await startServe({
      labName: state.name,
      node: t.node,
      backend: state.iptables,
      dir: state.dir,
      port: opts.port,
      suspectPollMs: opts.suspectPollMs,
      natPollMs: opts.natPollMs,
      autoRemedy: opts.autoRemedy,
      onSpawned: async (serve) => {
        state.serve = serve;
        await writeState(opts.stateDir, state);
      },
    });
  }
  return notes;
}

async function started(p: Omit<LabProcess, 'pid'>, argv: string[]): Promise<LabProcess> {
  const pid = await spawnDetached(argv, p.log);
  return { ...p, pid };
}

/**
 * nf_conntrack_events must be 1 in the node namespace. With 2 (on demand, the default of newer kernels) the
 * kernel only gives events to entries created while a listener was subscribed: an entry created before ctscope
 * serve started never reports anything, not even its DESTROY when it is deleted. The setting is per network
 * namespace, so setting it here changes nothing outside the lab.
 */
async function checkEvents(node: string): Promise<string> {
  const key = 'net/netfilter/nf_conntrack_events';
  const v = await readSysctl(node, key);
  if (v === '1') return 'nf_conntrack_events is 1 in the node namespace';
  await writeSysctl(node, key, '1');
  const was = v === '2' ? '2 (events only for entries created while a listener runs)' : (v ?? 'missing');
  return `nf_conntrack_events was ${was} in the node namespace; set to 1 there (per-namespace setting)`;
}

/** Every client's log as parsed lines. */
export async function clientLogs(state: LabState): Promise<Record<string, ClientLogLine[]>> {
  const out: Record<string, ClientLogLine[]> = {};
  for (const p of state.processes) {
    if (p.role !== 'client') continue;
    out[p.key] = parseClientLog(await readFile(p.log, 'utf8').catch(() => ''));
  }
  return out;
}

/** Throws when one of the lab's processes has exited, with its log. */
async function checkAlive(state: LabState): Promise<void> {
  for (const p of state.processes) {
    if (!(await processArgv(p.pid))) {
      throw new LabError(
        `${p.role} ${p.key} exited; see ${p.log}:\n${await readFile(p.log, 'utf8').catch(() => '')}`,
      );
    }
  }
}

async function waitResponders(state: LabState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting: string[] = [];
  while (Date.now() < deadline) {
    waiting = [];
    for (const p of state.processes) {
      if (
        p.role === 'responder' &&
        responderReadyAt(await readFile(p.log, 'utf8').catch(() => '')) === undefined
      )
        waiting.push(p.key);
    }
    if (waiting.length === 0) return;
    await checkAlive(state);
    await sleep(50);
  }
  throw new LabError(`responders ${waiting.join(', ')} not listening within ${timeoutMs} ms`);
}

async function waitHealthy(state: LabState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting: string[] = [];
  while (Date.now() < deadline) {
    const logs = await clientLogs(state);
    waiting = Object.entries(logs)
      .filter(([, lines]) => !lines.some((l) => l.ok > 0))
      .map(([k]) => k);
    if (waiting.length === 0) return;
    await checkAlive(state);
    await sleep(200);
  }
  throw new LabError(
    `no answer within ${timeoutMs} ms for ${waiting.join(', ')}: the lab's network or NAT rules are not working`,
  );
}

/**
 * Remove everything the lab made: ctscope serve, the responders and clients, any other process left inside
 * the lab's namespaces, the namespaces (with their veths and rules), and the state. Idempotent; works without
 * a state file too (the names follow from --name).
 */
export async function labDown(ctx: LabContext): Promise<{ namespaces: string[]; processes: number }> {
  const state = await readState(ctx.stateDir, ctx.name).catch(() => undefined);
  const topology: LabTopology = state?.topology ?? labTopology(ctx.name);
  const results = await Promise.all([
    state?.serve ? stopServe(state.serve, topology.node) : false,
    ...(state?.processes ?? []).map((p) => stopProcess(p.pid, p.marker, 2000)),
  ]);
  let stopped = results.filter(Boolean).length;
  const existing = new Set(await listNetns());
  const ours = labNamespaces(topology).filter((n) => existing.has(n));
  for (const ns of ours) {
    const pids = await netnsPids(ns);
    if (pids.length > 0) ctx.say(`stopping ${pids.length} leftover process(es) in ${ns}: ${pids.join(' ')}`);
    await killAll(pids);
    stopped += pids.length;
  }
  for (const ns of ours) await deleteNetns(ns);
  await removeState(ctx.stateDir, ctx.name);
  return { namespaces: ours, processes: stopped };
}

export interface LabStatus {
  up: boolean;
  state?: LabState;
  namespaces: Record<string, boolean>;
  processes: Array<{ key: string; role: string; pid: number; alive: boolean }>;
  serve?: { url: string; pid: number; alive: boolean; healthz?: number };
  /** Each client's latest log line. */
  clients: Record<string, ClientLogLine | undefined>;
}

export async function labStatus(ctx: LabContext): Promise<LabStatus> {
  const state = await readState(ctx.stateDir, ctx.name);
  const existing = new Set(await listNetns());
  const topology = state?.topology ?? labTopology(ctx.name);
  const namespaces = Object.fromEntries(labNamespaces(topology).map((n) => [n, existing.has(n)]));
  if (!state) return { up: false, namespaces, processes: [], clients: {} };
  const processes = await Promise.all(
    state.processes.map(async (p) => ({
      key: p.key,
      role: p.role,
      pid: p.pid,
      alive: (await processArgv(p.pid)) !== undefined,
    })),
  );
  let serve: LabStatus['serve'];
  if (state.serve) {
    const alive = (await processArgv(state.serve.pid)) !== undefined;
    let healthz: number | undefined;
    try {
      healthz = (await fetch(`${state.serve.url}/healthz`, { signal: AbortSignal.timeout(2000) })).status;
    } catch {
      healthz = undefined;
    }
    serve = { url: state.serve.url, pid: state.serve.pid, alive, healthz };
  }
  const logs = await clientLogs(state);
  const clients = Object.fromEntries(Object.entries(logs).map(([k, lines]) => [k, lines[lines.length - 1]]));
  return { up: true, state, namespaces, processes, serve, clients };
}
