import { describe, expect, it } from 'vitest';
import {
  defaultUrlState,
  filterToQuery,
  parseSpan,
  parseUrlState,
  serializeUrlState,
  type UrlState,
} from '../src/domain/url-state.js';

describe('URL state', () => {
  it('round-trips a full view', () => {
    const state: UrlState = {
      view: 'services',
      kiosk: true,
      theme: 'light',
      filter: {
        verdict: ['no-dnat', 'stale-endpoint'],
        severity: ['critical'],
        service: 'kube-dns',
        ip: '10.43.0.10',
        port: 53,
        text: 'kept',
      },
      window: { kind: 'fixed', from: 1_795_689_887_000, to: 1_795_689_947_000 },
      sort: { key: 'age', dir: 'desc' },
      flow: '137932478',
      rec: 'ctscope-20261126T114420Z-000000.ndjson',
      at: 1_795_689_900_000,
    };
    const search = serializeUrlState(state);
    expect(parseUrlState(search)).toEqual(state);
  });

  it('round-trips a following window and the defaults, which serialise to nothing', () => {
    expect(serializeUrlState(defaultUrlState())).toBe('');
    expect(parseUrlState('')).toEqual(defaultUrlState());
    const s = { ...defaultUrlState(), window: { kind: 'follow' as const, spanMs: 300_000 } };
    expect(serializeUrlState(s)).toBe('?win=5m');
    expect(parseUrlState('?win=5m')).toEqual(s);
  });

  it('keeps parameters it does not own, such as the token', () => {
    const s = { ...defaultUrlState(), filter: { port: 53 } };
    const out = serializeUrlState(s, '?token=secret-token-123&verdict=ok');
    const p = new URLSearchParams(out);
    expect(p.get('token')).toBe('secret-token-123');
    expect(p.get('port')).toBe('53');
    expect(p.has('verdict')).toBe(false);
  });

  it('drops bad values instead of failing', () => {
    const s = parseUrlState(
      '?verdict=bogus,no-dnat&severity=nope&port=99999&sort=evil&win=3y&from=9&to=2&flow=<script>&at=-1',
    );
    expect(s.filter).toEqual({ verdict: ['no-dnat'] });
    expect(s.sort).toEqual({ key: 'worst', dir: 'asc' });
    expect(s.window).toEqual({ kind: 'follow', spanMs: 900_000 });
    expect(s.flow).toBeUndefined();
    expect(s.at).toBeUndefined();
    expect(parseSpan('1h')).toBe(3_600_000);
    expect(parseSpan('1s')).toBeUndefined();
  });

  it('turns the filter into the server query', () => {
    expect(filterToQuery({ verdict: ['no-dnat'], port: 0, text: 'x' })).toEqual({
      verdict: 'no-dnat',
      port: '0',
      text: 'x',
    });
    expect(filterToQuery({})).toEqual({});
  });
});
