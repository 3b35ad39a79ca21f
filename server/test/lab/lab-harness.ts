/**
 * Test helpers around the BUILT `ctscope lab` (server/dist/cli.js): start a lab with unique namespace names,
 * talk to its ctscope serve, read its clients' logs, and always tear it down. Reusable by browser tests:
 *
 *   const lab = await startLab({ backend: 'nft' });   // lab.url, lab.token, lab.node, lab.clients …
 *   try { … open `${lab.url}/?token=${lab.token}` … } finally { await stopLab(lab); }
 *
 * Everything runs as root in network namespaces the lab creates; the only traffic outside them is HTTP to
 * ctscope serve on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowReport } from '@ctscope/shared';
import { execa } from 'execa';
import type { IptablesBackend } from '../../src/lab/lab-netns.js';
import { type ClientLogLine, parseClientLog } from '../../src/lab/udp-wire.js';

export const SERVER_ROOT = join(import.meta.dirname, '..', '..');
/** The built CLI the lab tests run (`npx tsc -b shared server` builds it; root `npm test` builds first). */
export const CLI = join(SERVER_ROOT, 'dist', 'cli.js');
/**
 * Prefix of every namespace the tests create: `ctlabt-<hex>-node`, … `CTSCOPE_TEST_LAB_PREFIX` changes it, so
 * that runs sharing a machine neither collide nor count each other's namespaces as left behind.
 */
export const TEST_LAB_PREFIX = process.env.CTSCOPE_TEST_LAB_PREFIX ?? 'ctlabt-';
const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

function onPath(name: string): boolean {
  return SBIN_PATH.split(':').some((d) => d !== '' && existsSync(join(d, name)));
}

/** Why the real-kernel lab tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'needs root: it creates network namespaces and iptables rules (run the tests as root)';
  const missing = ['ip', 'conntrack', 'iptables-nft-restore', 'iptables-nft-save'].filter((t) => !onPath(t));
  if (missing.length) return `needs ${missing.join(', ')} (apt-get install iproute2 iptables conntrack)`;
  return undefined;
}

/** Whether the legacy (x_tables) backend works on this kernel: probed in a throwaway namespace. */
function legacyWorks(): boolean {
  if (!onPath('iptables-legacy-restore') || !onPath('iptables-legacy-save')) return false;
  const ns = `${TEST_LAB_PREFIX}probe-${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, PATH: SBIN_PATH };
  try {
    execFileSync('ip', ['netns', 'add', ns], { env, stdio: 'ignore' });
    execFileSync('ip', ['netns', 'exec', ns, 'iptables-legacy-save', '-t', 'nat'], { env, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('ip', ['netns', 'delete', ns], { env, stdio: 'ignore' });
    } catch {
      // was never created
    }
  }
}

/** Backends to test: nft always (Debian's default); legacy when the binaries and the kernel support it. */
export function availableBackends(): IptablesBackend[] {
  return labSkipReason() === undefined && legacyWorks() ? ['nft', 'legacy'] : ['nft'];
}

export interface LabClientInfo {
  key: string;
  /** Address family the client talks to its service over. */
  family: 4 | 6;
  src: string;
  /** The service ClusterIP of the client's family it sends to. */
  vip: string;
  sport: number | null;
  mode: 'fixed' | 'random';
  service: string;
  log: string;
  pid: number;
}

export interface LabServiceInfo {
  key: string;
  name: string;
  vip: string;
  /** IPv6 ClusterIP of a dual-stack service. */
  vip6: string | null;
  port: number;
  endpoints: Array<{ pod: string; ip: string; ip6: string | null; port: number }>;
}

/** What `ctscope lab up --json` prints, plus where the test put the state. */
export interface LabHandle {
  name: string;
  iptables: IptablesBackend;
  node: string;
  namespaces: string[];
  url: string;
  token: string;
  /** The `--state-dir` (a fresh temp dir per lab). */
  stateRoot: string;
  services: LabServiceInfo[];
  clients: LabClientInfo[];
}

export interface StartLabOptions {
  backend?: IptablesBackend;
  /** ctscope serve --suspect-poll (ms). */
  suspectPollMs?: number;
  /** ctscope serve --nat-poll (ms). */
  natPollMs?: number;
  /** Lab name; default `ctlabt-<random>`. */
  name?: string;
  /** `--state-dir`; default a fresh temp dir. */
  stateRoot?: string;
}

/** A fresh temp directory for a lab's `--state-dir`. */
export function newStateRoot(): string {
  return mkdtempSync(join(tmpdir(), 'ctscope-lab-test-'));
}

/** A unique lab name for a test run. */
export function uniqueLabName(): string {
  return `${TEST_LAB_PREFIX}${randomBytes(3).toString('hex')}`;
}

/** Run `ctscope lab <args> --name … --state-dir … --json` with the built CLI; parses its JSON output. */
export async function labCli<T = unknown>(
  name: string,
  stateRoot: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<T> {
  const r = await execa(
    process.execPath,
    [CLI, 'lab', ...args, '--name', name, '--state-dir', stateRoot, '--json'],
    {
      reject: false,
      timeout: timeoutMs,
      env: { PATH: SBIN_PATH },
    },
  );
  if (r.exitCode !== 0) {
    throw new Error(`ctscope lab ${args.join(' ')} exited ${r.exitCode}:\n${r.stderr}\n${r.stdout}`);
  }
  return JSON.parse(String(r.stdout)) as T;
}

/** `ctscope lab up` with unique names in a fresh state dir. On failure the lab is already torn down. */
export async function startLab(opts: StartLabOptions = {}): Promise<LabHandle> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npx tsc -b shared server\``);
  const name = opts.name ?? uniqueLabName();
  const stateRoot = opts.stateRoot ?? newStateRoot();
  const args = ['up', '--iptables', opts.backend ?? 'nft'];
  if (opts.suspectPollMs !== undefined) args.push('--suspect-poll', String(opts.suspectPollMs));
  if (opts.natPollMs !== undefined) args.push('--nat-poll', String(opts.natPollMs));
  // One retry: under a loaded CI machine a lab client has, rarely, died during `up` without a word in its log
  // (seen once in ~10 runs, legacy backend). The failure is printed, and a second failure still fails the test.
  let root = stateRoot;
  for (let attempt = 1; ; attempt++) {
    try {
      const up = await labCli<Omit<LabHandle, 'stateRoot'>>(name, root, args);
      return { ...up, stateRoot: root };
    } catch (err) {
      await stopLab({ name, stateRoot: root }).catch(() => undefined);
      if (attempt >= 2) throw err;
      console.warn(`lab up failed, retrying once: ${(err as Error).message}`);
      root = newStateRoot();
    }
  }
}

/**
 * `ctscope lab down`, then check that none of the lab's namespaces is left, and remove the state dir.
 * Safe to call more than once and for a lab whose `up` failed.
 */
export async function stopLab(
  lab: Pick<LabHandle, 'name' | 'stateRoot'> & Partial<Pick<LabHandle, 'clients'>>,
): Promise<void> {
  const problems: string[] = [];
  try {
    await labCli(lab.name, lab.stateRoot, ['down']);
  } catch (err) {
    problems.push((err as Error).message);
  }
  // Checked even when `lab down` failed: the caller must learn about anything left behind.
  const left = (await listNetns()).filter((n) => n.startsWith(`${lab.name}-`));
  if (left.length > 0) problems.push(`namespaces left behind after lab down: ${left.join(', ')}`);
  const running = (lab.clients ?? []).filter((c) => runsLab(c.pid, lab.name));
  if (running.length > 0)
    problems.push(`processes left behind: ${running.map((c) => `${c.key} (${c.pid})`).join(', ')}`);
  await rm(lab.stateRoot, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** Whether `pid` is still a process of this lab (its argv names the lab). */
export function runsLab(pid: number, name: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(name);
  } catch {
    return false;
  }
}

export async function listNetns(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { env: { PATH: SBIN_PATH } });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

async function api(
  lab: Pick<LabHandle, 'url' | 'token'>,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${lab.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${lab.token}`, ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(5000),
  });
}

/** GET /api/flows (all flows, destroyed ones included, as the API returns them). */
export async function apiFlows(
  lab: Pick<LabHandle, 'url' | 'token'>,
  query = 'limit=100000',
): Promise<FlowReport[]> {
  const r = await api(lab, `/api/flows?${query}`);
  if (r.status !== 200) throw new Error(`GET /api/flows: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { flows: FlowReport[] }).flows;
}

/** DELETE /api/flows/:id with the token. */
export async function apiDelete(
  lab: Pick<LabHandle, 'url' | 'token'>,
  id: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await api(lab, `/api/flows/${encodeURIComponent(id)}`, { method: 'DELETE' });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The live (not destroyed) flow of a client to a service, if ctscope has one. */
export function liveFlowOf(
  flows: readonly FlowReport[],
  client: { src: string; sport: number | null },
  vip: string,
): FlowReport | undefined {
  return flows.find(
    (f) =>
      f.destroyedAt === undefined &&
      f.orig.src === client.src &&
      f.orig.sport === client.sport &&
      f.orig.dst === vip,
  );
}

export async function clientLog(client: Pick<LabClientInfo, 'log'>): Promise<ClientLogLine[]> {
  return parseClientLog(await readFile(client.log, 'utf8').catch(() => ''));
}

/** Poll `fn` every `stepMs` until it returns a value; the error names `what`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
