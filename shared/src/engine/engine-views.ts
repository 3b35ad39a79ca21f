/**
 * The one builder of what clients are sent from an engine core: hello, sync, per-client delta and the flow detail.
 * The server's hub and REST routes and the page's in-browser replay all call these, so they cannot drift.
 */
import { type FlowFilter, matchesFilter } from '../flows/flow-filter.js';
import type { FlowReport } from '../flows/flow-report.js';
import type { NatSnapshot } from '../nat/nat-types.js';
import {
  type DeltaMessage,
  type FlowCounts,
  type HelloMessage,
  PROTOCOL_VERSION,
  type SyncMessage,
} from '../wire/protocol.js';
import type { FlowDetail, NatAt } from '../wire/rest-types.js';
import type { EngineBatch, EngineCore } from './engine-core.js';
import type { SourceState } from './engine-input.js';

/** NAT changes in one sync (the newest); the REST API has them all. */
export const SYNC_NAT_CHANGES = 200;

/** Hello: who is serving and how. */
export function helloMessage(info: Omit<HelloMessage, 'type' | 'version'>): HelloMessage {
  return { type: 'hello', version: PROTOCOL_VERSION, ...info };
}

/** Live flows by verdict and severity over the whole table (one pass over it: callers pace this). */
export function flowCounts(core: EngineCore): FlowCounts {
  const s = core.store.stats();
  return {
    flows: s.flows,
    live: s.live,
    verdict: s.byVerdict,
    severity: s.bySeverity,
  };
}

/** What a sync needs besides the core. */
export interface SyncParams {
  seq: number;
  filter?: FlowFilter;
  /** Flows in one sync (the window), worst first. */
  flowLimit: number;
  sources: SourceState[];
  /** The window when the caller keeps it already (the hub's shared views), else selected here. */
  window?: { flows: FlowReport[]; total: number };
  /** Table counts when the caller has them, else counted here. */
  counts?: FlowCounts;
}

/** Full state of the core for one filter: the window, counts and everything but rows. */
export function syncMessage(core: EngineCore, p: SyncParams): SyncMessage {
  const { flows, total } = p.window ?? core.store.select(p.filter, p.flowLimit);
  return {
    type: 'sync',
    seq: p.seq,
    now: core.store.now,
    flows,
    total: Math.max(total, flows.length),
    truncated: total > flows.length,
    counts: p.counts ?? flowCounts(core),
    timeline: core.store.timeline.recent(),
    markers: core.markers(),
    nat: core.natView(),
    natChanges: core.store.natChanges.slice(-SYNC_NAT_CHANGES),
    counters: core.counters(),
    eventLoss: core.eventLoss(),
    sources: p.sources,
    alerts: core.alerts(),
  };
}

/** A batch as one client sees it, filtered but not windowed (the in-browser replay holds its whole table). */
export function deltaMessage(seq: number, b: EngineBatch, filter: FlowFilter | undefined): DeltaMessage {
  const upserts: FlowReport[] = [];
  const removals = [...b.removals];
  for (const f of b.upserts) {
    if (matchesFilter(f, filter)) upserts.push(f);
    else removals.push(f.id);
  }
  return {
    type: 'delta',
    seq,
    now: b.now,
    upserts,
    removals,
    rates: b.rates,
    markers: b.markers,
    nat: b.nat,
    natView: b.natView,
    counters: b.counters,
    alerts: b.alerts,
    sources: b.sources,
    eventLoss: b.eventLoss,
  };
}

/** One flow's lifecycle and the rules at its creation and now, or undefined when the core has no such flow. */
export function flowDetail(core: EngineCore, id: string): FlowDetail | undefined {
  const found = core.store.get(id);
  if (!found) return undefined;
  const { flow, report } = found;
  const nat = core.store.natFor(flow);
  const pick = (s: NatSnapshot | undefined): NatAt | null =>
    s
      ? {
          hash: s.hash,
          takenAt: s.takenAt,
          frontend: s.frontends.find((f) => f.key === report.frontend) ?? null,
        }
      : null;
  const history = core.store.lifecycle(flow);
  return {
    flow: report,
    history,
    timeouts: history.filter((h) => h.timeout !== undefined && h.event !== 'DESTROY'),
    nat: { atCreation: pick(nat.atCreation), current: pick(nat.current) },
    remedy: report.remedy,
  };
}

/** A replay reports itself as its one source (the recorded node's sources are not running). */
export function replaySources(start: number): SourceState[] {
  return [{ name: 'replay', state: 'running', restarts: 0, since: start }];
}

/** A replay polls nothing. */
export const REPLAY_INTERVALS: HelloMessage['intervals'] = Object.freeze({
  suspectPollMs: 0,
  natPollMs: 0,
  countersPollMs: 0,
});
