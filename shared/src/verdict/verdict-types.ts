/** Types for classifying one conntrack flow against the node's NAT snapshots. */
import type { Endpoint } from '../nat/nat-types.js';
import type { Severity, Verdict } from './verdicts.js';

/** A reply-tuple field that is wrong, for highlighting. */
export type BadField = 'reply.src' | 'reply.sport';

/** One reading of a flow's remaining timeout (a flow's history entries are readings too). */
export interface TimeoutObservation {
  /** When it was read, ms since the epoch (or any monotonic ms clock shared by all observations). */
  at: number;
  /** Remaining timeout in seconds, as conntrack printed it; readings without one are skipped. */
  timeout?: number;
  /** Whether the entry was still `[UNREPLIED]` at that reading. */
  unreplied: boolean;
  /** What produced the reading; `DESTROY` readings are skipped (their timeout is not a countdown). */
  event?: string;
}

/** The classifier's answer for one flow. */
export interface Classification {
  /** The verdict. */
  verdict: Verdict;
  /** Its severity. */
  severity: Severity;
  /** `[UNREPLIED]` and its timeout keeps being reset: it will never expire on its own. */
  keptAlive: boolean;
  /** The flow was created while its service had no NAT rules or no endpoints, and has them now. */
  createdDuringRuleGap: boolean;
  /** Service name of the matched frontend, if any. */
  service?: string;
  /** Key of the matched frontend (`proto|ip|port`), if any. */
  frontend?: string;
  /** Endpoints the frontend DNATs to now. */
  expectedEndpoints: Endpoint[];
  /** Reply fields that are wrong (empty when none). */
  badFields: BadField[];
  /** One sentence saying why, naming the expected endpoints. */
  reason: string;
  /** The exact `conntrack -D` command that removes just this entry, or null when deleting would not help. */
  remedy: string | null;
}
