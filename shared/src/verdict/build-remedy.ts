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

/**
 * POSIX-shell quoting of one word for a command people paste into a root shell: plain words stay as they are,
 * anything else goes in single quotes. (Libraries such as shell-quote escape `:` too, which garbles IPv6.)
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.:/=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The same command as a copy-pasteable string. The parsers only accept strict address literals, so quoting
 * never changes a real remedy; it is here so that no record, however it was built, can smuggle shell syntax.
 */
export function remedyCommand(flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string {
  return ['conntrack', ...remedyArgs(flow)].map(shellQuote).join(' ');
}

/** Remedy for verdicts where the entry pins a wrong (or no) translation; null where the backend is at fault. */
export function buildRemedyIfUseful(
  verdict: Verdict,
  flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>,
): string | null {
  return deleteHelps(verdict) ? remedyCommand(flow) : null;
}
