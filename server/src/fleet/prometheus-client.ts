/** Minimal reader of Prometheus's HTTP API (instant and range queries), with a timeout and a size cap. */
import { readFile } from 'node:fs/promises';
import { FLEET_MAX_RESPONSE_BYTES } from '../config.js';

export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

export class PrometheusError extends Error {}

/** How to authenticate to Prometheus (behind an auth proxy): a bearer token read from a file. */
export interface PrometheusAuth {
  /** Read before every query, so a rotated token (a projected service-account token) is picked up. */
  tokenFile?: string;
}

export class PrometheusClient {
  constructor(
    readonly baseUrl: string,
    private readonly auth: PrometheusAuth = {},
  ) {}

  async #headers(): Promise<Record<string, string>> {
    if (this.auth.tokenFile === undefined) return {};
    let token: string;
    try {
      token = (await readFile(this.auth.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new PrometheusError(`cannot read --prometheus-token-file: ${(err as Error).message}`);
    }
    if (token === '') throw new PrometheusError('--prometheus-token-file is empty');
    return { authorization: `Bearer ${token}` };
  }

  /** `GET /api/v1/query`. */
  async query(expr: string, signal: AbortSignal): Promise<VectorSample[]> {
    const data = await this.get('/api/v1/query', { query: expr }, signal);
    if (data.resultType !== 'vector' || !Array.isArray(data.result))
      throw new PrometheusError(`${expr}: expected a vector, got ${String(data.resultType)}`);
    return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric ?? {},
      value: Number(r.value?.[1]),
    }));
  }

  /** `GET /api/v1/query_range`; times in ms. */
  async queryRange(
    expr: string,
    range: { startMs: number; endMs: number; stepMs: number },
    signal: AbortSignal,
  ): Promise<RangeSeries[]> {
    const data = await this.get(
      '/api/v1/query_range',
      {
        query: expr,
        start: String(range.startMs / 1000),
        end: String(range.endMs / 1000),
        step: `${Math.max(1, Math.round(range.stepMs / 1000))}s`,
      },
      signal,
    );
    if (data.resultType !== 'matrix' || !Array.isArray(data.result))
      throw new PrometheusError(`${expr}: expected a matrix, got ${String(data.resultType)}`);
    return (data.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>).map(
      (r) => ({
        metric: r.metric ?? {},
        values: (r.values ?? []).map(([t, v]) => [t * 1000, Number(v)] as [number, number]),
      }),
    );
  }

  private async get(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ resultType?: string; result?: unknown }> {
    const u = new URL(path.slice(1), this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    let res: Response;
    let text: string;
    try {
      res = await fetch(u, { headers: { accept: 'application/json', ...(await this.#headers()) }, signal });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new PrometheusError('no answer (timeout)');
      throw new PrometheusError(e.cause?.code ?? e.cause?.message ?? e.message);
    }
    if (text.length > FLEET_MAX_RESPONSE_BYTES)
      throw new PrometheusError(`answer larger than ${FLEET_MAX_RESPONSE_BYTES} bytes`);
    let body: { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusError(`HTTP ${res.status}: not a Prometheus API answer`);
    }
    if (body.status !== 'success' || !body.data)
      throw new PrometheusError(`HTTP ${res.status}: ${body.error ?? 'query failed'}`);
    return body.data;
  }
}
