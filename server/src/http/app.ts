/** The ctscope HTTP app as a fastify plugin: REST, /ws, /metrics, /healthz and the web page. */
import { existsSync } from 'node:fs';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyWebsocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { WS_LIMITS } from '../config.js';
import type { Engine } from '../engine/engine.js';
import { apiRoutes, FlowQuery, filterOfQuery, healthRoutes } from './api-routes.js';
import type { AuditLog } from './audit-log.js';
import { requireToken } from './auth.js';
import { HostAllowlist } from './host-allowlist.js';
import { EngineMetrics } from './metrics.js';
import { type HubOptions, WsHub } from './ws-hub.js';

export interface AppOptions {
  engine: Engine;
  token?: string;
  /** Host names accepted without a token besides loopback (`--allowed-host`). */
  allowedHosts?: string[];
  audit?: AuditLog;
  webRoot?: string;
  hub?: Partial<HubOptions>;
  /** Extra routes that need the same auth (recordings, replay control). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>;
}

/** Register everything on `app`; returns the hub so the caller can start/stop it. */
export async function buildApp(fastify: FastifyInstance, opts: AppOptions): Promise<WsHub> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { engine } = opts;
  const hub = new WsHub(engine, opts.hub);
  const metrics = new EngineMetrics(engine);
  const startedAt = Date.now();

  const hosts = new HostAllowlist(opts.allowedHosts);

  // First, so its onRequest hook (which marks upgrade requests, to close their socket after a refusal) runs
  // before ours.
  await app.register(fastifyWebsocket, { options: { maxPayload: WS_LIMITS.maxMessageBytes } });

  // Without a token, only requests naming a loopback or allowed host are answered (DNS rebinding). With a
  // token the token guards everything but /healthz, whatever name the node is reached by.
  if (!opts.token) {
    app.addHook('onRequest', async (req, reply) => {
      if (!hosts.allowsHost(req.headers.host)) {
        // `connection: close`, so a refused WebSocket upgrade does not leave its socket open.
        return reply
          .code(403)
          .header('connection', 'close')
          .send({
            error: 'forbidden host',
            message: `host ${JSON.stringify(req.headers.host ?? '')} is not served without a token (use --allowed-host or --token)`,
          });
      }
    });
  }
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // React and recharts set style attributes.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Served over plain HTTP on a node: HSTS would be wrong, and COEP would block nothing useful.
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(healthRoutes, { engine });

  await app.register(async (scoped) => {
    scoped.addHook('onRequest', requireToken(opts.token));
    await scoped.register(apiRoutes, { engine, hub, token: opts.token, audit: opts.audit, startedAt });
    scoped.get('/metrics', async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.render();
    });
    scoped
      .withTypeProvider<TypeBoxTypeProvider>()
      .get('/ws', { websocket: true, schema: { querystring: wsQuery } }, (socket, req) => {
        // WebSockets are exempt from CORS: without a token, refuse pages from any origin but the allowed hosts,
        // so a site open in a browser on this host cannot read the flow table from 127.0.0.1.
        if (!opts.token && !hosts.allowsOrigin(req.headers.origin)) {
          socket.close(1008, 'cross-origin WebSocket refused (start ctscope with --token to allow it)');
          return;
        }
        const q = req.query;
        const filter = filterOfQuery(q);
        if ('error' in filter) {
          socket.send(JSON.stringify({ type: 'error', message: filter.error }));
          socket.close(1008, 'bad filter');
          return;
        }
        hub.attach(socket, { address: req.ip, filter, resumeFrom: q.resume, instance: q.instance });
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

const wsQuery = Type.Composite(
  [
    FlowQuery,
    Type.Object({
      resume: Type.Optional(Type.Integer({ minimum: 0 })),
      instance: Type.Optional(Type.String({ maxLength: 64 })),
    }),
  ],
  { additionalProperties: false },
);
