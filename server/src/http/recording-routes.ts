/** Recording list/download, and the replay clock controls (replay mode only). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ReplayEngine } from '../engine/replay-engine.js';
import { listRecordings } from '../recording/recording-reader.js';
import { openSegmentNoFollow, resolveRecordingPath } from '../recording/segment-files.js';

const Name = Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9._-]{1,200}$' }) });

export function recordingRoutes(dataDir: string | undefined) {
  return async (fastify: FastifyInstance): Promise<void> => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get('/api/recordings', async () => {
      if (!dataDir) return { dir: null, recordings: [], skipped: [] };
      try {
        return { dir: dataDir, ...(await listRecordings(dataDir)) };
      } catch (err) {
        // An unreadable directory is reported, not shown as an empty list.
        return { dir: dataDir, recordings: [], skipped: [], error: (err as Error).message };
      }
    });
    app.get('/api/recordings/:name', { schema: { params: Name } }, async (req, reply) => {
      if (!dataDir) return reply.code(404).send({ error: 'not found', message: 'recording is off' });
      let path: string;
      try {
        path = resolveRecordingPath(dataDir, req.params.name);
      } catch (err) {
        return reply.code(400).send({ error: 'bad request', message: (err as Error).message });
      }
      let stream: NodeJS.ReadableStream;
      try {
        // A symbolic link planted in the data directory is never followed.
        stream = (await openSegmentNoFollow(path)).createReadStream({ autoClose: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ELOOP' ? 'is a symbolic link' : code === 'ENOTREG' ? 'is not a regular file' : '';
        return reply
          .code(404)
          .send({ error: 'not found', message: why ? `recording ${why}` : 'no such recording' });
      }
      return reply
        .header('content-type', req.params.name.endsWith('.gz') ? 'application/gzip' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${req.params.name}"`)
        .send(stream);
    });
  };
}

const ReplayControl = Type.Object(
  {
    action: Type.Union([
      Type.Literal('play'),
      Type.Literal('pause'),
      Type.Literal('seek'),
      Type.Literal('speed'),
    ]),
    t: Type.Optional(Type.Number()),
    speed: Type.Optional(Type.Number({ minimum: 0.1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export function replayRoutes(engine: ReplayEngine) {
  return async (fastify: FastifyInstance): Promise<void> => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    app.get('/api/replay', async () => engine.clock.state());
    app.post('/api/replay', { schema: { body: ReplayControl } }, async (req, reply) => {
      const b = req.body;
      if (b.action === 'play') engine.clock.play();
      else if (b.action === 'pause') engine.clock.pause();
      else if (b.action === 'seek') {
        if (b.t === undefined)
          return reply.code(400).send({ error: 'bad request', message: 'seek needs t (ms)' });
        engine.clock.seek(b.t);
      } else {
        if (b.speed === undefined)
          return reply.code(400).send({ error: 'bad request', message: 'speed needs speed' });
        engine.clock.setSpeed(b.speed);
      }
      return engine.clock.state();
    });
  };
}
