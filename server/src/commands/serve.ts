/** `ctscope serve`: preflight, the live agent, and the HTTP server. */
import { join } from 'node:path';
import { applyV8Flags, ConfigError, missingStartFlags, type ServeConfig, validateConfig } from '../config.js';
import { NodeAgent } from '../engine/node-agent.js';
import { AuditLog } from '../http/audit-log.js';
import { recordingRoutes } from '../http/recording-routes.js';
import { onShutdown, startServer } from '../http/server.js';
import { formatPreflight, preflightVerdict, runPreflight } from '../sources/preflight.js';
import type { Io } from './analyze.js';

/** Start serving; resolves once listening. Returns an exit code on failure. */
export async function runServe(
  config: ServeConfig,
  io: Io,
  opts: { skipPreflight?: boolean } = {},
): Promise<number | { stop: () => Promise<void>; url: string }> {
  try {
    validateConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`ctscope serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!opts.skipPreflight) {
    const checks = await runPreflight({ node: { netns: config.netns }, natMode: config.natSource });
    const verdict = preflightVerdict(checks);
    const report = formatPreflight(checks);
    if (verdict !== 'ok') io.err(report.endsWith('\n') ? report : `${report}\n`);
    if (verdict === 'fatal') {
      io.err('ctscope serve: cannot work on this node (see above); exiting\n');
      return 1;
    }
    if (verdict === 'degraded')
      io.err(
        'ctscope serve: starting despite the warnings above; a source that cannot work shows as failed\n',
      );
  }
  applyV8Flags('live');
  const missing = missingStartFlags();
  if (missing.length > 0)
    io.err(
      `ctscope serve: node was started without ${missing.join(' ')} (run the ctscope bin, not dist/cli.js): expect more CPU and memory under a flood\n`,
    );
  const audit = new AuditLog(join(config.dataDir, 'audit.log'));
  const agent = new NodeAgent(config, Date.now, audit);
  await agent.start();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      engine: agent,
      token: config.token,
      allowedHosts: config.allowedHosts,
      audit,
      webRoot: config.webRoot,
      host: config.host,
      port: config.port,
      extraRoutes: recordingRoutes(config.record ? config.dataDir : undefined),
    });
  } catch (err) {
    await agent.stop();
    io.err(`ctscope serve: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return 1;
  }
  io.err(`ctscope serve: listening on ${server.url}${config.netns ? ` (netns ${config.netns})` : ''}\n`);
  if (config.autoRemedy.mode !== 'off')
    io.err(
      `ctscope serve: auto-remedy is ${config.autoRemedy.mode === 'on' ? 'ON: confirmed stuck entries are deleted without asking' : 'in DRY-RUN: would-be deletes are only logged'} (audit: ${join(config.dataDir, 'audit.log')})\n`,
    );
  const stop = async () => {
    await server.app.close();
    await agent.stop();
  };
  return { stop, url: server.url };
}

export { onShutdown };
