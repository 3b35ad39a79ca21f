/** Auto-remedy's pure decisions: which entries it may delete, per-minute rate limits, and the per-tuple breaker. */
import type { FlowReport, Verdict } from '@ctscope/shared';

/**
 * The only verdicts auto-remedy may delete: an allow-list, so any verdict added later (e.g. traffic dropped on
 * purpose) is never deleted unless it is named here. `no-endpoints` is excluded: there is nowhere better to go.
 */
export const REMEDIABLE_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(['no-dnat', 'stale-endpoint']);

/** What eligibility looks at besides the flow. */
export interface NatContext {
  /** Endpoints the flow's frontend has in the current snapshot (0 when it has none or no frontend). */
  endpoints: number;
  /** When the current snapshot was first seen, ms; undefined before the first snapshot. */
  snapshotSince: number | undefined;
  /** Whether the NAT source is running (a stable but stale snapshot must not count as settled). */
  natSourceRunning: boolean;
}

/** Why an entry is not (yet) eligible. `unsettled` is the only one expected to pass by itself. */
export type Ineligible = 'verdict' | 'gone' | 'not-kept-alive' | 'no-endpoints' | 'unsettled' | 'no-ports';

export type Eligibility = { eligible: true } | { eligible: false; why: Ineligible; detail: string };

/** Whether auto-remedy may delete this entry now (before rate limits, breaker and the kernel re-check). */
export function eligibility(
  flow: Pick<FlowReport, 'verdict' | 'keptAlive' | 'destroyedAt' | 'orig'>,
  nat: NatContext,
  now: number,
  settleMs: number,
): Eligibility {
  if (!REMEDIABLE_VERDICTS.has(flow.verdict))
    return { eligible: false, why: 'verdict', detail: `verdict ${flow.verdict} is never auto-remedied` };
  if (flow.destroyedAt !== undefined) return { eligible: false, why: 'gone', detail: 'the entry is gone' };
  if (flow.orig.sport === undefined || flow.orig.dport === undefined)
    return { eligible: false, why: 'no-ports', detail: 'no ports to name exactly one entry' };
  if (!flow.keptAlive)
    return { eligible: false, why: 'not-kept-alive', detail: 'not seen kept alive: it may expire by itself' };
  if (nat.endpoints < 1)
    return {
      eligible: false,
      why: 'no-endpoints',
      detail: 'its service has no endpoint in the current snapshot',
    };
  if (!nat.natSourceRunning)
    return { eligible: false, why: 'unsettled', detail: 'the NAT source is not running' };
  if (nat.snapshotSince === undefined || now - nat.snapshotSince < settleMs) {
    return { eligible: false, why: 'unsettled', detail: `NAT snapshot not yet stable for ${settleMs} ms` };
  }
  return { eligible: true };
}

/** Sliding-window counter of events per key. */
export class SlidingWindow {
  private readonly times = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Events of `key` within the window ending at `now`. */
  count(key: string, now: number): number {
    const list = this.times.get(key);
    if (!list) return 0;
    while (list.length > 0 && list[0]! <= now - this.windowMs) list.shift();
    if (list.length === 0) this.times.delete(key);
    return list.length;
  }

  /** Whether one more event fits. */
  allows(key: string, now: number): boolean {
    return this.count(key, now) < this.limit;
  }

  add(key: string, now: number): void {
    const list = this.times.get(key) ?? [];
    list.push(now);
    this.times.set(key, list);
  }
}

/** Per-minute delete budgets, node-wide and per service. */
export class RateLimits {
  private readonly node: SlidingWindow;
  private readonly service: SlidingWindow;

  constructor(
    readonly nodePerMinute: number,
    readonly servicePerMinute: number,
  ) {
    this.node = new SlidingWindow(nodePerMinute, 60_000);
    this.service = new SlidingWindow(servicePerMinute, 60_000);
  }

  /** undefined when a delete for `service` fits now, else which budget is spent, in words. */
  check(service: string, now: number): string | undefined {
    if (!this.node.allows('', now))
      return `node-wide limit of ${this.nodePerMinute} deletes a minute reached`;
    if (!this.service.allows(service, now))
      return `limit of ${this.servicePerMinute} deletes a minute for ${service} reached`;
    return undefined;
  }

  record(service: string, now: number): void {
    this.node.add('', now);
    this.service.add(service, now);
  }
}

/** A tuple's breaker: open once it came back stuck `threshold` times within `windowMs` of being deleted. */
export type BreakerState = { open: false } | { open: true; justOpened: boolean; deletes: number };

/**
 * Per-tuple circuit breaker. Each delete is remembered; a tuple that is stuck again after `threshold` deletes
 * within the window is left alone (a delete/re-create loop means the cause is elsewhere). It stays open for a
 * window from when it opened, then starts afresh.
 */
export class TupleBreaker {
  private readonly deletes: SlidingWindow;
  private readonly openedAt = new Map<string, number>();

  constructor(
    readonly threshold: number,
    readonly windowMs: number,
  ) {
    this.deletes = new SlidingWindow(Number.POSITIVE_INFINITY, windowMs);
  }

  /** The breaker for a tuple that is stuck (eligible) again now. */
  check(tuple: string, now: number): BreakerState {
    const opened = this.openedAt.get(tuple);
    if (opened !== undefined) {
      if (now - opened < this.windowMs) return { open: true, justOpened: false, deletes: this.threshold };
      this.openedAt.delete(tuple);
    }
    const n = this.deletes.count(tuple, now);
    if (n >= this.threshold) {
      this.openedAt.set(tuple, now);
      return { open: true, justOpened: true, deletes: n };
    }
    return { open: false };
  }

  recordDelete(tuple: string, now: number): void {
    this.deletes.add(tuple, now);
  }
}

/** The key the breaker counts by: the original tuple (a re-created entry gets a new id, not a new tuple). */
export function tupleOf(orig: FlowReport['orig']): string {
  return `${orig.proto}|${orig.src}|${orig.sport ?? ''}|${orig.dst}|${orig.dport ?? ''}`;
}
