/** The single home of ctscope's defaults and limits: serve and replay options, their minimums, validation and the safety rules. */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { AutoRemedyMode } from '@ctscope/shared';

/** The package version, read once from server/package.json (next to src/ and dist/). */
export const CTSCOPE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;

/** Where the built web page lives relative to the compiled server. */
export const DEFAULT_WEB_ROOT = join(import.meta.dirname, '..', '..', 'web', 'dist');

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
  /** Segments as gzip (`.ndjson.gz`, the default) or plain NDJSON (`--no-record-gzip`). */
  recordGzip: boolean;
  retentionHours: number;
  retentionBytes: number;
  maxFlows: number;
  unansweredAfterMs: number;
  /** Directory of the built web page, if any. */
  webRoot?: string;
  nodeName: string;
  autoRemedy: AutoRemedyConfig;
  /** Extra host names accepted in `Host`/`Origin` without a token (`--allowed-host`); loopback is always allowed. */
  allowedHosts: string[];
}

/** Smallest accepted value of each bounded serve option (the CLI and {@link validateConfig} both use these). */
export const SERVE_MINIMUMS = {
  suspectPollMs: 200,
  natPollMs: 200,
  countersPollMs: 200,
  fullResyncMs: 10_000,
  bufferBytes: 65_536,
  retentionHours: 1,
  retentionBytes: 1_048_576,
  maxFlows: 1000,
} as const satisfies Partial<Record<keyof ServeConfig, number>>;

/** Defaults for every serve option. */
export function defaultServeConfig(): ServeConfig {
  return {
    host: '127.0.0.1',
    port: 7474,
    dataDir: '/var/lib/ctscope',
    allowDelete: false,
    natSource: 'auto',
    suspectPollMs: 2000,
    natPollMs: 1000,
    countersPollMs: 2000,
    fullResyncMs: 300_000,
    bufferBytes: 64 * 1024 * 1024,
    record: true,
    recordGzip: true,
    retentionHours: 72,
    // 24 h at 1k new DNS flows/s is ~6.8 GiB of gzip segments (bench/recording-size.bench.mjs: ~85 B per flow).
    retentionBytes: 8 * 1024 * 1024 * 1024,
    maxFlows: DEFAULT_MAX_FLOWS,
    unansweredAfterMs: 10_000,
    webRoot: DEFAULT_WEB_ROOT,
    nodeName: hostname(),
    allowedHosts: [],
    autoRemedy: { ...AUTO_REMEDY_DEFAULTS },
  };
}

/** Defaults of `ctscope replay` (its own port, so it can run beside serve). */
export const REPLAY_DEFAULTS = { host: '127.0.0.1', port: 7475 } as const;

/** Shortest token `serve` and `replay` accept. */
export const MIN_TOKEN_LENGTH = 12;

/** WebSocket admission and per-client bounds (the hub's defaults). */
export const WS_LIMITS = {
  /** Connections at once, in total. */
  maxClients: 256,
  /** Connections at once from one remote address. */
  maxClientsPerAddress: 64,
  /** Bytes queued for one client (ws buffer plus queued sync shares) before it is cut off. */
  clientBudgetBytes: 4 * 1024 * 1024,
  /** Rows in the window a sync sends first (worst first); the rest on demand with `range`. */
  windowRows: 500,
  /** Largest `range` a client may ask for. */
  maxRangeRows: 1000,
  /** Sync/range bytes sent per second across all clients, so a crowd of newcomers is paced. */
  syncBytesPerSecond: 64 * 1024 * 1024,
  /** Heartbeat: a ping every this many ms; a client that has not answered the previous one is dropped. */
  heartbeatMs: 15_000,
  /** Largest client message. */
  maxMessageBytes: 16 * 1024,
  /** Client messages per second before the client is cut off (a ping flood must not starve the server). */
  maxMessagesPerSecond: 50,
} as const;

/**
 * V8 settings applied at start (they take effect at run time).
 * - `live` (`ctscope serve`): grow the old generation in 20% steps. The live table is long-lived and a flood's
 *   dumps are bursts of garbage, which V8's default (larger) steps leave room for. With this and the start flags'
 *   small young generation (session 15, bench:kernel, three alternating pairs at 50k/s and the maximum): peak RSS
 *   235-247 MB at 250k flows against 265-290 MB without it, and the table converged in 0.4-2.3 s against
 *   1.9-2.7 s. Not `--optimize-for-size` (used until session 15): see `--max-semi-space-size` in
 *   {@link NODE_START_FLAGS}.
 * - `replay` (`ctscope replay`, `analyze --recording`): each seek drops one table and loads another. On a 2.1 GB
 *   recording (bench:postmortem), peak RSS was 424-429 MB with the defaults; `--optimize-for-size` made it 169 MB
 *   but GC-bound seeks (median 3.3 s); a 50% heap growth step gives 261 MB with a 1.5 s median.
 */
export const V8_FLAGS = {
  live: ['--heap-growing-percent=20'],
  replay: ['--heap-growing-percent=50'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Node flags that only take effect at process start, so the `ctscope` bin carries them in its shebang
 * (`#!/usr/bin/env -S node …`; a test keeps the two equal) and the image's entrypoint and `npm start` run the bin.
 * - `--v8-pool-size=1`: one V8 background thread instead of four; on a busy 2-core node, parallel scavenges and
 *   concurrent marking spread over four threads cost more CPU in all (README, Benchmarks, session 11: measured for
 *   `serve` only). `--single-threaded-gc` cannot be used instead: it crashes V8 when set at run time, and it
 *   slowed the main thread under a flood.
 * - `--max-semi-space-size=4`: a young generation (new space, two semi-spaces) of at most 8 MB per thread, in the
 *   main thread, the event tail and the recorder. V8 sizes the default from the memory it sees: up to 32 MB on a
 *   host without a memory limit (the bench VM, 24 GiB), 8 MB already in a 640 MiB cgroup (the DaemonSet's).
 *   Until session 15 `serve` ran with `--optimize-for-size` to keep its heap small, but that flag's GC was most
 *   of the main thread's cost under a flood: a memory-reducing full compaction at every ~15% of heap growth (17
 *   while 250k flows are learnt in-process, 4.0 s against 2.1 s without it), and the table converged 3.1-4.7 s
 *   after 50k/s and maximum floods (bench:kernel). Without it and with V8's default young generation, peak RSS
 *   was 324-333 MB at 250k flows (session 14); with this young generation 257-296 MB (and the records' tuples
 *   inline), and with V8_FLAGS.live's growth step as well 235-247 MB.
 */
export const NODE_START_FLAGS = ['--v8-pool-size=1', '--max-semi-space-size=4'] as const;

/**
 * The NODE_START_FLAGS this process was started without, whether given on node's command line (`--flag=value` or
 * `--flag value`) or in NODE_OPTIONS, which node accepts for these but does not show in `process.execArgv`.
 */
export function missingStartFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string[] {
  const words = [...execArgv, ...(nodeOptions?.split(/\s+/).filter(Boolean) ?? [])];
  const given = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = words[i + 1];
    given.add(w);
    if (!w.includes('=') && next !== undefined && !next.startsWith('-')) given.add(`${w}=${next}`);
  }
  return NODE_START_FLAGS.filter((f) => !given.has(f));
}

/**
 * A full dump read back in chunks waits while the recorder has more than this queued: its lines are written
 * about as fast as they are applied, never piled up (a 250k-entry dump is ~60 MB of records).
 */
export const DUMP_QUEUE_ROOM_BYTES = 8 * 1024 * 1024;

/**
 * A resync owed after event loss runs once no loss was reported for this long (ms): the dump after a loss burst
 * comes right after the burst, not in the middle of it. 500 and 300 ms were tried against 1 s in sessions 8 and 14,
 * when `--optimize-for-size`'s GC held the main thread, and gained nothing (the dump's ingest waited for the main
 * thread). Since that flag went (session 15, bench:kernel, alternating floods at 50k/s and the maximum): 400 ms
 * converged in 0.1-2.1 s over ten floods against 0.7-3.8 s with 1 s, the slow ones those with the most loss.
 */
export const RESYNC_QUIET_MS = 400;

/**
 * While `nft monitor` watches the rules (nft mode, or iptables-nft), the NAT rules are re-read on every change it
 * reports and otherwise only this often (ms), in case a change went unreported. Four `*-save` runs a second were
 * most of the idle CPU (6 % of a core against 2 % with --nat-poll 10000, bench:kernel, session 9).
 */
export const NAT_WATCH_BACKSTOP_MS = 30_000;
/** A change reported by the watch is read this long after it (ms), so that a burst of transactions is read once. */
export const NAT_CHANGE_SETTLE_MS = 50;
/** A watch that ended (or could not start) is tried again after a poll at least this long after its start (ms). */
export const NAT_WATCH_RETRY_MS = 60_000;

/**
 * Nice levels tried for a full dump's `conntrack -L`, best first. It writes its spool file while ctscope ingests
 * the flood and the dump itself (2 cores, bench:kernel at 50k/s, 250k entries): at our own priority it got well
 * under half a core and took 2.2 s; at nice -10, 1.4 s (1.3-1.9 s alone on an idle machine). Not SCHED_FIFO:
 * a dump of a huge table is seconds of CPU that must not push the node's workloads off a core.
 */
export const DUMP_NICE_LEVELS: readonly number[] = [-10, -5, -1];

/**
 * Event text the tail's reader may hold for the main thread before it drops lines (and reports `backlog` loss):
 * enough for seconds of a flood while a dump is ingested, bounded so a stalled main thread cannot grow it forever.
 */
export const EVENT_BACKLOG_MAX_CHARS = 64 * 1024 * 1024;

/** Apply one of the {@link V8_FLAGS} sets to this process. */
export function applyV8Flags(use: keyof typeof V8_FLAGS): void {
  for (const flag of V8_FLAGS[use]) setFlagsFromString(flag);
}

/**
 * Peak RSS of `ctscope serve` as a function of the tracked flows, measured by `npm run bench:kernel` (real
 * kernel, recording on, the loss-triggered full dumps of a flood included). Session 15's build, in floods of
 * 10k, 100k and 250k flows: 120-122, 156-158 and 235-271 MB (session 14's, with `--optimize-for-size`: 126-128,
 * 157-159 and 243-261 MB; before the compact live table, 372 MB at 100k and 643 MB at 250k). This bound covers
 * them: 120 MB plus 70 MB per 100,000 flows (295 MB at 250k). Deployments size their memory limit from it
 * (deploy/daemonset.yaml is checked against it).
 */
export const MEASURED_RSS = { baseMb: 120, per100kFlowsMb: 70 } as const;

/**
 * Default `--max-flows`: the DaemonSet's cap too. The measured peak at the cap (120 + 2.5 × 70 ≈ 295 MB) plus 20%
 * headroom fits its 640Mi limit, which also leaves room for WebSocket clients and a full dump's burst.
 */
export const DEFAULT_MAX_FLOWS = 250_000;

/** Expected peak RSS, MB, with `maxFlows` tracked flows. */
export function expectedPeakRssMb(maxFlows: number): number {
  return MEASURED_RSS.baseMb + (maxFlows / 100_000) * MEASURED_RSS.per100kFlowsMb;
}

export class ConfigError extends Error {}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** The token rule shared by `serve` and `replay`. */
export function checkToken(token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(`--token must be at least ${MIN_TOKEN_LENGTH} characters`);
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
  checkToken(c.token);
  for (const h of c.allowedHosts) {
    if (!/^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]+\]?$/.test(h))
      throw new ConfigError(`--allowed-host "${h}" is not a host name or address`);
  }
  if (c.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(c.netns)) {
    throw new ConfigError(`--netns "${c.netns}" is not a valid namespace name`);
  }
  for (const [k, v, min] of [
    ['--suspect-poll', c.suspectPollMs, SERVE_MINIMUMS.suspectPollMs],
    ['--nat-poll', c.natPollMs, SERVE_MINIMUMS.natPollMs],
    ['--counters-poll', c.countersPollMs, SERVE_MINIMUMS.countersPollMs],
    ['--full-resync', c.fullResyncMs, SERVE_MINIMUMS.fullResyncMs],
  ] as const) {
    if (!Number.isFinite(v) || v < min) throw new ConfigError(`${k} must be at least ${min} ms, got ${v}`);
  }
}

/**
 * Size at which a recording segment is rotated, on disk. Gzip segments are smaller because a seek inflates its
 * segment from the start (16 MiB of gzip is about 150 MB of NDJSON).
 */
export const RECORDING_SEGMENT_BYTES = { plain: 64 * 1024 * 1024, gzip: 16 * 1024 * 1024 } as const;

/**
 * Gzip level of recording segments. On conntrack event text level 3 compresses about 2.6× faster than 6 (214
 * against 83 MB/s on this VM) for 18 % more bytes on the DNS mix of bench/recording-size.bench.mjs (84.7 against
 * 71.6 B per flow: the default retention still holds 28 h at 1k new flows/s); level 1 was 25 % more bytes.
 */
export const RECORDING_GZIP_LEVEL = 3;

/** Replay index: a checkpoint of the whole engine state at most this many records apart... */
export const INDEX_CHECKPOINT_RECORDS = 100_000;
/** ...or this much recording time apart, whichever comes first. */
export const INDEX_CHECKPOINT_MS = 5 * 60_000;
/** Index directory next to the segments (a cache directory is used when the recording's is read-only). */
export const INDEX_DIR_NAME = '.ctscope-index';

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
