/** A local HTTP server answering Prometheus's query API from canned vectors (by query text), with an optional delay. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakePrometheus {
  url: string;
  /** Query texts received, in order. */
  queries: string[];
  /** Authorization header of each request, in order ('' when absent). */
  auths: string[];
  /** Answer after this many ms. */
  delayMs: number;
  /** Vector results by exact query text; anything else answers an empty vector. */
  vectors: Map<string, Array<{ metric: Record<string, string>; value: string }>>;
  close: () => Promise<void>;
}

export async function startFakePrometheus(): Promise<FakePrometheus> {
  const fake: Omit<FakePrometheus, 'url' | 'close'> = {
    queries: [],
    auths: [],
    delayMs: 0,
    vectors: new Map(),
  };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const q = u.searchParams.get('query') ?? '';
    fake.queries.push(q);
    fake.auths.push(req.headers.authorization ?? '');
    const body =
      u.pathname === '/api/v1/query_range'
        ? { status: 'success', data: { resultType: 'matrix', result: [] } }
        : u.pathname === '/api/v1/query'
          ? {
              status: 'success',
              data: {
                resultType: 'vector',
                result: (fake.vectors.get(q) ?? []).map((r) => ({ metric: r.metric, value: [1, r.value] })),
              },
            }
          : { status: 'error', error: 'not found' };
    const t = setTimeout(() => {
      res.writeHead(u.pathname.startsWith('/api/v1/') ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    }, fake.delayMs);
    res.once('close', () => clearTimeout(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
