/**
 * Test helpers: a real Prometheus (Debian's binary) with a generated config on a free loopback port and a temp
 * storage dir, scraping ctscope agents with the repository's alert rules; plus a two-node "cluster" of labs.
 * Everything is torn down by the matching stop function. Reused by the fleet browser tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import {
  type LabHandle,
  labSkipReason,
  startLab,
  stopLab,
  TEST_LAB_PREFIX,
  waitFor,
} from '../lab/lab-harness.js';
import { PLAIN_RULES, promBinary } from './promtool.js';

/** One agent to scrape: its address, bearer token and the `node` label Prometheus gives it. */
export interface ScrapeTarget {
  node: string;
  url: string;
  token?: string;
}

export interface PrometheusHandle {
  url: string;
  pid: number;
  dir: string;
  scrapeMs: number;
  evalMs: number;
  process: ResultPromise;
  /** Stderr so far (for failure messages). */
  log: () => string;
  stop: () => Promise<void>;
}

/** Why the real-Prometheus tests cannot run here, or undefined. */
export function prometheusSkipReason(): string | undefined {
  if (!promBinary('prometheus')) return 'needs the prometheus binary (apt-get install prometheus)';
  return labSkipReason();
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** The prometheus.yml for `targets`: one scrape job per agent (each has its own token), all relabelled job="ctscope". */
export function prometheusConfig(targets: ScrapeTarget[], scrapeMs: number, evalMs: number, rules: string) {
  return {
    global: {
      scrape_interval: `${scrapeMs}ms`,
      scrape_timeout: `${scrapeMs}ms`,
      evaluation_interval: `${evalMs}ms`,
    },
    rule_files: [rules],
    scrape_configs: targets.map((t, i) => ({
      job_name: `ctscope-${i}`,
      ...(t.token ? { authorization: { credentials: t.token } } : {}),
      static_configs: [{ targets: [new URL(t.url).host], labels: { node: t.node } }],
      relabel_configs: [{ target_label: 'job', replacement: 'ctscope' }],
    })),
  };
}

/** Start Prometheus scraping `targets` with the repository's rules; resolves once /-/ready answers. */
export async function startPrometheus(
  targets: ScrapeTarget[],
  opts: { scrapeMs?: number; evalMs?: number; rules?: string } = {},
): Promise<PrometheusHandle> {
  const bin = promBinary('prometheus');
  if (!bin) throw new Error('prometheus not found (apt-get install prometheus)');
  const scrapeMs = opts.scrapeMs ?? 1000;
  const evalMs = opts.evalMs ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'ctscope-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, stringify(prometheusConfig(targets, scrapeMs, evalMs, opts.rules ?? PLAIN_RULES)));
  const port = await freePort();
  let stderr = '';
  const proc = execa(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--web.console.templates=/nonexistent',
      '--web.console.libraries=/nonexistent',
    ],
    { reject: false, cleanup: true, stdin: 'ignore' },
  );
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'prometheus ready',
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}:\n${stderr}`);
        const r = await fetch(`${url}/-/ready`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      },
      30_000,
      200,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: proc.pid ?? -1, dir, scrapeMs, evalMs, process: proc, log: () => stderr, stop };
}

/** GET /api/v1/query; returns the vector result. */
export async function promQuery(
  url: string,
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await r.json()) as { status: string; error?: string; data: { result: never[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
  return body.data.result;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** GET /api/v1/alerts: the active (pending or firing) alerts. */
export async function promAlerts(url: string): Promise<PromAlert[]> {
  const r = await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts;
}

/** Two lab nodes (labs `<test prefix>pm1-…`, `…pm2-…`) scraped by one Prometheus. */
export interface Cluster {
  labs: [LabHandle, LabHandle];
  prometheus: PrometheusHandle;
}

/** Start two labs one after the other (each picks a free serve port), then Prometheus scraping both. */
export async function startCluster(opts: { scrapeMs?: number; evalMs?: number } = {}): Promise<Cluster> {
  const tag = randomBytes(2).toString('hex');
  const started: LabHandle[] = [];
  try {
    for (const n of [1, 2])
      started.push(
        await startLab({ name: `${TEST_LAB_PREFIX}pm${n}-${tag}`, suspectPollMs: 2000, natPollMs: 500 }),
      );
    const prometheus = await startPrometheus(
      started.map((l) => ({ node: l.node, url: l.url, token: l.token })),
      opts,
    );
    return { labs: started as [LabHandle, LabHandle], prometheus };
  } catch (err) {
    for (const l of started) await stopLab(l).catch(() => undefined);
    throw err;
  }
}

/** Stop Prometheus and both labs; throws if a lab left something behind. */
export async function stopCluster(c: Partial<Cluster> | undefined): Promise<void> {
  await c?.prometheus?.stop();
  const errors: string[] = [];
  for (const l of c?.labs ?? []) await stopLab(l).catch((e: Error) => errors.push(e.message));
  if (errors.length) throw new Error(errors.join('; '));
}
