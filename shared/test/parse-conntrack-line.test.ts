import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ParseResult } from '../src/conntrack/conntrack-types.js';
import { parseConntrackLine } from '../src/conntrack/parse-conntrack-line.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

function fixtureLines(name: string): string[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8').split('\n');
}

/** Line `n` (1-based, as `sed -n Np`) of a fixture, verbatim. */
function fixtureLine(name: string, n: number): string {
  const line = fixtureLines(name)[n - 1];
  if (line === undefined) throw new Error(`${name} has no line ${n}`);
  return line;
}

const DEFAULT = 'seed-incident/events-default.txt';
const TS_EXT_ID = 'seed-incident/events-ts-ext-id.txt';
const LIST = 'seed-incident/list-poll.txt';
const FLOOD = 'flood-sample.txt';

interface Case {
  name: string;
  line: string;
  expect: Record<string, unknown>;
}

const recognised: Case[] = [
  {
    name: 'events-default: NEW, unreplied, DNATed to the endpoint',
    line: fixtureLine(DEFAULT, 1),
    expect: {
      kind: 'flow',
      event: 'NEW',
      timestamp: undefined,
      l3: undefined,
      proto: 'udp',
      protonum: 17,
      timeout: 30,
      state: undefined,
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 60357, dport: 53 },
      reply: { src: '172.20.112.199', dst: '10.42.0.33', sport: 53, dport: 60357 },
      unreplied: true,
      assured: false,
      id: undefined,
      userspace: undefined,
      extra: undefined,
    },
  },
  {
    name: 'events-default: the seed black hole (reply source is the VIP itself)',
    line: fixtureLine(DEFAULT, 20),
    expect: {
      kind: 'flow',
      event: 'NEW',
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53 },
      reply: { src: '10.43.0.10', dst: '172.20.112.199', sport: 53, dport: 20978 },
      unreplied: true,
    },
  },
  {
    name: 'events-default: UPDATE to ASSURED with the 120 s timeout',
    line: fixtureLine(DEFAULT, 11),
    expect: { kind: 'flow', event: 'UPDATE', timeout: 120, unreplied: false, assured: true },
  },
  {
    name: 'events-default: DESTROY by conntrack -D with portid and progname',
    line: fixtureLine(DEFAULT, 14),
    expect: {
      kind: 'flow',
      event: 'DESTROY',
      timeout: 28,
      orig: { sport: 50836 },
      userspace: { portid: 2476699638, progname: 'conntrack' },
      extra: undefined,
    },
  },
  {
    name: 'events-default: DESTROY, ASSURED then [USERSPACE] without progname',
    line: fixtureLine(DEFAULT, 18),
    expect: {
      kind: 'flow',
      event: 'DESTROY',
      timeout: 119,
      assured: true,
      userspace: { portid: 2476699638, progname: undefined },
    },
  },
  {
    name: 'events-ts-ext-id: timestamp prefix, extended l3 columns and id',
    line: fixtureLine(TS_EXT_ID, 1),
    expect: {
      kind: 'flow',
      event: 'NEW',
      timestamp: 1795689888.889204,
      l3: 'ipv4',
      l3num: 2,
      proto: 'udp',
      protonum: 17,
      timeout: 30,
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 60357, dport: 53 },
      reply: { src: '172.20.112.199', dst: '10.42.0.33', sport: 53, dport: 60357 },
      unreplied: true,
      id: 2643185377,
    },
  },
  {
    name: 'events-ts-ext-id: DESTROY with id before [USERSPACE]',
    line: fixtureLine(TS_EXT_ID, 17),
    expect: {
      kind: 'flow',
      event: 'DESTROY',
      timestamp: 1795689891.854519,
      timeout: 27,
      id: 2643185377,
      userspace: { portid: 2476699638 },
    },
  },
  {
    name: 'list-poll: -L dump line with mark, use and id',
    line: fixtureLine(LIST, 2),
    expect: {
      kind: 'flow',
      event: undefined,
      timestamp: undefined,
      l3: 'ipv4',
      l3num: 2,
      timeout: 28,
      orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 59807, dport: 53 },
      reply: { src: '10.43.0.10', dst: '172.20.112.199', sport: 53, dport: 14608 },
      unreplied: true,
      mark: 0,
      use: 1,
      id: 3067198232,
    },
  },
  {
    name: 'list-poll: dump summary',
    line: fixtureLine(LIST, 1),
    expect: { kind: 'summary', count: 3, version: '1.4.7' },
  },
  {
    name: 'events-default: event summary ("flow events", not "entries")',
    line: fixtureLine(DEFAULT, 49),
    expect: { kind: 'summary', count: 48, version: '1.4.7' },
  },
  { name: 'list-poll: -- separator between dumps', line: fixtureLine(LIST, 5), expect: { kind: 'blank' } },
  {
    name: 'flood-sample: NEW to a fresh port, NATed source port',
    line: fixtureLine(FLOOD, 1),
    expect: {
      kind: 'flow',
      timestamp: 1795689939.618129,
      orig: { src: '10.42.0.33', dst: '172.20.112.1', sport: 48602, dport: 1024 },
      reply: { src: '172.20.112.1', dst: '172.20.112.199', sport: 1024, dport: 14490 },
      id: 895807386,
    },
  },
  {
    name: 'tcp with state, IPv4',
    line: 'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] mark=0 use=1',
    expect: {
      kind: 'flow',
      proto: 'tcp',
      protonum: 6,
      timeout: 431999,
      state: 'ESTABLISHED',
      orig: { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 },
      reply: { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000 },
      assured: true,
      unreplied: false,
    },
  },
  {
    name: 'tcp with state, IPv6 extended',
    line: 'ipv6     10 tcp      6 119 TIME_WAIT src=2001:db8::1 dst=2001:db8::2 sport=50000 dport=80 src=2001:db8::2 dst=2001:db8::1 sport=80 dport=50000 [ASSURED] mark=0 use=1',
    expect: {
      kind: 'flow',
      l3: 'ipv6',
      l3num: 10,
      proto: 'tcp',
      timeout: 119,
      state: 'TIME_WAIT',
      orig: { src: '2001:db8::1', dst: '2001:db8::2', sport: 50000, dport: 80 },
      reply: { src: '2001:db8::2', dst: '2001:db8::1', sport: 80, dport: 50000 },
    },
  },
  {
    name: 'tcp SYN_SENT event, unreplied',
    line: '    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.9 sport=41000 dport=22 [UNREPLIED] src=10.0.0.9 dst=10.0.0.1 sport=22 dport=41000',
    expect: { kind: 'flow', event: 'NEW', state: 'SYN_SENT', timeout: 120, unreplied: true },
  },
  {
    name: 'sctp with state',
    line: 'sctp     132 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=3868 src=10.0.0.2 dst=10.0.0.1 sport=3868 dport=5000 [ASSURED] mark=0 use=1',
    expect: { kind: 'flow', proto: 'sctp', protonum: 132, state: 'ESTABLISHED', orig: { dport: 3868 } },
  },
  {
    name: 'icmp echo: type/code/id per tuple, no ports',
    line: 'icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1234 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1234 mark=0 use=1',
    expect: {
      kind: 'flow',
      proto: 'icmp',
      protonum: 1,
      timeout: 29,
      orig: { src: '10.0.0.1', dst: '10.0.0.2', icmpType: 8, icmpCode: 0, icmpId: 1234, sport: undefined },
      reply: { src: '10.0.0.2', dst: '10.0.0.1', icmpType: 0, icmpCode: 0, icmpId: 1234, dport: undefined },
      id: undefined,
      use: 1,
    },
  },
  {
    name: 'icmpv6 extended: echo id vs trailing conntrack id',
    line: 'ipv6     10 icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=77 src=fd00::2 dst=fd00::1 type=129 code=0 id=77 mark=0 use=1 id=555',
    expect: {
      kind: 'flow',
      l3: 'ipv6',
      proto: 'icmpv6',
      protonum: 58,
      orig: { icmpType: 128, icmpCode: 0, icmpId: 77 },
      reply: { icmpType: 129, icmpCode: 0, icmpId: 77 },
      id: 555,
    },
  },
  {
    name: 'IPv6 udp with extended columns',
    line: 'ipv6     10 udp      17 28 src=fd00:10:42::21 dst=fd00:10:43::a sport=52001 dport=53 [UNREPLIED] src=fd00:10:43::a dst=fd00:10:42::21 sport=53 dport=52001 mark=0 use=1',
    expect: {
      kind: 'flow',
      l3: 'ipv6',
      l3num: 10,
      proto: 'udp',
      protonum: 17,
      timeout: 28,
      orig: { src: 'fd00:10:42::21', dst: 'fd00:10:43::a', sport: 52001, dport: 53 },
      reply: { src: 'fd00:10:43::a', dst: 'fd00:10:42::21', sport: 53, dport: 52001 },
      unreplied: true,
    },
  },
  {
    name: 'DESTROY without timeout',
    line: '[DESTROY] udp      17 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=52001 [ASSURED]',
    expect: { kind: 'flow', event: 'DESTROY', proto: 'udp', protonum: 17, timeout: undefined, assured: true },
  },
  {
    name: 'DESTROY without timeout, extended, tcp state right after protonum',
    line: '[DESTROY] ipv4     2 tcp      6 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED]',
    expect: { kind: 'flow', l3: 'ipv4', proto: 'tcp', protonum: 6, timeout: undefined, state: 'CLOSE' },
  },
  {
    name: 'DESTROY without timeout, extended udp (only four header words)',
    line: '[1795689891.854440]\t[DESTROY] ipv4     2 udp      17 src=10.42.0.33 dst=10.43.0.10 sport=34365 dport=53 src=172.20.112.199 dst=10.42.0.33 sport=53 dport=34365 id=4252869406',
    expect: {
      kind: 'flow',
      event: 'DESTROY',
      l3: 'ipv4',
      l3num: 2,
      proto: 'udp',
      protonum: 17,
      timeout: undefined,
    },
  },
  {
    name: '[USERSPACE] progname with a space (comm can hold spaces)',
    line: '[DESTROY] udp      17 12 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 [USERSPACE] portid=4242 progname=Web Content',
    expect: { kind: 'flow', userspace: { portid: 4242, progname: 'Web Content' }, extra: undefined },
  },
  {
    name: 'zone-orig / zone-reply attach to their tuple, zone= is global',
    line: 'udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 zone-orig=1 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 zone-reply=2 mark=0 zone=3 use=1',
    expect: { kind: 'flow', orig: { zone: 1 }, reply: { zone: 2 }, zone: 3 },
  },
  {
    name: 'packets/bytes per tuple (accounting on)',
    line: 'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 packets=12 bytes=1500 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 packets=9 bytes=64000 [ASSURED] mark=0 use=1',
    expect: { kind: 'flow', orig: { packets: 12, bytes: 1500 }, reply: { packets: 9, bytes: 64000 } },
  },
  {
    name: 'secmark, secctx, delta-time, helper, labels',
    line: 'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=21 src=10.0.0.2 dst=10.0.0.1 sport=21 dport=40000 [ASSURED] mark=7 secmark=3 secctx=system_u:object_r:unlabeled_t:s0 zone=0 delta-time=35 helper=ftp use=2 labels=eth-in,eth-out',
    expect: {
      kind: 'flow',
      mark: 7,
      secmark: 3,
      secctx: 'system_u:object_r:unlabeled_t:s0',
      zone: 0,
      deltaTime: 35,
      helper: 'ftp',
      use: 2,
      labels: 'eth-in,eth-out',
    },
  },
  {
    name: 'unknown foo=bar lands in extra',
    line: 'udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 foo=bar mark=0 use=1',
    expect: { kind: 'flow', extra: { foo: 'bar' }, mark: 0 },
  },
  {
    name: '__proto__=x stays an ordinary extra key',
    line: 'udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 __proto__=x',
    expect: { kind: 'flow', extra: { ['__proto__']: 'x' } },
  },
  {
    name: 'gre keys: per-tuple unknowns, reply copy kept apart',
    line: 'gre      47 179 src=10.0.0.1 dst=10.0.0.2 srckey=0x1 dstkey=0x2 src=10.0.0.2 dst=10.0.0.1 srckey=0x2 dstkey=0x1 [ASSURED] mark=0 use=1',
    expect: {
      kind: 'flow',
      proto: 'gre',
      protonum: 47,
      orig: { src: '10.0.0.1', sport: undefined },
      extra: { srckey: '0x1', dstkey: '0x2', 'reply.srckey': '0x2', 'reply.dstkey': '0x1' },
    },
  },
  {
    name: 'unknown protocol without ports',
    line: 'unknown  41 599 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 mark=0 use=1',
    expect: { kind: 'flow', proto: 'unknown', protonum: 41, timeout: 599, reply: { src: '10.0.0.2' } },
  },
  {
    name: '[OFFLOAD]',
    line: 'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [OFFLOAD] mark=0 use=2',
    expect: { kind: 'flow', offload: true, hwOffload: undefined },
  },
  {
    name: '[HW_OFFLOAD]',
    line: 'udp      17 120 src=10.0.0.1 dst=10.0.0.2 sport=4000 dport=4789 src=10.0.0.2 dst=10.0.0.1 sport=4789 dport=4000 [HW_OFFLOAD] mark=0 use=2',
    expect: { kind: 'flow', hwOffload: true, offload: undefined },
  },
  {
    name: '-o ktimestamp [start=...] [stop=...] (spaces inside brackets) kept in extra',
    line: '[DESTROY] tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] delta-time=4 [start=Thu Nov 26 10:44:48 2026] [stop=Thu Nov 26 10:44:52 2026]',
    expect: {
      kind: 'flow',
      deltaTime: 4,
      extra: { start: 'Thu Nov 26 10:44:48 2026', stop: 'Thu Nov 26 10:44:52 2026' },
    },
  },
  {
    name: 'CRLF line ending',
    line: `${fixtureLine(LIST, 2)}\r`,
    expect: { kind: 'flow', id: 3067198232, orig: { sport: 59807 } },
  },
  {
    name: 'ENOBUFS warning (conntrack >= 1.4.6)',
    line: 'WARNING: We have hit ENOBUFS! We are losing events.',
    expect: {
      kind: 'event-loss',
      reason: 'ENOBUFS',
      raw: 'WARNING: We have hit ENOBUFS! We are losing events.',
    },
  },
  {
    name: 'ENOBUFS fatal form (conntrack < 1.4.6)',
    line: 'conntrack v1.4.5 (conntrack-tools): Operation failed: No buffer space available',
    expect: { kind: 'event-loss', reason: 'ENOBUFS' },
  },
  {
    name: 'ENOBUFS hint line 1',
    line: 'This message means that the current netlink socket buffer size is too small.',
    expect: { kind: 'blank' },
  },
  {
    name: 'ENOBUFS hint line 2',
    line: 'Please, check --buffer-size in conntrack(8) manpage.',
    expect: { kind: 'blank' },
  },
  {
    name: '-S per-CPU line',
    line: 'cpu=0   \tfound=0 invalid=12 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=3 chaintoolong=0 ',
    expect: {
      kind: 'cpu-stats',
      cpu: 0,
      counters: {
        found: 0,
        invalid: 12,
        insert: 0,
        insert_failed: 0,
        drop: 0,
        early_drop: 0,
        error: 0,
        search_restart: 0,
        clash_resolve: 3,
        chaintoolong: 0,
      },
    },
  },
  {
    name: '-S second CPU with drops',
    line: 'cpu=1   \tfound=4 invalid=0 insert=0 insert_failed=17 drop=17 early_drop=2 error=0 search_restart=1',
    expect: { kind: 'cpu-stats', cpu: 1, counters: { insert_failed: 17, drop: 17, early_drop: 2 } },
  },
  { name: '-C count', line: '48213', expect: { kind: 'count', count: 48213 } },
  { name: '-C count with CRLF', line: '7\r', expect: { kind: 'count', count: 7 } },
  { name: 'empty line', line: '', expect: { kind: 'blank' } },
  { name: 'whitespace-only line', line: ' \t  \r', expect: { kind: 'blank' } },
];

const malformed: Case[] = [
  { name: 'garbage text', line: 'hello world', expect: { kind: 'error', reason: 'unrecognised line' } },
  {
    name: 'bad port',
    line: 'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=x dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000',
    expect: { kind: 'error', reason: 'bad port "x"' },
  },
  {
    name: 'port out of range',
    line: 'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=70000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000',
    expect: { kind: 'error', reason: 'bad port "70000"' },
  },
  {
    name: 'event tag without protocol',
    line: '    [NEW] src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
    expect: { kind: 'error', reason: 'missing protocol' },
  },
  {
    name: 'reply tuple cut after sport',
    line: fixtureLine(DEFAULT, 1).slice(0, fixtureLine(DEFAULT, 1).lastIndexOf(' dport=')),
    expect: { kind: 'error', reason: 'truncated: reply tuple incomplete' },
  },
  {
    name: 'no reply tuple at all',
    line: '    [NEW] udp      17 30 src=10.42.0.33 dst=10.43.0.10 sport=60357 dport=53 [UNREPLIED]',
    expect: { kind: 'error', reason: 'truncated: reply tuple missing' },
  },
  {
    name: 'unterminated flag at the end',
    line: fixtureLine(DEFAULT, 11).slice(0, -1),
    expect: { kind: 'error', reason: 'truncated: unterminated "[ASSURED"' },
  },
  {
    name: 'unknown event tag',
    line: '  [BOGUS] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
    expect: { kind: 'error', reason: 'unknown event tag "[BOGUS]"' },
  },
  {
    name: 'icmp reply without its echo id',
    line: 'icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1234 src=10.0.0.2 dst=10.0.0.1 type=0 code=0',
    expect: { kind: 'error', reason: 'truncated: reply tuple incomplete' },
  },
  {
    name: 'bare word among key=value tokens',
    line: 'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 oops src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
    expect: { kind: 'error', reason: 'unexpected token "oops"' },
  },
  {
    name: 'non-numeric mark',
    line: 'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 mark=0x10',
    expect: { kind: 'error', reason: 'bad mark "0x10"' },
  },
  {
    name: 'empty zone-orig',
    line: 'udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 zone-orig= src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
    expect: { kind: 'error', reason: 'bad zone-orig ""' },
  },
  {
    name: 'address with a character inet_ntop never prints',
    line: 'udp      17 30 src=host.example dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1',
    expect: { kind: 'error', reason: 'bad address "host.example"' },
  },
  {
    name: 'an XML flow line is not text output',
    line: '<flow type="new"><meta direction="original"></meta></flow>',
    expect: { kind: 'error', reason: 'unrecognised line' },
  },
  {
    name: 'other conntrack message',
    line: 'conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.',
    expect: { kind: 'error', reason: 'conntrack message: connection tracking table has been emptied.' },
  },
  {
    name: '-S line with a non-numeric counter',
    line: 'cpu=0   \tfound=0 invalid=lots',
    expect: { kind: 'error', reason: 'bad counter "invalid=lots"' },
  },
  {
    name: 'count with trailing junk',
    line: '123 entries',
    expect: { kind: 'error', reason: 'unrecognised line' },
  },
];

describe('parseConntrackLine', () => {
  it.each(recognised)('recognises $name', ({ line, expect: want }) => {
    expect(parseConntrackLine(line)).toMatchObject(want);
  });

  it.each(malformed)('rejects $name', ({ line, expect: want }) => {
    const r = parseConntrackLine(line);
    expect(r).toMatchObject(want);
    expect(r).toEqual({ kind: 'error', reason: want.reason, raw: line });
  });

  it('gives every flow record the same keys, present or not (one object shape downstream)', () => {
    const a = parseConntrackLine(fixtureLine(DEFAULT, 1));
    const b = parseConntrackLine(fixtureLine(TS_EXT_ID, 17));
    if (a.kind !== 'flow' || b.kind !== 'flow') throw new Error('expected flows');
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(Object.keys(a.orig)).toEqual(Object.keys(b.reply));
  });

  it('keeps at most 1024 characters of a garbage line in raw', () => {
    const r = parseConntrackLine(`zz ${'x'.repeat(5000)}`);
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.raw).toHaveLength(1024);
  });
});

/** Index where the reply tuple's dport value starts: any cut at or before it must be an error. */
function replyDportValueStart(line: string): number {
  const reply = line.indexOf(' src=', line.indexOf(' src=') + 1);
  return line.indexOf(' dport=', reply) + ' dport='.length;
}

/** Ends of every whitespace-separated token, i.e. every cut at a token boundary. */
function tokenEnds(line: string): number[] {
  const ends: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (
      line[i] !== ' ' &&
      line[i] !== '\t' &&
      (i + 1 === line.length || line[i + 1] === ' ' || line[i + 1] === '\t')
    ) {
      ends.push(i + 1);
    }
  }
  return ends;
}

const truncationSources = [
  { name: 'events-default NEW', line: fixtureLine(DEFAULT, 1) },
  { name: 'events-default DESTROY [USERSPACE]', line: fixtureLine(DEFAULT, 14) },
  { name: 'events-ts-ext-id NEW', line: fixtureLine(TS_EXT_ID, 1) },
  { name: 'events-ts-ext-id DESTROY', line: fixtureLine(TS_EXT_ID, 17) },
  { name: 'list-poll dump line', line: fixtureLine(LIST, 2) },
  { name: 'flood-sample line', line: fixtureLine(FLOOD, 1) },
  {
    name: 'IPv6 tcp with state',
    line: 'ipv6     10 tcp      6 119 TIME_WAIT src=2001:db8::1 dst=2001:db8::2 sport=50000 dport=80 src=2001:db8::2 dst=2001:db8::1 sport=80 dport=50000 [ASSURED] mark=0 use=1',
  },
];

describe('parseConntrackLine on truncated real lines', () => {
  it.each(truncationSources)('$name: every cut before the reply dport value is an error', ({ line }) => {
    const limit = replyDportValueStart(line);
    const first = line.search(/\S/);
    let checked = 0;
    for (let cut = first + 1; cut <= limit; cut++) {
      const r = parseConntrackLine(line.slice(0, cut));
      expect(r.kind, JSON.stringify(line.slice(0, cut))).toBe('error');
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it.each(truncationSources)(
    '$name: token-boundary cuts are errors until the reply tuple is whole',
    ({ line }) => {
      const whole = replyDportValueStart(line);
      const full = parseConntrackLine(line);
      if (full.kind !== 'flow') throw new Error(`fixture line did not parse: ${JSON.stringify(full)}`);
      for (const cut of tokenEnds(line)) {
        const r = parseConntrackLine(line.slice(0, cut));
        if (cut < whole) {
          expect(r.kind, JSON.stringify(line.slice(0, cut))).toBe('error');
        } else {
          // Past the reply tuple, a prefix is a valid line that merely lacks the trailing fields.
          expect(r).toMatchObject({ kind: 'flow', orig: full.orig, reply: full.reply, event: full.event });
        }
      }
    },
  );
});

const fixtureFiles = [
  { name: DEFAULT, flows: 48, summaries: 1 },
  { name: TS_EXT_ID, flows: 48, summaries: 1 },
  { name: LIST, flows: 40, summaries: 4 },
  { name: FLOOD, flows: 3000, summaries: 0 },
];

describe('parseConntrackLine on whole captures', () => {
  it.each(fixtureFiles)(
    '$name: no errors, $flows flows, $summaries summaries',
    ({ name, flows, summaries }) => {
      const results: ParseResult[] = fixtureLines(name).map((l) => parseConntrackLine(l));
      expect(results.filter((r) => r.kind === 'error')).toEqual([]);
      expect(results.filter((r) => r.kind === 'flow')).toHaveLength(flows);
      expect(results.filter((r) => r.kind === 'summary')).toHaveLength(summaries);
    },
  );

  it('list-poll: the fixed-port black-hole entry keeps a refreshed timeout across the four dumps', () => {
    const timeouts = fixtureLines(LIST)
      .map((l) => parseConntrackLine(l))
      .flatMap((r) => (r.kind === 'flow' && r.id === 137932478 ? [r.timeout] : []));
    expect(timeouts).toEqual([29, 29, 29, 29]);
  });

  it('events-default: event mix matches the capture', () => {
    const events = fixtureLines(DEFAULT)
      .map((l) => parseConntrackLine(l))
      .flatMap((r) => (r.kind === 'flow' && r.event ? [r.event] : []));
    expect(events.filter((e) => e === 'NEW')).toHaveLength(22);
    expect(events.filter((e) => e === 'UPDATE')).toHaveLength(20);
    expect(events.filter((e) => e === 'DESTROY')).toHaveLength(6);
  });
});
