/** Thin shell: a fastify instance with the app registered, listening; plus graceful shutdown. */
import Fastify, { type FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from './app.js';
import type { WsHub } from './ws-hub.js';

export interface RunningServer {
  app: FastifyInstance;
  hub: WsHub;
  url: string;
}

export async function startServer(
  opts: AppOptions & { host: string; port: number; logger?: boolean },
): Promise<RunningServer> {
  const app = Fastify({ logger: opts.logger ? { level: 'info' } : false, bodyLimit: 64 * 1024 });
  const hub = await buildApp(app, opts);
  const address = await app.listen({ host: opts.host, port: opts.port });
  hub.start();
  return { app, hub, url: address };
}

/** Stop on SIGINT/SIGTERM once, running `cleanup` first. */
export function onShutdown(cleanup: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) {
      // A second signal while stopping: the operator wants out now.
      process.stderr.write(`ctscope: ${sig} again, exiting without finishing the stop\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`ctscope: ${sig}, stopping\n`);
    cleanup().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`ctscope: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: execa's cleanup (signal-exit, loaded while a long-running child such as `nft monitor` runs)
  // re-raises a signal that no other listener is left for, which killed the process in the middle of stopping.
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
