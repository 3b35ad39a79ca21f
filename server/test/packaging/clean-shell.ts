/** Runs commands the way a person's shell outside the repository would: a clean environment and a time limit. */
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Run a command; resolves with its exit code and interleaved stdout+stderr, rejects after `timeoutMs`. */
export function exec(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} timed out after ${opts.timeoutMs} ms:\n${out}`));
    }, opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/**
 * The environment of a shell outside the repository: no NODE_PATH, no repository node_modules/.bin on PATH, none of
 * `npm run`'s variables that point into the repository (npm's own settings such as its cache or registry stay).
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const inRepo =
    /^(NODE_PATH|INIT_CWD|VITEST.*|npm_package_.*|npm_lifecycle_.*|npm_config_(local_prefix|workspaces?))$/;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!inRepo.test(k)) env[k] = v;
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((d) => !d.startsWith(ROOT) && !d.includes('node_modules'))
    .join(delimiter);
  return env;
}
