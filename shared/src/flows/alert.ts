/** An alert: a live flow turned critical, or stopped being critical. */
import type { Verdict } from '../verdict/verdicts.js';

/** A critical flow appeared (or an alert cleared). */
export interface Alert {
  /** When, ms. */
  t: number;
  /** `raised` when a flow turned critical, `cleared` when it stopped being critical or went away. */
  state: 'raised' | 'cleared';
  /** Flow id. */
  flowId: string;
  /** Service name, if any. */
  service?: string;
  /** Verdict that raised it. */
  verdict: Verdict;
}
