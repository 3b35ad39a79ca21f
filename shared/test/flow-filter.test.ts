import { describe, expect, it } from 'vitest';
import { parseFlowFilter, VERDICTS } from '../src/index.js';

describe('parseFlowFilter (the one check of filters from WebSocket subscribes and query strings)', () => {
  it.each([
    { name: 'nothing', input: undefined, want: {} },
    { name: 'null', input: null, want: {} },
    { name: 'an empty object', input: {}, want: {} },
    {
      name: 'lists as arrays',
      input: { verdict: ['no-dnat', 'ok'], severity: ['critical'] },
      want: { verdict: ['no-dnat', 'ok'], severity: ['critical'] },
    },
    {
      name: 'lists comma-separated (a query)',
      input: { verdict: 'no-dnat,stale-endpoint', severity: 'warning' },
      want: { verdict: ['no-dnat', 'stale-endpoint'], severity: ['warning'] },
    },
    { name: 'every verdict there is', input: { verdict: [...VERDICTS] }, want: { verdict: [...VERDICTS] } },
    {
      name: 'strings and a port',
      input: { ip: '10.43.0.10', port: 53, service: 'dns', text: '52001' },
      want: { ip: '10.43.0.10', port: 53, service: 'dns', text: '52001' },
    },
    { name: 'port 0 and 65535', input: { port: 0 }, want: { port: 0 } },
    {
      name: 'undefined fields skipped (a query without them)',
      input: { verdict: undefined, ip: undefined, port: 65535 },
      want: { port: 65535 },
    },
  ])('accepts $name', ({ input, want }) => {
    expect(parseFlowFilter(input)).toEqual(want);
  });

  it.each([
    { name: 'a string instead of an object', input: 'no-dnat', error: /must be an object/ },
    { name: 'an array instead of an object', input: ['ok'], error: /must be an object/ },
    { name: 'an unknown verdict', input: { verdict: ['bogus'] }, error: /unknown verdict "bogus"/ },
    {
      name: 'an unknown verdict in a query list',
      input: { verdict: 'no-dnat,bogus' },
      error: /unknown verdict "bogus"/,
    },
    { name: 'an empty entry in a query list', input: { verdict: 'no-dnat,' }, error: /unknown verdict ""/ },
    { name: 'a severity that is a verdict', input: { severity: ['no-dnat'] }, error: /unknown severity/ },
    { name: 'a number in a list', input: { severity: [1] }, error: /unknown severity 1/ },
    {
      name: 'a list that is neither array nor string',
      input: { verdict: 5 },
      error: /filter.verdict must be a list/,
    },
    {
      name: 'too long a list',
      input: { verdict: Array(9).fill('ok') },
      error: /filter.verdict must be a list/,
    },
    { name: 'a text that is not a string', input: { text: 5 }, error: /filter.text must be a string/ },
    { name: 'too long a service', input: { service: 'x'.repeat(257) }, error: /at most 256/ },
    { name: 'a port out of range', input: { port: 70000 }, error: /filter.port must be 0-65535/ },
    { name: 'a negative port', input: { port: -1 }, error: /filter.port/ },
    { name: 'a fractional port', input: { port: 53.5 }, error: /filter.port/ },
    { name: 'a port as a string', input: { port: '53' }, error: /filter.port/ },
    { name: 'an unknown field', input: { nope: 1 }, error: /^unknown filter field \(allowed: [^"]*\)$/ },
  ])('refuses $name', ({ input, error }) => {
    const got = parseFlowFilter(input);
    expect('error' in got && got.error).toMatch(error);
  });
});
