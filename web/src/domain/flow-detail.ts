/** The flow detail as GET /api/flows/:id returns it (and as the in-browser replayer builds it). */
import type {
  FlowAutoRemedyView,
  FlowHistoryEntry,
  FlowReport,
  Frontend,
  TimeoutObservation,
} from '@ctscope/shared';

/** The rules for a flow's frontend in one snapshot; `frontend` null when that snapshot had none for it. */
export interface NatAt {
  hash: string;
  takenAt?: number;
  frontend: Frontend | null;
}

/** One flow with its lifecycle and rules. */
export interface FlowDetail {
  flow: FlowReport;
  history: FlowHistoryEntry[];
  /** Timeout readings; older servers send them apart from `history`, newer ones fold them into it. */
  timeouts?: TimeoutObservation[];
  nat: { atCreation: NatAt | null; current: NatAt | null };
  remedy: string | null;
  /** What `--auto-remedy` did to this flow (absent from older servers, null when nothing). */
  autoRemedy?: FlowAutoRemedyView | null;
}
