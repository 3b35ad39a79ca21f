import { describe, expect, it } from 'vitest';
import { defaultServeConfig, type ServeConfig, validateConfig } from '../src/config.js';

const base = defaultServeConfig();

describe('validateConfig (safe by default)', () => {
  it.each<{ name: string; patch: Partial<ServeConfig>; error?: RegExp }>([
    { name: 'defaults', patch: {} },
    { name: 'loopback IPv6', patch: { host: '::1' } },
    {
      name: 'any address without a token',
      patch: { host: '0.0.0.0' },
      error: /refusing to listen on 0\.0\.0\.0 without a token/,
    },
    { name: 'any address with a token', patch: { host: '0.0.0.0', token: 'a-long-enough-token' } },
    { name: 'delete without a token', patch: { allowDelete: true }, error: /--allow-delete needs --token/ },
    { name: 'short token', patch: { token: 'short' }, error: /at least 12 characters/ },
    { name: 'netns with a slash', patch: { netns: '../etc' }, error: /not a valid namespace name/ },
    {
      name: 'too-fast suspect polling',
      patch: { suspectPollMs: 10 },
      error: /--suspect-poll must be at least 200 ms/,
    },
    { name: 'bad port', patch: { port: 70000 }, error: /--port must be 0-65535/ },
  ])('$name', ({ patch, error }) => {
    const run = () => validateConfig({ ...base, ...patch });
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });
});
