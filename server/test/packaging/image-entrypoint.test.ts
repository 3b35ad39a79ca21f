/** The image's entrypoint (deploy/image/ctscope) picks the iptables backend the node uses, with fake iptables-*-save tools and a stub ctscope. */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_START_FLAGS } from '../../src/config.js';

const ENTRYPOINT = join(import.meta.dirname, '..', '..', '..', 'deploy', 'image', 'ctscope');

/** What each fake tool prints: `FAKE_<BACKEND>_<TABLE>` for `-t TABLE`, `FAKE_<BACKEND>_ALL` without `-t`. */
const FAKE_SAVE = `#!/bin/sh
backend=$1; shift
[ -n "\${FAKE_CALLS:-}" ] && echo "$backend" >> "$FAKE_CALLS"
table=ALL
[ "\${1:-}" = -t ] && table=$(echo "$2" | tr a-z A-Z)
eval "out=\\\${FAKE_$(echo "$backend" | tr a-z A-Z)_$table:-}"
[ -n "$out" ] || exit 1
printf '%b\\n' "$out"
`;

/** The real bin, which loads server/dist/cli.js. */
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ctscope.js');

/** Stands in for server/dist/cli.js: reports its arguments, node's flags and which iptables-save comes first on PATH. */
const STUB_CLI = `import { existsSync } from 'node:fs';
const dir = process.env.PATH.split(':').find((d) => existsSync(d + '/iptables-save'));
console.log(JSON.stringify({ argv: process.argv.slice(2), execArgv: process.execArgv, iptablesSave: dir ?? null }));
`;

describe('deploy/image/ctscope', () => {
  let tmp: string;
  let home: string;
  let bin: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'ctscope-entrypoint-'));
    home = join(tmp, 'app');
    bin = join(tmp, 'bin');
    mkdirSync(join(home, 'server', 'dist'), { recursive: true });
    writeFileSync(join(home, 'server', 'dist', 'cli.js'), STUB_CLI);
    mkdirSync(join(home, 'server', 'bin'));
    copyFileSync(BIN, join(home, 'server', 'bin', 'ctscope.js'));
    chmodSync(join(home, 'server', 'bin', 'ctscope.js'), 0o755);
    for (const mode of ['nft', 'legacy']) {
      mkdirSync(join(home, 'iptables', mode), { recursive: true });
      writeFileSync(join(home, 'iptables', mode, 'iptables-save'), '');
    }
    mkdirSync(bin);
    writeFileSync(join(bin, 'fake-save'), FAKE_SAVE);
    chmodSync(join(bin, 'fake-save'), 0o755);
    for (const family of ['iptables', 'ip6tables'])
      for (const backend of ['nft', 'legacy']) {
        const tool = join(bin, `${family}-${backend}-save`);
        // ip6tables shares the IPv4 answers: enough for counting rule lines.
        writeFileSync(tool, `#!/bin/sh\nexec "${join(bin, 'fake-save')}" ${backend} "$@"\n`);
        chmodSync(tool, 0o755);
      }
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  function run(args: string[], fake: Record<string, string> = {}) {
    const calls = join(tmp, `calls-${Math.random().toString(36).slice(2)}`);
    const r = spawnSync('/bin/sh', [ENTRYPOINT, ...args], {
      encoding: 'utf8',
      env: {
        PATH: [bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
        CTSCOPE_HOME: home,
        FAKE_CALLS: calls,
        ...fake,
      },
    });
    const called = existsSync(calls) ? readFileSync(calls, 'utf8') : '';
    const out = r.status === 0 ? JSON.parse(r.stdout) : undefined;
    const fromImage = out?.iptablesSave?.startsWith(join(home, 'iptables'));
    const mode = fromImage ? out.iptablesSave.split('/').at(-1) : undefined;
    return { status: r.status, stderr: r.stderr, argv: out?.argv, execArgv: out?.execArgv, mode, called };
  }

  it('follows kubelet’s KUBE-IPTABLES-HINT in nft', () => {
    const r = run(['serve'], {
      FAKE_NFT_MANGLE: '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT',
      FAKE_LEGACY_ALL: '-A KUBE-SERVICES -j X\n-A KUBE-SERVICES -j Y',
    });
    expect(r).toMatchObject({ status: 0, argv: ['serve'], mode: 'nft' });
    expect(r.stderr).toContain('iptables backend nft (KUBE-IPTABLES-HINT found in nft)');
  });

  it('starts node through the bin, with the flags that only take effect at start', () => {
    const r = run(['serve'], { CTSCOPE_IPTABLES_MODE: 'nft' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.execArgv).toEqual([...NODE_START_FLAGS]);
  });

  it('follows the hint in legacy', () => {
    const r = run(['serve', '--port', '7475'], {
      FAKE_NFT_MANGLE: '*mangle\nCOMMIT',
      FAKE_LEGACY_MANGLE: '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT',
    });
    expect(r).toMatchObject({ status: 0, argv: ['serve', '--port', '7475'], mode: 'legacy' });
  });

  it('without a hint, picks the backend with more rules', () => {
    expect(
      run(['serve'], { FAKE_LEGACY_ALL: '-A KUBE-SERVICES -j X\n-A A -j B', FAKE_NFT_ALL: '-A A -j B' }).mode,
    ).toBe('legacy');
    expect(run(['serve'], { FAKE_LEGACY_ALL: '-A A -j B', FAKE_NFT_ALL: '-A A -j B' }).mode).toBe('nft');
  });

  it('falls back to nft when no iptables tool answers (no privileges, no tables)', () => {
    const r = run(['serve']);
    expect(r).toMatchObject({ status: 0, mode: 'nft' });
    expect(r.stderr).toContain('rule lines: legacy 0, nft 0');
  });

  it('CTSCOPE_IPTABLES_MODE overrides the detection, and a bad value stops', () => {
    const r = run(['serve'], { CTSCOPE_IPTABLES_MODE: 'legacy' });
    expect(r).toMatchObject({ status: 0, mode: 'legacy', called: '' });
    const bad = run(['serve'], { CTSCOPE_IPTABLES_MODE: 'nftables' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('CTSCOPE_IPTABLES_MODE must be auto, nft or legacy');
  });

  it('leaves other commands alone', () => {
    const r = run(['analyze', '--nat', 'x.txt'], { FAKE_LEGACY_MANGLE: ':KUBE-IPTABLES-HINT - [0:0]' });
    expect(r).toMatchObject({ status: 0, argv: ['analyze', '--nat', 'x.txt'], mode: undefined, called: '' });
  });
});
