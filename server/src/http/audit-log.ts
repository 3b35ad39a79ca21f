/**
 * Append-only audit log of every delete attempt (who, when, which flow, outcome, why) and of every auto-remedy
 * action or decision not to act (with its reason), one JSON object per line.
 */
import { appendFile, chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AutoRemedyAction } from '@ctscope/shared';

/** A DELETE /api/flows/:id attempt. */
export interface DeleteAuditEntry {
  /** When, ISO 8601. */
  t: string;
  action: 'delete';
  /** Remote address. */
  client: string;
  /** Whether the request carried the right token, a wrong one, or none. */
  token: 'valid' | 'invalid' | 'none';
  /** The flow id asked for, as sent (bounded). */
  flowId: string;
  /** HTTP status answered. */
  status: number;
  /** `deleted`, `failed` (conntrack -D ran and failed) or `refused` (nothing ran). */
  outcome: 'deleted' | 'failed' | 'refused';
  /** True only when the entry was deleted. */
  ok: boolean;
  /** The answer's message: why it was refused, or conntrack's output. */
  message: string;
  /** The exact argv run, when one ran. */
  argv?: string[];
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
  private checkedMode = false;
  constructor(readonly path: string) {}

  /** Write one entry; failures are returned, not thrown, so a delete's outcome is still reported. */
  async write(entry: AuditEntry): Promise<Error | undefined> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await appendFile(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      if (!this.checkedMode) {
        // A log created by an older version may be world-readable: tighten it once.
        await chmod(this.path, 0o600);
        this.checkedMode = true;
      }
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }
}
