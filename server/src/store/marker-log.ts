/** Bounded list of timeline markers plus the ones not yet sent to clients. */
import type { NatChange, TimelineMarker } from '@ctscope/shared';

export class MarkerLog {
  private readonly all: TimelineMarker[] = [];
  private pending: TimelineMarker[] = [];

  constructor(private readonly capacity = 2000) {}

  add(m: TimelineMarker): void {
    this.all.push(m);
    if (this.all.length > this.capacity) this.all.shift();
    this.pending.push(m);
  }

  /** Markers naming each service whose frontends or endpoints changed. */
  addNatChange(change: NatChange): void {
    for (const text of describeNatChange(change)) this.add({ t: change.t, kind: 'nat-change', text });
  }

  recent(): TimelineMarker[] {
    return [...this.all];
  }

  take(): TimelineMarker[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

/** One line per changed service: `kube-system/kube-dns:dns rules removed` and the like. */
export function describeNatChange(change: NatChange): string[] {
  const out: string[] = [];
  const name = (f: { service?: string; key: string }) => f.service ?? f.key;
  for (const f of change.diff.removedFrontends) out.push(`${name(f)} rules removed (${f.key})`);
  for (const f of change.diff.addedFrontends) {
    out.push(
      `${name(f)} rules added (${f.key}, ${f.endpoints.length} endpoint${f.endpoints.length === 1 ? '' : 's'})`,
    );
  }
  for (const c of change.diff.changedFrontends) {
    const parts: string[] = [];
    if (c.addedEndpoints.length) parts.push(`+${c.addedEndpoints.map((e) => `${e.ip}:${e.port}`).join(',')}`);
    if (c.removedEndpoints.length)
      parts.push(`-${c.removedEndpoints.map((e) => `${e.ip}:${e.port}`).join(',')}`);
    out.push(`${c.service ?? c.key} endpoints ${parts.join(' ')}`);
  }
  return out;
}
