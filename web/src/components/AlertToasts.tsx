/** Alerts as toasts (newest few, dismissable, gone after a few seconds) and the whole recent history behind a button. */
import type { Alert } from '@ctscope/shared';
import { useState } from 'react';
import { alertKey, alertText, newestAlerts } from '../domain/alert-text.js';
import { useToastClock } from '../hooks/use-toast-clock.js';

/** How long a toast stays (while the pointer or focus is not on it); the history keeps every alert. */
export const TOAST_LIFE_MS = 8000;

/**
 * Top-right toasts of the newest alerts under the header, clear of the flow table and the detail pane's buttons,
 * plus the history list; `onPick` opens the alert's flow.
 */
export function AlertToasts({
  alerts,
  max = 3,
  lifeMs = TOAST_LIFE_MS,
  onPick,
}: {
  alerts: readonly Alert[];
  max?: number;
  lifeMs?: number;
  onPick?: (flowId: string) => void;
}) {
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState(false);
  const pending = alerts.filter((a) => !dismissed.has(alertKey(a)));
  const clock = useToastClock(pending.map(alertKey), lifeMs);
  if (alerts.length === 0) return null;
  const toasts = newestAlerts(
    pending.filter((a) => clock.live(alertKey(a))),
    max,
  );
  const dismiss = (keys: string[]) => setDismissed((d) => new Set([...d, ...keys]));
  return (
    // A zero-height anchor in the page flow: the toasts hang from it, below the header and the bars above it.
    <div className="alert-anchor">
      <section
        className="alert-toasts"
        aria-label="Alerts"
        onMouseEnter={() => clock.hold(true)}
        onMouseLeave={() => clock.hold(false)}
        onFocus={() => clock.hold(true)}
        onBlur={() => clock.hold(false)}
      >
        {/* The toggle last: at the right edge it stays put when "Dismiss all" comes and goes. */}
        <div className="alert-history-bar">
          {toasts.length > 0 && (
            <button type="button" onClick={() => dismiss(alerts.map(alertKey))}>
              Dismiss all
            </button>
          )}
          <button
            type="button"
            data-alert-history-toggle
            aria-expanded={open}
            onClick={() => setOpen((o) => !o)}
          >
            Alerts ({alerts.length})
          </button>
        </div>
        <div aria-live="polite">
          {toasts.map((a) => (
            <div
              key={alertKey(a)}
              className={`toast toast-${a.state}`}
              data-alert-toast
              data-alert-state={a.state}
              data-alert-flow={a.flowId}
              role="status"
            >
              <span aria-hidden="true">{a.state === 'raised' ? '✖ ' : '✓ '}</span>
              {onPick ? (
                <button type="button" className="link" onClick={() => onPick(a.flowId)}>
                  {alertText(a)}
                </button>
              ) : (
                alertText(a)
              )}
              <span className="muted mono">flow {a.flowId}</span>
              <button
                type="button"
                className="toast-close"
                aria-label="Dismiss this alert"
                onClick={() => dismiss([alertKey(a)])}
              >
                ✕
              </button>
            </div>
          ))}
        </div>
        {open && (
          <ol className="alert-history" data-alert-history aria-label="Alert history, newest first">
            {newestAlerts(alerts, alerts.length).map((a) => (
              <li key={alertKey(a)} data-alert-state={a.state} data-alert-flow={a.flowId}>
                {alertText(a)} <span className="muted mono">flow {a.flowId}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
