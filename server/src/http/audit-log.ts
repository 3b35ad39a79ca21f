/** Append-only audit log of every delete attempt (who, what, exact argv, result), one JSON object per line. */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AuditEntry {
  t: string;
  action: 'delete';
  client: string;
  flowId: string;
  argv: string[];
  ok: boolean;
  message: string;
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
