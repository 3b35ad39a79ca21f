import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeCommandError, runNodeCommand } from '../../src/node/node-command.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctscope-cmd-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const EIGHT_MIB = 8 * 1024 * 1024;

/** Keep this thread busy without yielding, as a dump's ingest does. */
function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('runNodeCommand with stdoutFile (a full dump spooled to disk)', () => {
  it('the command writes the file itself, so it finishes while this thread is blocked', async () => {
    const file = join(dir, 'out');
    const run = runNodeCommand('dd', ['if=/dev/zero', 'bs=1M', 'count=8', 'status=none'], {
      stdoutFile: file,
    });
    // Once the command has written its first bytes, this thread reads nothing more.
    while (!exists(file) || statSync(file).size === 0) await new Promise((r) => setTimeout(r, 1));
    // Through a pipe this thread drains, the output could not reach the file while it never yields.
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < EIGHT_MIB && Date.now() < deadline) blockFor(10);
    expect(statSync(file).size).toBe(EIGHT_MIB);
    const r = await run;
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a file that cannot be created fails with a clear error', async () => {
    const err = await runNodeCommand('true', [], { stdoutFile: join(dir, 'missing', 'out') }).catch((e) => e);
    expect(err).toBeInstanceOf(NodeCommandError);
    expect((err as Error).message).toMatch(/^true: cannot write .*missing\/out: ENOENT$/);
  });
});

describe('runNodeCommand with nice', () => {
  // Raising priority needs CAP_SYS_NICE (CI runs as root with it); the first level allowed is kept.
  it.runIf(hasCapSysNice())('runs the command at the first nice level allowed', async () => {
    const r = await runNodeCommand('sh', ['-c', 'sleep 0.3; cut -d " " -f 19 /proc/$$/stat'], {
      nice: [-7, -1],
    });
    expect(r.stdout.trim()).toBe('-7');
  });

  it('without it, the command keeps our nice level', async () => {
    const r = await runNodeCommand('sh', ['-c', 'cut -d " " -f 19 /proc/$$/stat'], {});
    expect(r.stdout.trim()).toBe(String(ownNice()));
  });
});

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** CAP_SYS_NICE (bit 23) in this process's effective capabilities. */
function hasCapSysNice(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 23n)) !== 0n;
}

/** Field 19 of /proc/self/stat (16th after the command name). */
function ownNice(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}
