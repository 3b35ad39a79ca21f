/**
 * The questions a post-mortem asks of a recording, answered through its index: which flows were bad at T,
 * which were bad during a window (worst first, with durations), what changed in the NAT rules around T, and
 * one tuple's whole lifecycle. Shared by the API, `ctscope analyze --recording` and nothing else.
 */
import {
  type BadAtAnswer,
  type BadDuringAnswer,
  type BadInterval,
  compareReports,
  describeNatChange,
  type FlowLifecycle,
  type FlowReport,
  type LifecycleAnswer,
  type LifecycleStep,
  type NatChangesAnswer,
  type RecordingPlayer,
  SEVERITY_RANK,
  type TupleQuery,
  type Verdict,
} from '@ctscope/shared';
import type { IndexedRecording } from './indexed-recording.js';

/** Most flows an answer lists (the total is always given). */
export const MAX_ANSWER_FLOWS = 10_000;

function isBad(f: FlowReport): boolean {
  return f.severity !== 'ok' && f.destroyedAt === undefined;
}

/** Live bad flows in a player's table, worst first. */
function badFlows(p: RecordingPlayer): FlowReport[] {
  const { flows } = p.core.store.select({ severity: ['critical', 'warning'] }, Number.MAX_SAFE_INTEGER);
  return flows.filter(isBad);
}

/** Flows bad at instant t (live, verdict not ok), worst first. */
export async function badAt(
  rec: IndexedRecording,
  t: number,
  limit = MAX_ANSWER_FLOWS,
): Promise<BadAtAnswer> {
  const p = await rec.playerAt(t);
  const flows = badFlows(p);
  return { at: t, total: flows.length, flows: flows.slice(0, limit) };
}

/** Worst first: severity, kept alive, then the longest bad. */
function compareIntervals(a: BadInterval, b: BadInterval): number {
  return (
    SEVERITY_RANK[a.flow.severity] - SEVERITY_RANK[b.flow.severity] ||
    Number(b.flow.keptAlive) - Number(a.flow.keptAlive) ||
    b.durationMs - a.durationMs ||
    compareReports(a.flow, b.flow)
  );
}

/** Keeps the worse of two reports of the same flow (the later one on a tie: it knows more). */
function worse(a: FlowReport, b: FlowReport): FlowReport {
  return SEVERITY_RANK[b.severity] < SEVERITY_RANK[a.severity] ||
    (SEVERITY_RANK[b.severity] === SEVERITY_RANK[a.severity] && (b.keptAlive || !a.keptAlive))
    ? b
    : a;
}

/**
 * Every flow that was bad at some moment in [from, to], with how long, worst first. A flow bad several times in
 * the window is listed once, from its first bad moment to its last, with its time bad summed.
 */
export async function badDuring(
  rec: IndexedRecording,
  from: number,
  to: number,
  limit = MAX_ANSWER_FLOWS,
): Promise<BadDuringAnswer> {
  const cursor = await rec.cursorNear(from);
  try {
    await cursor.advanceTo(from);
    const store = cursor.player.core.store;
    store.takeChanges();
    interface Open {
      interval: BadInterval;
      openSince: number | null;
      verdicts: Set<Verdict>;
    }
    const byId = new Map<string, Open>();
    const open = (f: FlowReport, at: number): void => {
      let o = byId.get(f.id);
      if (!o) {
        o = {
          interval: { flow: f, since: at, until: null, endedBy: 'ongoing', durationMs: 0, verdicts: [] },
          openSince: null,
          verdicts: new Set(),
        };
        byId.set(f.id, o);
      }
      o.interval.flow = worse(o.interval.flow, f);
      o.verdicts.add(f.verdict);
      o.openSince ??= at;
    };
    const close = (id: string, at: number, endedBy: BadInterval['endedBy']): void => {
      const o = byId.get(id);
      if (!o || o.openSince === null) return;
      o.interval.durationMs += at - o.openSince;
      o.interval.until = at;
      o.interval.endedBy = endedBy;
      o.openSince = null;
    };
    for (const f of badFlows(cursor.player)) open(f, from);
    await cursor.advanceTo(to, () => {
      const now = store.now;
      const ch = store.takeChanges();
      for (const f of ch.upserts) {
        if (isBad(f)) open(f, f.badSince ?? now);
        else if (byId.get(f.id)?.openSince != null)
          close(f.id, f.destroyedAt ?? now, f.destroyedAt !== undefined ? 'destroyed' : 'recovered');
      }
      for (const id of ch.removals) close(id, now, 'removed');
    });
    const out: BadInterval[] = [];
    for (const o of byId.values()) {
      if (o.openSince !== null) {
        o.interval.durationMs += to - o.openSince;
        o.interval.until = null;
        o.interval.endedBy = 'ongoing';
      }
      o.interval.verdicts = [...o.verdicts];
      out.push(o.interval);
    }
    out.sort(compareIntervals);
    return { from, to, total: out.length, flows: out.slice(0, limit) };
  } finally {
    await cursor.close();
  }
}

/** NAT changes in [at - windowMs, at + windowMs], with the services each touched. */
export async function natChangesAround(
  rec: IndexedRecording,
  at: number,
  windowMs: number,
): Promise<NatChangesAnswer> {
  const from = at - windowMs;
  const to = at + windowMs;
  const times = rec.index.natChanges.filter((t) => t >= from && t <= to);
  // One seek, to the last change in the window: the store keeps the latest changes (up to its NAT version cap).
  return natChangesOf(times.length > 0 ? await rec.playerAt(times.at(-1)!) : undefined, from, to);
}

function natChangesOf(p: RecordingPlayer | undefined, from: number, to: number): NatChangesAnswer {
  const changes: NatChangesAnswer['changes'] = [];
  for (const c of p?.core.store.natChanges ?? [])
    if (c.t >= from && c.t <= to)
      changes.push({ t: c.t, from: c.from, to: c.to, lines: describeNatChange(c) });
  changes.sort((a, b) => a.t - b.t);
  return { from, to, changes };
}

/**
 * {@link badAt} and {@link natChangesAround} with one seek: the state at `t` answers the first, and the same
 * cursor read on to the window's last NAT change (if after `t`) answers the second.
 */
export async function badAndNatAt(
  rec: IndexedRecording,
  t: number,
  windowMs: number,
  limit = MAX_ANSWER_FLOWS,
): Promise<{ bad: BadAtAnswer; nat: NatChangesAnswer }> {
  const from = t - windowMs;
  const to = t + windowMs;
  const cursor = await rec.cursorNear(t);
  try {
    cursor.headless = true;
    await cursor.advanceTo(t);
    const flows = badFlows(cursor.player);
    const bad = { at: t, total: flows.length, flows: flows.slice(0, limit) };
    const times = rec.index.natChanges.filter((x) => x >= from && x <= to);
    if (times.length === 0) return { bad, nat: natChangesOf(undefined, from, to) };
    const last = times.at(-1)!;
    if (last > t) await cursor.advanceTo(last);
    return { bad, nat: natChangesOf(cursor.player, from, to) };
  } finally {
    await cursor.close();
  }
}

function matchesTuple(f: FlowReport, q: TupleQuery): boolean {
  return (
    (q.src === undefined || f.orig.src === q.src) &&
    (q.dst === undefined || f.orig.dst === q.dst) &&
    (q.sport === undefined || f.orig.sport === q.sport) &&
    (q.dport === undefined || f.orig.dport === q.dport)
  );
}

/** Substrings every raw line about the tuple contains (a pre-filter; matches are checked exactly after). */
function needles(q: TupleQuery): string[] {
  const n: string[] = [];
  if (q.src !== undefined) n.push(`src=${q.src} `);
  if (q.dst !== undefined) n.push(`dst=${q.dst} `);
  if (q.sport !== undefined) n.push(`sport=${q.sport} `);
  if (q.dport !== undefined) n.push(`dport=${q.dport} `);
  return n;
}

/**
 * A tuple's whole lifecycle in [from, to] (default: the whole recording), across segments: every entry that had
 * that original tuple, each event and verdict change, when it first went bad, recovered, was destroyed or deleted.
 * Only lines mentioning the tuple are parsed, so following one tuple through days costs one read of the files.
 */
export async function tupleLifecycle(
  rec: IndexedRecording,
  q: TupleQuery,
  from = rec.start,
  to = rec.end,
): Promise<LifecycleAnswer> {
  const n = needles(q);
  if (n.length === 0) throw new RangeError('give at least one of src, dst, sport, dport');
  const cursor = await rec.cursorNear(from);
  cursor.keep = (text) => !text.includes('"k":"line"') || n.every((s) => text.includes(s));
  const flows = new Map<string, FlowLifecycle>();
  try {
    const store = cursor.player.core.store;
    await cursor.advanceTo(from);
    store.takeChanges();
    const note = (f: FlowReport, at: number, event: LifecycleStep['event']): void => {
      let l = flows.get(f.id);
      if (!l) {
        l = {
          id: f.id,
          orig: f.orig,
          firstSeen: f.firstSeen,
          firstBad: null,
          recovered: null,
          destroyed: null,
          deleted: null,
          steps: [],
          last: f,
        };
        flows.set(f.id, l);
      }
      // Re-judged after it was gone (a NAT change re-judges retained flows too): not part of its life.
      if (l.destroyed !== null && event === 'verdict') return;
      const prev = l.steps.at(-1);
      if (isBad(f) && l.firstBad === null) l.firstBad = f.badSince ?? at;
      if (prev && prev.severity !== 'ok' && f.severity === 'ok' && f.destroyedAt === undefined)
        l.recovered ??= at;
      if (f.destroyedAt !== undefined) l.destroyed ??= f.destroyedAt;
      l.last = f;
      l.steps.push({
        t: at,
        event,
        verdict: f.verdict,
        severity: f.severity,
        keptAlive: f.keptAlive,
        timeout: f.timeout,
        unreplied: f.unreplied,
      });
    };
    for (const f of store.reports()) if (matchesTuple(f, q)) note(f, from, 'LIST');
    await cursor.advanceTo(to, (r) => {
      const ch = store.takeChanges();
      for (const f of ch.upserts) {
        if (!matchesTuple(f, q)) continue;
        const found = store.get(f.id);
        const last = found ? store.lifecycle(found.flow).at(-1) : undefined;
        let event: LifecycleStep['event'] = 'verdict';
        if (r.k === 'deleted' && r.id === f.id) event = 'deleted';
        else if (last && last.at === store.now) event = last.event;
        else if (f.destroyedAt === store.now) event = 'gone';
        note(f, store.now, event);
        if (event === 'deleted') flows.get(f.id)!.deleted = r.t;
      }
    });
  } finally {
    await cursor.close();
  }
  return { query: q, from, to, flows: [...flows.values()].sort((a, b) => a.firstSeen - b.firstSeen) };
}
