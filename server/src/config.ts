/** `ctscope serve` configuration: defaults, validation, and the safety rules (loopback unless a token is set). */
import type { AutoRemedyMode } from '@ctscope/shared';

/** `--auto-remedy…`: whether ctscope deletes confirmed stuck entries by itself, and its guard rails. */
export interface AutoRemedyConfig {
  mode: AutoRemedyMode;
  /** The NAT snapshot must have been unchanged this long; default 2 × `natPollMs` (never race a kube-proxy sync). */
  settleMs?: number;
  /** Deletes per minute on the node. */
  nodePerMinute: number;
  /** Deletes per minute per service. */
  servicePerMinute: number;
  /** The same tuple back stuck this many times within `breakerWindowMs` opens its breaker: no more deletes. */
  breakerThreshold: number;
  breakerWindowMs: number;
  /** How often candidates are looked at. */
  tickMs: number;
}

/** Auto-remedy defaults: off; at most 30 deletes a minute per node and 10 per service; breaker at 3 in 10 min. */
export const AUTO_REMEDY_DEFAULTS: AutoRemedyConfig = {
  mode: 'off',
  nodePerMinute: 30,
  servicePerMinute: 10,
  breakerThreshold: 3,
  breakerWindowMs: 600_000,
  tickMs: 250,
};

/** The settle time in force: the configured one, or two NAT polls. */
export function autoRemedySettleMs(c: Pick<ServeConfig, 'autoRemedy' | 'natPollMs'>): number {
  return c.autoRemedy.settleMs ?? 2 * c.natPollMs;
}

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
  autoRemedy: AutoRemedyConfig;
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
  if (c.autoRemedy.mode === 'on' && !c.allowDelete) {
    throw new ConfigError(
      '--auto-remedy needs --allow-delete (and so --token): it deletes entries; --auto-remedy-dry-run alone only logs what it would delete',
    );
  }
  const ar = c.autoRemedy;
  for (const [k, v, min] of [
    ['--auto-remedy-node-rate', ar.nodePerMinute, 1],
    ['--auto-remedy-service-rate', ar.servicePerMinute, 1],
    ['--auto-remedy-breaker', ar.breakerThreshold, 1],
    ['--auto-remedy-breaker-window', ar.breakerWindowMs, 1000],
    ['--auto-remedy-settle', ar.settleMs ?? 0, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min)
      throw new ConfigError(`${k} must be an integer of at least ${min}, got ${v}`);
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
