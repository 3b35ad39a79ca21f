/** Post-mortem questions over a replayed recording: its outline (density strip), bad flows at T or in a window, NAT changes, a tuple's lifecycle. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ReplayEngine } from '../engine/replay-engine.js';
import { badAt, badDuring, natChangesAround, tupleLifecycle } from '../recording/postmortem.js';

const Time = Type.Number({ minimum: 0, description: 'ms since the epoch' });
const Limit = Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 });
const Token = Type.Optional(Type.String());

const BadQuery = Type.Object(
  {
    at: Type.Optional(Time),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    limit: Type.Optional(Limit),
    token: Token,
  },
  { additionalProperties: false },
);
const NatQuery = Type.Object(
  {
    at: Time,
    window: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400_000, default: 60_000, description: 'ms' }),
    ),
    token: Token,
  },
  { additionalProperties: false },
);
const LifecycleQuery = Type.Object(
  {
    src: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:.]{2,45}$' })),
    dst: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f:.]{2,45}$' })),
    sport: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    dport: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    token: Token,
  },
  { additionalProperties: false },
);

/** Post-mortem answers each stream part of the recording: at most this many run at once (memory stays bounded). */
export const MAX_CONCURRENT_QUESTIONS = 2;

export function postmortemRoutes(engine: ReplayEngine) {
  return async (fastify: FastifyInstance): Promise<void> => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const rec = engine.recording;
    let running = 0;
    const bad = (reply: FastifyReply, message: string) =>
      reply.code(400).send({ error: 'bad request', message });
    /** Run one question, or answer 503 when too many are running. */
    const guarded = async <T>(reply: FastifyReply, fn: () => Promise<T>) => {
      if (running >= MAX_CONCURRENT_QUESTIONS)
        return reply
          .code(503)
          .header('retry-after', '2')
          .send({ error: 'busy', message: 'too many post-mortem questions running; retry' });
      running++;
      try {
        return await fn();
      } finally {
        running--;
      }
    };

    app.get('/api/replay/index', async () => rec.outline());

    app.get('/api/postmortem/bad', { schema: { querystring: BadQuery } }, async (req, reply) => {
      const q = req.query;
      if ((q.at === undefined) === (q.from === undefined && q.to === undefined))
        return bad(reply, 'give at=T, or from=T1&to=T2 (ms)');
      if (q.at !== undefined) return guarded(reply, () => badAt(rec, q.at!, q.limit));
      if (q.from === undefined || q.to === undefined) return bad(reply, 'from and to go together');
      if (q.to < q.from) return bad(reply, 'to is before from');
      return guarded(reply, () => badDuring(rec, q.from!, q.to!, q.limit));
    });

    app.get('/api/postmortem/nat-changes', { schema: { querystring: NatQuery } }, async (req, reply) => {
      const q = req.query;
      return guarded(reply, () => natChangesAround(rec, q.at, q.window ?? 60_000));
    });

    app.get('/api/postmortem/lifecycle', { schema: { querystring: LifecycleQuery } }, async (req, reply) => {
      const q = req.query;
      if (q.src === undefined && q.dst === undefined && q.sport === undefined && q.dport === undefined)
        return bad(reply, 'give at least one of src, dst, sport, dport');
      const { src, dst, sport, dport } = q;
      return guarded(reply, () => tupleLifecycle(rec, { src, dst, sport, dport }, q.from, q.to));
    });
  };
}
