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

/**
 * Peak RSS of `ctscope serve` as a function of the tracked flows, measured by `npm run bench:kernel` (real
 * kernel, recording on, full dumps included): about 130 MB with a near-empty table and 190 MB more per 100,000
 * flows. Deployments size their memory limit from it (deploy/daemonset.yaml is checked against it).
 */
export const MEASURED_RSS = { baseMb: 130, per100kFlowsMb: 190 } as const;

/** Expected peak RSS, MB, with `maxFlows` tracked flows. */
export function expectedPeakRssMb(maxFlows: number): number {
  return MEASURED_RSS.baseMb + (maxFlows / 100_000) * MEASURED_RSS.per100kFlowsMb;
}

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
