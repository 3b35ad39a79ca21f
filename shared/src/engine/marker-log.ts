/** Bounded list of timeline markers plus the ones not yet sent to clients. */
import { describeNatChange } from '../nat/nat-change-text.js';
import type { NatChange } from '../nat/nat-types.js';
import type { GapReason } from '../recording/recording-format.js';

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
    for (const l of describeNatChange(change))
      this.add({ t: change.t, kind: 'nat-change', text: `${l.service} ${l.text}` });
  }

  /** Held markers for a checkpoint; pending ones are not kept: a restore resyncs clients. */
  exportState(): TimelineMarker[] {
    return [...this.all];
  }

  importState(markers: TimelineMarker[]): void {
    this.all.splice(0, this.all.length, ...markers);
    this.pending = [];
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

/** Something to mark on the timeline. */
export interface TimelineMarker {
  /** When, ms. */
  t: number;
  /** Kind: a NAT change, a gap in what was observed, a counter jump, or an auto-remedy action. */
  kind: 'nat-change' | 'gap' | 'counter-jump' | 'auto-remedy';
  /** Short label, e.g. `kube-system/kube-dns:dns endpoints removed`. */
  text: string;
  /** For gaps: why. */
  reason?: GapReason;
  /** For auto-remedy markers: the flow acted on. */
  flowId?: string;
}
