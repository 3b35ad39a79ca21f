/** Re-reads one entry from the kernel just before auto-remedy deletes it: same id, same reply tuple, or hands off. */
import { type FlowRecord, parseConntrackLine } from '@ctscope/shared';
import { runNodeCommand } from '../node/node-command.js';
import type { NodeCommandOptions } from '../sources/source-types.js';

/**
 * `same`: the kernel still holds the entry that was judged. Otherwise why not, in words; `retry` when the entry
 * could not be read (a failed command), so the answer may differ later.
 */
export type RecheckResult = { same: true } | { same: false; why: string; retry?: boolean };

/** `conntrack -L` argv (without the binary) that lists exactly the entries with this original tuple. */
export function recheckArgs(rec: Pick<FlowRecord, 'proto' | 'orig' | 'zone'>): string[] {
  const args = ['-L', '-p', rec.proto];
  if (rec.orig.src.includes(':')) args.push('-f', 'ipv6');
  args.push('--orig-src', rec.orig.src, '--orig-dst', rec.orig.dst);
  if (rec.orig.sport !== undefined) args.push('--sport', String(rec.orig.sport));
  if (rec.orig.dport !== undefined) args.push('--dport', String(rec.orig.dport));
  if (rec.zone !== undefined) args.push('--zone', String(rec.zone));
  args.push('-o', 'extended,id');
  return args;
}

/** Compare `conntrack -L` output for the tuple with the judged record. Pure. */
export function compareListing(judged: FlowRecord, stdout: string): RecheckResult {
  const found: FlowRecord[] = [];
  for (const line of stdout.split('\n')) {
    const r = parseConntrackLine(line);
    if (r.kind === 'flow') found.push(r);
  }
  if (found.length === 0) return { same: false, why: 'the entry is gone from the kernel table' };
  const e = found[0]!;
  if (judged.id !== undefined && e.id !== undefined && e.id !== judged.id) {
    return { same: false, why: `the tuple was re-created (kernel id ${e.id}, judged ${judged.id})` };
  }
  const r = judged.reply;
  if (
    e.reply.src !== r.src ||
    e.reply.dst !== r.dst ||
    e.reply.sport !== r.sport ||
    e.reply.dport !== r.dport
  ) {
    return {
      same: false,
      why: `the entry's reply tuple changed (now from ${e.reply.src}:${e.reply.sport ?? '*'}): it was re-created`,
    };
  }
  return { same: true };
}

/** Read the kernel's entry for this tuple and compare it with the judged one. */
export async function recheckEntry(judged: FlowRecord, node: NodeCommandOptions): Promise<RecheckResult> {
  try {
    const r = await runNodeCommand('conntrack', recheckArgs(judged), { ...node, timeoutMs: 5000 });
    return compareListing(judged, r.stdout);
  } catch (err) {
    return { same: false, why: `could not re-read the entry: ${(err as Error).message}`, retry: true };
  }
}
