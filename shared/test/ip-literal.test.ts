import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipLiteralVersion } from '../src/conntrack/ip-literal.js';
import { parseConntrackLine } from '../src/conntrack/parse-conntrack-line.js';
import { parseConntrackXmlLine } from '../src/conntrack/parse-conntrack-xml.js';

const CASES: Array<{ name: string; input: string; version: 0 | 4 | 6 }> = [
  { name: 'plain IPv4', input: '10.42.0.33', version: 4 },
  { name: 'IPv4 zeros', input: '0.0.0.0', version: 4 },
  { name: 'IPv4 max', input: '255.255.255.255', version: 4 },
  { name: 'IPv4 part over 255', input: '10.42.0.256', version: 0 },
  { name: 'IPv4 leading zero', input: '10.042.0.1', version: 0 },
  { name: 'IPv4 three parts', input: '10.42.0', version: 0 },
  { name: 'IPv4 five parts', input: '1.2.3.4.5', version: 0 },
  { name: 'IPv4 empty part', input: '1..3.4', version: 0 },
  { name: 'IPv4 trailing dot', input: '1.2.3.4.', version: 0 },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, on purpose
  { name: 'shell payload with digit ends', input: '1`touch${IFS}/tmp/x`;0', version: 0 },
  { name: 'command substitution', input: '1$(id)0', version: 0 },
  { name: 'IPv6 compressed', input: 'fd00::1', version: 6 },
  { name: 'IPv6 all zero', input: '::', version: 6 },
  { name: 'IPv6 loopback', input: '::1', version: 6 },
  { name: 'IPv6 trailing compression', input: 'fe80::', version: 6 },
  { name: 'IPv6 full', input: '2001:db8:0:0:0:0:0:1', version: 6 },
  { name: 'IPv6 upper case', input: '2001:DB8::A', version: 6 },
  { name: 'IPv6 mapped IPv4', input: '::ffff:10.0.0.1', version: 6 },
  { name: 'IPv6 two compressions', input: '1::2::3', version: 0 },
  { name: 'IPv6 group too long', input: '12345::1', version: 0 },
  { name: 'IPv6 nine groups', input: '1:2:3:4:5:6:7:8:9', version: 0 },
  { name: 'IPv6 seven groups uncompressed', input: '1:2:3:4:5:6:7', version: 0 },
  { name: 'IPv6 leading single colon', input: ':1::2', version: 0 },
  { name: 'IPv6 trailing single colon', input: '1::2:', version: 0 },
  { name: 'IPv6 zone id', input: 'fe80::1%eth0', version: 0 },
  { name: 'IPv6 bad tail', input: '::ffff:10.0.0.256', version: 0 },
  { name: 'empty', input: '', version: 0 },
  { name: 'host name', input: 'host.example', version: 0 },
];

describe('ipLiteralVersion', () => {
  for (const c of CASES) {
    it(c.name, () => expect(ipLiteralVersion(c.input)).toBe(c.version));
  }

  it('agrees with node:net isIP on strings made of address characters', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF.:'.split(''), '%', '`', ' ', 'g', '$');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 45 }), (chars) => {
        const s = chars.join('');
        // node accepts IPv6 zone ids (`fe80::1%eth0`); conntrack never prints one, so they are refused.
        expect(ipLiteralVersion(s)).toBe(s.includes('%') ? 0 : isIP(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('accepts every address node:net formats', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (s) => {
        expect(ipLiteralVersion(s)).toBe(isIP(s));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('conntrack parsers refuse an address that is not a literal', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, on purpose
  const payload = '1`touch${IFS}/tmp/x`;0';
  it('text line', () => {
    const r = parseConntrackLine(
      `udp      17 29 src=${payload} dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=10.43.0.10 dst=10.42.0.33 sport=53 dport=52001 mark=0 use=1 id=1`,
    );
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.reason).toContain('bad address');
  });
  it('XML line', () => {
    const line = `<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>${payload}</src><dst>10.43.0.10</dst></layer3><layer4 protonum="17" protoname="udp"><sport>52001</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.43.0.10</src><dst>10.42.0.33</dst></layer3><layer4 protonum="17" protoname="udp"><sport>53</sport><dport>52001</dport></layer4></meta><meta direction="independent"><id>1</id></meta></flow>`;
    const r = parseConntrackXmlLine(line);
    expect(r.kind).toBe('error');
  });
});
