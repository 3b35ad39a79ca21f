import type { FlowReport, Verdict } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import {
  eligibility,
  type NatContext,
  RateLimits,
  REMEDIABLE_VERDICTS,
  TupleBreaker,
  tupleOf,
} from '../../src/remedy/remedy-policy.js';

type Flow = Pick<FlowReport, 'verdict' | 'keptAlive' | 'destroyedAt' | 'orig'>;
const ORIG = { proto: 'udp', src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53 };
const stuck: Flow = { verdict: 'no-dnat', keptAlive: true, orig: ORIG };
const settled: NatContext = { endpoints: 2, snapshotSince: 0, natSourceRunning: true };
const SETTLE = 1000;

describe('eligibility: only proved-stuck entries, only once the rules have settled', () => {
  it.each<{ name: string; flow?: Partial<Flow>; nat?: Partial<NatContext>; now?: number; why?: string }>([
    { name: 'no-dnat, kept alive, endpoints, settled', now: 5000 },
    { name: 'stale-endpoint, kept alive', flow: { verdict: 'stale-endpoint' }, now: 5000 },
    { name: 'no-endpoints is never deleted', flow: { verdict: 'no-endpoints' }, now: 5000, why: 'verdict' },
    {
      name: 'unanswered (the backend is silent)',
      flow: { verdict: 'unanswered' },
      now: 5000,
      why: 'verdict',
    },
    { name: 'ok', flow: { verdict: 'ok' }, now: 5000, why: 'verdict' },
    // A verdict this build does not know (e.g. `blocked`) is outside the allow-list.
    { name: 'an unknown future verdict', flow: { verdict: 'blocked' as Verdict }, now: 5000, why: 'verdict' },
    { name: 'already gone', flow: { destroyedAt: 10 }, now: 5000, why: 'gone' },
    { name: 'not kept alive (will expire)', flow: { keptAlive: false }, now: 5000, why: 'not-kept-alive' },
    { name: 'no ports', flow: { orig: { ...ORIG, sport: undefined } }, now: 5000, why: 'no-ports' },
    { name: 'service has no endpoint now', nat: { endpoints: 0 }, now: 5000, why: 'no-endpoints' },
    { name: 'snapshot changed 999 ms ago', nat: { snapshotSince: 4001 }, now: 5000, why: 'unsettled' },
    { name: 'snapshot stable exactly the settle time', nat: { snapshotSince: 4000 }, now: 5000 },
    { name: 'no snapshot yet', nat: { snapshotSince: undefined }, now: 5000, why: 'unsettled' },
    { name: 'NAT source failing', nat: { natSourceRunning: false }, now: 5000, why: 'unsettled' },
  ])('$name', ({ flow, nat, now, why }) => {
    const e = eligibility({ ...stuck, ...flow }, { ...settled, ...nat }, now ?? 0, SETTLE);
    if (why === undefined) expect(e).toEqual({ eligible: true });
    else expect(e).toMatchObject({ eligible: false, why });
  });

  it('the allow-list names exactly no-dnat and stale-endpoint', () => {
    expect([...REMEDIABLE_VERDICTS].sort()).toEqual(['no-dnat', 'stale-endpoint']);
  });
});

describe('RateLimits (sliding minute, node-wide and per service)', () => {
  it.each<{ name: string; deletes: Array<[string, number]>; at: number; service: string; limited?: RegExp }>([
    { name: 'empty', deletes: [], at: 0, service: 'dns' },
    {
      name: 'service budget spent',
      deletes: [
        ['dns', 0],
        ['dns', 1],
        ['dns', 2],
      ],
      at: 3,
      service: 'dns',
      limited: /3 deletes a minute for dns/,
    },
    {
      name: 'another service still has budget',
      deletes: [
        ['dns', 0],
        ['dns', 1],
        ['dns', 2],
      ],
      at: 3,
      service: 'echo',
    },
    {
      name: 'node budget spent across services',
      deletes: [
        ['a', 0],
        ['b', 1],
        ['c', 2],
        ['d', 3],
        ['e', 4],
      ],
      at: 5,
      service: 'f',
      limited: /node-wide limit of 5/,
    },
    {
      name: 'a minute later the budget is back',
      deletes: [
        ['dns', 0],
        ['dns', 1],
        ['dns', 2],
      ],
      at: 60_000,
      service: 'dns',
    },
    {
      name: 'just under a minute it is not',
      deletes: [
        ['dns', 0],
        ['dns', 1],
        ['dns', 2],
      ],
      at: 59_999,
      service: 'dns',
      limited: /for dns/,
    },
  ])('$name', ({ deletes, at, service, limited }) => {
    const r = new RateLimits(5, 3);
    for (const [s, t] of deletes) r.record(s, t);
    const got = r.check(service, at);
    if (limited) expect(got).toMatch(limited);
    else expect(got).toBeUndefined();
  });
});

describe('TupleBreaker (the same tuple back stuck N times in a window)', () => {
  const T = tupleOf(ORIG);
  it.each<{ name: string; deletes: number[]; at: number; open: boolean; justOpened?: boolean }>([
    { name: 'never deleted', deletes: [], at: 0, open: false },
    { name: 'back stuck after 2 deletes', deletes: [0, 10_000], at: 20_000, open: false },
    {
      name: 'back stuck after 3 deletes',
      deletes: [0, 10_000, 20_000],
      at: 30_000,
      open: true,
      justOpened: true,
    },
    {
      name: 'the 3 deletes spread over more than the window',
      deletes: [0, 10_000, 70_000],
      at: 75_000,
      open: false,
    },
  ])('$name', ({ deletes, at, open, justOpened }) => {
    const b = new TupleBreaker(3, 60_000);
    for (const t of deletes) b.recordDelete(T, t);
    const s = b.check(T, at);
    expect(s.open).toBe(open);
    if (s.open) expect(s.justOpened).toBe(justOpened);
  });

  it('stays open for a window after opening, then starts afresh; other tuples are unaffected', () => {
    const b = new TupleBreaker(2, 60_000);
    b.recordDelete(T, 0);
    b.recordDelete(T, 1000);
    expect(b.check(T, 2000)).toMatchObject({ open: true, justOpened: true });
    expect(b.check(T, 50_000)).toMatchObject({ open: true, justOpened: false });
    expect(b.check(tupleOf({ ...ORIG, sport: 52002 }), 50_000)).toEqual({ open: false });
    expect(b.check(T, 62_000)).toEqual({ open: false });
  });
});
