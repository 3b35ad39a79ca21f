/** `ctscope fleet`: the cluster wall, read from Prometheus's HTTP API only. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import Fastify from 'fastify';
import { FLEET_DEFAULTS, isLoopback } from '../config.js';
import { fleetApp } from '../fleet/fleet-app.js';
import { FleetReader } from '../fleet/fleet-reader.js';
import { validateNodeUrlTemplate } from '../fleet/node-url.js';
import { PrometheusClient } from '../fleet/prometheus-client.js';
import { onShutdown } from '../http/server.js';
import type { Io } from './analyze.js';

export interface FleetConfig {
  prometheus: string;
  /** File holding a bearer token for Prometheus (re-read on every query). */
  prometheusTokenFile?: string;
  nodeUrl: string;
  host: string;
  port: number;
  token?: string;
  refreshMs: number;
  timeoutMs: number;
  slowMs: number;
  timelineMinutes: number;
  webRoot?: string;
}

/** A message saying what to change, or undefined when the config is usable. */
export function fleetConfigError(c: FleetConfig): string | undefined {
  let u: URL;
  try {
    u = new URL(c.prometheus);
  } catch {
    return `--prometheus "${c.prometheus}" is not a URL (e.g. http://prometheus.monitoring:9090)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '--prometheus must be an http(s) URL';
  if (u.search || u.hash) return '--prometheus must be the base URL, without ?query or #fragment';
  try {
    validateNodeUrlTemplate(c.nodeUrl);
  } catch (err) {
    return (err as Error).message;
  }
  if (!isLoopback(c.host) && !c.token)
    return `refusing to listen on ${c.host} without a token: set --token (or CTSCOPE_TOKEN), or keep the default --host 127.0.0.1`;
  if (c.token !== undefined && c.token.length < 12) return '--token must be at least 12 characters';
  if (c.timeoutMs <= c.slowMs) return '--timeout must be more than the slow threshold';
  return undefined;
}

export function defaultFleetConfig(webRoot: string): Omit<FleetConfig, 'prometheus'> {
  return {
    nodeUrl: FLEET_DEFAULTS.nodeUrl,
    host: FLEET_DEFAULTS.host,
    port: FLEET_DEFAULTS.port,
    refreshMs: FLEET_DEFAULTS.refreshMs,
    timeoutMs: FLEET_DEFAULTS.timeoutMs,
    slowMs: FLEET_DEFAULTS.slowMs,
    timelineMinutes: FLEET_DEFAULTS.timelineMinutes,
    webRoot,
  };
}

/** Start the wall; resolves once listening, or with an exit code. */
export async function runFleet(
  config: FleetConfig,
  io: Io,
): Promise<number | { stop: () => Promise<void>; url: string }> {
  const problem = fleetConfigError(config);
  if (problem) {
    io.err(`ctscope fleet: ${problem}\n`);
    return 2;
  }
  const reader = new FleetReader(
    new PrometheusClient(config.prometheus.replace(/\/+$/, ''), {
      tokenFile: config.prometheusTokenFile,
    }),
    {
      nodeUrl: config.nodeUrl,
      refreshMs: config.refreshMs,
      slowMs: config.slowMs,
      timeoutMs: config.timeoutMs,
      timelineMinutes: config.timelineMinutes,
      timelinePoints: FLEET_DEFAULTS.timelinePoints,
    },
  );
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  await app.register(fleetApp, { reader, token: config.token, webRoot: config.webRoot });
  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    io.err(`ctscope fleet: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return 1;
  }
  const first = await reader.snapshot();
  io.err(
    `ctscope fleet: listening on ${url}, reading ${config.prometheus} (${first.prometheus.state}${first.prometheus.error ? `: ${first.prometheus.error}` : `, ${first.nodes.length} nodes`})\n`,
  );
  return { stop: () => app.close(), url };
}

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}-${max}`);
    return n;
  };
}

/** Add `ctscope fleet` to the program. */
export function registerFleetCommand(program: Command, exit: (code: number) => void, webRoot: string): void {
  const d = defaultFleetConfig(webRoot);
  const opt = (flags: string, description: string, env: string, parse?: (v: string) => unknown) => {
    const o = new Option(flags, description).env(env);
    return parse ? o.argParser(parse) : o;
  };
  program
    .command('fleet')
    .description("Serve the cluster wall: every node's ctscope, read from Prometheus (its HTTP API only).")
    .addOption(
      opt(
        '--prometheus <url>',
        'Prometheus base URL (required)',
        'CTSCOPE_PROMETHEUS_URL',
      ).makeOptionMandatory(),
    )
    .addOption(
      opt(
        '--prometheus-token-file <path>',
        'send the bearer token in this file to Prometheus (re-read on every query, so a rotated token works)',
        'CTSCOPE_PROMETHEUS_TOKEN_FILE',
      ),
    )
    .addOption(
      opt(
        '--node-url <template>',
        `a node's page; {node} and {instance} are filled in (default ${d.nodeUrl})`,
        'CTSCOPE_NODE_URL',
      ),
    )
    .addOption(
      opt('--host <addr>', `listen address (default ${d.host}; anything else needs --token)`, 'CTSCOPE_HOST'),
    )
    .addOption(opt('--port <n>', `listen port (default ${d.port})`, 'CTSCOPE_PORT', int('--port', 0, 65535)))
    .addOption(opt('--token <token>', 'bearer token required by /api/fleet (>= 12 chars)', 'CTSCOPE_TOKEN'))
    .addOption(
      opt(
        '--refresh <ms>',
        `how often walls refresh (default ${d.refreshMs})`,
        'CTSCOPE_FLEET_REFRESH_MS',
        int('--refresh', 500),
      ),
    )
    .addOption(
      opt(
        '--timeout <ms>',
        `Prometheus is "down" without an answer in ms (default ${d.timeoutMs}); "slow" above ${d.slowMs}`,
        'CTSCOPE_FLEET_TIMEOUT_MS',
        int('--timeout', 500),
      ),
    )
    .addOption(
      opt(
        '--timeline-minutes <m>',
        `span of the cluster timeline (default ${d.timelineMinutes})`,
        'CTSCOPE_FLEET_TIMELINE_MINUTES',
        int('--timeline-minutes', 1, 24 * 60),
      ),
    )
    .addOption(opt('--web-root <dir>', 'built web page to serve at /', 'CTSCOPE_WEB_ROOT'))
    .action(async (o) => {
      const timeoutMs = o.timeout ?? d.timeoutMs;
      const r = await runFleet(
        {
          ...d,
          prometheus: o.prometheus,
          prometheusTokenFile: o.prometheusTokenFile,
          nodeUrl: o.nodeUrl ?? d.nodeUrl,
          host: o.host ?? d.host,
          port: o.port ?? d.port,
          token: o.token,
          refreshMs: o.refresh ?? d.refreshMs,
          timeoutMs,
          slowMs: Math.min(d.slowMs, Math.floor(timeoutMs / 2)),
          timelineMinutes: o.timelineMinutes ?? d.timelineMinutes,
          webRoot: o.webRoot ?? d.webRoot,
        },
        { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
      );
      if (typeof r === 'number') return exit(r);
      onShutdown(r.stop);
    });
}
