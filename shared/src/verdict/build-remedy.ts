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
  return isPlainWord(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Characters a word may hold and stay unquoted: `A-Za-z0-9_.:/=@%+-`. */
const PLAIN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/=@%+-')
  PLAIN[c.charCodeAt(0)] = 1;

// A table lookup per character instead of a regular expression: a storm can ask for a remedy per event.
function isPlainWord(word: string): boolean {
  if (word.length === 0) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 128 || PLAIN[c] === 0) return false;
  }
  return true;
}

/**
 * The same command as a copy-pasteable string. The parsers only accept strict address literals, so quoting
 * never changes a real remedy; it is here so that no record, however it was built, can smuggle shell syntax.
 */
export function remedyCommand(flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string {
  const args = remedyArgs(flow);
  let command = 'conntrack';
  for (let i = 0; i < args.length; i++) command += ` ${shellQuote(args[i]!)}`;
  return command;
}

/** Remedy for verdicts where the entry pins a wrong (or no) translation; null where the backend is at fault. */
export function buildRemedyIfUseful(
  verdict: Verdict,
  flow: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>,
): string | null {
  return deleteHelps(verdict) ? remedyCommand(flow) : null;
}
