/** Append-only audit log of every delete attempt (who, when, which flow, outcome, why), one JSON object per line. */
import { appendFile, chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AuditEntry {
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
