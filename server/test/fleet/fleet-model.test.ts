/** Fleet tiles from query answers (status, worst first), the node URL template, and the fleet config checks. */
import type { FleetNode } from '@ctscope/shared';
import { describe, expect, it } from 'vitest';
import { defaultFleetConfig, type FleetConfig, fleetConfigError } from '../../src/commands/fleet.js';
import { buildFleetNodes, buildTimeline, type FleetReadings } from '../../src/fleet/fleet-snapshot.js';
import { fillNodeUrl, validateNodeUrlTemplate } from '../../src/fleet/node-url.js';

const v = (node: string, value: number, extra: Record<string, string> = {}) => ({
  metric: { node, ...extra },
  value,
});
const none: FleetReadings = { up: [], critical: [], warning: [], eventLoss: [], tableFill: [], alerts: [] };

describe('buildFleetNodes', () => {
  const CASES: Array<{
    name: string;
    readings: Partial<FleetReadings>;
    want: Array<[string, FleetNode['status']]>;
  }> = [
    { name: 'no targets', readings: {}, want: [] },
    {
      name: 'healthy nodes by name',
      readings: { up: [v('b', 1, { instance: 'b:1' }), v('a', 1, { instance: 'a:1' })] },
      want: [
        ['a', 'ok'],
        ['b', 'ok'],
      ],
    },
    {
      name: 'critical first, then agent down, then warnings (more critical flows first)',
      readings: {
        up: [
          v('ok', 1),
          v('down', 0),
          v('warn', 1),
          v('crit1', 1),
          v('crit9', 1),
          v('fill', 1),
          v('loss', 1),
        ],
        critical: [v('crit1', 1), v('crit9', 9), v('ok', 0)],
        warning: [v('warn', 3)],
        tableFill: [v('fill', 0.95), v('ok', 0.2)],
        eventLoss: [v('loss', 2)],
      },
      want: [
        ['crit9', 'critical'],
        ['crit1', 'critical'],
        ['down', 'down'],
        ['warn', 'warning'],
        ['loss', 'warning'],
        ['fill', 'warning'],
        ['ok', 'ok'],
      ],
    },
    {
      name: 'a node with a firing alert only is a warning; NaN values count as 0',
      readings: { up: [v('a', 1), v('b', 1)], alerts: [v('a', 1)], critical: [v('b', Number.NaN)] },
      want: [
        ['a', 'warning'],
        ['b', 'ok'],
      ],
    },
    {
      name: 'two targets with one node label: down when one is down',
      readings: { up: [v('a', 1, { instance: 'x:1' }), v('a', 0, { instance: 'y:1' })] },
      want: [['a', 'down']],
    },
    {
      name: 'a node that only appears in a query (its target gone) is down',
      readings: { critical: [v('gone', 0)] },
      want: [['gone', 'down']],
    },
  ];
  it.each(CASES)('$name', ({ readings, want }) => {
    expect(
      buildFleetNodes({ ...none, ...readings }, 'http://{instance}/').map((n) => [n.node, n.status]),
    ).toEqual(want);
  });

  it('fills each node URL from its scrape target', () => {
    const [n] = buildFleetNodes(
      { ...none, up: [v('node-1', 1, { instance: '10.0.0.1:7474' })] },
      'http://{instance}/?n={node}',
    );
    expect(n?.url).toBe('http://10.0.0.1:7474/?n=node-1');
  });
});

describe('buildTimeline', () => {
  it('one point per step, nodes merged, NaN skipped', () => {
    const t = buildTimeline(
      [
        {
          metric: { node: 'a' },
          values: [
            [2000, 1],
            [1000, 0],
          ],
        },
        {
          metric: { node: 'b' },
          values: [
            [1000, 3],
            [2000, Number.NaN],
          ],
        },
        { metric: {}, values: [[1000, 9]] },
      ],
      1000,
    );
    expect(t.points).toEqual([
      { t: 1000, bad: { a: 0, b: 3 } },
      { t: 2000, bad: { a: 1 } },
    ]);
  });
});

describe('node URL template', () => {
  const CASES: Array<[string, { node: string; instance: string }, string | null]> = [
    ['http://{instance}/', { node: 'n', instance: '10.0.0.1:7474' }, 'http://10.0.0.1:7474/'],
    [
      'https://ctscope-{node}.example.com/',
      { node: 'worker-1', instance: 'x' },
      'https://ctscope-worker-1.example.com/',
    ],
    [
      'http://{instance}/?node={node}',
      { node: 'a b&c', instance: '[::1]:7474' },
      'http://[::1]:7474/?node=a%20b%26c',
    ],
    // A node name cannot move the link to another host or path.
    ['http://{node}/', { node: 'evil.com/@x', instance: '' }, null],
    ['http://{node}.nodes.example/', { node: 'a/b', instance: '' }, null],
    ['http://{instance}/', { node: 'n', instance: 'evil.com/x@y' }, null],
    ['javascript:alert({node})', { node: 'n', instance: '' }, null],
    ['http://{instance}', { node: 'n', instance: '' }, null],
  ];
  it.each(CASES)('%s with %o', (template, node, want) => {
    expect(fillNodeUrl(template, node)).toBe(want);
  });
  it('rejects unknown placeholders and non-http templates', () => {
    expect(() => validateNodeUrlTemplate('http://{host}/')).toThrow(/unknown placeholder \{host\}/);
    expect(() => validateNodeUrlTemplate('ftp://{instance}/')).toThrow(/http\(s\)/);
    expect(() => validateNodeUrlTemplate('http://{node}:8080/x')).not.toThrow();
  });
});

describe('fleetConfigError', () => {
  const base: FleetConfig = { ...defaultFleetConfig('/nonexistent'), prometheus: 'http://127.0.0.1:9090' };
  const CASES: Array<[string, Partial<FleetConfig>, RegExp | undefined]> = [
    ['defaults', {}, undefined],
    ['not a URL', { prometheus: 'prometheus:9090/x y' }, /not a URL|http\(s\)/],
    ['no http', { prometheus: 'file:///etc/passwd' }, /http\(s\)/],
    ['a query in the URL', { prometheus: 'http://p:9090/?query=up' }, /base URL/],
    ['open address without a token', { host: '0.0.0.0' }, /without a token/],
    ['open address with a token', { host: '0.0.0.0', token: 'x'.repeat(16) }, undefined],
    ['short token', { token: 'short' }, /at least 12/],
    ['bad template', { nodeUrl: 'http://{pod}/' }, /placeholder/],
  ];
  it.each(CASES)('%s', (_name, patch, want) => {
    const e = fleetConfigError({ ...base, ...patch });
    if (want) expect(e).toMatch(want);
    else expect(e).toBeUndefined();
  });
});
