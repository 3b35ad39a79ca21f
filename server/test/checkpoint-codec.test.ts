import {
  AddressInterner,
  CompactRecord,
  type FlowRecord,
  parseConntrackLine,
  type TrackedFlow,
} from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { decodeCheckpointFlow, encodeCheckpointFlow } from '../src/recording/checkpoint-codec.js';

function record(line: string): FlowRecord {
  const p = parseConntrackLine(line);
  if (p.kind !== 'flow') throw new Error(`not a flow line: ${line}`);
  return p;
}

const interner = new AddressInterner();
const compact = (line: string) => interner.compact(record(line));

const NEW_DNS = compact(
  '[NEW] udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.42.0.5 dst=10.42.0.33 sport=53 dport=52001 id=137932478',
);
const DESTROYED = compact(
  '[DESTROY] udp      17 src=10.42.0.33 dst=10.43.0.10 sport=40000 dport=53 src=10.42.0.6 dst=10.42.0.33 sport=53 dport=40000 [ASSURED] mark=7 zone=3 id=9',
);
const LISTED_V6 = compact(
  'ipv6     10 udp      17 118 src=fd00::1 dst=fd00:43::a sport=5353 dport=53 src=fd00::5 dst=fd00::1 sport=53 dport=5353 [ASSURED] mark=0 use=1 id=77',
);

function flow(over: Partial<TrackedFlow> & Pick<TrackedFlow, 'key' | 'record'>): TrackedFlow {
  return {
    firstSeen: 1000,
    lastSeen: 2000,
    createdAt: undefined,
    destroyedAt: undefined,
    history: [],
    verdict: undefined,
    badSince: undefined,
    touchedAt: undefined,
    ...over,
  };
}

const CASES: Array<{ name: string; flow: TrackedFlow; form: 'array' | 'object' }> = [
  {
    name: 'new UNREPLIED flow to a ClusterIP, bad since its creation',
    flow: flow({
      key: '137932478',
      record: NEW_DNS,
      createdAt: 1000,
      badSince: 1200,
      touchedAt: 1900,
      history: [{ at: 1000, event: 'NEW', timeout: 30, unreplied: true }],
    }),
    form: 'array',
  },
  {
    name: 'destroyed flow with mark, zone, no timeout and a LIST reading in its history',
    flow: flow({
      key: '9',
      record: DESTROYED,
      createdAt: 1000,
      destroyedAt: 1500,
      history: [
        { at: 1000, event: 'NEW', timeout: 30, unreplied: true },
        { at: 1100, event: 'LIST', timeout: undefined, unreplied: false },
        { at: 1500, event: 'DESTROY', timeout: undefined, unreplied: false },
      ],
    }),
    form: 'array',
  },
  {
    name: 'IPv6 flow from a dump, keyed by tuple, with no history',
    flow: flow({ key: 'udp|fd00::1|5353|fd00:43::a|53', record: LISTED_V6 }),
    form: 'array',
  },
  {
    name: 'a record that is not the compact shape keeps every field (object form)',
    flow: flow({
      key: '5',
      record: {
        ...record(
          '[NEW] udp 17 30 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 id=5',
        ),
        timestamp: 1.5,
      },
    }),
    form: 'object',
  },
];

describe('checkpoint flow codec', () => {
  it.each(CASES)('$name: round-trips exactly ($form form)', ({ flow: f, form }) => {
    const text = encodeCheckpointFlow(f);
    expect(text[0]).toBe(form === 'array' ? '[' : '{');
    const back = decodeCheckpointFlow(text, new AddressInterner());
    // Same data (a JSON round trip drops undefined fields on both sides) and the same record shape.
    expect(JSON.parse(JSON.stringify(back))).toEqual(
      JSON.parse(JSON.stringify({ ...f, verdict: undefined })),
    );
    expect(back.record instanceof CompactRecord).toBe(form === 'array');
    for (const k of ['createdAt', 'destroyedAt', 'badSince', 'touchedAt'] as const)
      expect(back[k]).toBe(f[k]);
    expect(back.record.timeout).toBe(f.record.timeout);
    expect(back.record.id).toBe(f.record.id);
  });

  it('never writes the verdict (checkpoints keep verdicts in a table)', () => {
    const f = flow({ key: '1', record: NEW_DNS });
    const withVerdict = { ...f, verdict: { verdict: 'ok' } as unknown as TrackedFlow['verdict'] };
    expect(encodeCheckpointFlow(withVerdict)).toBe(encodeCheckpointFlow(f));
  });

  it('shares address strings between flows through the interner', () => {
    const shared = new AddressInterner();
    const a = decodeCheckpointFlow(encodeCheckpointFlow(flow({ key: '1', record: NEW_DNS })), shared);
    const b = decodeCheckpointFlow(encodeCheckpointFlow(flow({ key: '2', record: NEW_DNS })), shared);
    expect(a.record.orig.dst).toBe('10.43.0.10');
    expect(shared.size).toBe(3);
    expect(b.record.reply.src).toBe(a.record.reply.src);
  });
});
