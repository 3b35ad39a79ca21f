/** How an alert reads on the page: one line naming when, what and which service. */
import type { Alert } from '@ctscope/shared';
import { formatClock, VERDICT_LABEL } from './format.js';

/** `12:00:01 raised · no DNAT · kube-system/kube-dns:dns`. */
export function alertText(a: Alert): string {
  const what = a.state === 'raised' ? VERDICT_LABEL[a.verdict] : `cleared (now ${VERDICT_LABEL[a.verdict]})`;
  return `${formatClock(a.t)} ${a.state === 'raised' ? 'raised · ' : ''}${what}${a.service ? ` · ${a.service}` : ''}`;
}

/** The newest `n` alerts, newest first. */
export function newestAlerts(alerts: readonly Alert[], n: number): Alert[] {
  return alerts.slice(Math.max(0, alerts.length - n)).reverse();
}

/** Stable React key of an alert. */
export function alertKey(a: Alert): string {
  return `${a.t}|${a.flowId}|${a.state}`;
}
