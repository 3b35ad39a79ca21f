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

/** Replay index: a checkpoint of the whole engine state at most this many records apart... */
export const INDEX_CHECKPOINT_RECORDS = 100_000;
/** ...or this much recording time apart, whichever comes first. */
export const INDEX_CHECKPOINT_MS = 5 * 60_000;
/** Index directory next to the segments (a cache directory is used when the recording's is read-only). */
export const INDEX_DIR_NAME = '.ctscope-index';
