/** Bodies of the REST answers the server sends and the page reads (one definition for both). */

import type { FlowReport } from '../flows/flow-report.js';
import type { FlowHistoryEntry } from '../flows/flow-tracker.js';
import type { Frontend } from '../nat/nat-types.js';

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
