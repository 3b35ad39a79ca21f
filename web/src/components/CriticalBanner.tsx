/** The red banner naming the critical flows, their services and the latest alert (`data-critical-count` is a stable test hook). */
import type { Alert, FlowReport } from '@ctscope/shared';
import { alertText, newestAlerts } from '../domain/alert-text.js';
import { VERDICT_LABEL } from '../domain/format.js';
import { OrigTuple } from './TupleText.js';

/** Red banner of critical flows; `large` is the wall variant (also shown, green, when there are none). */
export function CriticalBanner({
  critical,
  services,
  alerts = [],
  large = false,
  max = 5,
  onPick,
}: {
  critical: readonly FlowReport[];
  services: readonly string[];
  /** Alerts, oldest first: the newest raised one is named. */
  alerts?: readonly Alert[];
  large?: boolean;
  max?: number;
  onPick?: (id: string) => void;
}) {
  const n = critical.length;
  const latest = newestAlerts(alerts, alerts.length).find((a) => a.state === 'raised');
  if (n === 0) {
    return large ? (
      <div className="banner banner-ok banner-large" data-critical-count={0} role="status">
        <span aria-hidden="true">✓ </span>No critical flows
      </div>
    ) : null;
  }
  return (
    <div
      className={`banner banner-critical${large ? ' banner-large' : ''}`}
      data-critical-count={n}
      role="alert"
    >
      <div className="banner-title">
        <span aria-hidden="true">✖ </span>
        {n} critical flow{n === 1 ? '' : 's'} · {services.join(', ')}
      </div>
      <ul className="banner-flows">
        {critical.slice(0, max).map((f) => (
          <li key={f.id}>
            {onPick ? (
              <button type="button" className="link" onClick={() => onPick(f.id)}>
                <OrigTuple flow={f} />
              </button>
            ) : (
              <span className="mono">
                <OrigTuple flow={f} />
              </span>
            )}{' '}
            <span className="banner-why">
              {VERDICT_LABEL[f.verdict]}
              {f.keptAlive ? ' · kept alive' : ''}
              {f.service ? ` · ${f.service}` : ''}
            </span>
          </li>
        ))}
        {n > max && <li className="muted">and {n - max} more</li>}
      </ul>
      {latest && (
        <div className="banner-alert" data-alert-latest data-alert-flow={latest.flowId}>
          Latest alert: {alertText(latest)}
        </div>
      )}
    </div>
  );
}
