/**
 * Browser tests run the built CLI and the built page. Root `npm test` builds everything first; when run on
 * their own, build whatever is missing here so `npm test -w @ctscope/web` works from a clean checkout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO, WEB_DIST } from './ctscope-process.js';

/** Build shared, server and web when their output is missing. */
export default function setup(): void {
  if (!existsSync(join(REPO, 'shared', 'dist', 'index.js')) || !existsSync(CLI)) {
    execFileSync('npx', ['tsc', '-b', 'shared', 'server'], { cwd: REPO, stdio: 'inherit' });
  }
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    execFileSync('npx', ['vite', 'build'], { cwd: join(REPO, 'web'), stdio: 'inherit' });
  }
}
