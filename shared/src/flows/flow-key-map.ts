/** The live table's flows by key, with id-keyed flows stored under their id as a small integer. */
import type { TrackedFlow } from './flow-tracker.js';

/**
 * A flow keyed by its own conntrack id (`"123"`, the usual case) sits under the id itself (`id | 0`, an inline
 * small integer), every other key (`"123-2"`, a tuple key) under its string. Looking a dump line's id up then
 * builds no string and compares no key string: at 250k flows those strings are scattered over the heap, and the
 * compare was a cache miss per line.
 */
export class FlowKeyMap {
  private readonly map = new Map<string | number, TrackedFlow>();

  get(key: string): TrackedFlow | undefined {
    return this.map.get(slotOfKey(key));
  }

  /** The flow keyed by `String(id)`, if any (whatever id its record now has). */
  getById(id: number): TrackedFlow | undefined {
    return this.map.get(slotOfId(id));
  }

  has(key: string): boolean {
    return this.map.has(slotOfKey(key));
  }

  set(key: string, flow: TrackedFlow): void {
    this.map.set(slotOfKey(key), flow);
  }

  delete(key: string): void {
    this.map.delete(slotOfKey(key));
  }

  clear(): void {
    this.map.clear();
  }

  /** Flows in insertion order. */
  values(): IterableIterator<TrackedFlow> {
    return this.map.values();
  }

  get size(): number {
    return this.map.size;
  }
}

const U32_MAX = 0xffffffff;

/** Where the flow keyed `String(id)` is stored: the id as an int32 when it is a 32-bit id, else its string. */
export function slotOfId(id: number): string | number {
  return Number.isInteger(id) && id >= 0 && id <= U32_MAX ? id | 0 : String(id);
}

/** Where the flow keyed `key` is stored: {@link slotOfId} of a key that is an id's canonical decimal. */
export function slotOfKey(key: string): string | number {
  const n = key.length;
  if (n === 0 || n > 10) return key;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = key.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || (i === 0 && d === 0 && n > 1)) return key;
    v = v * 10 + d;
  }
  return v <= U32_MAX ? v | 0 : key;
}
