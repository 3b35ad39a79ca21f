/** An alert: a live flow turned critical, or stopped being critical; or auto-remedy's breaker opened. */
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
  /** `flow` (a flow turned critical; the default) or `auto-remedy-breaker` (deleting did not help). */
  kind?: 'flow' | 'auto-remedy-breaker';
  /** For breaker alerts: what happened, in words. */
  text?: string;
}
