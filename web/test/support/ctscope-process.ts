/**
 * Test helper: runs the built `ctscope` CLI as a child process, in its own process group so that stopping it
 * also ends the fake node tools it spawned. `serve` uses the fake-tool seed scenario (the same env as
 * server/test/seed-scenario.ts builds), so no root or real conntrack is needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, seedEnv, seedServeArgs, WEB_DIST } from '../../../server/test/seed-env.mjs';

export { CLI, REPO, WEB_DIST } from '../../../server/test/seed-env.mjs';

/** Every group still running, so a crashed test run does not leave servers behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) killGroup(p, 'SIGKILL');
});

function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    // Already gone.
  }
}

/** A TCP port that was free a moment ago. */
/** Close the browser, then stop the server and remove its files; either may be unset if set-up failed. */
export async function closeAll(
  browser: { close(): Promise<void> } | undefined,
  server: CtscopeProcess | undefined,
): Promise<void> {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A running ctscope child process and how to end it. */
export interface CtscopeProcess {
  port: number;
  url: string;
  /** Temp dir holding this run's state (removed by stop unless kept). */
  dir: string;
  /** Recording directory (serve only). */
  dataDir?: string;
  stderr: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; the whole process group. */
  stop: (graceMs?: number) => Promise<void>;
  /** SIGKILL the group at once, as a crash or a lost node would. */
  kill: () => Promise<void>;
  /** Remove the temp dir. */
  cleanup: () => void;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('CTSCOPE_')) env[k] = v;
  return env;
}

async function launch(
  args: string[],
  env: Record<string, string>,
  port: number,
  dir: string,
  dataDir?: string,
): Promise<CtscopeProcess> {
  let err = '';
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  running.add(proc);
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => running.delete(proc));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ctscope ${args[0]} exited ${proc.exitCode}: ${err}`);
    if (/listening on|serving on/.test(err)) break;
    if (Date.now() > deadline) {
      killGroup(proc, 'SIGKILL');
      throw new Error(`ctscope ${args[0]} did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (graceMs = 5000) => {
    killGroup(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // The fake tools may outlive the server's own exit by a moment: end the group for good.
    killGroup(proc, 'SIGKILL');
  };
  return {
    port,
    url,
    dir,
    dataDir,
    stderr: () => err,
    stop,
    kill: async () => {
      killGroup(proc, 'SIGKILL');
      await exited;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `ctscope serve` on the seed incident with fake node tools; `env` replaces some of the fakes' inputs. */
export async function startSeedServe(
  opts: {
    port?: number;
    suspectPollMs?: number;
    extraArgs?: string[];
    env?: (dir: string) => Record<string, string>;
  } = {},
): Promise<CtscopeProcess> {
  const seeded = seedEnv(opts.suspectPollMs);
  const dir = seeded.dir;
  const env = { ...seeded.env, ...(opts.env?.(dir) ?? {}) };
  const port = opts.port ?? (await freePort());
  const dataDir = join(dir, 'data');
  const args = [
    ...seedServeArgs({ port, dataDir, suspectPollMs: opts.suspectPollMs }),
    ...(opts.extraArgs ?? []),
  ];
  return launch(args, env, port, dir, dataDir);
}

/** `ctscope replay PATH`. */
export async function startReplay(path: string, opts: { port?: number } = {}): Promise<CtscopeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-web-replay-'));
  const port = opts.port ?? (await freePort());
  return launch(['replay', path, '--port', String(port), '--web-root', WEB_DIST], {}, port, dir);
}

/** `ctscope fleet --prometheus URL` serving the built page. */
export async function startFleet(prometheus: string, extraArgs: string[] = []): Promise<CtscopeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-web-fleet-'));
  const port = await freePort();
  return launch(
    ['fleet', '--prometheus', prometheus, '--port', String(port), '--web-root', WEB_DIST, ...extraArgs],
    {},
    port,
    dir,
  );
}
