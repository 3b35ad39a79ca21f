/** Reads deploy/grafana/ctscope.json and finds the metric names in its PromQL (for the dashboard tests). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './promtool.js';

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}

export const DASHBOARD = join(REPO, 'deploy', 'grafana', 'ctscope.json');
export const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  title: string;
  uid: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query: string }> };
  annotations: { list: Array<{ expr: string }> };
  panels: Panel[];
};
/** Every PromQL expression in the board (panels and annotations). */
export const dashboardExprs = (): string[] => [
  ...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  ...dash.annotations.list.map((a) => a.expr),
];

const KEYWORDS = new Set(
  'sum by count max min avg rate increase or and unless vector without on ignoring group_left group_right offset bool'.split(
    ' ',
  ),
);
/** Identifiers in selector position (outside `{…}` and strings, not followed by `(`): the metric names. */
export function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]');
  const names: string[] = [];
  for (const m of bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)/g)) {
    const [, id, paren] = m;
    if (!id || paren || KEYWORDS.has(id)) continue;
    // `by (node, service)` label lists are not metrics.
    const before = bare.slice(0, m.index).trimEnd();
    if (/\b(by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue;
    names.push(id);
  }
  return names;
}
