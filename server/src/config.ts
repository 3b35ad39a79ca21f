/** `ctscope serve` configuration: defaults, validation, and the safety rules (loopback unless a token is set). */

export interface ServeConfig {
  host: string;
  port: number;
  netns?: string;
  dataDir: string;
  token?: string;
  allowDelete: boolean;
  natSource: 'auto' | 'iptables' | 'nft' | 'ipvs';
  suspectPollMs: number;
  natPollMs: number;
  countersPollMs: number;
  fullResyncMs: number;
  bufferBytes: number;
  record: boolean;
  retentionHours: number;
  retentionBytes: number;
  maxFlows: number;
  unansweredAfterMs: number;
  /** Directory of the built web page, if any. */
  webRoot?: string;
  nodeName: string;
}

export const DEFAULT_PORT = 7474;

export class ConfigError extends Error {}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Reject unsafe or impossible combinations with a message that says what to change. */
export function validateConfig(c: ServeConfig): void {
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535)
    throw new ConfigError(`--port must be 0-65535, got ${c.port}`);
  if (!isLoopback(c.host) && !c.token) {
    throw new ConfigError(
      `refusing to listen on ${c.host} without a token: set --token (or CTSCOPE_TOKEN), or keep the default --host 127.0.0.1`,
    );
  }
  if (c.allowDelete && !c.token) {
    throw new ConfigError(
      '--allow-delete needs --token (or CTSCOPE_TOKEN): deletes are only accepted with the token',
    );
  }
  if (c.token !== undefined && c.token.length < 12)
    throw new ConfigError('--token must be at least 12 characters');
  if (c.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(c.netns)) {
    throw new ConfigError(`--netns "${c.netns}" is not a valid namespace name`);
  }
  for (const [k, v, min] of [
    ['--suspect-poll', c.suspectPollMs, 200],
    ['--nat-poll', c.natPollMs, 200],
    ['--counters-poll', c.countersPollMs, 200],
    ['--full-resync', c.fullResyncMs, 10_000],
  ] as const) {
    if (!Number.isFinite(v) || v < min) throw new ConfigError(`${k} must be at least ${min} ms, got ${v}`);
  }
}

/** `/metrics`: per-service series are kept for at most this many services (worst first); the rest sum into `service="other"`. */
export const METRICS_MAX_SERVICES = 20;
/** `/metrics`: the `service` label of bad flows that matched no service frontend. */
export const METRICS_NO_SERVICE = 'none';

/** `ctscope fleet` defaults and limits. */
export const FLEET_DEFAULTS = {
  host: '127.0.0.1',
  port: 7480,
  /** Filled with the node's scrape target: the DaemonSet's hostPort on the node's IP. */
  nodeUrl: 'http://{instance}/',
  /** How often the wall asks; the server reads Prometheus at most once per interval whatever the number of walls. */
  refreshMs: 5000,
  /** A round of queries slower than this is shown as "slow"; one without an answer in `timeoutMs` as "down". */
  slowMs: 2000,
  timeoutMs: 8000,
  /** Cluster timeline span and number of points. */
  timelineMinutes: 30,
  timelinePoints: 180,
} as const;
/** At most this many nodes are shown (the worst first); Prometheus answers are refused above 32 MiB. */
export const FLEET_MAX_NODES = 5000;
export const FLEET_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
