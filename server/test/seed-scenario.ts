/** Test helper: the seed incident as a `ctscope serve` config on the fake node tools (see seed-env.mjs). */
import { join } from 'node:path';
import type { ServeConfig } from '../src/config.js';
import { defaultServeConfig } from '../src/config.js';
import { seedEnv } from './seed-env.mjs';

const HERE = import.meta.dirname;
export const SEED = join(HERE, '..', '..', 'shared', 'test', 'fixtures', 'seed-incident');

export interface SeedScenario {
  dir: string;
  env: Record<string, string>;
  config: ServeConfig;
}

/** Fresh temp dirs, fake-tool env and a serve config for the seed incident. */
export function seedScenario(opts: { suspectPollMs?: number } = {}): SeedScenario {
  const suspectPollMs = opts.suspectPollMs ?? 2000;
  const { dir, env } = seedEnv(suspectPollMs);
  const config: ServeConfig = {
    ...defaultServeConfig(),
    port: 0,
    dataDir: join(dir, 'data'),
    natSource: 'iptables',
    suspectPollMs,
    natPollMs: 300,
    countersPollMs: 1000,
    nodeName: 'seed-node',
    webRoot: undefined,
  };
  return { dir, env, config };
}

/** Apply env vars; returns a restore function. */
export function withEnv(env: Record<string, string>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Poll `fn` until it returns a value or the deadline passes. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
