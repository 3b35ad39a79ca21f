/** Polls conntrack's node-wide counters: per-CPU stats (summed), entry count and table size. */
import { readFile } from 'node:fs/promises';
import { parseConntrackLine, parseConntrackProcStat } from '@ctscope/shared';
import { NetnsProcNet } from '../node/netns-proc-net.js';
import { runNodeCommand } from '../node/node-command.js';
import type { NodeCommandOptions, NodeCounters, SourceSink } from './source-types.js';
import { periodic, Supervisor } from './supervisor.js';

export interface CountersPollerOptions {
  sink: SourceSink;
  node: NodeCommandOptions;
  /** Poll period, ms. Default 2000. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Where `net/stat/nf_conntrack` and `sys/net/netfilter/nf_conntrack_max` are read, and processes are looked for
   * inside a netns. Default `/proc` (for tests).
   */
  procRoot?: string;
  /** Where `ip netns` keeps its namespaces. Default `/run/netns` (for tests). */
  netnsRoot?: string;
  /** How long a reading of nf_conntrack_max is reused, ms. Default {@link MAX_REUSE_MS}. */
  maxReuseMs?: number;
}

const COMMAND_TIMEOUT_MS = 10_000;
const MAX_PATH = 'sys/net/netfilter/nf_conntrack_max';
/**
 * The table size is an operator's setting, not a counter: inside a netns it costs two execs to read, so one reading
 * serves this long.
 */
export const MAX_REUSE_MS = 30_000;

/** Create the `counters` source. Not started: call `start()`. */
export function createCountersPoller(opts: CountersPollerOptions): Supervisor {
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 2000;
  const procRoot = opts.procRoot ?? '/proc';
  const procNet = new NetnsProcNet(opts.node.netns, { procRoot, netnsRoot: opts.netnsRoot, now });
  const maxReuseMs = opts.maxReuseMs ?? MAX_REUSE_MS;
  let max: { value: number; at: number } | undefined;
  const readMaxReused = async (): Promise<number> => {
    const t = now();
    if (max !== undefined && t - max.at < maxReuseMs) return max.value;
    max = { value: await readMax(opts.node, procRoot), at: t };
    return max.value;
  };
  const poll = async (): Promise<void> => {
    const counters = await readCounters(opts.node, procNet, readMaxReused);
    counters.at = now();
    opts.sink.onCounters(counters);
  };
  return new Supervisor({
    name: 'counters',
    now,
    onState: (s) => opts.sink.onSourceState(s),
    run: periodic(poll, () => intervalMs),
  });
}

/**
 * One reading. Stats and count come from the namespace's `net/stat/nf_conntrack` when it can be read, else from
 * `conntrack -S` and `conntrack -C`. Each part may fail on its own (old conntrack without `-S`, module not loaded
 * yet) and is then left out; rejects only when all three failed, naming each failure. `at` is left 0 for the caller.
 */
async function readCounters(
  node: NodeCommandOptions,
  procNet: NetnsProcNet,
  readMaxValue: () => Promise<number>,
): Promise<NodeCounters> {
  const fromProc = await readProcStat(procNet);
  const [stats, count, max] = await Promise.allSettled([
    fromProc ? fromProc.stats : readStats(node),
    fromProc ? fromProc.count : readCount(node),
    readMaxValue(),
  ]);
  if (stats.status === 'rejected' && count.status === 'rejected' && max.status === 'rejected') {
    throw new Error(
      `no conntrack counters could be read: ${[stats, count, max].map((r) => errorText(r.reason)).join('; ')}`,
    );
  }
  const out: NodeCounters = { at: 0, stats: stats.status === 'fulfilled' ? stats.value : {} };
  if (count.status === 'fulfilled') out.count = count.value;
  if (max.status === 'fulfilled') out.max = max.value;
  return out;
}

/** The stat file's counters, or undefined when it cannot be read or parsed (then the commands are run). */
async function readProcStat(
  procNet: NetnsProcNet,
): Promise<{ stats: Record<string, number>; count: number } | undefined> {
  const text = await procNet.read('stat/nf_conntrack');
  if (text === undefined) return undefined;
  try {
    return parseConntrackProcStat(text);
  } catch {
    return undefined;
  }
}

async function readStats(node: NodeCommandOptions): Promise<Record<string, number>> {
  const r = await runNodeCommand('conntrack', ['-S'], { ...node, timeoutMs: COMMAND_TIMEOUT_MS });
  const sums = Object.create(null) as Record<string, number>; // keys come from the command's output
  let cpus = 0;
  for (const line of r.stdout.split('\n')) {
    const rec = parseConntrackLine(line);
    if (rec.kind !== 'cpu-stats') continue;
    cpus++;
    for (const [k, v] of Object.entries(rec.counters)) sums[k] = (sums[k] ?? 0) + v;
  }
  if (cpus === 0) throw new Error(`conntrack -S: no per-CPU statistics in its output`);
  return sums;
}

async function readCount(node: NodeCommandOptions): Promise<number> {
  const r = await runNodeCommand('conntrack', ['-C'], { ...node, timeoutMs: COMMAND_TIMEOUT_MS });
  const rec = parseConntrackLine(r.stdout.trim());
  if (rec.kind !== 'count') throw new Error(`conntrack -C: expected a number, got ${quote(r.stdout)}`);
  return rec.count;
}

// The sysctl is per network namespace, so inside one it must be read from there, not from our /proc.
async function readMax(node: NodeCommandOptions, procRoot: string): Promise<number> {
  let text: string;
  if (node.netns) {
    text = (await runNodeCommand('cat', [`/proc/${MAX_PATH}`], { ...node, timeoutMs: COMMAND_TIMEOUT_MS }))
      .stdout;
  } else {
    const file = `${procRoot}/${MAX_PATH}`;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`);
    }
  }
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`nf_conntrack_max: expected a number, got ${quote(text)}`);
  return Number(t);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function quote(s: string): string {
  const t = s.trim();
  return JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}…` : t);
}
