/** Alerts as toasts (newest few, dismissable) and the whole recent history behind a button. */
import type { Alert } from '@ctscope/shared';
import { useState } from 'react';
import { alertKey, alertText, newestAlerts } from '../domain/alert-text.js';

/** Bottom-left toasts of the newest alerts, plus the history list; `onPick` opens the alert's flow. */
export function AlertToasts({
  alerts,
  max = 3,
  onPick,
}: {
  alerts: readonly Alert[];
  max?: number;
  onPick?: (flowId: string) => void;
}) {
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState(false);
  if (alerts.length === 0) return null;
  const toasts = newestAlerts(
    alerts.filter((a) => !dismissed.has(alertKey(a))),
    max,
  );
  const dismiss = (keys: string[]) => setDismissed((d) => new Set([...d, ...keys]));
  return (
    <section className="alert-toasts" aria-label="Alerts">
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
      <div className="alert-history-bar">
        <button
          type="button"
          data-alert-history-toggle
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
        >
          Alerts ({alerts.length})
        </button>
        {toasts.length > 0 && (
          <button type="button" onClick={() => dismiss(alerts.map(alertKey))}>
            Dismiss all
          </button>
        )}
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
  );
}
