/** The fleet wall's HTTP app as a fastify plugin: the web page in fleet mode, `GET /api/fleet`, `/healthz`. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from '../config.js';
import { requireToken } from '../http/auth.js';
import type { FleetReader } from './fleet-reader.js';

export interface FleetAppOptions {
  reader: FleetReader;
  token?: string;
  webRoot?: string;
}

/** The page tells the app which mode to start in. */
export const FLEET_MODE_META = '<meta name="ctscope-mode" content="fleet" />';

const FleetQuery = Type.Object(
  { token: Type.Optional(Type.String({ maxLength: 512 })) },
  { additionalProperties: false },
);

/** Host without its port (`[::1]:80` → `::1`). */
function hostName(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (m) return m[1] ?? '';
  return host.replace(/:\d+$/, '');
}

/**
 * Without a token, only requests addressed to a loopback name are answered (a DNS-rebound name is refused), and a
 * browser Origin must be the page's own host.
 */
export function hostOriginGuard(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = req.headers.host ?? '';
    if (token === undefined && !isLoopback(hostName(host))) {
      await reply.code(403).send({
        error: 'forbidden',
        message: `Host "${host}" refused: start with --token to serve other names`,
      });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        ok = new URL(origin).host === host;
      } catch {
        ok = false;
      }
      if (!ok)
        await reply
          .code(403)
          .send({ error: 'forbidden', message: `cross-origin request from ${origin} refused` });
    }
  };
}

export async function fleetApp(app: FastifyInstance, opts: FleetAppOptions): Promise<void> {
  app.addHook('onRequest', hostOriginGuard(opts.token));

  app.get('/healthz', async () => {
    const s = await opts.reader.snapshot();
    return { status: 'ok', prometheus: s.prometheus.state };
  });

  await app.register(async (scoped) => {
    scoped.addHook('preHandler', requireToken(opts.token));
    scoped.get('/api/fleet', { schema: { querystring: FleetQuery } }, async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return opts.reader.snapshot();
    });
  });

  const index = opts.webRoot ? join(opts.webRoot, 'index.html') : undefined;
  if (opts.webRoot && index && existsSync(index)) {
    const html = readFileSync(index, 'utf8').replace('<head>', `<head>\n    ${FLEET_MODE_META}`);
    const page = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    app.get('/', page);
    app.get('/index.html', page);
    await app.register(fastifyStatic, { root: opts.webRoot, prefix: '/', index: false });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/plain')
        .send('ctscope fleet: the web page is not built (npm run build); the API is at /api/fleet\n'),
    );
  }
}
