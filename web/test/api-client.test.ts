import { describe, expect, it } from 'vitest';
import { ApiClient, takeToken } from '../src/transport/api-client.js';

function fakes(href: string, stored?: string) {
  const store = new Map<string, string>(stored ? [['ctscope.token', stored]] : []);
  const urls: string[] = [];
  return {
    loc: { href, search: new URL(href).search, origin: new URL(href).origin },
    storage: {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
    },
    history: {
      state: null,
      replaceState: (_s: unknown, _t: string, u?: string | URL | null) => urls.push(String(u)),
    },
    store,
    urls,
  };
}

describe('token out of the address bar', () => {
  const cases = [
    {
      name: 'token in the URL moves to session storage and leaves the URL',
      href: 'http://127.0.0.1:7474/?token=secret-token-123&flow=42&kiosk=1',
      stored: undefined,
      token: 'secret-token-123',
      url: 'http://127.0.0.1:7474/?flow=42&kiosk=1',
    },
    {
      name: 'a reload without it uses the stored one',
      href: 'http://127.0.0.1:7474/?flow=42',
      stored: 'secret-token-123',
      token: 'secret-token-123',
      url: undefined,
    },
    {
      name: 'no token anywhere',
      href: 'http://127.0.0.1:7474/',
      stored: undefined,
      token: undefined,
      url: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = fakes(c.href, c.stored);
      expect(takeToken(f.loc, f.storage, f.history)).toBe(c.token);
      expect(f.urls.at(-1)).toBe(c.url);
      if (c.token) expect(f.store.get('ctscope.token')).toBe(c.token);
    });
  }

  it('the client still sends the token on REST and WebSocket calls', () => {
    const f = fakes('http://127.0.0.1:7474/?token=secret-token-123');
    const api = ApiClient.fromLocation(f.loc, { storage: f.storage, history: f.history });
    expect(api.token).toBe('secret-token-123');
    expect(api.wsUrl({})).toBe('ws://127.0.0.1:7474/ws?token=secret-token-123');
    expect(f.urls).toEqual(['http://127.0.0.1:7474/']);
  });
});
