import { describe, expect, it } from 'vitest';
import { buildRemedyIfUseful, remedyArgs, remedyCommand, shellQuote } from '../src/verdict/build-remedy.js';
import { VERDICTS, type Verdict } from '../src/verdict/verdicts.js';

type Flow = Parameters<typeof remedyArgs>[0];
const v4: Flow = { proto: 'udp', orig: { src: '10.42.0.33', dst: '10.43.0.10', sport: 52001, dport: 53 } };

describe('remedy builder', () => {
  it.each([
    {
      name: 'an IPv4 UDP entry',
      flow: v4,
      want: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
    },
    {
      name: 'an IPv6 entry (family flag)',
      flow: { proto: 'udp', orig: { src: 'fd00::33', dst: 'fd00:43::a', sport: 40000, dport: 53 } },
      want: 'conntrack -D -p udp -f ipv6 --orig-src fd00::33 --orig-dst fd00:43::a --sport 40000 --dport 53',
    },
    {
      name: 'an entry in a zone',
      flow: { ...v4, zone: 7 },
      want: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53 --zone 7',
    },
    {
      name: 'an entry in zone 0 (0 is a zone, not absent)',
      flow: { ...v4, zone: 0 },
      want: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53 --zone 0',
    },
    {
      name: 'a portless protocol',
      flow: { proto: 'icmp', orig: { src: '10.42.0.33', dst: '10.43.0.10' } },
      want: 'conntrack -D -p icmp --orig-src 10.42.0.33 --orig-dst 10.43.0.10',
    },
    {
      name: 'port 0',
      flow: { proto: 'udp', orig: { src: '10.0.0.1', dst: '10.0.0.2', sport: 0, dport: 0 } },
      want: 'conntrack -D -p udp --orig-src 10.0.0.1 --orig-dst 10.0.0.2 --sport 0 --dport 0',
    },
  ])('deletes exactly $name', ({ flow, want }) => {
    expect(remedyCommand(flow)).toBe(want);
    // The argv the server runs and the text the page shows are the same command.
    expect(['conntrack', ...remedyArgs(flow)].join(' ')).toBe(want);
  });

  const offered: Record<Verdict, boolean> = {
    'no-dnat': true,
    'stale-endpoint': true,
    'no-endpoints': true,
    unanswered: false,
    ok: false,
  };
  it.each(VERDICTS.map((verdict) => ({ verdict, want: offered[verdict] })))(
    'offers a remedy for $verdict: $want',
    ({ verdict, want }) => {
      expect(buildRemedyIfUseful(verdict, v4)).toBe(want ? remedyCommand(v4) : null);
    },
  );
});

const CASES: Array<{ name: string; src: string; expect: string }> = [
  {
    name: 'IPv4 stays unquoted',
    src: '10.42.0.33',
    expect: 'conntrack -D -p udp --orig-src 10.42.0.33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
  },
  {
    name: 'IPv6 stays unquoted',
    src: 'fd00::33',
    expect: 'conntrack -D -p udp -f ipv6 --orig-src fd00::33 --orig-dst 10.43.0.10 --sport 52001 --dport 53',
  },
  {
    name: 'a backquote payload is quoted',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, on purpose
    src: '1`touch${IFS}/tmp/x`;0',
    expect:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, on purpose
      "conntrack -D -p udp --orig-src '1`touch${IFS}/tmp/x`;0' --orig-dst 10.43.0.10 --sport 52001 --dport 53",
  },
  {
    name: 'a single quote cannot close the quoting',
    src: "1';id;'0",
    expect: `conntrack -D -p udp --orig-src '1'\\'';id;'\\''0' --orig-dst 10.43.0.10 --sport 52001 --dport 53`,
  },
];

describe('remedyCommand quotes for a POSIX shell', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(
        remedyCommand({ proto: 'udp', orig: { src: c.src, dst: '10.43.0.10', sport: 52001, dport: 53 } }),
      ).toBe(c.expect);
    });
  }
  it('a quoted word reads back as itself in sh', async () => {
    const { execFileSync } = await import('node:child_process');
    for (const w of ["a'b", '$(id)', '`x`', 'a b', '"q"', '\\n']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(w)}`]).toString()).toBe(w);
    }
  });
});
