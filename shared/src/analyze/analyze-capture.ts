/** Offline analysis of captured conntrack/NAT output: the engine behind `ctscope analyze` and browser replay. */

import type { FlowRecord } from '../conntrack/conntrack-types.js';
import { tupleKey } from '../conntrack/flow-key.js';
import { parseConntrackOutputLine } from '../conntrack/parse-conntrack-output.js';
import { compareReports, type FlowReport, reportFlow } from '../flows/flow-report.js';
import { FlowTracker } from '../flows/flow-tracker.js';
import type { NatSnapshot } from '../nat/nat-types.js';
import { parseNatSnapshot } from '../nat/parse-nat-snapshot.js';
import type { ClassifyOptions } from '../verdict/classify-flow.js';

/** A named text input (a file's contents). */
export interface NamedText {
  /** Name used in error messages, e.g. the file path. */
  name: string;
  /** Full contents. */
  text: string;
}

/** What to analyze. */
export interface AnalyzeInput {
  /** NAT snapshots (iptables-save, nft -j, ipvsadm -Ln), oldest first; the last is "current". */
  nat: NamedText[];
  /** `conntrack -L` dumps, oldest first; a file may hold several dumps separated by `--` lines. */
  lists?: NamedText[];
  /** `conntrack -E` output (any -o format). */
  events?: NamedText;
  /** Seconds between consecutive dumps; estimated from the dumps themselves when absent. */
  listIntervalS?: number;
  /** Include flows whose DESTROY was seen. */
  includeDestroyed?: boolean;
  options?: ClassifyOptions;
}

/** A line that could not be parsed. */
export interface InputError {
  /** Input name. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** Why. */
  reason: string;
}

/** Analysis outcome. */
export interface AnalyzeResult {
  /** Flows, worst first. */
  flows: FlowReport[];
  /** Unparseable lines. */
  errors: InputError[];
  /** ENOBUFS/event-loss markers seen in the events. */
  eventLoss: number;
  /** Parsed snapshots, in input order. */
  snapshots: NatSnapshot[];
  /** Seconds assumed between consecutive dumps (estimated or given). */
  listIntervalsS: number[];
}

interface ParsedLine {
  rec: FlowRecord;
  lineNo: number;
}

/** Splits text into lines, dropping one trailing newline's empty tail; tolerates CRLF (the parser strips \r). */
function lines(text: string): string[] {
  const out = text.split('\n');
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Run the analysis. Throws only for unusable NAT inputs (unknown format), naming the file. */
export function analyzeCapture(input: AnalyzeInput): AnalyzeResult {
  const errors: InputError[] = [];
  const snapshots = input.nat.map((n) => {
    try {
      return parseNatSnapshot(n.text);
    } catch (err) {
      throw new Error(`${n.name}: ${(err as Error).message}`);
    }
  });
  const current = snapshots[snapshots.length - 1];
  const tracker = new FlowTracker();
  let eventLoss = 0;
  let clock = 0;

  if (input.events) {
    const ev = input.events;
    lines(ev.text).forEach((line, i) => {
      const r = parseConntrackOutputLine(line);
      if (r.kind === 'error') errors.push({ file: ev.name, line: i + 1, reason: r.reason });
      else if (r.kind === 'event-loss') eventLoss++;
      else if (r.kind === 'flow') {
        if (r.timestamp !== undefined) clock = Math.max(clock, r.timestamp * 1000);
        tracker.observe(r, r.timestamp !== undefined ? r.timestamp * 1000 : clock);
      }
    });
  }

  const dumps: ParsedLine[][] = [];
  for (const file of input.lists ?? []) {
    let dump: ParsedLine[] = [];
    lines(file.text).forEach((line, i) => {
      if (line.trim() === '--') {
        if (dump.length > 0) dumps.push(dump);
        dump = [];
        return;
      }
      const r = parseConntrackOutputLine(line);
      if (r.kind === 'error') errors.push({ file: file.name, line: i + 1, reason: r.reason });
      else if (r.kind === 'flow') dump.push({ rec: r, lineNo: i + 1 });
    });
    if (dump.length > 0) dumps.push(dump);
  }

  const intervals: number[] = [];
  // Dumps carry no clock: anchor the first one to the events it overlaps, then step by the estimated gaps.
  if (dumps.length > 0) clock = estimateDumpTime(dumps[0]!, tracker) ?? clock;
  dumps.forEach((dump, i) => {
    if (i > 0) {
      const gap = input.listIntervalS ?? estimateIntervalS(dumps[i - 1]!, dump);
      intervals.push(gap);
      clock += gap * 1000;
    }
    for (const { rec } of dump) tracker.observe(rec, clock);
  });

  const flows: FlowReport[] = [];
  for (const f of tracker.all()) {
    if (f.destroyedAt !== undefined && !input.includeDestroyed) continue;
    // Event and dump readings were applied source by source; order them in time for reset detection (a copy:
    // flows first seen together share one history).
    f.history = [...f.history].sort((a, b) => a.at - b.at);
    flows.push(reportFlow(f, snapshots, current, clock, input.options));
  }
  flows.sort(compareReports);
  return { flows, errors, eventLoss, snapshots, listIntervalsS: intervals };
}

/**
 * Lower bound on the seconds between two dumps: the largest timeout decrease of an entry present in both.
 * Entries that were refreshed decrease less, so the maximum is the one that simply counted down; erring low
 * only makes reset detection more conservative.
 */
export function estimateIntervalS(older: readonly ParsedLine[], newer: readonly ParsedLine[]): number {
  const before = new Map<string, number>();
  for (const { rec } of older) if (rec.timeout !== undefined) before.set(keyOf(rec), rec.timeout);
  let best = 0;
  for (const { rec } of newer) {
    const t0 = before.get(keyOf(rec));
    if (t0 !== undefined && rec.timeout !== undefined) best = Math.max(best, t0 - rec.timeout);
  }
  return best;
}

/**
 * When a dump was taken, from entries also seen in timestamped events: an entry that only counted down since
 * its last event reading (at, t0) and shows t in the dump was dumped at about at + (t0 - t) s. Refreshed
 * entries give earlier times, so the latest estimate is the best lower bound. Undefined without overlap.
 */
function estimateDumpTime(dump: readonly ParsedLine[], tracker: FlowTracker): number | undefined {
  let best: number | undefined;
  for (const { rec } of dump) {
    const flow = tracker.find(rec);
    const last = flow?.history.findLast((h) => h.timeout !== undefined && h.event !== 'DESTROY');
    if (last?.timeout === undefined || rec.timeout === undefined) continue;
    const at = last.at + (last.timeout - rec.timeout) * 1000;
    if (best === undefined || at > best) best = at;
  }
  return best;
}

function keyOf(rec: FlowRecord): string {
  return rec.id !== undefined ? String(rec.id) : tupleKey(rec);
}
