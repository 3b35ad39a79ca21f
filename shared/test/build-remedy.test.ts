import { describe, expect, it } from 'vitest';
import { remedyCommand, shellQuote } from '../src/verdict/build-remedy.js';

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
    src: '1`touch${IFS}/tmp/x`;0',
    expect:
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
