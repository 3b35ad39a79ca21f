#!/usr/bin/env node
/**
 * `npm run demo -w @ctscope/web`: runs `ctscope serve` on the seed incident with the fake node tools (no root,
 * no conntrack needed) and prints the page's address. Ctrl-C stops it; the recording stays for `ctscope replay`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, seedEnv, seedServeArgs, WEB_DIST } from '../../server/test/seed-env.mjs';

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 7474;
if (!existsSync(CLI) || !existsSync(join(WEB_DIST, 'index.html'))) {
  console.error('Build first: npm run build (from the repository root).');
  process.exit(2);
}
// As the bin starts it: node's start flags (imported once the build is known to exist).
const { NODE_START_FLAGS } = await import('../../server/dist/config.js');
const { dir, env } = seedEnv();
const dataDir = join(dir, 'data');
const child = spawn(process.execPath, [...NODE_START_FLAGS, CLI, ...seedServeArgs({ port, dataDir })], {
  env: { ...process.env, ...env },
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
console.log(`Seed incident on http://127.0.0.1:${port}/  (wall: http://127.0.0.1:${port}/?kiosk=1)`);
console.log(`Recording in ${dataDir}; afterwards: npx ctscope replay ${dataDir} --web-root ${WEB_DIST}`);
const stop = () => {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => process.exit(code ?? 0));
