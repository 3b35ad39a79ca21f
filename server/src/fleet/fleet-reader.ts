/**
 * Reads the fleet from Prometheus: the fixed queries in parallel under one timeout, at most once per refresh
 * interval whatever the number of walls, and keeps the last good data when Prometheus is down or slow.
 */
import type { FleetSnapshot } from '@ctscope/shared';
import { FLEET_QUERIES, FLEET_TIMELINE_QUERY } from './fleet-queries.js';
import { buildFleetNodes, buildTimeline, type FleetReadings } from './fleet-snapshot.js';
import type { PrometheusClient } from './prometheus-client.js';

export interface FleetReaderOptions {
  nodeUrl: string;
  refreshMs: number;
  slowMs: number;
  timeoutMs: number;
  timelineMinutes: number;
  timelinePoints: number;
  now?: () => number;
}

export class FleetReader {
  private last: FleetSnapshot;
  private inflight: Promise<FleetSnapshot> | undefined;
  private readAt = 0;
  private readonly now: () => number;

  constructor(
    private readonly client: PrometheusClient,
    private readonly opts: FleetReaderOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.last = {
      at: 0,
      prometheus: {
        url: client.baseUrl,
        state: 'down',
        latencyMs: null,
        error: 'not read yet',
        lastOkAt: null,
      },
      refreshMs: opts.refreshMs,
      nodes: [],
      timeline: { stepMs: this.stepMs(), points: [] },
    };
  }

  private stepMs(): number {
    return Math.max(
      1000,
      Math.round((this.opts.timelineMinutes * 60_000) / this.opts.timelinePoints / 1000) * 1000,
    );
  }

  /** The current snapshot: cached within half a refresh interval; concurrent callers share one read. Never throws. */
  async snapshot(): Promise<FleetSnapshot> {
    if (this.inflight) return this.inflight;
    if (this.now() - this.readAt < this.opts.refreshMs / 2) return this.last;
    this.inflight = this.read().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async read(): Promise<FleetSnapshot> {
    const started = this.now();
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const keys = Object.keys(FLEET_QUERIES) as Array<keyof typeof FLEET_QUERIES>;
      const stepMs = this.stepMs();
      const end = Math.floor(started / stepMs) * stepMs;
      const [values, series] = await Promise.all([
        Promise.all(keys.map((k) => this.client.query(FLEET_QUERIES[k], signal))),
        this.client.queryRange(
          FLEET_TIMELINE_QUERY,
          { startMs: end - this.opts.timelineMinutes * 60_000, endMs: end, stepMs },
          signal,
        ),
      ]);
      const readings = Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as FleetReadings;
      const latencyMs = this.now() - started;
      const slow = latencyMs > this.opts.slowMs;
      this.last = {
        at: started,
        prometheus: {
          url: this.client.baseUrl,
          state: slow ? 'slow' : 'ok',
          latencyMs,
          error: slow ? `answered in ${latencyMs} ms (slow above ${this.opts.slowMs} ms)` : null,
          lastOkAt: started,
        },
        refreshMs: this.opts.refreshMs,
        nodes: buildFleetNodes(readings, this.opts.nodeUrl),
        timeline: buildTimeline(series, stepMs),
      };
    } catch (err) {
      // Keep the last nodes and timeline; only the Prometheus state changes.
      this.last = {
        ...this.last,
        prometheus: {
          ...this.last.prometheus,
          state: 'down',
          latencyMs: this.now() - started,
          error: (err as Error).message,
        },
      };
    }
    this.readAt = this.now();
    return this.last;
  }
}
