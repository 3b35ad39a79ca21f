/** The fixed PromQL the fleet wall (and the Grafana board) reads; nothing else is ever sent to Prometheus. */

/** Selector of ctscope's scrape job (the monitors and the plain config relabel it to this). */
export const CTSCOPE_JOB = 'job="ctscope"';

/** Instant queries, one value per node. */
export const FLEET_QUERIES = {
  up: `up{${CTSCOPE_JOB}}`,
  critical: `sum by (node) (ctscope_flows{${CTSCOPE_JOB}, severity="critical"})`,
  warning: `sum by (node) (ctscope_flows{${CTSCOPE_JOB}, severity="warning"})`,
  eventLoss: `sum by (node) (increase(ctscope_event_loss_total{${CTSCOPE_JOB}}[5m]))`,
  tableFill: `max by (node) (ctscope_conntrack_table_fill_ratio{${CTSCOPE_JOB}})`,
  alerts: `count by (node) (ALERTS{alertstate="firing", alertname=~"Ctscope.+"})`,
} as const;

/** Range query of the cluster timeline: bad (critical + warning) flows per node. */
export const FLEET_TIMELINE_QUERY = `sum by (node) (ctscope_flows{${CTSCOPE_JOB}, severity!="ok"})`;
