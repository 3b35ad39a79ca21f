/**
 * The README's Quick start, run as a new user meets it: a fresh `git clone` of this repository's HEAD, then the
 * commands of README.md's first `sh` block, as written there (so the README and this test cannot drift).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, exec, ROOT } from './clean-shell.js';

/** `npm ci` + `npm run build` of all workspaces: ~40 s with a warm npm cache on the 2-core machine. */
const SETUP_TIMEOUT_MS = 300_000;

/** The logical commands of the first fenced `sh` block under `heading`: continuations joined, comments dropped. */
function shellBlock(markdown: string, heading: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README.md has no "## ${heading}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`"## ${heading}" has no \`\`\`sh block`);
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('the README Quick start on a fresh clone', () => {
  let tmp: string;
  let clone: string;
  const results: { command: string; code: number | null; out: string }[] = [];
  const env = cleanEnv();
  const sh = (command: string, timeoutMs = 60_000) =>
    exec('bash', ['-c', command], { cwd: clone, env, timeoutMs });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ctscope-clone-'));
    clone = join(tmp, 'ctscope');
    const cloned = await exec('git', ['clone', '--quiet', ROOT, clone], { cwd: tmp, env, timeoutMs: 60_000 });
    if (cloned.code !== 0) throw new Error(`git clone failed:\n${cloned.out}`);
    for (const command of shellBlock(readFileSync(join(clone, 'README.md'), 'utf8'), 'Quick start'))
      results.push({ command, ...(await sh(command, SETUP_TIMEOUT_MS)) });
  }, SETUP_TIMEOUT_MS * 2);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('sets up with exit 0, then prints the seed flow as CRITICAL and exits 1', () => {
    expect(results.length).toBeGreaterThanOrEqual(2);
    const last = results.at(-1)!;
    for (const r of results.slice(0, -1)) expect(r.code, `${r.command}\n${r.out}`).toBe(0);
    expect(last.command).toMatch(/^npx ctscope analyze /);
    expect(last.out).not.toContain('could not determine executable');
    expect(last.out).toMatch(/CRITICAL/);
    expect(last.out).toMatch(/52001/);
    expect(last.out).toMatch(/no-dnat/);
    expect(last.code, last.out).toBe(1);
  });

  it('answers npx ctscope --help and --version', async () => {
    const help = await sh('npx ctscope --help');
    expect(help.code, help.out).toBe(0);
    for (const command of ['analyze', 'serve', 'replay', 'lab']) expect(help.out).toContain(command);
    const version = await sh('npx ctscope --version');
    expect(version.code, version.out).toBe(0);
    const pkg = JSON.parse(readFileSync(join(clone, 'server', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.out.trim()).toBe(pkg.version);
  });

  it('says "run npm run build first" when the server is not built', async () => {
    const dist = join(clone, 'server', 'dist');
    renameSync(dist, `${dist}.away`);
    try {
      const r = await sh('npx ctscope --version');
      expect(r.code).toBe(2);
      expect(r.out).toContain('npm run build');
    } finally {
      renameSync(`${dist}.away`, dist);
    }
    expect(existsSync(join(dist, 'cli.js'))).toBe(true);
  });
});
