/** deploy/grafana/ctscope.json: JSON shape, the fleet wall's queries, every expr parsed by promtool and naming only real metrics. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineCore } from '@ctscope/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { coreOnlyEngine } from '../../src/engine/engine.js';
import { FLEET_QUERIES, FLEET_TIMELINE_QUERY } from '../../src/fleet/fleet-queries.js';
import { EngineMetrics } from '../../src/http/metrics.js';
import { dash, dashboardExprs, metricsIn } from './grafana.js';
import { promtool, promtoolSkipReason } from './promtool.js';

/** Metric names ctscope exports, plus the ones Prometheus itself provides. */
const metricNames = new Set([
  ...(await new EngineMetrics(coreOnlyEngine(new EngineCore())).registry.getMetricsAsJSON()).map(
    (m) => m.name,
  ),
  'up',
  'ALERTS',
]);
const tmp = mkdtempSync(join(tmpdir(), 'ctscope-grafana-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Grafana dashboard', () => {
  it('has a title, uid, schema version and a Prometheus datasource variable used by every panel and query', () => {
    expect(dash.title).toBe('ctscope fleet');
    expect(dash.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dash.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of dash.panels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets) expect(t.datasource, p.title).toEqual(p.datasource);
    }
  });

  it('panels have unique ids, known types, refIds, and fit the 24-column grid without overlapping', () => {
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      expect(['stat', 'bargauge', 'table', 'timeseries'], p.title).toContain(p.type);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length);
      const g = p.gridPos;
      expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, p.title).toBe(true);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('is built on the fleet wall queries', () => {
    const exprs = dashboardExprs().join('\n');
    for (const q of [...Object.values(FLEET_QUERIES), FLEET_TIMELINE_QUERY]) expect(exprs).toContain(q);
  });

  it('every query names only metrics ctscope or Prometheus provide', () => {
    for (const e of dashboardExprs()) {
      const names = metricsIn(e);
      expect(names.length, e).toBeGreaterThan(0);
      for (const n of names) expect(metricNames, `${n} in ${e}`).toContain(n);
    }
  });

  it('the metric-name check catches a typo', () => {
    expect(metricsIn('sum by (node) (ctscope_flowz{job="ctscope"}) or vector(0)')).toEqual(['ctscope_flowz']);
    expect(metricNames).not.toContain('ctscope_flowz');
  });
});

const skip = promtoolSkipReason();
describe.skipIf(skip !== undefined)(
  `Grafana dashboard queries in promtool${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    /** Each expression as a recording rule: `promtool check rules` parses the PromQL. */
    const check = async (exprs: string[]) => {
      const file = join(tmp, `exprs-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(
        file,
        stringify({
          groups: [
            { name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:q${i}`, expr })) },
          ],
        }),
      );
      return promtool(['check', 'rules', file]);
    };

    it('every query parses', async () => {
      const r = await check(dashboardExprs());
      expect(r.output).toContain(`SUCCESS: ${dashboardExprs().length} rules found`);
      expect(r.exitCode).toBe(0);
    });

    it('a broken query does not', async () => {
      const r = await check(['sum by (node) (ctscope_flows{job="ctscope"}']);
      expect(r.exitCode).not.toBe(0);
    });
  },
);
