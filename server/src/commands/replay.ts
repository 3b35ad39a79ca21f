/** `ctscope replay PATH`: serve the API and page from a recording instead of the live node. */
import { dirname, join } from 'node:path';
import { applyV8Flags, ConfigError, checkToken, isLoopback } from '../config.js';
import { ReplayEngine } from '../engine/replay-engine.js';
import { postmortemRoutes } from '../http/postmortem-routes.js';
import { replayRoutes } from '../http/recording-routes.js';
import { startServer } from '../http/server.js';
import type { Io } from './analyze.js';

export interface ReplayOptions {
  path: string;
  host: string;
  port: number;
  token?: string;
  /** Host names accepted without a token besides loopback. */
  allowedHosts?: string[];
  webRoot?: string;
  /** Start playing immediately (default: paused at the end, showing the final state). */
  play?: boolean;
}

export async function runReplay(
  opts: ReplayOptions,
  io: Io,
): Promise<number | { stop: () => Promise<void>; url: string; engine: ReplayEngine }> {
  if (!isLoopback(opts.host) && !opts.token) {
    io.err(
      `ctscope replay: ${new ConfigError(`refusing to listen on ${opts.host} without --token`).message}\n`,
    );
    return 2;
  }
  try {
    checkToken(opts.token);
  } catch (err) {
    io.err(`ctscope replay: ${(err as Error).message}\n`);
    return 2;
  }
  applyV8Flags('replay');
  let engine: ReplayEngine;
  try {
    engine = await ReplayEngine.open(opts.path, (n) =>
      io.err(`ctscope replay: indexing ${opts.path}: ${n} records\n`),
    );
  } catch (err) {
    io.err(`ctscope replay: cannot read ${opts.path}: ${(err as Error).message}\n`);
    return 2;
  }
  const idx = engine.recording.index;
  if (idx.records === 0) {
    io.err(`ctscope replay: ${opts.path} holds no records\n`);
    return 2;
  }
  const src = engine.recording.source;
  const segDir = dirname(src.files[0] ?? src.path);
  for (const s of src.skipped) io.err(`ctscope replay: ${join(src.path, s.name)}: ${s.reason} (skipped)\n`);
  // Every error names the segment file it came from.
  for (const e of idx.errors.slice(0, 10))
    io.err(`ctscope replay: ${join(segDir, e.segment)}: line ${e.line}: ${e.error} (skipped)\n`);
  if (idx.readErrors > 10) io.err(`ctscope replay: ${idx.readErrors - 10} more unreadable lines skipped\n`);
  if (opts.play) {
    engine.clock.seek(engine.clock.state().start);
    engine.clock.play();
  } else {
    engine.clock.seek(engine.clock.state().end);
  }
  engine.advanceTo(engine.clock.time);
  const server = await startServer({
    engine,
    token: opts.token,
    allowedHosts: opts.allowedHosts,
    webRoot: opts.webRoot,
    host: opts.host,
    port: opts.port,
    extraRoutes: async (app) => {
      await replayRoutes(engine)(app);
      await postmortemRoutes(engine)(app);
    },
  });
  io.err(
    `ctscope replay: ${idx.records} records from ${opts.path} (index: ${idx.checkpoints.length} checkpoints in ${engine.recording.source.indexDir}), serving on ${server.url}\n`,
  );
  return {
    stop: async () => {
      await server.app.close();
      await engine.close();
    },
    url: server.url,
    engine,
  };
}
