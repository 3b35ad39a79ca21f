/** How the flow table stays bounded: destroyed flows retire after a while, and a full table evicts the least useful. */
import type { FlowTracker, TrackedFlow } from './flow-tracker.js';

/**
 * Drop destroyed flows older than `limit` (tracker time). `queue` holds destroyed keys in destroy order, so the
 * scan stops at the first one still young: no walk over the table.
 */
export function retireDestroyed(
  queue: Set<string>,
  tracker: FlowTracker,
  limit: number,
  drop: (key: string) => void,
): void {
  for (const key of queue) {
    const flow = tracker.get(key);
    if (flow?.destroyedAt !== undefined && flow.destroyedAt >= limit) break;
    queue.delete(key);
    if (flow?.destroyedAt !== undefined) drop(key);
  }
}

/**
 * Evict down to `target` flows: oldest destroyed first, then the oldest healthy; bad flows are what the tool is
 * for, so they go last. Returns how many went. Callers evict a slice below the cap so a full table does not
 * rescan on every new flow.
 */
export function evictDownTo(tracker: FlowTracker, target: number, drop: (key: string) => void): number {
  let evicted = 0;
  for (const pass of [isDestroyed, isHealthy, () => true]) {
    for (const flow of tracker.all()) {
      if (tracker.size <= target) return evicted;
      if (pass(flow)) {
        drop(flow.key);
        evicted++;
      }
    }
  }
  return evicted;
}

function isDestroyed(flow: TrackedFlow): boolean {
  return flow.destroyedAt !== undefined;
}

/** Judged ok, or not judged yet. */
function isHealthy(flow: TrackedFlow): boolean {
  return flow.verdict === undefined || flow.verdict.severity === 'ok';
}
