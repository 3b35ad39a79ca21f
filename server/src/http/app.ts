/** The ctscope HTTP app as a fastify plugin: REST, /ws, /metrics, /healthz and the web page. */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { apiRoutes, FlowQuery, type FlowQueryT, filterOfQuery, healthRoute } from './api-routes.js';
import type { AuditLog } from './audit-log.js';
import { requireToken } from './auth.js';
import { EngineMetrics } from './metrics.js';
import { type HubOptions, WsHub } from './ws-hub.js';

export interface AppOptions {
  engine: Engine;
  token?: string;
  audit?: AuditLog;
  webRoot?: string;
  hub?: Partial<HubOptions>;
  /** Extra routes that need the same auth (recordings, replay control). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>;
}

/** Register everything on `app`; returns the hub so the caller can start/stop it. */
export async function buildApp(app: FastifyInstance, opts: AppOptions): Promise<WsHub> {
  const { engine } = opts;
  const hub = new WsHub(engine, opts.hub);
  const metrics = new EngineMetrics(engine);
  const startedAt = Date.now();

  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await healthRoute(app, engine);

  await app.register(async (scoped) => {
    scoped.addHook('preHandler', requireToken(opts.token));
    await apiRoutes(scoped, { engine, hub, token: opts.token, audit: opts.audit, startedAt });
    scoped.get('/metrics', async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.render();
    });
    scoped.get('/ws', { websocket: true, schema: { querystring: wsQuery } }, (socket, req) => {
      // WebSockets are exempt from CORS: without a token, refuse pages served from elsewhere, so a site open in
      // a browser on this host cannot read the flow table from 127.0.0.1.
      if (!opts.token && !sameOrigin(req.headers.origin, req.headers.host)) {
        socket.close(1008, 'cross-origin WebSocket refused (start ctscope with --token to allow it)');
        return;
      }
      const q = req.query as FlowQueryT & { resume?: number; instance?: string };
      const filter = filterOfQuery(q);
      if ('error' in filter) {
        socket.send(JSON.stringify({ type: 'error', message: filter.error }));
        socket.close(1008, 'bad filter');
        return;
      }
      hub.attach(socket, { filter, resumeFrom: q.resume, instance: q.instance });
    });
    if (opts.extraRoutes) await opts.extraRoutes(scoped);
  });

  if (opts.webRoot && existsSync(opts.webRoot)) {
    await app.register(fastifyStatic, { root: opts.webRoot, prefix: '/', index: ['index.html'] });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/plain')
        .send('ctscope: the web page is not built (npm run build); the API is at /api and /ws\n'),
    );
  }
  app.addHook('onClose', async () => hub.stop());
  return hub;
}

/** No Origin header (not a browser), or one naming the host the request was sent to. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

const wsQuery = {
  ...FlowQuery,
  properties: {
    ...FlowQuery.properties,
    resume: { type: 'integer', minimum: 0 },
    instance: { type: 'string', maxLength: 64 },
  },
};
