/** The per-flow delete lock shared by DELETE /api/flows/:id and auto-remedy. */
import { describe, expect, it } from 'vitest';
import { PerFlowLock } from '../src/engine/per-flow-lock.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('PerFlowLock', () => {
  it('runs holders of one flow one at a time, in order', async () => {
    const lock = new PerFlowLock();
    const log: string[] = [];
    const gate = deferred();
    const first = lock.run('1', async () => {
      log.push('a start');
      await gate.promise;
      log.push('a end');
    });
    const second = lock.run('1', async () => {
      log.push('b');
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['a start']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['a start', 'a end', 'b']);
    expect(lock.size).toBe(0);
  });

  it('does not hold up another flow', async () => {
    const lock = new PerFlowLock();
    const gate = deferred();
    const held = lock.run('1', () => gate.promise);
    await expect(lock.run('2', async () => 'other')).resolves.toBe('other');
    gate.resolve();
    await held;
  });

  it('releases after a failure, and the next holder still runs', async () => {
    const lock = new PerFlowLock();
    await expect(
      lock.run('1', async () => {
        throw new Error('conntrack failed');
      }),
    ).rejects.toThrow('conntrack failed');
    await expect(lock.run('1', async () => 'next')).resolves.toBe('next');
    expect(lock.size).toBe(0);
  });
});
