/** Per-second event and bad-flow counts in a bounded ring, for the timeline. */
import type { ConntrackEventType } from '../conntrack/conntrack-types.js';
import type { BadVerdict } from '../verdict/verdicts.js';

/** Keeps the last `capacity` seconds. */
export class RateTimeline {
  private readonly buckets: RateBucket[] = [];
  private changed = new Set<RateBucket>();
  /** Flows turned bad since this timeline was made (not checkpointed: callers compare before and after a step). */
  badCount = 0;

  constructor(private readonly capacity: number) {}

  private bucket(at: number): RateBucket {
    const t = Math.floor(at / 1000) * 1000;
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.t === t) return last;
    if (last && last.t > t) {
      // Late line (clock skew between sources): count it in the bucket it belongs to if still held.
      for (let i = this.buckets.length - 1; i >= 0; i--)
        if (this.buckets[i]!.t === t) return this.buckets[i]!;
      return last;
    }
    const b: RateBucket = { t, events: { NEW: 0, UPDATE: 0, DESTROY: 0 }, bad: {} };
    this.buckets.push(b);
    if (this.buckets.length > this.capacity) this.buckets.shift();
    return b;
  }

  countEvent(at: number, ev: ConntrackEventType): void {
    const b = this.bucket(at);
    b.events[ev]++;
    this.changed.add(b);
  }

  countBad(at: number, verdict: BadVerdict): void {
    const b = this.bucket(at);
    b.bad[verdict] = (b.bad[verdict] ?? 0) + 1;
    this.badCount++;
    this.changed.add(b);
  }

  /** Buckets changed since the last call (copies). */
  takeChanged(): RateBucket[] {
    const out = [...this.changed].map(copy);
    this.changed = new Set();
    return out;
  }

  /** Held buckets for a checkpoint (copies); what changed since the last take is not kept: a restore resyncs. */
  exportState(): RateBucket[] {
    return this.buckets.map(copy);
  }

  importState(buckets: RateBucket[]): void {
    this.buckets.splice(0, this.buckets.length, ...buckets.map(copy));
    this.changed = new Set();
  }

  /** Forget which buckets changed (nobody will send them). */
  discardChanged(): void {
    if (this.changed.size > 0) this.changed.clear();
  }

  /** The last `seconds` buckets (copies). */
  recent(seconds = this.capacity): RateBucket[] {
    return this.buckets.slice(-seconds).map(copy);
  }
}

function copy(b: RateBucket): RateBucket {
  return { t: b.t, events: { ...b.events }, bad: { ...b.bad } };
}

/** Per-second rates for the timeline. */
export interface RateBucket {
  /** Second start, ms since the epoch. */
  t: number;
  /** Events by type in that second. */
  events: { NEW: number; UPDATE: number; DESTROY: number };
  /** Flows that turned bad in that second, by verdict. */
  bad: Partial<Record<BadVerdict, number>>;
}
