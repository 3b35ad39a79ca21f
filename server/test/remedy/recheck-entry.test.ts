import { type FlowRecord, parseConntrackLine } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { compareListing, recheckArgs } from '../../src/remedy/recheck-entry.js';

const line = (reply: string, id: number) =>
  `udp      17 29 src=10.42.0.33 dst=10.43.0.10 sport=52001 dport=53 [UNREPLIED] src=${reply} dst=172.20.0.2 sport=53 dport=52001 mark=0 use=1 id=${id}`;
const judged = parseConntrackLine(line('10.43.0.10', 11)) as FlowRecord;

describe('compareListing (the re-check just before deleting)', () => {
  it.each<{ name: string; stdout: string; same: boolean; why?: RegExp }>([
    { name: 'the same entry', stdout: `${line('10.43.0.10', 11)}\n`, same: true },
    { name: 'gone (empty listing)', stdout: '', same: false, why: /gone/ },
    {
      name: 'gone (only a summary line)',
      stdout: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n',
      same: false,
      why: /gone/,
    },
    {
      name: 're-created with a new id',
      stdout: line('10.43.0.10', 99),
      same: false,
      why: /re-created \(kernel id 99, judged 11\)/,
    },
    // The kernel often re-uses the id for an entry re-created at once: the reply tuple tells them apart.
    {
      name: 're-created through the rules, same id',
      stdout: line('10.42.0.11', 11),
      same: false,
      why: /reply tuple changed.*10\.42\.0\.11/,
    },
    { name: 'garbage', stdout: 'not conntrack output\n', same: false, why: /gone/ },
  ])('$name', ({ stdout, same, why }) => {
    const r = compareListing(judged, stdout);
    expect(r.same).toBe(same);
    if (!r.same && why) expect(r.why).toMatch(why);
  });

  it('lists exactly the judged tuple', () => {
    expect(recheckArgs(judged)).toEqual([
      '-L',
      '-p',
      'udp',
      '--orig-src',
      '10.42.0.33',
      '--orig-dst',
      '10.43.0.10',
      '--sport',
      '52001',
      '--dport',
      '53',
      '-o',
      'extended,id',
    ]);
  });
});
