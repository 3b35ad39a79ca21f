/**
 * The seed incident played by the server's fake node tools (fake-bin, fake-bin-nat): temp state, env vars and
 * `ctscope serve` arguments. Shared by the server tests, the web demo script and the browser tests (no root).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Repository root. */
export const REPO = join(import.meta.dirname, '..', '..');
/** The built ctscope CLI. */
export const CLI = join(REPO, 'server', 'dist', 'cli.js');
/** The built page. */
export const WEB_DIST = join(REPO, 'web', 'dist');
const SEED = join(REPO, 'shared', 'test', 'fixtures', 'seed-incident');
const FAKE_BINS = [join(REPO, 'server', 'test', 'fake-bin'), join(REPO, 'server', 'test', 'fake-bin-nat')];

/** Dumps as the kernel would print them every `stepS` seconds: 52001 stays at 29 (refreshed), the rest count down. */
function writeDumps(dir, count, stepS) {
  mkdirSync(dir, { recursive: true });
  const first = readFileSync(join(SEED, 'list-poll.txt'), 'utf8').split('\n--\n')[0];
  const entries = first.split('\n').filter((l) => l.startsWith('ipv4'));
  for (let k = 0; k < count; k++) {
    const lines = entries.map((l) =>
      l.includes('sport=52001 ')
        ? l
        : l.replace(/^(ipv4\s+2 udp\s+17 )(\d+)/, (_m, p, t) => `${p}${Math.max(1, Number(t) - stepS * k)}`),
    );
    writeFileSync(join(dir, `${String(k).padStart(3, '0')}.txt`), `${lines.join('\n')}\n`);
  }
}

/** A fresh temp dir with the fake tools' inputs, and the env that points the tools at it. */
export function seedEnv(suspectPollMs = 2000) {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-web-seed-'));
  const state = join(dir, 'state');
  const nat = join(dir, 'nat');
  mkdirSync(state);
  mkdirSync(nat);
  // NAT polls: before the CoreDNS restart, during the rule gap, then the rules are back.
  writeFileSync(join(nat, '0.txt'), readFileSync(join(SEED, 'nat-before.txt')));
  writeFileSync(join(nat, '1.txt'), readFileSync(join(SEED, 'nat-during.txt')));
  writeFileSync(join(nat, '2.txt'), readFileSync(join(SEED, 'nat-after.txt')));
  writeDumps(join(dir, 'dumps'), 40, suspectPollMs / 1000);
  return {
    dir,
    env: {
      PATH: `${FAKE_BINS.join(':')}:${process.env.PATH}`,
      FAKE_CT_STATE_DIR: state,
      FAKE_STATE_DIR: state,
      FAKE_CT_EVENTS: join(SEED, 'events-ts-ext-id.txt'),
      FAKE_CT_EVENTS_AFTER: 'stay',
      FAKE_CT_LIST: join(dir, 'dumps'),
      FAKE_CT_COUNT: '16',
      FAKE_IPTABLES_NAT: nat,
      FAKE_IPTABLES_FILTER: '',
    },
  };
}

/** `ctscope serve` arguments for the seed scenario. */
export function seedServeArgs({ port, dataDir, suspectPollMs = 2000 }) {
  return [
    'serve',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--nat-source',
    'iptables',
    '--skip-preflight',
    '--web-root',
    WEB_DIST,
    '--suspect-poll',
    String(suspectPollMs),
    '--nat-poll',
    '300',
    '--counters-poll',
    '1000',
    '--node-name',
    'seed-node',
  ];
}
