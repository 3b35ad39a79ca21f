/** `ctscope analyze`: offline verdicts from captured NAT rules, conntrack dumps and events. */
import { readFile } from 'node:fs/promises';
import { type AnalyzeResult, analyzeCapture, type NamedText } from '@ctscope/shared';
import { formatFlowTable } from './format-flow-table.js';

/** Exit codes: 0 no critical flow, 1 a critical flow, 2 usage or input error. */
export const EXIT_OK = 0;
export const EXIT_CRITICAL = 1;
export const EXIT_USAGE = 2;

export interface AnalyzeOptions {
  nat: string[];
  list: string[];
  events?: string;
  json?: boolean;
  listInterval?: string;
  unansweredAfter?: string;
  includeDestroyed?: boolean;
  skipBadLines?: boolean;
}

/** Where output goes; injectable for tests. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

class UsageError extends Error {}

async function load(flag: string, path: string): Promise<NamedText> {
  try {
    return { name: path, text: await readFile(path, 'utf8') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new UsageError(`cannot read ${flag} ${path}: ${why}`);
  }
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative number of seconds, got "${value}"`);
  return n;
}

/** Run the command; returns the process exit code. */
export async function runAnalyze(opts: AnalyzeOptions, io: Io): Promise<number> {
  let result: AnalyzeResult;
  try {
    if (opts.nat.length === 0)
      throw new UsageError(
        'at least one --nat FILE is required (iptables-save, nft -j or ipvsadm -Ln output)',
      );
    if (opts.list.length === 0 && !opts.events)
      throw new UsageError('give --list FILE and/or --events FILE: there are no flows to analyze');
    const listIntervalS = positiveNumber('--list-interval', opts.listInterval);
    const unanswered = positiveNumber('--unanswered-after', opts.unansweredAfter);
    const nat = await Promise.all(opts.nat.map((p) => load('--nat', p)));
    const lists = await Promise.all(opts.list.map((p) => load('--list', p)));
    const events = opts.events ? await load('--events', opts.events) : undefined;
    try {
      result = analyzeCapture({
        nat,
        lists,
        events,
        listIntervalS,
        includeDestroyed: opts.includeDestroyed,
        options: unanswered !== undefined ? { unansweredAfterMs: unanswered * 1000 } : undefined,
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ctscope analyze: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  for (const e of result.errors) io.err(`${e.file}:${e.line}: ${e.reason}\n`);
  if (result.errors.length > 0 && !opts.skipBadLines) {
    io.err(
      `ctscope analyze: ${result.errors.length} unparseable line(s); fix the input or pass --skip-bad-lines\n`,
    );
    return EXIT_USAGE;
  }
  for (const s of result.snapshots) for (const w of s.warnings) io.err(`warning: NAT ${s.source}: ${w}\n`);
  if (result.eventLoss > 0) {
    io.err(`warning: the events lost data ${result.eventLoss} time(s) (ENOBUFS): flows may be missing\n`);
  }
  if (opts.json) {
    for (const f of result.flows) io.out(`${JSON.stringify(f)}\n`);
  } else {
    io.out(formatFlowTable(result.flows));
  }
  return result.flows.some((f) => f.severity === 'critical') ? EXIT_CRITICAL : EXIT_OK;
}
