/**
 * Keys of flows waiting to age into `unanswered`, bucketed by the second they were first seen: each housekeeping
 * pass takes the due ones without a lookup per waiting flow (a flood leaves 50k-125k of them, and a pass over all
 * of them each second was ~5 % of a core at 10k new flows/s).
 */
export class AgeingQueue {
  /** First-seen second → keys; buckets are created as keys arrive, so mostly in time order. */
  private readonly buckets = new Map<number, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: string, firstSeen: number): void {
    const b = Math.floor(firstSeen / 1000);
    let keys = this.buckets.get(b);
    if (!keys) {
      keys = new Set();
      this.buckets.set(b, keys);
    }
    if (keys.has(key)) return;
    keys.add(key);
    this.count++;
  }

  /** Forget `key`, queued with this `firstSeen` (the flow's, which never changes). */
  delete(key: string, firstSeen: number): void {
    const b = Math.floor(firstSeen / 1000);
    const keys = this.buckets.get(b);
    if (!keys?.delete(key)) return;
    this.count--;
    if (keys.size === 0) this.buckets.delete(b);
  }

  /**
   * Take out, in queue order, the keys first seen at or before `limit`; `firstSeenOf` reads a key's first-seen
   * time in the one bucket that straddles the limit (undefined: its flow is gone, and the key is taken too).
   */
  takeDue(limit: number, firstSeenOf: (key: string) => number | undefined): string[] {
    const due: string[] = [];
    const edge = Math.floor(limit / 1000);
    for (const [b, keys] of this.buckets) {
      if (b > edge) continue;
      if (b < edge) {
        for (const k of keys) due.push(k);
        this.count -= keys.size;
        this.buckets.delete(b);
        continue;
      }
      for (const k of keys) {
        const seen = firstSeenOf(k);
        if (seen !== undefined && seen > limit) continue;
        keys.delete(k);
        this.count--;
        due.push(k);
      }
      if (keys.size === 0) this.buckets.delete(b);
    }
    return due;
  }

  /** Every queued key, in queue order (a checkpoint's; {@link add} them back in this order). */
  keys(): string[] {
    const out: string[] = [];
    for (const keys of this.buckets.values()) for (const k of keys) out.push(k);
    return out;
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
  }
}
