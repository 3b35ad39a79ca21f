/** The one verdict vocabulary: every verdict, its severity, whether deleting the entry helps, and the severity rank. */

/** Severities, worst first; a severity's index is its rank. */
export const SEVERITIES = ['critical', 'warning', 'ok'] as const;

/** How urgent a verdict is. */
export type Severity = (typeof SEVERITIES)[number];

/** Sort rank of each severity: 0 is the worst. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = Object.freeze(
  Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>,
);

/**
 * Every verdict, worst first. `deleteHelps`: the entry itself pins a wrong (or no) translation, so deleting it lets
 * the next packet be NATed afresh; for the others the backend or the client is at fault.
 *
 * `blocked`: never DNATed because kube-proxy drops that traffic on purpose (traffic policy Local with no local
 * endpoint, or a source outside loadBalancerSourceRanges). Nothing on the node is broken and deleting the entry
 * changes nothing, so its severity is `ok` and it is not bad; it stays its own verdict so it can be filtered,
 * coloured and counted.
 */
const VERDICT_TABLE = {
  'no-dnat': { severity: 'critical', deleteHelps: true },
  'stale-endpoint': { severity: 'critical', deleteHelps: true },
  'no-endpoints': { severity: 'warning', deleteHelps: true },
  unanswered: { severity: 'warning', deleteHelps: false },
  blocked: { severity: 'ok', deleteHelps: false },
  ok: { severity: 'ok', deleteHelps: false },
} as const satisfies Record<string, { severity: Severity; deleteHelps: boolean }>;

/** What is wrong with a flow. */
export type Verdict = keyof typeof VERDICT_TABLE;

/** Verdicts whose severity is above `ok` (bad flows: counted, charted, alerted). */
export type BadVerdict = Exclude<Verdict, 'ok' | 'blocked'>;

/** Every verdict, worst first. */
export const VERDICTS: readonly Verdict[] = Object.freeze(Object.keys(VERDICT_TABLE) as Verdict[]);

/** Every bad verdict, worst first. */
export const BAD_VERDICTS: readonly BadVerdict[] = Object.freeze(
  VERDICTS.filter((v): v is BadVerdict => VERDICT_TABLE[v].severity !== 'ok'),
);

export function isBadVerdict(v: Verdict): v is BadVerdict {
  return VERDICT_TABLE[v].severity !== 'ok';
}

/** Severity of each verdict. */
export const SEVERITY_OF: Readonly<Record<Verdict, Severity>> = Object.freeze(
  Object.fromEntries(VERDICTS.map((v) => [v, VERDICT_TABLE[v].severity])) as Record<Verdict, Severity>,
);

/** Whether deleting an entry with this verdict helps (so a remedy is offered). */
export function deleteHelps(verdict: Verdict): boolean {
  return VERDICT_TABLE[verdict].deleteHelps;
}

export function isVerdict(x: unknown): x is Verdict {
  return typeof x === 'string' && Object.hasOwn(VERDICT_TABLE, x);
}

export function isSeverity(x: unknown): x is Severity {
  return typeof x === 'string' && (SEVERITIES as readonly string[]).includes(x);
}

/** A zero count per verdict, in list order. */
export function countByVerdict(): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
}

/** A zero count per severity, in rank order. */
export function countBySeverity(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}
