/** Builds the exact `conntrack -D` command that deletes one entry and nothing else. */
import type { FlowRecord } from '../conntrack/conntrack-types.js';
import { deleteHelps, type Verdict } from './verdicts.js';

/** Argument vector (without the `conntrack` binary) that deletes exactly this entry. */
export function remedyArgs(flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string[] {
  const args = ['-D', '-p', flow.proto];
  if (flow.orig.src.includes(':')) args.push('-f', 'ipv6');
  args.push('--orig-src', flow.orig.src, '--orig-dst', flow.orig.dst);
  if (flow.orig.sport !== undefined) args.push('--sport', String(flow.orig.sport));
  if (flow.orig.dport !== undefined) args.push('--dport', String(flow.orig.dport));
  if (flow.zone !== undefined) args.push('--zone', String(flow.zone));
  return args;
}

/** The same command as a copy-pasteable string. Only addresses, numbers and fixed words: no quoting needed. */
export function remedyCommand(flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string {
  // Same text as `['conntrack', ...remedyArgs(flow)].join(' ')`, without the arrays (built per bad flow).
  const { orig } = flow;
  let cmd = `conntrack -D -p ${flow.proto}`;
  if (orig.src.includes(':')) cmd += ' -f ipv6';
  cmd += ` --orig-src ${orig.src} --orig-dst ${orig.dst}`;
  if (orig.sport !== undefined) cmd += ` --sport ${orig.sport}`;
  if (orig.dport !== undefined) cmd += ` --dport ${orig.dport}`;
  if (flow.zone !== undefined) cmd += ` --zone ${flow.zone}`;
  return cmd;
}

/** Remedy for verdicts where the entry pins a wrong (or no) translation; null where the backend is at fault. */
export function buildRemedyIfUseful(
  verdict: Verdict,
  flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>,
): string | null {
  return deleteHelps(verdict) ? remedyCommand(flow) : null;
}
