/** `ctscope analyze --recording DIR --at T | --from T1 --to T2`: post-mortem answers from a recording, for a ticket. */
import {
  type BadDuringAnswer,
  type BadInterval,
  formatHostPort,
  type LifecycleAnswer,
  type TupleQuery,
} from '@ctscope/shared';
import { applyV8Flags } from '../config.js';
import { IndexedRecording } from '../recording/indexed-recording.js';
import { badAndNatAt, badDuring, tupleLifecycle } from '../recording/postmortem.js';
import { EXIT_CRITICAL, EXIT_OK, EXIT_USAGE, type Io } from './analyze.js';
import { formatFlowTable } from './format-flow-table.js';
import { parseRecordingTime } from './recording-time.js';

export interface AnalyzeRecordingOptions {
  recording: string;
  at?: string;
  from?: string;
  to?: string;
  /** `SRC[:SPORT][->DST[:DPORT]]`: follow one tuple. */
  tuple?: string;
  json?: boolean;
  /** NAT changes listed within this many seconds of --at (default 60). */
  natWindow?: string;
}

/** NAT changes within this of --at, by default. */
const NAT_WINDOW_MS = 60_000;

const iso = (t: number) => new Date(t).toISOString();
const dur = (ms: number) =>
  ms < 60_000
    ? `${(ms / 1000).toFixed(1)}s`
    : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;

/** `SRC[:SPORT][->DST[:DPORT]]` (IPv6 in brackets) into a tuple query. */
export function parseTuple(s: string): TupleQuery | Error {
  const side = (p: string): { ip?: string; port?: number } | undefined => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))?(?::(\d{1,5}))?$/.exec(p.trim());
    if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
    return { ip: m[1] ?? m[2], port: m[3] !== undefined ? Number(m[3]) : undefined };
  };
  const [a, b] = s.split('->');
  const o = side(a ?? '');
  const r = b !== undefined ? side(b) : {};
  if (!o || !r) return new Error(`--tuple must look like 10.42.0.33:52001->10.43.0.10:53, got "${s}"`);
  return { src: o.ip, sport: o.port, dst: r.ip, dport: r.port };
}

function windowTable(a: BadDuringAnswer): string {
  if (a.total === 0) return `No bad flows between ${iso(a.from)} and ${iso(a.to)}.\n`;
  const row = (i: BadInterval) => [
    i.flow.severity.toUpperCase(),
    i.verdicts.join(','),
    i.flow.keptAlive ? 'yes' : '-',
    `${formatHostPort(i.flow.orig.src, i.flow.orig.sport)} -> ${formatHostPort(i.flow.orig.dst, i.flow.orig.dport)}`,
    iso(i.since),
    i.until === null ? 'still bad' : `${iso(i.until)} (${i.endedBy})`,
    dur(i.durationMs),
    i.flow.id,
  ];
  const rows = [
    ['SEVERITY', 'VERDICTS', 'KEPT-ALIVE', 'ORIGINAL', 'BAD SINCE', 'UNTIL', 'BAD FOR', 'ID'],
    ...a.flows.map(row),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  const critical = a.flows.filter((i) => i.flow.severity === 'critical').length;
  lines.push('', `${a.total} bad flows between ${iso(a.from)} and ${iso(a.to)} (${critical} critical)`);
  if (a.total > a.flows.length) lines.push(`(the ${a.flows.length} worst listed)`);
  return `${lines.join('\n')}\n`;
}

function lifecycleText(a: LifecycleAnswer): string {
  if (a.flows.length === 0) return 'No entry with that tuple in the recording.\n';
  const out: string[] = [];
  for (const f of a.flows) {
    out.push(
      `${f.id} ${formatHostPort(f.orig.src, f.orig.sport)} -> ${formatHostPort(f.orig.dst, f.orig.dport)}: first seen ${iso(f.firstSeen)}` +
        `, first bad ${f.firstBad !== null ? iso(f.firstBad) : 'never'}` +
        (f.recovered !== null ? `, recovered ${iso(f.recovered)}` : '') +
        (f.deleted !== null ? `, deleted ${iso(f.deleted)}` : '') +
        (f.destroyed !== null ? `, destroyed ${iso(f.destroyed)}` : ', still live at the end'),
    );
    for (const s of f.steps)
      out.push(
        `  ${iso(s.t)}  ${s.event.padEnd(8)} ${s.severity.padEnd(8)} ${s.verdict}${s.keptAlive ? ' (kept alive)' : ''}${s.timeout !== undefined ? ` timeout=${s.timeout}` : ''}`,
      );
  }
  return `${out.join('\n')}\n`;
}

/** Run it; returns the exit status (0 no critical flow in the answer, 1 a critical one, 2 usage or input error). */
export async function runAnalyzeRecording(opts: AnalyzeRecordingOptions, io: Io): Promise<number> {
  const usage = (m: string) => {
    io.err(`ctscope analyze: ${m}\n`);
    return EXIT_USAGE;
  };
  const hasWindow = opts.from !== undefined || opts.to !== undefined;
  if (!opts.tuple && (opts.at === undefined) === !hasWindow)
    return usage('with --recording give --at TIME, or --from T1 --to T2 (or --tuple)');
  const times: Record<string, number> = {};
  for (const [flag, v] of [
    ['--at', opts.at],
    ['--from', opts.from],
    ['--to', opts.to],
  ] as const) {
    if (v === undefined) continue;
    const t = parseRecordingTime(flag, v);
    if (t instanceof Error) return usage(t.message);
    times[flag] = t;
  }
  if (
    opts.at === undefined &&
    hasWindow &&
    !opts.tuple &&
    (times['--from'] === undefined || times['--to'] === undefined)
  )
    return usage('--from and --to go together');
  if (times['--from'] !== undefined && times['--to'] !== undefined && times['--to'] < times['--from'])
    return usage('--to is before --from');
  const natWindow = opts.natWindow !== undefined ? Number(opts.natWindow) * 1000 : NAT_WINDOW_MS;
  if (!Number.isFinite(natWindow) || natWindow < 0) return usage('--nat-window must be seconds ≥ 0');
  let tuple: TupleQuery | undefined;
  if (opts.tuple) {
    const q = parseTuple(opts.tuple);
    if (q instanceof Error) return usage(q.message);
    tuple = q;
  }
  applyV8Flags('replay');
  let rec: IndexedRecording;
  try {
    rec = await IndexedRecording.open(opts.recording);
  } catch (err) {
    return usage(`cannot read --recording ${opts.recording}: ${(err as Error).message}`);
  }
  for (const e of rec.index.errors.slice(0, 5)) io.err(`${e.segment}:${e.line}: ${e.error} (skipped)\n`);
  const inRange = (t: number) => t >= rec.start - 60_000 && t <= rec.end + 60_000;
  for (const [flag, t] of Object.entries(times))
    if (!inRange(t))
      return usage(`${flag} ${iso(t)} is outside the recording (${iso(rec.start)} to ${iso(rec.end)})`);

  if (tuple) {
    const a = await tupleLifecycle(rec, tuple, times['--from'] ?? rec.start, times['--to'] ?? rec.end);
    io.out(opts.json ? `${JSON.stringify(a)}\n` : lifecycleText(a));
    return a.flows.some((f) => f.steps.some((s) => s.severity === 'critical')) ? EXIT_CRITICAL : EXIT_OK;
  }
  if (times['--at'] !== undefined) {
    const at = times['--at'];
    const { bad, nat } = await badAndNatAt(rec, at, natWindow);
    if (opts.json) io.out(`${JSON.stringify({ ...bad, nat })}\n`);
    else {
      io.out(`Bad flows at ${iso(at)}:\n`);
      io.out(bad.total === 0 ? 'None.\n' : formatFlowTable(bad.flows));
      io.out(`\nNAT changes between ${iso(nat.from)} and ${iso(nat.to)}:\n`);
      if (nat.changes.length === 0) io.out('None.\n');
      for (const c of nat.changes) for (const l of c.lines) io.out(`  ${iso(c.t)}  ${l.service} ${l.text}\n`);
    }
    return bad.flows.some((f) => f.severity === 'critical') ? EXIT_CRITICAL : EXIT_OK;
  }
  const a = await badDuring(rec, times['--from']!, times['--to']!);
  io.out(opts.json ? `${JSON.stringify(a)}\n` : windowTable(a));
  return a.flows.some((i) => i.flow.severity === 'critical') ? EXIT_CRITICAL : EXIT_OK;
}
