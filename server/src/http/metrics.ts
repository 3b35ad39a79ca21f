/** Prometheus exposition (prom-client) computed from the engine at scrape time. */
import { SEVERITY_OF, VERDICTS } from '@ctscope/shared';
import { Counter, Gauge, Registry } from 'prom-client';
import { METRICS_MAX_SERVICES, METRICS_NO_SERVICE } from '../config.js';
import type { Engine } from '../engine/engine.js';

/** Gauges that read the engine on each scrape, so nothing runs between scrapes. */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly collect: () => void;

  constructor(engine: Engine) {
    this.collect = buildCollector(engine, this.registry);
  }

  /** Prometheus text exposition. */
  async render(): Promise<string> {
    this.collect();
    return this.registry.metrics();
  }
}

function buildCollector(engine: Engine, registry: Registry): () => void {
  const eventsTotal = new Gauge({
    name: 'ctscope_events_total',
    help: 'conntrack events received, by type (monotonic; exposed as a gauge mirror of the internal counter)',
    labelNames: ['type'],
    registers: [registry],
  });
  const flows = new Gauge({
    name: 'ctscope_flows',
    help: 'Live tracked UDP flows by verdict and severity',
    labelNames: ['verdict', 'severity'],
    registers: [registry],
  });
  const serviceFlows = new Gauge({
    name: 'ctscope_service_flows',
    help: `Live critical/warning flows by service (worst ${METRICS_MAX_SERVICES} services; the rest sum into service="other"; "${METRICS_NO_SERVICE}" = no service matched)`,
    labelNames: ['service', 'severity'],
    registers: [registry],
  });
  const eventLoss = new Gauge({
    name: 'ctscope_event_loss_total',
    help: 'Event-loss markers (ENOBUFS or event source restarts) since start',
    registers: [registry],
  });
  const tableFill = new Gauge({
    name: 'ctscope_conntrack_table_fill_ratio',
    help: 'conntrack count / nf_conntrack_max',
    registers: [registry],
  });
  const tableCount = new Gauge({
    name: 'ctscope_conntrack_entries',
    help: 'conntrack -C',
    registers: [registry],
  });
  const stat = new Gauge({
    name: 'ctscope_conntrack_stat',
    help: 'conntrack -S counters summed over CPUs (insert_failed, drop, early_drop, clash_resolve, ...)',
    labelNames: ['counter'],
    registers: [registry],
  });
  const restarts = new Gauge({
    name: 'ctscope_source_restarts_total',
    help: 'Restarts of each supervised source',
    labelNames: ['source'],
    registers: [registry],
  });
  const up = new Gauge({
    name: 'ctscope_source_up',
    help: '1 when the source is running',
    labelNames: ['source'],
    registers: [registry],
  });
  const parseErrors = new Gauge({
    name: 'ctscope_parse_errors_total',
    help: 'Unparseable conntrack lines',
    registers: [registry],
  });
  const evicted = new Gauge({
    name: 'ctscope_flows_evicted_total',
    help: 'Flows dropped by the memory cap',
    registers: [registry],
  });
  const scrapes = new Counter({
    name: 'ctscope_metrics_scrapes_total',
    help: 'Scrapes of /metrics',
    registers: [registry],
  });

  return () => {
    const s = engine.core.store.stats();
    for (const [type, n] of Object.entries(s.events)) eventsTotal.set({ type }, n);
    flows.reset();
    for (const verdict of VERDICTS)
      flows.set({ verdict, severity: SEVERITY_OF[verdict] }, s.byVerdict[verdict]);
    serviceFlows.reset();
    for (const { service, severity, n } of boundedServiceCounts(s.badByService)) {
      serviceFlows.set({ service, severity }, n);
    }
    eventLoss.set(engine.core.eventLoss());
    const c = engine.core.counters();
    if (c?.fill !== undefined) tableFill.set(c.fill);
    if (c?.count !== undefined) tableCount.set(c.count);
    for (const [k, v] of Object.entries(c?.stats ?? {})) stat.set({ counter: k }, v);
    for (const src of engine.sources()) {
      restarts.set({ source: src.name }, src.restarts);
      up.set({ source: src.name }, src.state === 'running' ? 1 : 0);
    }
    parseErrors.set(s.parseErrors);
    evicted.set(s.evicted);
    scrapes.inc();
  };
}

type ServiceCounts = Record<string, { critical: number; warning: number }>;

/** Per-service bad-flow counts with at most METRICS_MAX_SERVICES services (worst first) plus "other": cardinality stays bounded. */
export function boundedServiceCounts(
  byService: ServiceCounts,
  max = METRICS_MAX_SERVICES,
): Array<{ service: string; severity: 'critical' | 'warning'; n: number }> {
  const ranked = Object.entries(byService).sort(
    ([a, x], [b, y]) => y.critical - x.critical || y.warning - x.warning || a.localeCompare(b),
  );
  const kept = ranked.slice(0, max).map(([k, c]) => [k === '' ? METRICS_NO_SERVICE : k, c] as const);
  const other = { critical: 0, warning: 0 };
  for (const [, c] of ranked.slice(max)) {
    other.critical += c.critical;
    other.warning += c.warning;
  }
  const out: Array<{ service: string; severity: 'critical' | 'warning'; n: number }> = [];
  for (const [service, c] of ranked.length > max ? [...kept, ['other', other] as const] : kept) {
    if (c.critical > 0) out.push({ service, severity: 'critical', n: c.critical });
    if (c.warning > 0) out.push({ service, severity: 'warning', n: c.warning });
  }
  return out;
}
