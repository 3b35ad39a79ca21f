import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowKeyMap, slotOfId, slotOfKey } from '../src/flows/flow-key-map.js';
import type { TrackedFlow } from '../src/flows/flow-tracker.js';

const flow = (key: string) => ({ key }) as TrackedFlow;

describe('FlowKeyMap', () => {
  it.each([
    { key: '0', slot: 0 },
    { key: '123', slot: 123 },
    { key: '2147483647', slot: 2147483647 },
    { key: '2147483648', slot: -2147483648 },
    { key: '4294967295', slot: -1 },
    { key: '4294967296', slot: '4294967296' },
    { key: '99999999999', slot: '99999999999' },
    { key: '0123', slot: '0123' },
    { key: '00', slot: '00' },
    { key: '12a', slot: '12a' },
    { key: '-1', slot: '-1' },
    { key: '', slot: '' },
    { key: '123-2', slot: '123-2' },
    { key: 'udp|0|10.0.0.1|1|10.0.0.2|53', slot: 'udp|0|10.0.0.1|1|10.0.0.2|53' },
  ])('stores key $key under $slot', ({ key, slot }) => {
    expect(slotOfKey(key)).toBe(slot);
  });

  it("finds an id's flow by the id exactly when the flow is keyed by it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (a, b) => {
          expect(slotOfKey(String(a))).toBe(slotOfId(a));
          if (a !== b) expect(slotOfId(a)).not.toBe(slotOfId(b));
          const m = new FlowKeyMap();
          m.set(String(a), flow(String(a)));
          m.set(`${a}-2`, flow(`${a}-2`));
          expect(m.getById(a)?.key).toBe(String(a));
          expect(m.get(`${a}-2`)?.key).toBe(`${a}-2`);
          expect(m.getById(b)?.key).toBe(a === b ? String(a) : undefined);
        },
      ),
    );
    expect(slotOfId(2 ** 40)).toBe(String(2 ** 40));
  });

  it('keeps insertion order, size, has and delete across both kinds of key', () => {
    const m = new FlowKeyMap();
    for (const k of ['7', 'udp|0|a|1|b|2', '4294967295', '7-2']) m.set(k, flow(k));
    expect([...m.values()].map((f) => f.key)).toEqual(['7', 'udp|0|a|1|b|2', '4294967295', '7-2']);
    expect(m.size).toBe(4);
    expect(m.has('4294967295')).toBe(true);
    expect(m.has('-1')).toBe(false);
    m.delete('7');
    expect(m.get('7')).toBeUndefined();
    expect(m.get('7-2')?.key).toBe('7-2');
    expect(m.size).toBe(3);
  });
});
