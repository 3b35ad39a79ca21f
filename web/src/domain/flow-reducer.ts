/**
 * The protocol reducer: one `switch` on the message type (vite hmrPayload style). A delta that does not
 * continue the held sequence is not applied; it sets `needsResync` so the controller asks for a fresh sync.
 * Pure except for the flow maps, which a delta updates in place and marks with `flowsVersion` (see state).
 */
import type {
  DeltaMessage,
  FlowReport,
  NatChange,
  RateBucket,
  SourceState,
  SyncMessage,
} from '@ctscope/shared';
import { type DashboardAction, type DashboardState, initialState, LIMITS } from './dashboard-state.js';

/** Apply one action; returns the same object when nothing changed. */
export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'hello': {
      const { type: _type, ...hello } = action;
      // A recording replayed in the browser stays `local` whatever its synthesised hello says.
      const mode = state.mode === 'local' ? 'local' : action.mode;
      return { ...state, hello, mode, sources: action.sources, lastError: undefined };
    }
    case 'sync':
      return applySync(state, action);
    case 'delta':
      if (state.seq < 0 || action.seq <= state.seq) return state;
      if (action.seq !== state.seq + 1) return state.needsResync ? state : { ...state, needsResync: true };
      return applyDelta(state, action);
    case 'rows':
      // The rows themselves live in the controller's row pages; the total is the newest count.
      return action.total === state.total
        ? state
        : { ...state, total: action.total, truncated: action.total > state.flows.size };
    case 'error':
      return { ...state, lastError: action.message };
    case 'pong':
      return state;
    case 'connection':
      return { ...state, connection: action.connection };
    case 'nat-history':
      // The full list as of now (REST or the local replayer), so scrubbing back also forgets later changes.
      return { ...state, natChanges: capTail(action.changes, LIMITS.natChanges) };
    case 'reset':
      return {
        ...initialState(action.mode),
        connection: state.connection,
        recordingName: action.recordingName,
        generation: state.generation + 1,
      };
    case 'replay-clock':
      return { ...state, replay: action.clock };
    case 'replay-outline':
      return { ...state, replayOutline: action.outline };
  }
}

/** Apply several actions in order (the store feeds whole batches). */
export function reduceAll(state: DashboardState, actions: readonly DashboardAction[]): DashboardState {
  let s = state;
  for (const a of actions) s = reduce(s, a);
  return s;
}

/** How many flows the page holds in this mode. */
export function flowLimit(state: DashboardState): number {
  return state.mode === 'local' ? LIMITS.flows : LIMITS.serverFlows;
}

function isCritical(f: FlowReport): boolean {
  return f.severity === 'critical' && f.destroyedAt === undefined;
}

/** Insert or move `f` to the newest end of the map, keeping the critical index in step. */
function put(flows: Map<string, FlowReport>, critical: Map<string, FlowReport>, f: FlowReport): void {
  flows.delete(f.id);
  flows.set(f.id, f);
  if (isCritical(f)) critical.set(f.id, f);
  else critical.delete(f.id);
}

function applySync(state: DashboardState, m: SyncMessage): DashboardState {
  const flows = new Map<string, FlowReport>();
  const critical = new Map<string, FlowReport>();
  for (const f of m.flows) put(flows, critical, f);
  return {
    ...state,
    seq: m.seq,
    now: m.now,
    synced: true,
    generation: state.generation + 1,
    flows: capFlows(flows, flowLimit(state), critical),
    critical,
    flowsVersion: state.flowsVersion + 1,
    truncated: m.truncated,
    total: m.total,
    counts: m.counts,
    timeline: capTail(sortBuckets([...m.timeline]), LIMITS.buckets),
    markers: capTail(m.markers, LIMITS.markers),
    nat: m.nat,
    natChanges: capTail(m.natChanges ?? state.natChanges, LIMITS.natChanges),
    counters: m.counters,
    prevCounters: undefined,
    eventLoss: m.eventLoss,
    sources: m.sources,
    // The server's recent alerts: a flood turns deltas into syncs, and alerts must survive that.
    alerts: capTail(m.alerts, LIMITS.alerts),
    needsResync: false,
  };
}

function applyDelta(state: DashboardState, m: DeltaMessage): DashboardState {
  let flowsVersion = state.flowsVersion;
  if (m.upserts.length > 0 || m.removals.length > 0) {
    const flows = state.flows as Map<string, FlowReport>;
    const critical = state.critical as Map<string, FlowReport>;
    for (const id of m.removals) {
      flows.delete(id);
      critical.delete(id);
    }
    for (const f of m.upserts) put(flows, critical, f);
    capFlows(flows, flowLimit(state), critical);
    flowsVersion++;
  }
  return {
    ...state,
    seq: m.seq,
    now: Math.max(state.now, m.now),
    flowsVersion,
    total: m.total ?? state.total,
    truncated: (m.total ?? state.total) > state.flows.size,
    counts: m.counts ?? state.counts,
    timeline: m.rates.length > 0 ? mergeBuckets(state.timeline, m.rates) : state.timeline,
    markers: m.markers.length > 0 ? capTail([...state.markers, ...m.markers], LIMITS.markers) : state.markers,
    natChanges: m.nat.length > 0 ? mergeNatChanges(m.nat, state.natChanges) : state.natChanges,
    nat: m.natView ?? state.nat,
    counters: m.counters ?? state.counters,
    prevCounters: m.counters ? state.counters : state.prevCounters,
    alerts: m.alerts.length > 0 ? capTail([...state.alerts, ...m.alerts], LIMITS.alerts) : state.alerts,
    sources: m.sources.length > 0 ? mergeSources(state.sources, m.sources) : state.sources,
    eventLoss: m.eventLoss ?? state.eventLoss,
  };
}

function sortBuckets(b: RateBucket[]): RateBucket[] {
  return b.sort((x, y) => x.t - y.t);
}

/** Replace buckets by second, append new ones, keep time order and the cap. */
export function mergeBuckets(held: readonly RateBucket[], updates: readonly RateBucket[]): RateBucket[] {
  const byT = new Map<number, RateBucket>();
  for (const b of held) byT.set(b.t, b);
  for (const b of updates) byT.set(b.t, b);
  return capTail(sortBuckets([...byT.values()]), LIMITS.buckets);
}

function mergeSources(held: readonly SourceState[], changed: readonly SourceState[]): SourceState[] {
  const byName = new Map(held.map((s) => [s.name, s]));
  for (const s of changed) byName.set(s.name, s);
  return [...byName.values()];
}

/** Union of two change lists by (t, from, to), time-ordered and capped. */
function mergeNatChanges(a: readonly NatChange[], b: readonly NatChange[]): NatChange[] {
  const byKey = new Map<string, NatChange>();
  for (const c of [...b, ...a]) byKey.set(`${c.t}|${c.from}|${c.to}`, c);
  return capTail(
    [...byKey.values()].sort((x, y) => x.t - y.t),
    LIMITS.natChanges,
  );
}

function capTail<T>(list: readonly T[], max: number): T[] {
  return list.length > max ? list.slice(list.length - max) : [...list];
}

/**
 * Evict down to 95% of `max` when over it: destroyed flows first, then healthy ones, then the rest, least
 * recently updated first. Bad flows are what the page is for, so they go last. The map is in last-update
 * order, so this is a few linear passes and never a sort of the whole table.
 */
export function capFlows(
  flows: Map<string, FlowReport>,
  max: number,
  critical?: Map<string, FlowReport>,
): Map<string, FlowReport> {
  if (flows.size <= max) return flows;
  const target = Math.floor(max * 0.95);
  const rank = (f: FlowReport) => (f.destroyedAt !== undefined ? 0 : f.severity === 'ok' ? 1 : 2);
  for (let pass = 0; pass <= 2; pass++) {
    for (const [id, f] of flows) {
      if (flows.size <= target) return flows;
      if (rank(f) !== pass) continue;
      flows.delete(id);
      critical?.delete(id);
    }
  }
  return flows;
}
