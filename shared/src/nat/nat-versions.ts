/** The NAT versions seen (bounded), the changes between them, and which one was in force at a given time. */
import { snapshotAt } from './nat-history.js';
import { diffSnapshots, isDiffEmpty } from './nat-snapshot.js';
import type { NatChange, NatSnapshot } from './nat-types.js';

/** A NAT version and when it was first seen. */
export interface NatVersion {
  snapshot: NatSnapshot;
  since: number;
}

/** Time-ordered NAT versions and changes, each list capped at `max` (oldest dropped). */
export class NatVersions {
  readonly versions: NatVersion[] = [];
  readonly changes: NatChange[] = [];

  constructor(private readonly max: number) {}

  /** The newest snapshot. */
  get current(): NatSnapshot | undefined {
    return this.versions[this.versions.length - 1]?.snapshot;
  }

  /**
   * A snapshot seen at `at`. `added` when its hash differs from the current one; `change` when, besides, there was
   * a previous version and the rules differ (a hash can change without a visible difference).
   */
  add(snapshot: NatSnapshot, at: number): { added: boolean; change?: NatChange } {
    const prev = this.current;
    if (prev && prev.hash === snapshot.hash) return { added: false };
    const stamped: NatSnapshot = { ...snapshot, takenAt: at };
    this.versions.push({ snapshot: stamped, since: at });
    if (this.versions.length > this.max) this.versions.shift();
    if (!prev) return { added: true };
    const diff = diffSnapshots(prev, stamped);
    if (isDiffEmpty(diff)) return { added: true };
    const change: NatChange = { t: at, from: prev.hash, to: stamped.hash, diff };
    this.changes.push(change);
    if (this.changes.length > this.max) this.changes.shift();
    return { added: true, change };
  }

  /** The snapshot in force at `at` (ms), if known. */
  at(at: number): NatSnapshot | undefined {
    return snapshotAt(
      this.versions.map((v) => v.snapshot),
      at,
    );
  }
}
