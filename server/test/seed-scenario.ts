/** Test helper: the seed incident played through the fake node tools (fake-bin, fake-bin-nat). */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultServeConfig } from '../src/commands/serve.js';
import type { ServeConfig } from '../src/config.js';

const HERE = import.meta.dirname;
export const SEED = join(HERE, '..', '..', 'shared', 'test', 'fixtures', 'seed-incident');
export const FAKE_PATH = `${join(HERE, 'fake-bin')}:${join(HERE, 'fake-bin-nat')}:${process.env.PATH}`;

export interface SeedScenario {
  dir: string;
  env: Record<string, string>;
  config: ServeConfig;
}

/**
 * Dumps as the kernel would print them every `stepS` seconds: the fixed-port entry is refreshed (stays at 29),
 * the random-port entries count down.
 */
function writeDumps(dir: string, count: number, stepS: number): void {
  mkdirSync(dir, { recursive: true });
  const first = readFileSync(join(SEED, 'list-poll.txt'), 'utf8').split('\n--\n')[0]!;
  const entries = first.split('\n').filter((l) => l.startsWith('ipv4'));
  for (let k = 0; k < count; k++) {
    const lines = entries.map((l) =>
      l.includes('sport=52001 ')
        ? l
        : l.replace(
            /^(ipv4\s+2 udp\s+17 )(\d+)/,
            (_m, p: string, t: string) => `${p}${Math.max(1, Number(t) - stepS * k)}`,
          ),
    );
    writeFileSync(join(dir, `${String(k).padStart(3, '0')}.txt`), `${lines.join('\n')}\n`);
  }
}

/** Fresh temp dirs, fake-tool env and a serve config for the seed incident. */
export function seedScenario(opts: { suspectPollMs?: number } = {}): SeedScenario {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-seed-'));
  const state = join(dir, 'state');
  mkdirSync(state);
  const nat = join(dir, 'nat');
  mkdirSync(nat);
  // First NAT poll: before the restart; second: during the gap; then the rules are back.
  writeFileSync(join(nat, '0.txt'), readFileSync(join(SEED, 'nat-before.txt')));
  writeFileSync(join(nat, '1.txt'), readFileSync(join(SEED, 'nat-during.txt')));
  writeFileSync(join(nat, '2.txt'), readFileSync(join(SEED, 'nat-after.txt')));
  const suspectPollMs = opts.suspectPollMs ?? 2000;
  writeDumps(join(dir, 'dumps'), 40, suspectPollMs / 1000);
  const env = {
    PATH: FAKE_PATH,
    FAKE_CT_STATE_DIR: state,
    FAKE_STATE_DIR: state,
    FAKE_CT_EVENTS: join(SEED, 'events-ts-ext-id.txt'),
    FAKE_CT_EVENTS_AFTER: 'stay',
    FAKE_CT_LIST: join(dir, 'dumps'),
    FAKE_CT_COUNT: '16',
    FAKE_IPTABLES_NAT: nat,
    FAKE_IPTABLES_FILTER: '',
  };
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
