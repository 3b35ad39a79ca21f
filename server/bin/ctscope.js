#!/usr/bin/env -S node --v8-pool-size=1 --max-semi-space-size=4
// The `ctscope` bin. It is committed (not built) so that `npm ci` can link it on a fresh clone; it loads the built CLI.
// Its shebang carries NODE_START_FLAGS (server/src/config.ts): flags node takes only at start.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    `ctscope: ${fileURLToPath(cli)} is missing: the server is not built. Run \`npm run build\` first (from the repository root).\n`,
  );
  process.exit(2);
}
await import(cli.href);
