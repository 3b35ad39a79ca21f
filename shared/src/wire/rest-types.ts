/** Bodies of the REST answers the server sends and the page reads (one definition for both). */

import type { FlowAutoRemedyView } from '../engine/remedy-log.js';
import type { FlowReport } from '../flows/flow-report.js';
import type { FlowHistoryEntry } from '../flows/flow-tracker.js';
import type { NatChangeLine } from '../nat/nat-change-text.js';
import type { Frontend } from '../nat/nat-types.js';
import type { Severity, Verdict } from '../verdict/verdicts.js';

/** The rules for a flow's frontend in one snapshot; `frontend` null when that snapshot had none for it. */
export interface NatAt {
  hash: string;
  takenAt?: number;
  frontend: Frontend | null;
}

/** GET /api/flows/:id: one flow with its lifecycle and rules (the in-browser replay builds the same). */
export interface FlowDetail {
  flow: FlowReport;
  /** Lifecycle, oldest first, absolute times. */
  history: FlowHistoryEntry[];
  /** The history's timeout readings (DESTROY excluded: its timeout is not a countdown). */
  timeouts: FlowHistoryEntry[];
  nat: { atCreation: NatAt | null; current: NatAt | null };
  remedy: string | null;
  /** What `--auto-remedy` did to this flow, or null (absent from older servers). */
  autoRemedy?: FlowAutoRemedyView | null;
}

/** One entry of GET /api/recordings: a segment file. */
export interface RecordingInfo {
  name: string;
  path: string;
  bytes: number;
  /** Time of the first record (the header). */
  firstT?: number;
  /** Time of the last complete, parseable record. */
  lastT?: number;
  /** Node name from the header. */
  node?: string;
}

/** One minute of a recording, from its index: what the replay scrubber's density strip draws. */
export interface MinuteDensity {
  /** Minute start, ms since the epoch. */
  t: number;
  /** Live bad flows at the end of that minute. */
  bad: number;
  /** Flows that turned bad during it. */
  newBad: number;
  /** Gaps (event loss, restarts, server stops) recorded during it. */
  gaps: number;
  /** conntrack events during it. */
  events: number;
}

/** GET /api/replay/index: a whole recording's outline, read from its index without loading it. */
export interface RecordingOutline {
  start: number;
  end: number;
  records: number;
  /** Replay checkpoints the index holds. */
  checkpoints: number;
  minutes: MinuteDensity[];
  /** When the NAT rules changed. */
  natChanges: number[];
  /** When the first flow turned bad, or null. */
  firstBad: number | null;
}

/** A tuple to follow through a recording; every given field must match the original direction. */
export interface TupleQuery {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
}

/** GET /api/postmortem/bad?at=T, `analyze --recording --at T`: flows bad at one instant, worst first. */
export interface BadAtAnswer {
  at: number;
  total: number;
  flows: FlowReport[];
}

/** One flow's bad stretch inside a window. */
export interface BadInterval {
  /** The flow at its worst moment in the window. */
  flow: FlowReport;
  /** When it turned bad (or the window start, if it already was). */
  since: number;
  /** When it stopped being bad, or null when still bad at the window's end. */
  until: number | null;
  /** How it ended: `recovered` (judged ok again), `destroyed`, `removed` (retention/eviction), or `ongoing`. */
  endedBy: 'recovered' | 'destroyed' | 'removed' | 'ongoing';
  /** ms bad inside the window. */
  durationMs: number;
  /** Every bad verdict it had in the window. */
  verdicts: Verdict[];
}

/** GET /api/postmortem/bad?from=&to=, `analyze --recording --from --to`: bad flows during a window, worst first. */
export interface BadDuringAnswer {
  from: number;
  to: number;
  total: number;
  flows: BadInterval[];
}

/** GET /api/postmortem/nat-changes?at=&window=: what changed in the NAT rules around T. */
export interface NatChangesAnswer {
  from: number;
  to: number;
  changes: Array<{ t: number; from: string; to: string; lines: NatChangeLine[] }>;
}

/** One step of a flow's life in a recording. */
export interface LifecycleStep {
  t: number;
  /** A conntrack event or reading, `gone` (absent from a full dump), `deleted` (by ctscope), or `verdict` (judged anew). */
  event: 'NEW' | 'UPDATE' | 'DESTROY' | 'LIST' | 'gone' | 'deleted' | 'verdict';
  verdict: Verdict;
  severity: Severity;
  keptAlive: boolean;
  timeout?: number;
  unreplied: boolean;
}

/** One conntrack entry matching a tuple, across every segment. */
export interface FlowLifecycle {
  id: string;
  orig: FlowReport['orig'];
  firstSeen: number;
  /** When it first turned bad, or null. */
  firstBad: number | null;
  /** When it was judged ok again while still live, or null. */
  recovered: number | null;
  /** When it was destroyed (DESTROY, gone from a full dump), or null. */
  destroyed: number | null;
  /** When ctscope deleted it, or null. */
  deleted: number | null;
  steps: LifecycleStep[];
  /** The flow as last seen. */
  last: FlowReport;
}

/** GET /api/postmortem/lifecycle?src=&dst=&sport=&dport=: a tuple's whole lifecycle. */
export interface LifecycleAnswer {
  query: TupleQuery;
  from: number;
  to: number;
  flows: FlowLifecycle[];
}
