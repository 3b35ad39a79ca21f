/**
 * Background processes the lab starts (responders, clients, ctscope serve): started detached with their
 * output in a log file so they outlive `ctscope lab up`, and stopped by pid, only after checking that the
 * pid still runs the command the lab started (pids get reused).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Start `argv` detached, stdout and stderr appended to `logFile`; resolves with its pid once it has spawned. */
export async function spawnDetached(
  argv: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${argv.join(' ')}: ${err.message}`)));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** The process's argv, or undefined when it is gone. */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined; // zombie
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and its argv contains every one of `marker` (in order, adjacent). */
export async function runsCommand(pid: number, marker: readonly string[]): Promise<boolean> {
  const argv = await processArgv(pid);
  if (!argv) return false;
  for (let i = 0; i + marker.length <= argv.length; i++) {
    if (marker.every((m, j) => argv[i + j] === m)) return true;
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM `pid` if it still runs the command identified by `marker`, SIGKILL after `graceMs`.
 * Returns false when there was nothing (of ours) to stop.
 */
export async function stopProcess(pid: number, marker: readonly string[], graceMs = 3000): Promise<boolean> {
  if (!(await runsCommand(pid, marker))) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await processArgv(pid))) return true;
    await sleep(50);
  }
  if (await runsCommand(pid, marker)) signal(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(pid) && (await processArgv(pid)); i++) await sleep(25);
  return true;
}

/** Kill processes found inside one of the lab's own namespaces (leftovers): TERM, then KILL. */
export async function killAll(pids: readonly number[], graceMs = 2000): Promise<void> {
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = [...pids];
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = (await Promise.all(left.map(async (p) => ((await processArgv(p)) ? p : 0)))).filter((p) => p > 0);
  }
  for (const pid of left) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
