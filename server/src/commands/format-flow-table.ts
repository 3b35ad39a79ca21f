/** Renders flow reports as a readable terminal table, worst first, with reasons and remedies underneath. */
import { type FlowReport, formatHostPort } from '@ctscope/shared';

const HEADERS = ['SEVERITY', 'VERDICT', 'KEPT-ALIVE', 'ORIGINAL', 'REPLY', 'SERVICE', 'TIMEOUT', 'ID'];

function row(f: FlowReport): string[] {
  return [
    f.severity.toUpperCase(),
    f.verdict,
    f.keptAlive ? 'yes' : f.unreplied ? 'no' : '-',
    `${f.orig.proto} ${formatHostPort(f.orig.src, f.orig.sport)} -> ${formatHostPort(f.orig.dst, f.orig.dport)}`,
    `${formatHostPort(f.reply.src, f.reply.sport)} -> ${formatHostPort(f.reply.dst, f.reply.dport)}${f.unreplied ? ' [UNREPLIED]' : ''}`,
    f.service ?? '-',
    f.destroyedAt !== undefined ? 'destroyed' : f.timeout !== undefined ? `${f.timeout}s` : '-',
    f.id,
  ];
}

/** The table, then one indented reason/remedy block per flow that is not ok (blocked ones say where to look). */
export function formatFlowTable(flows: readonly FlowReport[]): string {
  if (flows.length === 0) return 'No flows.\n';
  const rows = [HEADERS, ...flows.map(row)];
  const widths = HEADERS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  const explained = flows.filter((f) => f.verdict !== 'ok');
  if (explained.length > 0) lines.push('');
  for (const f of explained) {
    lines.push(`${f.severity.toUpperCase()} ${f.verdict} id=${f.id}: ${f.reason}`);
    if (f.remedy) lines.push(`  fix: ${f.remedy}`);
  }
  const critical = flows.filter((f) => f.severity === 'critical').length;
  const warning = flows.filter((f) => f.severity === 'warning').length;
  const blocked = flows.filter((f) => f.verdict === 'blocked').length;
  lines.push(
    '',
    `${flows.length} flows: ${critical} critical, ${warning} warning, ${flows.length - critical - warning} ok${blocked > 0 ? ` (${blocked} blocked on purpose)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
