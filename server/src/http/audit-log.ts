/**
 * Append-only audit log of every delete attempt (who, what, exact argv, result) and of every auto-remedy action
 * or decision not to act (with its reason), one JSON object per line.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AutoRemedyAction } from '@ctscope/shared';

/** A DELETE /api/flows/:id attempt. */
export interface DeleteAuditEntry {
  t: string;
  action: 'delete';
  client: string;
  flowId: string;
  argv: string[];
  ok: boolean;
  message: string;
}

/** What `--auto-remedy` did or decided for one flow; `client` is always `auto-remedy`. */
export interface AutoRemedyAuditEntry {
  t: string;
  action: 'auto-remedy';
  client: 'auto-remedy';
  flowId: string;
  result: AutoRemedyAction['result'];
  reason: string;
  orig: AutoRemedyAction['orig'];
  verdict: AutoRemedyAction['verdict'];
  service?: string;
  argv?: string[];
}

export type AuditEntry = DeleteAuditEntry | AutoRemedyAuditEntry;

/** The audit line for an auto-remedy action. */
export function autoRemedyAuditEntry(a: AutoRemedyAction): AutoRemedyAuditEntry {
  return {
    t: new Date(a.t).toISOString(),
    action: 'auto-remedy',
    client: 'auto-remedy',
    flowId: a.flowId,
    result: a.result,
    reason: a.reason,
    orig: a.orig,
    verdict: a.verdict,
    service: a.service,
    argv: a.argv,
  };
}

export class AuditLog {
  constructor(private readonly path: string) {}

  /** Write one entry; failures are returned, not thrown, so a delete's outcome is still reported. */
  async write(entry: AuditEntry): Promise<Error | undefined> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, `${JSON.stringify(entry)}\n`);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }
}
