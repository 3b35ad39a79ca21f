/** `ctscope replay PATH`: serve the API and page from a recording instead of the live node. */
import { ConfigError, checkToken, isLoopback } from '../config.js';
import { loadRecording, ReplayEngine } from '../engine/replay-engine.js';
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
  let rec: Awaited<ReturnType<typeof loadRecording>>;
  try {
    rec = await loadRecording(opts.path);
  } catch (err) {
    io.err(`ctscope replay: cannot read ${opts.path}: ${(err as Error).message}\n`);
    return 2;
  }
  if (rec.records.length === 0) {
    io.err(`ctscope replay: ${opts.path} holds no records\n`);
    return 2;
  }
  for (const e of rec.errors.slice(0, 10))
    io.err(`ctscope replay: ${e.path}: line ${e.line}: ${e.error} (skipped)\n`);
  if (rec.errors.length > 10)
    io.err(`ctscope replay: ${rec.errors.length - 10} more unreadable lines skipped\n`);
  const engine = new ReplayEngine(rec);
  if (opts.play) {
    engine.clock.seek(engine.clock.state().start);
    engine.clock.play();
  } else {
    engine.clock.seek(engine.clock.state().end);
  }
  const server = await startServer({
    engine,
    token: opts.token,
    allowedHosts: opts.allowedHosts,
    webRoot: opts.webRoot,
    host: opts.host,
    port: opts.port,
    extraRoutes: replayRoutes(engine),
  });
  io.err(`ctscope replay: ${rec.records.length} records from ${opts.path}, serving on ${server.url}\n`);
  return { stop: () => server.app.close(), url: server.url, engine };
}
