/** REST API: flows, one flow's lifecycle, NAT history, stats, and the guarded delete. */
import { flowDetail, parseFlowFilter, remedyArgs, SEVERITIES, VERDICTS } from '@ctscope/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { missingStartFlags } from '../config.js';
import type { Engine } from '../engine/engine.js';
import { natViewOf } from '../engine/engine.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { requestToken, tokenMatches } from './auth.js';
import type { WsHub } from './ws-hub.js';

/** Query string of GET /api/flows (also accepted by /ws). Lists are comma-separated. */
export const FlowQuery = Type.Object(
  {
    verdict: Type.Optional(
      Type.String({
        pattern: '^[a-z-]+(,[a-z-]+)*$',
        description: `comma-separated: ${VERDICTS.join(', ')}`,
      }),
    ),
    severity: Type.Optional(
      Type.String({
        pattern: '^[a-z]+(,[a-z]+)*$',
        description: `comma-separated: ${SEVERITIES.join(', ')}`,
      }),
    ),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    service: Type.Optional(Type.String({ maxLength: 256 })),
    text: Type.Optional(Type.String({ maxLength: 256 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 })),
    token: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type FlowQueryT = Static<typeof FlowQuery>;

const ID = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z|:.#_-]{1,200}$' }) });

/** The filter fields of a flow query, checked by the one filter validator. */
export function filterOfQuery(q: FlowQueryT): ReturnType<typeof parseFlowFilter> {
  const { verdict, severity, ip, port, service, text } = q;
  return parseFlowFilter({ verdict, severity, ip, port, service, text });
}

export interface ApiDeps {
  engine: Engine;
  hub: WsHub;
  token?: string;
  audit?: AuditLog;
  startedAt: number;
}

/** Every refusal: a short error name and a message for people. */
export const ErrorReply = Type.Object({ error: Type.String(), message: Type.String() });
const Refusals = {
  400: ErrorReply,
  401: ErrorReply,
  403: ErrorReply,
  404: ErrorReply,
  409: ErrorReply,
  413: ErrorReply,
};

const FlowList = Type.Object({
  total: Type.Integer(),
  truncated: Type.Boolean(),
  // Flow reports as the analyzer's --json prints them (typed by FlowReport in shared).
  flows: Type.Array(Type.Unknown()),
});

const DeleteReply = Type.Object({
  ok: Type.Boolean(),
  command: Type.Array(Type.String()),
  message: Type.String(),
  expected: Type.Array(Type.String()),
});

/** REST routes under the token (a fastify plugin; its options are the engine and friends). */
export const apiRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (app, deps) => {
  const { engine } = deps;

  app.get(
    '/api/flows',
    { schema: { querystring: FlowQuery, response: { 200: FlowList, ...Refusals } } },
    async (req, reply) => {
      const q = req.query;
      const filter = filterOfQuery(q);
      if ('error' in filter) return reply.code(400).send({ error: 'bad request', message: filter.error });
      const { flows, total } = engine.core.store.select(filter, q.limit ?? 1000);
      return { total, truncated: total > flows.length, flows };
    },
  );

  app.get(
    '/api/flows/:id',
    { schema: { params: ID, response: { 200: Type.Unknown(), ...Refusals } } },
    async (req, reply) => {
      const { id } = req.params;
      const detail = flowDetail(engine.core, id);
      if (!detail)
        return reply.code(404).send({ error: 'not found', message: `no flow ${id} (it may have expired)` });
      return detail;
    },
  );

  // Deletes of one flow run one at a time (engine.deleteLock): a second request sees the first one's outcome
  // (the entry is gone), so it cannot remove a new entry that reused the tuple in between.
  const ranArgv = new WeakMap<object, string[]>();

  app.delete(
    '/api/flows/:id',
    {
      schema: { params: ID, response: { 200: DeleteReply, 502: DeleteReply, ...Refusals } },
      // Every attempt is audited, whatever answered it: the token hook, validation, a body limit or the handler.
      onSend: async (req, reply, payload) => {
        if (!deps.audit) return payload;
        const err = await deps.audit.write(
          auditEntry(req, reply.statusCode, payload, ranArgv.get(req), deps.token),
        );
        if (err) req.log.error({ err }, 'audit log write failed');
        return payload;
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      if (!engine.allowDelete) {
        return reply.code(403).send({
          error: 'forbidden',
          message: 'deletion is disabled; start ctscope serve with --allow-delete and --token',
        });
      }
      if (!deps.token || !tokenMatches(deps.token, requestToken(req))) {
        return reply.code(401).send({ error: 'unauthorized', message: 'deleting needs the token' });
      }
      // The same per-flow lock auto-remedy takes: a request and an automatic delete never race on one tuple.
      return engine.deleteLock.run(id, async () => {
        const found = engine.core.store.get(id);
        if (!found) return reply.code(404).send({ error: 'not found', message: `no flow ${id}` });
        if (found.flow.destroyedAt !== undefined) {
          return reply.code(409).send({
            error: 'conflict',
            message: `flow ${id} is already gone; its tuple may belong to a new entry now`,
          });
        }
        if (!found.report.remedy) {
          return reply.code(409).send({
            error: 'conflict',
            message: `flow ${id} is ${found.report.verdict}: deleting it would not help`,
          });
        }
        const result = await engine.deleteFlow(found.report);
        ranArgv.set(req, result.command);
        return reply
          .code(result.ok ? 200 : 502)
          .send({ ...result, expected: ['conntrack', ...remedyArgs(found.flow.record)] });
      });
    },
  );

  app.get('/api/nat', async () => ({
    current: natViewOf(engine.core.store) ?? null,
    versions: engine.core.store.nat.map((v) => ({
      hash: v.snapshot.hash,
      since: v.since,
      frontends: v.snapshot.frontends.length,
    })),
    changes: engine.core.store.natChanges,
  }));

  app.get('/api/stats', async () => {
    const s = engine.core.store.stats();
    const rates = engine.core.store.timeline.recent(60);
    const last = rates[rates.length - 2] ?? rates[rates.length - 1];
    return {
      mode: engine.mode,
      node: engine.node,
      uptimeMs: Date.now() - deps.startedAt,
      now: engine.core.store.now,
      flows: s,
      eventRate: last ? last.events : { NEW: 0, UPDATE: 0, DESTROY: 0 },
      eventLoss: engine.core.eventLoss(),
      counters: engine.core.counters() ?? null,
      sources: engine.sources(),
      websocket: deps.hub.stats(),
      process: processInfo(),
      ...engine.extraStats(),
    };
  });
};

/** The start flags this process lacks: fixed for its life, so read once. */
const MISSING_START_FLAGS = missingStartFlags();

/**
 * The server's own memory, to watch against its memory limit (the live table is most of the heap), and the start
 * flags it lacks (started as `node dist/cli.js` rather than through the bin: more CPU under a flood).
 */
function processInfo(): {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  missingStartFlags: string[];
} {
  const m = process.memoryUsage();
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    missingStartFlags: MISSING_START_FLAGS,
  };
}

/** One audit line for a DELETE attempt, from what was answered. */
function auditEntry(
  req: FastifyRequest,
  status: number,
  payload: unknown,
  argv: string[] | undefined,
  token: string | undefined,
): AuditEntry {
  let message = '';
  if (typeof payload === 'string') {
    try {
      message = String((JSON.parse(payload) as { message?: unknown }).message ?? '');
    } catch {
      message = payload.slice(0, 200);
    }
  }
  const given = requestToken(req);
  const rawId = (req.params as { id?: unknown } | undefined)?.id;
  return {
    t: new Date().toISOString(),
    action: 'delete',
    client: req.ip,
    token:
      given === undefined ? 'none' : token !== undefined && tokenMatches(token, given) ? 'valid' : 'invalid',
    flowId: typeof rawId === 'string' ? rawId.slice(0, 200) : req.url.slice(0, 200),
    status,
    outcome: status === 200 ? 'deleted' : argv ? 'failed' : 'refused',
    ok: status === 200,
    message: message.slice(0, 1000),
    ...(argv ? { argv } : {}),
  };
}

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failed')]),
  mode: Type.Union([Type.Literal('live'), Type.Literal('replay')]),
  sources: Type.Array(
    Type.Object({
      name: Type.String(),
      state: Type.String(),
      lastError: Type.Optional(Type.String()),
      restarts: Type.Integer(),
      since: Type.Number(),
    }),
  ),
});

/** Health: 200 while at least the event source or a replay works; 503 when every source failed. No token. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ engine: Engine }> = async (app, { engine }) => {
  app.get('/healthz', { schema: { response: { 200: Health, 503: Health } } }, async (_req, reply) => {
    const sources = engine.sources();
    const failed = sources.filter((s) => s.state === 'failed');
    const status =
      sources.length > 0 && failed.length === sources.length ? 'failed' : failed.length ? 'degraded' : 'ok';
    return reply.code(status === 'failed' ? 503 : 200).send({ status, mode: engine.mode, sources });
  });
};
