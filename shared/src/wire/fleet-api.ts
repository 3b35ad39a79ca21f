/** REST types of `ctscope fleet` (`GET /api/fleet`), shared by the fleet server and the fleet wall. */

/** How the fleet server's last round of Prometheus queries went. */
export type PrometheusState = 'ok' | 'slow' | 'down';

/** A node's overall state, worst first: critical flows, agent not scraped, warnings, healthy. */
export type FleetNodeStatus = 'critical' | 'down' | 'warning' | 'ok';

/** One node as Prometheus sees its ctscope agent. */
export interface FleetNode {
  /** The `node` label. */
  node: string;
  /** The scrape target (`host:port`). */
  instance: string;
  /** The node's own ctscope page (from `--node-url`), or null when the template cannot be filled. */
  url: string | null;
  /** Whether the last scrape succeeded (`up`). */
  up: boolean;
  status: FleetNodeStatus;
  /** Live critical / warning flows at the last scrape. */
  critical: number;
  warning: number;
  /** Event-loss markers in the last 5 minutes. */
  eventLoss: number;
  /** conntrack count / max, 0-1, when known. */
  tableFill: number | null;
  /** Firing ctscope alerts for the node. */
  alerts: number;
}

/** Bad (critical + warning) flows per node over time. */
export interface FleetTimeline {
  stepMs: number;
  /** Each point: time (ms) and the count per node name (missing = no sample). */
  points: Array<{ t: number; bad: Record<string, number> }>;
}

/** `GET /api/fleet`: the nodes worst first, the timeline, and the Prometheus state. */
export interface FleetSnapshot {
  /** When this data was read from Prometheus (ms since the epoch; the last good read when Prometheus is down). */
  at: number;
  prometheus: {
    url: string;
    state: PrometheusState;
    /** Duration of the last round of queries. */
    latencyMs: number | null;
    /** Why the last round failed or was slow. */
    error: string | null;
    /** The last round that succeeded, if any. */
    lastOkAt: number | null;
  };
  /** How often the wall should ask again. */
  refreshMs: number;
  nodes: FleetNode[];
  timeline: FleetTimeline;
}
