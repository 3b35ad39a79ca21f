/** REST API: flows, one flow's lifecycle, NAT history, stats, and the guarded delete. */
import { flowDetail, parseFlowFilter, remedyArgs, SEVERITIES, VERDICTS } from '@ctscope/shared';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { natViewOf } from '../engine/engine.js';
import type { AuditLog } from './audit-log.js';
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

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { engine } = deps;

  app.get('/api/flows', { schema: { querystring: FlowQuery } }, async (req, reply) => {
    const q = req.query as FlowQueryT;
    const filter = filterOfQuery(q);
    if ('error' in filter) return reply.code(400).send({ error: 'bad request', message: filter.error });
    const { flows, total } = engine.core.store.select(filter, q.limit ?? 1000);
    return { total, truncated: total > flows.length, flows };
  });

  app.get('/api/flows/:id', { schema: { params: ID } }, async (req, reply) => {
    const { id } = req.params as Static<typeof ID>;
    const detail = flowDetail(engine.core, id);
    if (!detail)
      return reply.code(404).send({ error: 'not found', message: `no flow ${id} (it may have expired)` });
    return detail;
  });

  app.delete('/api/flows/:id', { schema: { params: ID } }, async (req, reply) => {
    const { id } = req.params as Static<typeof ID>;
    if (!engine.allowDelete) {
      return reply.code(403).send({
        error: 'forbidden',
        message: 'deletion is disabled; start ctscope serve with --allow-delete and --token',
      });
    }
    if (!deps.token || !tokenMatches(deps.token, requestToken(req))) {
      return reply.code(401).send({ error: 'unauthorized', message: 'deleting needs the token' });
    }
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
    const auditErr = await deps.audit?.write({
      t: new Date().toISOString(),
      action: 'delete',
      client: req.ip,
      flowId: id,
      argv: result.command,
      ok: result.ok,
      message: result.message,
    });
    if (auditErr) req.log.error({ err: auditErr }, 'audit log write failed');
    return reply
      .code(result.ok ? 200 : 502)
      .send({ ...result, expected: ['conntrack', ...remedyArgs(found.flow.record)] });
  });

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
      ...engine.extraStats(),
    };
  });
}

/** Health: 200 while at least the event source or a replay works; 503 when every source failed. */
export async function healthRoute(app: FastifyInstance, engine: Engine): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const sources = engine.sources();
    const failed = sources.filter((s) => s.state === 'failed');
    const status =
      sources.length > 0 && failed.length === sources.length ? 'failed' : failed.length ? 'degraded' : 'ok';
    return reply.code(status === 'failed' ? 503 : 200).send({ status, mode: engine.mode, sources });
  });
}
