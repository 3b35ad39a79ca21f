/** The alert rules: promtool check + unit tests, the PrometheusRule agrees with the plain file, every rule is tested. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { OPERATOR_RULES, PLAIN_RULES, PLAIN_RULES_TESTS, promtool, promtoolSkipReason } from './promtool.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Groups {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const plain = parse(readFileSync(PLAIN_RULES, 'utf8')) as Groups;
const operator = parse(readFileSync(OPERATOR_RULES, 'utf8'));
const unitTests = PLAIN_RULES_TESTS.map(
  (f) =>
    parse(readFileSync(f, 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    },
);
const alerts = plain.groups.flatMap((g) => g.rules.map((r) => r.alert ?? ''));
const tmp = mkdtempSync(join(tmpdir(), 'ctscope-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('alert rules files', () => {
  it('the PrometheusRule carries exactly the plain file groups', () => {
    expect(operator.kind).toBe('PrometheusRule');
    expect(operator.spec).toEqual(plain);
  });

  it('has the alerts the issue asks for, each with a severity and a summary naming the node', () => {
    expect(alerts).toEqual([
      'CtscopeCriticalFlows',
      'CtscopeEventLoss',
      'CtscopeSourceDown',
      'CtscopeConntrackTableFull',
      'CtscopeConntrackInsertFailed',
      'CtscopeAgentDown',
      'CtscopeAgentsAbsent',
    ]);
    for (const r of plain.groups.flatMap((g) => g.rules)) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      if (r.alert !== 'CtscopeAgentsAbsent') expect(r.annotations?.node, r.alert).toBe('{{ $labels.node }}');
    }
  });

  it('critical flows: critical, for one suspect-poll interval (2 s), node, service and the node page link', () => {
    const r = plain.groups.flatMap((g) => g.rules).find((x) => x.alert === 'CtscopeCriticalFlows');
    expect(r?.labels?.severity).toBe('critical');
    expect(r?.for).toBe('2s');
    expect(r?.annotations?.service).toBe('{{ $labels.service }}');
    expect(r?.annotations?.node_url).toMatch(/^http:\/\/\{\{ \$labels\.instance \}\}\//);
  });

  it('every alert has firing expectations in the promtool unit tests', () => {
    const tested = new Set(
      unitTests
        .flatMap((u) => u.tests)
        .flatMap((t) =>
          (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
        ),
    );
    for (const a of alerts) expect(tested, a).toContain(a);
  });
});

const skip = promtoolSkipReason();
describe.skipIf(skip !== undefined)(`promtool${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('check rules accepts the plain file and the PrometheusRule spec', async () => {
    const spec = join(tmp, 'operator-spec.yaml');
    writeFileSync(spec, stringify(operator.spec));
    for (const file of [PLAIN_RULES, spec]) {
      const r = await promtool(['check', 'rules', file]);
      expect(r.output).toContain(`SUCCESS: ${alerts.length} rules found`);
      expect(r.exitCode).toBe(0);
    }
  });

  it('check rules rejects a broken expression', async () => {
    const bad = structuredClone(plain);
    bad.groups[0]!.rules[0]!.expr = 'ctscope_service_flows{severity="critical"} >';
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, stringify(bad));
    const r = await promtool(['check', 'rules', file]);
    expect(r.exitCode).not.toBe(0);
  });

  it('test rules passes', async () => {
    const r = await promtool(['test', 'rules', ...PLAIN_RULES_TESTS]);
    expect(r.output.match(/SUCCESS/g)).toHaveLength(PLAIN_RULES_TESTS.length);
    expect(r.exitCode).toBe(0);
  });

  // Each unit test must be able to fail: weaken one rule at a time and the suite must notice.
  const MUTANTS: Array<{ name: string; mutate: (r: Rule) => void }> = [
    {
      name: 'removed',
      mutate: (r) => {
        r.expr = 'vector(0) > 1';
      },
    },
    {
      name: 'threshold or selector changed',
      mutate: (r) => {
        r.expr = r.expr
          .replace('> 0.9', '> 0.96')
          .replace('insert_failed|drop', 'insert_failed')
          .replace('== 0', '== 2')
          .replace('> 0', '> 5')
          .replace('absent(', 'absent(ctscope_x or ');
      },
    },
    {
      name: 'for changed',
      mutate: (r) => {
        r.for = r.alert === 'CtscopeAgentsAbsent' ? '12m' : '4m';
      },
    },
  ];
  const cases = alerts.flatMap((alert) => MUTANTS.map((m) => ({ alert, ...m })));
  it.each(cases)('the unit tests fail when $alert is $name', async ({ alert, mutate }) => {
    const dir = mkdtempSync(join(tmp, 'mut-'));
    const rules = structuredClone(plain);
    const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === alert)!;
    const before = JSON.stringify(rule);
    mutate(rule);
    expect(JSON.stringify(rule), 'the mutant changes the rule').not.toBe(before);
    writeFileSync(join(dir, 'ctscope-rules.yaml'), stringify(rules));
    for (const f of PLAIN_RULES_TESTS) copyFileSync(f, join(dir, basename(f)));
    const r = await promtool(['test', 'rules', ...PLAIN_RULES_TESTS.map((f) => basename(f))], dir);
    expect(r.exitCode, r.output).not.toBe(0);
  });
});
