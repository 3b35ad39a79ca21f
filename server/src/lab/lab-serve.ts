/**
 * Runs `ctscope serve --netns NODE` for a lab, detached, with its log in the lab directory.
 *
 * iptables backend: serve reads the rules with plain `iptables-save` (and `ip6tables-save`), which is whatever
 * the host's alternatives point at (nft on Debian). Inside a namespace whose rules were loaded with
 * iptables-legacy, the nft `iptables-save` sees an empty nat table. So the lab makes a bin directory with
 * `iptables-save -> /usr/sbin/iptables-<backend>-save` (same for ip6tables) and puts it first on serve's PATH;
 * `ip netns exec` keeps PATH, so every `iptables-save` serve runs inside the namespace uses the lab's backend.
 * Do the same by hand when watching a legacy node: `PATH=/dir/with/links:$PATH ctscope serve …`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NODE_START_FLAGS } from '../config.js';
import { findOnPath } from '../sources/preflight.js';
import { type IptablesBackend, iptablesBinary, labPath } from './lab-netns.js';
import { processArgv, spawnDetached, stopProcess } from './lab-process.js';
import type { LabServe } from './lab-state.js';

/** The compiled CLI next to this file (dist/lab/ → dist/cli.js). */
export const CLI_PATH = join(import.meta.dirname, '..', 'cli.js');

export interface StartServeOptions {
  labName: string;
  node: string;
  backend: IptablesBackend;
  /** The lab's directory; logs/, data/ and bin/ go below it. */
  dir: string;
  /** Listen port; 0 picks the first free port from 7474 up. */
  port: number;
  suspectPollMs: number;
  natPollMs: number;
  /** Start serve with `--auto-remedy` (`on`) or `--auto-remedy-dry-run`. */
  autoRemedy?: 'off' | 'on' | 'dry-run';
  /** How long to wait for /healthz. */
  readyTimeoutMs?: number;
  /** Called as soon as the process exists (before it is ready), so its pid can be recorded for `lab down`. */
  onSpawned?: (serve: LabServe) => Promise<void>;
}

/** Make `<dir>/bin` with iptables-save/ip6tables-save pointing at the backend's binaries. */
export async function makeBackendBinDir(dir: string, backend: IptablesBackend): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  for (const family of [4, 6] as const) {
    const target = await findOnPath(iptablesBinary(backend, 'save', family), labPath());
    if (!target) {
      if (family === 4)
        throw new Error(`${iptablesBinary(backend, 'save')} not found (apt-get install iptables)`);
      continue;
    }
    const link = join(bin, family === 4 ? 'iptables-save' : 'ip6tables-save');
    await rm(link, { force: true });
    await symlink(target, link);
  }
  return bin;
}

/** First port from `start` that 127.0.0.1 can listen on. */
export async function findFreePort(start = 7474, tries = 100): Promise<number> {
  for (let port = start; port < start + tries; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${start}-${start + tries - 1}`);
}

/** argv words that identify the lab's serve process in /proc/PID/cmdline. */
export function serveMarker(node: string): string[] {
  return ['serve', '--netns', node];
}

/** Another process held the port picked for serve (e.g. a second lab starting at the same moment). */
class PortTaken extends Error {}

/**
 * Start ctscope serve for the lab and wait until it answers /healthz and takes its own token. A picked port that
 * another serve grabs first (labs starting side by side) is picked again: the lab never hands back someone
 * else's serve.
 */
export async function startServe(opts: StartServeOptions): Promise<LabServe> {
  const binDir = await makeBackendBinDir(opts.dir, opts.backend);
  const dataDir = join(opts.dir, 'data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(join(opts.dir, 'logs'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = opts.port === 0 ? await findFreePort() : opts.port;
    try {
      return await startServeOn(opts, port, binDir, dataDir);
    } catch (err) {
      if (!(err instanceof PortTaken) || opts.port !== 0 || attempt >= 5) throw err;
    }
  }
}

async function startServeOn(
  opts: StartServeOptions,
  port: number,
  binDir: string,
  dataDir: string,
): Promise<LabServe> {
  const log = join(opts.dir, 'logs', 'ctscope-serve.log');
  const token = randomBytes(18).toString('base64url');
  const argv = [
    process.execPath,
    ...NODE_START_FLAGS,
    CLI_PATH,
    ...serveMarker(opts.node),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--allow-delete',
    '--nat-source',
    'iptables',
    '--suspect-poll',
    String(opts.suspectPollMs),
    '--nat-poll',
    String(opts.natPollMs),
    '--node-name',
    `${opts.labName} (ctscope lab)`,
    '--retention-bytes',
    String(64 * 1024 * 1024),
  ];
  if (opts.autoRemedy === 'on') argv.push('--auto-remedy');
  if (opts.autoRemedy === 'dry-run') argv.push('--auto-remedy-dry-run');
  // The token goes through the environment, not argv: /proc/PID/cmdline is world-readable.
  const env = { ...process.env, PATH: `${binDir}:${labPath()}`, CTSCOPE_TOKEN: token };
  const pid = await spawnDetached(argv, log, env);
  const url = `http://127.0.0.1:${port}`;
  const serve: LabServe = {
    pid,
    url,
    port,
    token,
    log,
    dataDir,
    binDir,
    suspectPollMs: opts.suspectPollMs,
    natPollMs: opts.natPollMs,
    autoRemedy: opts.autoRemedy ?? 'off',
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (!(await processArgv(pid))) {
      const why = await tail(log);
      if (why.includes('EADDRINUSE')) throw new PortTaken(`port ${port} is taken`);
      throw new Error(`ctscope serve exited during start-up; its log (${log}):\n${why}`);
    }
    if (await answersAs(url, token)) return serve;
    await sleep(100);
  }
  await stopServe(serve, opts.node);
  throw new Error(
    `ctscope serve did not answer ${url}/healthz within ${opts.readyTimeoutMs ?? 20_000} ms; its log (${log}):\n${await tail(log)}`,
  );
}

/** Whether the serve at `url` is up (/healthz) and is ours: it takes `token` (another serve answers 401). */
async function answersAs(url: string, token: string): Promise<boolean> {
  try {
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    if (health.status !== 200 && health.status !== 503) return false;
    const own = await fetch(`${url}/api/flows?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(1000),
    });
    await own.body?.cancel();
    return own.status === 200;
  } catch {
    return false; // not listening yet
  }
}

export async function stopServe(serve: Pick<LabServe, 'pid'>, node: string): Promise<boolean> {
  return stopProcess(serve.pid, serveMarker(node), 5000);
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
