/** The inputs a node's sources feed the engine; live sources and recordings make the same calls. */
import type { NatSnapshot } from '../nat/nat-types.js';
import type { EventLossReason } from '../recording/recording-format.js';

/** Counters read from the node. */
export interface NodeCounters {
  /** Receive time, ms. */
  at: number;
  /** `conntrack -C`. */
  count?: number;
  /** `/proc/sys/net/netfilter/nf_conntrack_max`. */
  max?: number;
  /** `conntrack -S` per-counter sums over CPUs. */
  stats: Record<string, number>;
}

/** What the sources report; the receiver must not block. */
export interface EngineInput {
  /** One raw line from `conntrack -E` as received (the tail never waits on this). */
  onEventLine(line: string, at: number): void;
  /** Lines from `conntrack -E` read together, in order; receivers without it get {@link onEventLine} per line. */
  onEventLines?(lines: readonly string[], at: number): void;
  /** Event loss seen (ENOBUFS, the tail restarted, or ctscope fell behind): state is unknown until the next full dump. */
  onEventLoss(reason: EventLossReason, detail: string, at: number): void;
  /** A `conntrack -L` run: `full` (whole UDP table) or `poll` (targeted re-read of suspects); `at` is its end. */
  onDump(scope: 'full' | 'poll', lines: string[], at: number, startedAt?: number): void;
  /**
   * The same run delivered in chunks as it is read back (a 250k-entry dump is never held whole): every chunk of
   * the run carries the same `at` and `startedAt`, other inputs may come in between, and {@link onDumpEnd}
   * follows the last. A returned promise asks for the next chunk to wait (the recorder's backpressure).
   * Receivers without it get the run whole through {@link onDump}.
   */
  onDumpLines?(
    scope: 'full' | 'poll',
    lines: readonly string[],
    at: number,
    startedAt: number,
  ): void | Promise<void>;
  /** The chunked run that {@link onDumpLines} delivered is complete (a full dump retires what it did not list). */
  onDumpEnd?(scope: 'full' | 'poll', at: number, startedAt: number): void;
  /** A new NAT snapshot (every poll; the receiver dedupes by hash). */
  onNat(snapshot: NatSnapshot, at: number): void;
  /** Counters. */
  onCounters(counters: NodeCounters): void;
  /** A source changed state. */
  onSourceState(state: SourceState): void;
}

/** A supervised node source's state. */
export interface SourceState {
  /** Source name: `events`, `dump`, `poll`, `nat`, `counters`. */
  name: string;
  /** Lifecycle state. */
  state: 'starting' | 'running' | 'failed' | 'stopped' | 'disabled';
  /** Last error message, if any. */
  lastError?: string;
  /** Restarts so far. */
  restarts: number;
  /** When the state last changed, ms. */
  since: number;
  /** `events` only: the scheduling the `conntrack -E` listener runs under. */
  priority?: ListenerPriority;
  /** How the source reads, for people, e.g. `read on every rule change (nft monitor), and every 30000 ms`. */
  detail?: string;
}

/**
 * How the `conntrack -E` listener is scheduled. A listener that waits for CPU lets the kernel's netlink buffer
 * overflow (ENOBUFS), so ctscope runs it under SCHED_FIFO where CAP_SYS_NICE allows, else at the best nice level.
 */
export interface ListenerPriority {
  /** `fifo`: SCHED_FIFO via `chrt -f`; `nice`: a negative nice level; `default`: neither was allowed. */
  mode: 'fifo' | 'nice' | 'default';
  /** The FIFO priority or the nice level. */
  level?: number;
  /** One line for people, e.g. `SCHED_FIFO 10 (chrt -f 10)`. */
  text: string;
  /** Scheduling of ctscope's thread that reads the listener's output, e.g. `SCHED_FIFO 10` or `nice -20`. */
  reader?: string;
  /**
   * How that thread gets the output: `named`, a named pipe it reads every few ms (one wakeup takes every line
   * written since); `anonymous`, a pipe it wakes up for on every event (when no named pipe could be made).
   */
  pipe?: 'named' | 'anonymous';
}
