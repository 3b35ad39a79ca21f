import { describe, expect, it } from 'vitest';
import {
  defaultServeConfig,
  missingStartFlags,
  NODE_START_FLAGS,
  type ServeConfig,
  validateConfig,
} from '../src/config.js';

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
    {
      name: 'auto-remedy without --allow-delete',
      patch: { token: 'a-long-enough-token', autoRemedy: { ...base.autoRemedy, mode: 'on' } },
      error: /--auto-remedy needs --allow-delete/,
    },
    {
      name: 'auto-remedy with --allow-delete and a token',
      patch: {
        token: 'a-long-enough-token',
        allowDelete: true,
        autoRemedy: { ...base.autoRemedy, mode: 'on' },
      },
    },
    {
      name: 'auto-remedy dry-run alone (it deletes nothing)',
      patch: { autoRemedy: { ...base.autoRemedy, mode: 'dry-run' } },
    },
    {
      name: 'auto-remedy breaker of 0',
      patch: { autoRemedy: { ...base.autoRemedy, mode: 'dry-run', breakerThreshold: 0 } },
      error: /--auto-remedy-breaker must be an integer of at least 1/,
    },
    {
      name: 'auto-remedy negative settle time',
      patch: { autoRemedy: { ...base.autoRemedy, settleMs: -1 } },
      error: /--auto-remedy-settle must be an integer of at least 0/,
    },
  ])('$name', ({ patch, error }) => {
    const run = () => validateConfig({ ...base, ...patch });
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });
});

describe('missingStartFlags', () => {
  it.each<{ name: string; execArgv: string[]; nodeOptions?: string; missing: string[] }>([
    { name: 'started as `node dist/cli.js`', execArgv: [], missing: [...NODE_START_FLAGS] },
    { name: 'through the bin', execArgv: [...NODE_START_FLAGS], missing: [] },
    {
      name: 'through the bin, with other flags',
      execArgv: ['--cpu-prof', ...NODE_START_FLAGS, '--trace-gc'],
      missing: [],
    },
    { name: 'another pool size', execArgv: ['--v8-pool-size=4'], missing: [...NODE_START_FLAGS] },
    {
      name: 'as `--flag value`',
      execArgv: ['--v8-pool-size', '1', '--max-semi-space-size', '4'],
      missing: [],
    },
    {
      name: 'one of them',
      execArgv: ['--v8-pool-size=1'],
      missing: ['--max-semi-space-size=4'],
    },
    {
      name: 'another young generation',
      execArgv: ['--v8-pool-size=1', '--max-semi-space-size=16'],
      missing: ['--max-semi-space-size=4'],
    },
    {
      name: '`--flag` then another flag',
      execArgv: ['--v8-pool-size', '--trace-gc'],
      missing: [...NODE_START_FLAGS],
    },
    {
      name: 'in NODE_OPTIONS',
      execArgv: [],
      nodeOptions: '--max-old-space-size=512 --v8-pool-size=1 --max-semi-space-size=4',
      missing: [],
    },
    {
      name: 'NODE_OPTIONS without it',
      execArgv: [],
      nodeOptions: '  --max-old-space-size=512 ',
      missing: [...NODE_START_FLAGS],
    },
  ])('$name', ({ execArgv, nodeOptions, missing }) => {
    expect(missingStartFlags(execArgv, nodeOptions)).toEqual(missing);
  });
});
