/** One flow's auto-remedy view (its actions and the entry that took its tuple after a delete), for REST and replay. */
import type { FlowReport } from '../flows/flow-report.js';
import type { FlowAutoRemedyView } from '../wire/protocol.js';
import type { EngineCore } from './engine-core.js';

/** null when auto-remedy never acted on or decided about this flow. */
export function flowAutoRemedyView(core: EngineCore, flow: FlowReport): FlowAutoRemedyView | null {
  const actions = core.remedyLog.forFlow(flow.id);
  if (actions.length === 0) return null;
  const deleted = actions.find((a) => a.result === 'deleted');
  const next = deleted ? core.store.successorOf(flow.orig, deleted.t) : undefined;
  return {
    actions,
    successor: next
      ? {
          id: next.id,
          verdict: next.verdict,
          severity: next.severity,
          createdAt: next.createdAt,
          firstSeen: next.firstSeen,
        }
      : null,
  };
}
