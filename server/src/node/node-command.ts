/**
 * The one command runner for node tools (conntrack, iptables-save, ip, ...), used by the sources and the lab:
 * argument arrays through execa, never a shell string, inside `ip netns exec NAME` when a namespace is set.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { LineSplitter } from '@ctscope/shared';
import { execa, type Options, type ResultPromise } from 'execa';
import { bestNice } from './nice-level.js';

/** How every node command is run: optionally inside `ip netns exec NAME`. */
export interface NodeCommandOptions {
  /** Network namespace to enter, if any. */
  netns?: string;
}

/** Options of one short command. */
export interface RunOptions extends NodeCommandOptions {
  /** Kill it after this long, ms (default 30 s). */
  timeoutMs?: number;
  maxBuffer?: number;
  signal?: AbortSignal;
  /** Text for its stdin (default: no stdin). */
  input?: string;
  /** Exit codes that are not failures (default [0]); e.g. `conntrack -D` matching nothing exits 1. */
  okExitCodes?: readonly number[];
  /** Extra environment variables (merged over the process's). */
  env?: Record<string, string>;
  /**
   * Write stdout to this file instead of buffering it (`stdout` is then ''): the command runs at its own speed
   * even while the main thread is too busy to drain a pipe.
   */
  stdoutFile?: string;
  /**
   * Hand stdout over line by line as it arrives instead of buffering it (the result's `stdout` is then empty):
   * a full dump of a busy table is tens of MB, and one string of it plus its split copy doubled the peak.
   * `maxBuffer` still bounds the total (in chars). Not with `stdoutFile`.
   */
  onStdoutLines?: (lines: string[]) => void;
  /** Nice levels to try for the command once started, best first (none allowed leaves it at ours). */
  nice?: readonly number[];
}

/** argv for `cmd args…`, wrapped in `ip netns exec NAME` when a namespace is set. Never a shell string. */
export function nodeArgv(cmd: string, args: readonly string[], opts: NodeCommandOptions): [string, string[]] {
  return opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, [...args]];
}

/** Result of a short node command. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** ms it took. */
  durationMs: number;
}

/** Why a short command failed, in words an operator can act on. */
export class NodeCommandError extends Error {
  constructor(
    message: string,
    readonly result?: CommandResult,
  ) {
    super(message);
  }
}

/** Run a short command to completion (buffers output; rejects with a clear NodeCommandError). */
export async function runNodeCommand(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const [file, argv] = nodeArgv(cmd, args, opts);
  const started = Date.now();
  const maxBuffer = opts.maxBuffer ?? 512 * 1024 * 1024;
  // The child writes the file through its own descriptor: execa's `{file}` would pipe it through this thread.
  let out: FileHandle | undefined;
  if (opts.stdoutFile !== undefined) {
    try {
      out = await open(opts.stdoutFile, 'w', 0o600);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new NodeCommandError(`${[file, ...argv].join(' ')}: cannot write ${opts.stdoutFile}: ${why}`);
    }
  }
  try {
    return await runWith(file, argv, opts, started, maxBuffer, out?.fd);
  } finally {
    await out?.close();
  }
}

async function runWith(
  file: string,
  argv: string[],
  opts: RunOptions,
  started: number,
  maxBuffer: number,
  stdoutFd: number | undefined,
): Promise<CommandResult> {
  const onLines = opts.onStdoutLines;
  const sub = execa(file, argv, {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer,
    stripFinalNewline: false,
    // Any descriptor number goes to spawn as is; execa's types list only 3-9.
    ...(stdoutFd === undefined ? {} : { stdout: stdoutFd as 3 }),
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    cancelSignal: opts.signal,
    ...(opts.env ? { env: opts.env } : {}),
    ...(onLines ? { buffer: { stdout: false } } : {}),
  });
  if (opts.nice !== undefined && sub.pid !== undefined) bestNice(sub.pid, opts.nice);
  let streamedTooLarge = false;
  let splitter: LineSplitter | undefined;
  if (onLines && sub.stdout) {
    splitter = new LineSplitter({ maxLineLength: maxBuffer });
    let chars = 0;
    sub.stdout.setEncoding('utf8');
    sub.stdout.on('data', (chunk: string) => {
      if (streamedTooLarge) return;
      chars += chunk.length;
      if (chars > maxBuffer) {
        streamedTooLarge = true;
        sub.kill();
        return;
      }
      const lines = splitter!.push(chunk);
      if (lines.length > 0) onLines(lines);
    });
  }
  const r = await sub;
  if (splitter && !streamedTooLarge) {
    const rest = splitter.flush();
    if (rest.length > 0) onLines!(rest);
  }
  const isMaxBuffer = r.isMaxBuffer || streamedTooLarge;
  const result: CommandResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? -1,
    durationMs: Date.now() - started,
  };
  const accepted =
    r.exitCode !== undefined &&
    !r.timedOut &&
    !r.isCanceled &&
    !isMaxBuffer &&
    (opts.okExitCodes ?? [0]).includes(r.exitCode);
  if ((r.failed || streamedTooLarge) && !accepted) {
    const what = [file, ...argv].join(' ');
    let why: string;
    if ((r as { code?: string }).code === 'ENOENT') why = `${file}: command not found`;
    else if (r.isCanceled) why = 'cancelled (stopping)';
    else if (r.timedOut) why = `timed out after ${opts.timeoutMs ?? 30_000} ms`;
    else if (isMaxBuffer) why = 'output too large';
    else why = firstLine(result.stderr) || `exit code ${result.exitCode}${r.signal ? ` (${r.signal})` : ''}`;
    throw new NodeCommandError(`${what}: ${why}`, result);
  }
  return result;
}

/** Start a long-running command (e.g. `conntrack -E`); the caller reads its streams. */
export function spawnNodeCommand(
  cmd: string,
  args: readonly string[],
  opts: NodeCommandOptions,
  extra: Options = {},
): ResultPromise {
  const [file, argv] = nodeArgv(cmd, args, opts);
  return execa(file, argv, { reject: false, buffer: false, stdin: 'ignore', ...extra });
}

function firstLine(s: string): string {
  const t = s.trim();
  const i = t.indexOf('\n');
  return i < 0 ? t : t.slice(0, i);
}
