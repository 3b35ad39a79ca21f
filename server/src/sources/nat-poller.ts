/**
 * Reads the node's kube-proxy NAT rules (iptables, nftables or IPVS) and reports a snapshot per read: on every
 * change `nft monitor` reports where it can see them (with a slow backstop poll), else every `intervalMs`.
 */
import {
  makeSnapshot,
  type NatSnapshot,
  type NatSourceKind,
  parseIptablesSave,
  parseIpvsadm,
  parseNftKubeProxy,
  type SourceState,
} from '@ctscope/shared';
import { NAT_CHANGE_SETTLE_MS, NAT_WATCH_BACKSTOP_MS, NAT_WATCH_RETRY_MS } from '../config.js';
import { NodeCommandError, runNodeCommand } from '../node/node-command.js';
import { type RuleWatch, rulesAreWatchable, watchRuleChanges } from './nat-watch.js';
import type { NodeCommandOptions, SourceSink } from './source-types.js';
import { Supervisor, sleep } from './supervisor.js';

/** Requested NAT mode; `auto` probes nft, then IPVS, then falls back to iptables. */
export type NatMode = 'auto' | NatSourceKind;

export interface NatPollerOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  mode: NatMode;
  /** Poll period without a watch, ms, and the shortest time between two reads with one. Default 1000. */
  intervalMs?: number;
  /** Watch the rules with `nft monitor` where it sees them (default true). */
  watch?: boolean;
  /** Re-read period while watched, ms (default {@link NAT_WATCH_BACKSTOP_MS}). */
  backstopMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** The `nat` source: a {@link Supervisor} plus `mode()`, the mode in use (undefined until auto has decided). */
export type NatPoller = Supervisor & { mode(): NatSourceKind | undefined };

/** Per-command timeout: iptables-save of a big cluster can take seconds, but a hung one must not stall forever. */
const COMMAND_TIMEOUT_MS = 20_000;

/** Raw rule dumps from one poll; `undefined` parts mean "that family is not present" (at least one is). */
interface RawDump {
  v4?: string;
  v6?: string;
}

/** Create the `nat` source. Not started: call `start()`. */
export function createNatPoller(opts: NatPollerOptions): NatPoller {
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 1000;
  const node = opts.node;
  let resolved: NatSourceKind | undefined = opts.mode === 'auto' ? undefined : opts.mode;
  let lastKey: string | undefined;
  let lastSnapshot: NatSnapshot | undefined;

  const poll = async (): Promise<RawDump> => {
    const mode = resolved!;
    const raw = await dump(mode, node);
    const at = now();
    // Header comments carry a per-second timestamp; without them identical rules give an identical key.
    const key = `${mode}\0${raw.v4 === undefined ? '' : stripComments(raw.v4)}\0${raw.v6 === undefined ? '' : stripComments(raw.v6)}`;
    let snapshot: NatSnapshot;
    if (key === lastKey && lastSnapshot) snapshot = { ...lastSnapshot, takenAt: at };
    else {
      snapshot = parse(mode, raw, at);
      lastKey = key;
      lastSnapshot = snapshot;
    }
    opts.sink.onNat(snapshot, at);
    return raw;
  };

  let detail: string | undefined;
  const withDetail = (s: SourceState): SourceState => (detail === undefined ? s : { ...s, detail });
  const setDetail = (d: string | undefined): void => {
    if (d === detail) return;
    detail = d;
    if (supervisor.state.state === 'running') opts.sink.onSourceState(withDetail(supervisor.state));
  };
  const backstopMs = opts.backstopMs ?? NAT_WATCH_BACKSTOP_MS;
  const polling = `read every ${intervalMs} ms`;

  const loop = async (signal: AbortSignal, ready: () => void): Promise<void> => {
    const waker = new Waker();
    let watch: RuleWatch | undefined;
    let watchStartedAt = Number.NEGATIVE_INFINITY;
    /** Set when this run ends (a failed read ends it without aborting `signal`): its watch no longer reports. */
    let over = false;
    try {
      while (!signal.aborted) {
        const started = now();
        const raw = await poll();
        ready();
        let fresh = false;
        const watchable = opts.watch !== false && rulesAreWatchable(resolved!, raw.v4, raw.v6);
        if (!watchable && watch !== undefined) {
          // Legacy tables appeared beside nf_tables, or the mode changed: nft no longer sees every change.
          watch.stop();
          watch = undefined;
        }
        if (watchable && !watch?.live && now() - watchStartedAt >= NAT_WATCH_RETRY_MS) {
          const w = watchRuleChanges(node, () => waker.wake());
          watch = w;
          watchStartedAt = now();
          fresh = true;
          setDetail(`read on every rule change (nft monitor), and every ${backstopMs} ms`);
          void w.ended.then((why) => {
            if (watch !== w || over || signal.aborted) return;
            setDetail(`${polling} (${why})`);
            waker.wake();
          });
        } else if (watch === undefined) setDetail(polling);
        // A new monitor may have subscribed after this read: the next read comes after one interval regardless.
        const watched = watch?.live === true && !fresh;
        const woken = await waker.wait(watched ? backstopMs : intervalMs, signal);
        if (woken) {
          // At most one read per interval, however often the rules change; a burst of transactions is read once.
          await sleep(Math.max(NAT_CHANGE_SETTLE_MS, started + intervalMs - now()), signal);
          waker.clear();
        }
      }
    } finally {
      over = true;
      watch?.stop();
    }
  };
  const supervisor: Supervisor = new Supervisor({
    name: 'nat',
    now,
    onState: (s) => opts.sink.onSourceState(withDetail(s)),
    run: async (signal, ready) => {
      // Re-decided at every (re)start: kube-proxy may have been switched to another mode meanwhile.
      if (opts.mode === 'auto') resolved = await detectNatMode(node);
      if (signal.aborted) return;
      await loop(signal, ready);
    },
  });
  return Object.assign(supervisor, { mode: () => resolved });
}

/** Wakes a waiting loop early; a wake while nobody waits ends the next wait at once. */
class Waker {
  #pending = false;
  #wake: (() => void) | undefined;

  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  clear(): void {
    this.#pending = false;
  }

  /** Resolves true when woken, false after `ms` or on abort. */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#wake = undefined;
        resolve(woken);
      };
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.#wake = () => done(true);
      if (signal.aborted) done(false);
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Which rule source kube-proxy uses on this node: an nft kube-proxy table present (ip, or ip6 on an IPv6-only
 * node), else IPVS with services, else iptables.
 */
export async function detectNatMode(node: NodeCommandOptions): Promise<NatSourceKind> {
  if (await succeeds('nft', ['list', 'table', 'ip', 'kube-proxy'], node)) return 'nft';
  if (await succeeds('nft', ['list', 'table', 'ip6', 'kube-proxy'], node)) return 'nft';
  try {
    const r = await runNodeCommand('ipvsadm', ['-Ln'], { ...node, timeoutMs: COMMAND_TIMEOUT_MS });
    if (/^(?:TCP|UDP|SCTP|FWM)\s/m.test(r.stdout)) return 'ipvs';
  } catch {
    // No IPVS (module missing, binary missing): not IPVS mode.
  }
  return 'iptables';
}

async function succeeds(cmd: string, args: string[], node: NodeCommandOptions): Promise<boolean> {
  try {
    await runNodeCommand(cmd, args, { ...node, timeoutMs: COMMAND_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], node: NodeCommandOptions): Promise<string> {
  return (await runNodeCommand(cmd, args, { ...node, timeoutMs: COMMAND_TIMEOUT_MS })).stdout;
}

/** Like {@link run}, but `undefined` when the command itself does not exist (optional IPv6 tooling). */
async function runOptional(
  cmd: string,
  args: string[],
  node: NodeCommandOptions,
): Promise<string | undefined> {
  try {
    return await run(cmd, args, node);
  } catch (err) {
    if (err instanceof NodeCommandError && isMissingCommand(cmd, err)) return undefined;
    throw err;
  }
}

// Missing binary: execa's ENOENT (host), or `ip netns exec` failing to exec it (inside a netns).
function isMissingCommand(cmd: string, err: NodeCommandError): boolean {
  return (
    err.message.endsWith(`${cmd}: command not found`) ||
    (err.result?.stderr ?? '').includes(`exec of "${cmd}" failed: No such file or directory`)
  );
}

/** Optional nft family table: `undefined` when nft works but the table does not exist. */
async function runNftOptional(family: string, node: NodeCommandOptions): Promise<string | undefined> {
  try {
    return await run('nft', ['-j', 'list', 'table', family, 'kube-proxy'], node);
  } catch (err) {
    if (err instanceof NodeCommandError && /No such file or directory/.test(err.result?.stderr ?? ''))
      return undefined;
    throw err;
  }
}

async function dump(mode: NatSourceKind, node: NodeCommandOptions): Promise<RawDump> {
  switch (mode) {
    case 'iptables': {
      const [nat, filter, v6] = await Promise.all([
        run('iptables-save', ['-t', 'nat'], node),
        run('iptables-save', ['-t', 'filter'], node),
        dumpIp6tables(node),
      ]);
      const out: RawDump = { v4: joinDumps(nat, filter) };
      if (v6 !== undefined) out.v6 = v6;
      return out;
    }
    case 'nft': {
      // Either family may be missing (single-stack nodes), not both.
      const [v4, v6] = await Promise.all([runNftOptional('ip', node), runNftOptional('ip6', node)]);
      if (v4 === undefined && v6 === undefined)
        throw new NodeCommandError(
          'nft: neither table ip kube-proxy nor table ip6 kube-proxy exists (is kube-proxy in nftables mode?)',
        );
      const out: RawDump = {};
      if (v4 !== undefined) out.v4 = v4;
      if (v6 !== undefined) out.v6 = v6;
      return out;
    }
    case 'ipvs':
      return { v4: await run('ipvsadm', ['-Ln'], node) };
  }
}

// Both tables or nothing: a nat table without its filter table would lose the "has no endpoints" REJECTs.
async function dumpIp6tables(node: NodeCommandOptions): Promise<string | undefined> {
  const nat = await runOptional('ip6tables-save', ['-t', 'nat'], node);
  if (nat === undefined) return undefined;
  return joinDumps(nat, await run('ip6tables-save', ['-t', 'filter'], node));
}

function joinDumps(a: string, b: string): string {
  return a.endsWith('\n') || a === '' ? a + b : `${a}\n${b}`;
}

function parse(mode: NatSourceKind, raw: RawDump, at: number): NatSnapshot {
  const parseOne = (text: string): NatSnapshot => {
    // takenAt is the poller's clock: iptables-save's header is local time without a zone.
    if (mode === 'iptables') return parseIptablesSave(text, { takenAt: at });
    if (mode === 'nft') return parseNftKubeProxy(text, { takenAt: at });
    return parseIpvsadm(text, { takenAt: at });
  };
  if (raw.v4 === undefined) {
    const only = parseOne(raw.v6 ?? '');
    return makeSnapshot(
      mode,
      only.frontends,
      only.warnings.map((w) => `IPv6: ${w}`),
      at,
    );
  }
  const v4 = parseOne(raw.v4);
  if (raw.v6 === undefined) return v4;
  const v6 = parseOne(raw.v6);
  return makeSnapshot(
    mode,
    [...v4.frontends, ...v6.frontends],
    [...v4.warnings, ...v6.warnings.map((w) => `IPv6: ${w}`)],
    at,
  );
}

function stripComments(text: string): string {
  return text.replace(/^#.*$/gm, '');
}
